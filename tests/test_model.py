import math
import re

import numpy as np
import pytest
from numpy.polynomial import Polynomial as NumpyPolynomial
from sklearn.base import clone
from sklearn.linear_model import LassoCV, LinearRegression
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import GridSearchCV

from polyfit_explorer import DataGenerator, Polynomial, RegressionModel, Sine


def split(model):
    frame = model.samples_
    return frame[frame.split == "train"], frame[frame.split == "test"]


def test_same_random_state_gives_identical_data_and_scores():
    a = RegressionModel(data=DataGenerator(random_state=3), degree=5, random_state=9)
    b = RegressionModel(data=DataGenerator(random_state=3), degree=5, random_state=9)
    assert a.samples_.equals(b.samples_)
    assert a.scores == b.scores
    c = RegressionModel(data=DataGenerator(random_state=3), degree=5, random_state=10)
    assert not c.samples_.split.equals(a.samples_.split)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("degree", -1, "degree (Degree) must be in [0, 50]; got -1"),
        ("degree", 51, "degree (Degree) must be in [0, 50]; got 51"),
        ("test_size", 0.99, "test_size (Test fraction) must be in [0.05, 0.95]; got 0.99"),
        ("alpha", 0.0, "alpha (Alpha) must be in [1e-08, 1e+08]; got 0.0"),
        ("cv_folds", 1, "cv_folds (CV folds) must be in [2, 20]; got 1"),
        ("random_state", -5, "random_state (Split seed) must be in [0, 4294967295]"),
        ("penalty", "elasticnet", "penalty"),
        ("alpha_mode", "auto", "alpha_mode"),
    ],
)
def test_invalid_values_raise_and_keep_the_fit(name, value, words):
    model = RegressionModel()
    estimator, scores = model.estimator_, model.scores
    with pytest.raises(ValueError, match=re.escape(words)):
        setattr(model, name, value)
    assert model.estimator_ is estimator
    assert model.scores == scores


def test_degree_one_least_squares_equals_numpy_polynomial_fit():
    model = RegressionModel(degree=1)
    train, _ = split(model)
    reference = NumpyPolynomial.fit(train.x, train.y, deg=1).convert().coef
    np.testing.assert_allclose(model.coef_, reference, rtol=0, atol=1e-8)
    x = np.linspace(-5, 5, 7)
    np.testing.assert_allclose(model.predict(x), NumpyPolynomial(reference)(x), atol=1e-8)


@pytest.mark.parametrize("degree", [0, 2, 7])
def test_least_squares_matches_numpy_at_other_degrees(degree):
    model = RegressionModel(degree=degree)
    train, _ = split(model)
    reference = NumpyPolynomial.fit(train.x, train.y, deg=degree)
    x = np.linspace(-5, 5, 21)
    np.testing.assert_allclose(model.predict(x), reference(x), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("penalty", ["none", "l2", "l1"])
def test_scores_equal_sklearn_metrics(penalty):
    model = RegressionModel(degree=4, penalty=penalty)
    train, test = split(model)
    pred = model.y_pred_
    is_test = (model.samples_.split == "test").to_numpy()
    np.testing.assert_allclose(pred, model.predict(model.samples_.x), rtol=1e-12)
    assert model.train_score_ == pytest.approx(r2_score(train.y, pred[~is_test]), abs=1e-12)
    assert model.test_score_ == pytest.approx(r2_score(test.y, pred[is_test]), abs=1e-12)
    assert model.train_rmse_ == pytest.approx(
        root_mean_squared_error(train.y, pred[~is_test]), abs=1e-12)
    assert model.test_rmse_ == pytest.approx(
        root_mean_squared_error(test.y, pred[is_test]), abs=1e-12)
    assert model.train_mae_ == pytest.approx(
        mean_absolute_error(train.y, pred[~is_test]), abs=1e-12)
    assert model.test_mae_ == pytest.approx(
        mean_absolute_error(test.y, pred[is_test]), abs=1e-12)


@pytest.mark.parametrize(("n", "test_size"), [(200, 0.2), (200, 0.05), (57, 0.3), (10, 0.95)])
def test_test_fraction_is_honoured(n, test_size):
    model = RegressionModel(data=DataGenerator(n_samples=n), test_size=test_size)
    expected = min(math.ceil(test_size * n), n - 1)
    assert model.n_test_ == expected == (model.samples_.split == "test").sum()
    assert model.n_train_ == n - expected


def test_degree_change_refits_without_resampling():
    model = RegressionModel(degree=3)
    data, samples, estimator = model.data.data, model.samples_, model.estimator_
    model.degree = 9
    assert model.data.data is data
    assert model.samples_ is samples  # same data, same split: nothing re-published
    assert model.estimator_ is not estimator
    assert len(model.coef_) == 10


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_the_one_se_rule_fits_the_alpha_the_alpha_tab_marks(penalty):
    """The model's one-SE alpha is the Alpha tab's dotted marker, from the same errors."""
    from polyfit_explorer.diagnostics import Snapshot, alpha_path

    model = RegressionModel(degree=12, penalty=penalty)
    lowest = model.alpha_
    model.alpha_mode = "cv_1se"
    path = alpha_path(Snapshot.of(model))
    assert path.best_alpha == pytest.approx(lowest, rel=1e-12)
    assert model.alpha_ == pytest.approx(path.one_se_alpha, rel=1e-12)
    assert model.alpha_ > lowest
    # By hand from the tab's numbers: within one SE of the minimum, and no larger alpha is.
    mse = path.cv_rmse**2
    best = int(np.argmin(mse))
    within = np.flatnonzero(path.alphas <= model.alpha_ * (1 + 1e-12))
    assert mse[within[-1]] <= mse[best] + _mse_se(model, path, best) + 1e-12
    # The fit is the plain estimator at that alpha.
    manual = model.make_estimator(alpha_mode="manual", alpha=model.alpha_)
    train = split(model)[0]
    manual.fit(train[["x"]].to_numpy(), train["y"])
    np.testing.assert_allclose(model.predict(train["x"]), manual.predict(train[["x"]].to_numpy()),
                               rtol=1e-6, atol=1e-6)


def _mse_se(model, path, best) -> float:
    """The standard error of the best alpha's mean fold MSE, from the tab's RMSE and its SE."""
    # cv_se is the delta-method SE of √MSE: se(MSE) = 2·√MSE·se(√MSE).
    return 2 * path.cv_rmse[best] * path.cv_se[best]


def test_only_effective_inputs_refit():
    model = RegressionModel(penalty="none")
    estimator = model.estimator_
    model.param.update(alpha=0.5, alpha_mode="manual", cv_folds=3)  # no penalty: irrelevant
    assert model.estimator_ is estimator
    model.param.update(penalty="l2", alpha_mode="cv")
    estimator = model.estimator_
    model.alpha = 0.01  # alpha is chosen by cross-validation
    assert model.estimator_ is estimator
    model.alpha_mode = "cv_1se"
    assert model.estimator_ is not estimator
    estimator = model.estimator_
    model.alpha = 0.02
    assert model.estimator_ is estimator
    model.alpha_mode = "manual"
    assert model.alpha_ == 0.02
    estimator = model.estimator_
    model.alpha = 2.0
    assert model.estimator_ is not estimator
    assert model.alpha_ == 2.0


def test_a_data_change_refits_and_republishes_the_samples():
    model = RegressionModel()
    samples = model.samples_
    model.data.noise_sd = 0.5
    assert model.samples_ is not samples
    np.testing.assert_array_equal(model.samples_.y, model.data.data.y)


def test_replacing_the_generator_refits_on_the_new_data():
    model = RegressionModel()
    sine = Sine(n_samples=80)
    model.data = sine
    assert len(model.samples_) == 80
    np.testing.assert_array_equal(model.samples_.x, sine.data.x)
    sine.noise_sd = 0.0
    np.testing.assert_array_equal(model.samples_.y, sine.data.y)


@pytest.mark.parametrize("true_degree", [0, 1, 3, 5])
@pytest.mark.parametrize("extra", [0, 2, 6])
def test_noiseless_polynomial_is_recovered_exactly(true_degree, extra):
    coefficients = [1.5, -2.0, 0.7, 0.3, -0.05, 0.02][: true_degree + 1]
    kwargs = {f"c{k}": 0.0 for k in range(6)} | {
        f"c{k}": c for k, c in enumerate(coefficients)}
    truth = Polynomial(noise_sd=0.0, **kwargs)
    model = RegressionModel(data=truth, degree=true_degree + extra)
    if true_degree > 0:
        assert model.train_score_ == pytest.approx(1.0, abs=1e-9)
        assert model.test_score_ == pytest.approx(1.0, abs=1e-9)
    else:  # a constant truth has no variance to explain: R² is 0/0
        assert model.train_score_ is None
        assert model.test_score_ is None
    np.testing.assert_allclose(model.coef_[: true_degree + 1], coefficients, atol=1e-6)


def test_underfit_degree_does_not_reach_r2_one():
    truth = Polynomial(noise_sd=0.0, c3=0.5)
    assert RegressionModel(data=truth, degree=2).train_score_ < 0.999


def test_degree_20_stays_finite_and_close_to_the_truth():
    model = RegressionModel(data=DataGenerator(noise_sd=0.0), degree=20)
    x = np.linspace(-4.5, 4.5, 500)
    assert np.isfinite(model.coef_).all()
    assert np.abs(model.predict(x) - model.data.ground_truth(x)).max() < 1e-3
    noisy = RegressionModel(data=DataGenerator(noise_sd=0.5, n_samples=2000), degree=20)
    assert np.abs(noisy.predict(x) - noisy.data.ground_truth(x)).max() < 0.3


def test_raw_coefficients_reproduce_predict():
    for penalty in ["none", "l2", "l1"]:
        model = RegressionModel(data=DataGenerator(x_min=-1.0, x_max=4.0), degree=6,
                                penalty=penalty)
        x = np.linspace(-1, 4, 50)
        np.testing.assert_allclose(NumpyPolynomial(model.coef_)(x), model.predict(x),
                                   rtol=1e-8, atol=1e-8)


def test_lasso_zeros_stay_zeros_in_x():
    model = RegressionModel(degree=10, penalty="l1", alpha_mode="manual", alpha=0.5)
    scaled_zeros = np.flatnonzero(model.estimator_[-1].coef_ == 0) + 1
    assert scaled_zeros.size > 0
    np.testing.assert_array_equal(model.coef_[scaled_zeros], 0.0)


def test_make_estimator_is_a_clonable_unfitted_pipeline():
    model = RegressionModel(degree=4, penalty="l2", alpha_mode="manual", alpha=0.1)
    pipeline = model.make_estimator()
    assert not hasattr(pipeline[-1], "coef_")
    assert clone(pipeline).get_params()["polynomialfeatures__degree"] == 4
    train, _ = split(model)
    search = GridSearchCV(pipeline, {"polynomialfeatures__degree": [1, 3, 5]}, cv=3)
    search.fit(train[["x"]].to_numpy(), train.y)
    assert search.best_params_["polynomialfeatures__degree"] in (3, 5)


def test_estimator_is_the_fitted_pipeline():
    model = RegressionModel(degree=3)
    train, _ = split(model)
    refit = model.make_estimator().fit(train[["x"]].to_numpy(), train.y)
    np.testing.assert_allclose(model.predict([0.5, 1.5]), refit.predict([[0.5], [1.5]]))


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_cross_validation_chooses_and_reports_alpha(penalty):
    model = RegressionModel(degree=8, penalty=penalty)
    assert model.alpha_ == model.estimator_[-1].alpha_
    assert model.alpha_ in model.estimator_[-1].alphas_


def test_lasso_cv_matches_sklearn_lassocv():
    model = RegressionModel(degree=5, penalty="l1")
    train, _ = split(model)
    features = model.estimator_[:-1].transform(train[["x"]].to_numpy())
    reference = clone(model.estimator_[-1]).fit(features, train.y)
    assert isinstance(reference, LassoCV)
    assert model.alpha_ == pytest.approx(reference.alpha_)


def test_no_penalty_is_ordinary_least_squares():
    model = RegressionModel(degree=3)
    assert isinstance(model.estimator_[-1], LinearRegression)
    assert model.alpha_ is None


def test_interpolation_and_small_test_sets_become_messages():
    model = RegressionModel(data=DataGenerator(n_samples=10), degree=9, test_size=0.1)
    assert (model.n_train_, model.n_test_) == (9, 1)
    assert any("interpolates" in m for m in model.messages_)
    assert any("Fewer than 2 test points" in m for m in model.messages_)
    assert model.test_score_ is None
    assert np.isfinite(model.test_rmse_)


def test_lasso_non_convergence_is_a_message_not_a_warning():
    model = RegressionModel(degree=20, penalty="l1", alpha_mode="manual", alpha=1e-6)
    assert any("LASSO did not converge" in m for m in model.messages_)
    assert np.isfinite(model.train_score_)


def test_too_few_points_for_the_folds_uses_fewer_folds():
    model = RegressionModel(data=DataGenerator(n_samples=4), penalty="l2", test_size=0.25)
    assert model.n_train_ == 3
    assert model.estimator_[-1].cv.get_n_splits() == 3
    assert any("3 folds instead of 5" in m for m in model.messages_)


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_penalties_work_on_an_interval_away_from_zero(penalty):
    # The powers of x on [0, 10] are nearly collinear, so a penalty on them
    # could not tell them apart and underfit (train R² 0.58 against 0.73 for
    # least squares when x was only divided by max|x|); mapped onto [-1, 1]
    # they are not, and the penalized fit is as good as least squares.
    data = DataGenerator(x_min=0.0, x_max=10.0, noise_sd=3.0, n_samples=100)
    ols = RegressionModel(data=data, degree=8)
    penalized = RegressionModel(data=data, degree=8, penalty=penalty)
    assert penalized.train_score_ > ols.train_score_ - 0.01
    assert penalized.test_score_ > ols.test_score_ - 0.01
