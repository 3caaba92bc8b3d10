import numpy as np
import pytest
from sklearn.linear_model import Lasso, LassoCV, Ridge, RidgeCV
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from polyfit_explorer import DataGenerator
from polyfit_explorer.estimators import IntervalScaler, KFoldRidgeCV, OneSELassoCV, ridge_path
from polyfit_explorer.model import RIDGE_ALPHAS


def features(degree, n=160, seed=0):
    data = DataGenerator(n_samples=n, random_state=seed).data
    X = make_pipeline(IntervalScaler(-5, 5), PolynomialFeatures(degree, include_bias=False),
                      StandardScaler()).fit_transform(data[["x"]])
    return X, data.y.to_numpy()


@parametrize_with_checks([KFoldRidgeCV(), KFoldRidgeCV(rule="one_se"), IntervalScaler()])
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


def one_se_by_hand(alphas, fold_mse) -> float:
    """The largest alpha whose mean fold MSE is within one SE of the minimum, written out."""
    alphas, fold_mse = np.asarray(alphas), np.asarray(fold_mse)
    mean = fold_mse.mean(axis=1)
    best = min(range(len(alphas)), key=lambda i: (mean[i], alphas[i]))
    se = np.std(fold_mse[best], ddof=1) / np.sqrt(fold_mse.shape[1])
    return max(a for a, m in zip(alphas, mean, strict=True) if m <= mean[best] + se)


@pytest.mark.parametrize("degree", [3, 8, 15])
def test_one_se_ridge_chooses_by_hand_from_grid_search_folds(degree):
    X, y = features(degree, seed=2)
    folds = KFold(5, shuffle=True, random_state=4)
    ours = KFoldRidgeCV(RIDGE_ALPHAS, cv=folds, rule="one_se").fit(X, y)
    search = GridSearchCV(Ridge(), {"alpha": RIDGE_ALPHAS}, cv=folds,
                          scoring="neg_mean_squared_error").fit(X, y)
    fold_mse = -np.column_stack([search.cv_results_[f"split{k}_test_score"] for k in range(5)])
    expected = one_se_by_hand(RIDGE_ALPHAS, fold_mse)
    assert ours.alpha_ == expected
    assert expected > search.best_params_["alpha"]  # the rule does move alpha here
    reference = Ridge(alpha=expected).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), reference.predict(X), rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("degree", [3, 5])
def test_one_se_lasso_refits_lasso_at_the_alpha_lassocv_errors_give(degree):
    X, y = features(degree, seed=5)
    # A grid down to 1e-3 of the largest alpha: LassoCV converges on every fold.
    settings = dict(alphas=30, eps=1e-3, max_iter=10_000, precompute=True,
                    cv=KFold(5, shuffle=True, random_state=1))
    reference = LassoCV(**settings).fit(X, y)
    ours = OneSELassoCV(**settings).fit(X, y)
    expected = one_se_by_hand(reference.alphas_, reference.mse_path_)
    np.testing.assert_array_equal(ours.mse_path_, reference.mse_path_)
    assert ours.alpha_ == expected
    assert expected > reference.alpha_
    refit = Lasso(alpha=expected, max_iter=10_000, precompute=True).fit(X, y)
    np.testing.assert_allclose(ours.coef_, refit.coef_, rtol=1e-9, atol=1e-12)
    assert ours.intercept_ == pytest.approx(refit.intercept_)


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
