import numpy as np
import pytest
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from polyfit_explorer import DataGenerator
from polyfit_explorer.estimators import IntervalScaler, KFoldRidgeCV, ridge_path
from polyfit_explorer.model import RIDGE_ALPHAS


def features(degree, n=160, seed=0):
    data = DataGenerator(n_samples=n, random_state=seed).data
    X = make_pipeline(IntervalScaler(-5, 5), PolynomialFeatures(degree, include_bias=False),
                      StandardScaler()).fit_transform(data[["x"]])
    return X, data.y.to_numpy()


@parametrize_with_checks([KFoldRidgeCV(), IntervalScaler()])
def test_follows_the_scikit_learn_estimator_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("degree", [1, 3, 8, 15])
@pytest.mark.parametrize("seed", [0, 1])
def test_chooses_what_ridgecv_with_the_same_folds_chooses(degree, seed):
    X, y = features(degree, seed=seed)
    folds = KFold(5, shuffle=True, random_state=seed)
    ours = KFoldRidgeCV(RIDGE_ALPHAS, cv=folds).fit(X, y)
    reference = RidgeCV(alphas=RIDGE_ALPHAS, cv=folds, scoring="neg_mean_squared_error")
    reference.fit(X, y)
    assert ours.alpha_ == reference.alpha_
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-7, atol=1e-7)


def test_cross_validated_errors_equal_grid_search():
    X, y = features(6)
    folds = KFold(4, shuffle=True, random_state=3)
    ours = KFoldRidgeCV(RIDGE_ALPHAS, cv=folds).fit(X, y)
    search = GridSearchCV(Ridge(), {"alpha": RIDGE_ALPHAS}, cv=folds,
                          scoring="neg_mean_squared_error").fit(X, y)
    np.testing.assert_allclose(ours.mse_path_.mean(axis=1),
                               -search.cv_results_["mean_test_score"], rtol=1e-6)


@pytest.mark.parametrize("alpha", [1e-4, 0.3, 50.0])
def test_ridge_path_equals_ridge(alpha):
    X, y = features(7)
    coef, intercept, pred = ridge_path(X, y, [alpha], X[:10])
    reference = Ridge(alpha=alpha).fit(X, y)
    np.testing.assert_allclose(coef[0], reference.coef_, rtol=1e-6, atol=1e-8)
    assert intercept[0] == pytest.approx(reference.intercept_, abs=1e-8)
    np.testing.assert_allclose(pred[:, 0], reference.predict(X[:10]), atol=1e-8)


def test_interval_scaler_maps_the_interval_onto_minus_one_one():
    scaler = IntervalScaler(2.0, 12.0).fit([[5.0]])
    np.testing.assert_allclose(scaler.transform([[2.0], [7.0], [12.0]]).ravel(), [-1, 0, 1])
    with pytest.raises(ValueError, match="low must be less than high"):
        IntervalScaler(3.0, 3.0).fit([[1.0]])
