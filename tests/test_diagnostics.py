"""Correctness of polyfit_explorer.diagnostics against independent references.

The module solves least squares and Ridge by its own linear algebra
(``LinearDesign``); the references here are scikit-learn's fits of the
model's own pipeline, scikit-learn's ``validation_curve``/``learning_curve``,
``RegressionModel``'s scores, and closed forms computed from a hat matrix
built by fitting the pipeline to unit vectors.  Monte-Carlo estimates are
compared with the closed forms within a few of their standard errors,
which are derived below for the fixed design the module uses.
"""

import numpy as np
import pandas as pd
import pytest
from numpy.polynomial import Polynomial as NumpyPolynomial
from sklearn.linear_model import Lasso, Ridge
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import cross_val_score, cross_validate
from sklearn.model_selection import learning_curve as sklearn_learning_curve
from sklearn.model_selection import validation_curve as sklearn_validation_curve

from polyfit_explorer import DataGenerator, Polynomial, RegressionModel, diagnostics
from polyfit_explorer.diagnostics import (
    Diagnostics,
    LinearDesign,
    Snapshot,
    alpha_path,
    bias_variance,
    bias_variance_by_alpha,
    bias_variance_by_degree,
    coefficients,
    learning_curve,
    validation_curve,
)
from polyfit_explorer.model import LASSO_MAX_ITER, polynomial_regression

OLS = {"penalty": "none"}
RIDGE = {"penalty": "l2", "alpha_mode": "manual", "alpha": 2.0}
RIDGE_CV = {"penalty": "l2", "alpha_mode": "cv"}
SCORING = "neg_root_mean_squared_error"

#: Monte-Carlo estimates must lie within this many of their standard errors.
#: For a fixed seed the check is deterministic; for another seed a correct
#: implementation fails one check with probability about 6e-5.  At R = 2000
#: that is about 5% of the variance and 1% of the expected error, so a noise
#: scale off by a few percent, a missing factor or a biased estimator fails.
MC_SIGMAS = 4


def snapshot(data=None, **settings) -> Snapshot:
    return Snapshot.of(RegressionModel(data=data, **settings))


def hat_matrix(snap: Snapshot, x_new, **overrides) -> np.ndarray:
    """Return H with ``prediction(x_new) = H @ y_train``, from scikit-learn's own fits.

    Least squares and Ridge are linear in y, so the pipeline fitted to y = e_i
    predicts column i of H.  LinearRegression and Ridge fit each column of a
    2-D y on its own (the scalers see only x), so fitting y = I fits every e_i.
    """
    estimator = snap.make_estimator(**overrides)
    estimator.fit(snap.x_train[:, None], np.eye(len(snap.y_train)))
    return estimator.predict(np.asarray(x_new, dtype=float)[:, None])


def closed_forms(snap: Snapshot, hat: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Bias², variance (averaged over x: the quadrature's weights) and the bias on the grid."""
    weights = snap.average.weights
    bias = hat @ snap.target_train - snap.target_grid
    variance = snap.noise.sd**2 * (hat**2).sum(axis=1) @ weights
    return float(bias**2 @ weights), float(variance), bias


def monte_carlo_errors(snap, hat, replicates) -> dict[str, float]:
    """Standard errors of the Monte-Carlo estimates at a fixed design.

    Replicate r predicts ``H·target + σ H ε_r`` on the grid points, with
    ε_r ~ N(0, I); averages over x weigh grid point g by w_g (they sum to 1;
    for an even grid of G points w_g = 1/G).  With A = σ² HᵀWH:

    - ``variance`` is tr(A S) for S the sample covariance of the ε_r, so
      its SD is sqrt(2 tr(A²) / (R - 1)): at most the textbook
      sqrt(2/(R-1)) relative, reached only if all grid points moved together.
    - ``mean_fit_bias2`` is Σ_g w_g (b_g + σ(H ε̄)_g)²: its mean is the exact
      bias² plus variance / R, and its linear term has SD 2σ‖HᵀWb‖ / √R.
    - ``expected_mse - total`` is σ²(mean η² - 1) - 2σ mean(η e) - variance/R,
      for the fresh noise η and the fits' errors e: SD
      sqrt((2σ⁴ + 4σ²(bias² + variance)) Σ w_g² / R).

    These were checked empirically: over 200 seeds the standardized errors
    had mean ≈ 0 and SD ≈ 1.
    """
    bias2, variance, bias = closed_forms(snap, hat)
    sigma, weights = snap.noise.sd, snap.average.weights
    a = sigma**2 * hat.T @ (weights[:, None] * hat)
    return {
        "variance": float(np.sqrt(2 * np.sum(a * a) / (replicates - 1))),
        "bias2": float(2 * sigma * np.linalg.norm(hat.T @ (weights * bias)) / np.sqrt(replicates)),
        "bias2_offset": variance / replicates,
        "mse": float(np.sqrt((2 * sigma**4 + 4 * sigma**2 * (bias2 + variance))
                             * np.sum(weights**2) / replicates)),
    }


def assert_within_monte_carlo_error(result, snap, hat, replicates):
    exact_bias2, exact_variance, _ = closed_forms(snap, hat)
    se = monte_carlo_errors(snap, hat, replicates)
    assert result.replicates == replicates
    assert abs(result.refit_variance - exact_variance) < MC_SIGMAS * se["variance"]
    assert abs(result.mean_fit_bias2 - exact_bias2 - se["bias2_offset"]) < MC_SIGMAS * se["bias2"]
    assert abs(result.expected_mse - result.total) < (MC_SIGMAS * se["mse"]
                                                      + se["bias2_offset"])
    # Guard against a vacuous check: the tolerances are a few percent at most.
    assert MC_SIGMAS * se["variance"] < 0.1 * exact_variance
    assert MC_SIGMAS * se["mse"] < 0.01 * result.total


# ---- bias and variance ------------------------------------------------------


@pytest.mark.parametrize("settings", [OLS, RIDGE], ids=["ols", "ridge"])
@pytest.mark.parametrize("degree", [1, 5, 9])
def test_exact_bias_and_variance_equal_the_hat_matrix_closed_forms(settings, degree):
    snap = snapshot(degree=degree, **settings)
    result = bias_variance(snap, replicates=10)
    exact_bias2, exact_variance, _ = closed_forms(snap, hat_matrix(snap, snap.grid))
    assert result.exact_bias2 == pytest.approx(exact_bias2, rel=1e-8)
    assert result.exact_variance == pytest.approx(exact_variance, rel=1e-8)
    assert result.noise == pytest.approx(snap.noise.sd**2, rel=1e-12)
    np.testing.assert_array_equal(result.x, snap.grid)
    np.testing.assert_array_equal(result.target, snap.target_grid)


@pytest.mark.parametrize("settings", [OLS, RIDGE], ids=["ols", "ridge"])
def test_monte_carlo_agrees_with_the_closed_forms(settings):
    replicates = 2000
    snap = snapshot(degree=5, **settings)
    result = bias_variance(snap, replicates=replicates, seed=0)
    assert result.fits.shape == (replicates, len(snap.grid))
    assert_within_monte_carlo_error(result, snap, hat_matrix(snap, snap.grid), replicates)


def test_monte_carlo_is_reproducible_for_a_seed_and_differs_between_seeds():
    snap = snapshot(degree=4, **RIDGE)
    first, again = bias_variance(snap, 50, seed=3), bias_variance(snap, 50, seed=3)
    np.testing.assert_array_equal(first.fits, again.fits)
    assert (first.bias2, first.variance, first.expected_mse) == (
        again.bias2, again.variance, again.expected_mse)
    other = bias_variance(snap, 50, seed=4)
    assert not np.allclose(first.fits, other.fits)
    assert other.refit_variance != first.refit_variance
    assert other.expected_mse != first.expected_mse
    # The closed forms do not depend on the noise draws.
    assert other.exact_variance == first.exact_variance


@pytest.mark.parametrize("settings", [OLS, RIDGE], ids=["ols", "ridge"])
def test_projected_noise_path_agrees_with_the_closed_forms(settings, monkeypatch):
    replicates = 2000
    snap = snapshot(degree=6, **settings)
    direct = bias_variance(snap, replicates, seed=0)
    monkeypatch.setattr(diagnostics, "MAX_NOISE_DRAWS", 10)
    projected = bias_variance(snap, replicates, seed=0)
    # The same seed draws different numbers on the other path: proof it ran.
    assert not np.allclose(projected.fits, direct.fits)
    assert projected.exact_variance == direct.exact_variance
    assert_within_monte_carlo_error(projected, snap, hat_matrix(snap, snap.grid), replicates)


def test_lasso_that_zeroes_every_coefficient_fits_the_mean():
    # Independent of any closed form in the module: every replicate's fit is
    # the constant mean of its y, whose variance is σ²/n at every grid point.
    # All grid points move together, so the variance estimate's relative SE
    # is exactly sqrt(2/(R-1)).
    replicates = 2000
    snap = snapshot(data=Polynomial(), degree=3, penalty="l1", alpha_mode="manual", alpha=1e3)
    result = bias_variance(snap, replicates, seed=0)
    assert result.exact_bias2 is None
    assert result.exact_variance is None
    assert np.ptp(result.fits, axis=1).max() < 1e-12
    n = len(snap.y_train)
    variance = snap.noise.sd**2 / n
    assert result.method == "refits"
    assert result.variance == result.refit_variance == pytest.approx(
        variance, rel=MC_SIGMAS * np.sqrt(2 / (replicates - 1)))
    # The mean fit is the constant c = mean(target) + δ, δ ~ N(0, σ²/(nR)), so
    # the mean fit's bias² is the exact one + 2δ·mean(c - target) + δ², and
    # E[δ²] = variance / R is what the bias-corrected bias² takes off.
    offset = snap.target_train.mean() - snap.target_grid
    exact = snap.average(offset**2)
    se = 2 * abs(snap.average(offset)) * np.sqrt(variance / replicates)
    assert abs(result.mean_fit_bias2 - exact - variance / replicates) < MC_SIGMAS * se
    assert abs(result.bias2 - exact) < MC_SIGMAS * se
    assert result.bias2 == result.refit_bias2


def test_bias_variance_by_degree_rows_equal_single_calls():
    snap = snapshot(**RIDGE)
    frame = bias_variance_by_degree(snap, max_degree=8, replicates=20, seed=2)
    assert list(frame.degree) == list(range(9))
    for row in frame.itertuples():
        single = bias_variance(snap, 20, seed=2, degree=row.degree)
        assert row.exact_bias2 == pytest.approx(single.exact_bias2, rel=1e-12)
        assert row.exact_variance == pytest.approx(single.exact_variance, rel=1e-12)
        # Each degree refits the same seed's noise, so the estimates match too.
        assert row.bias2 == pytest.approx(single.bias2, rel=1e-12)
        assert row.variance == pytest.approx(single.variance, rel=1e-12)
        assert row.total == pytest.approx(single.total, rel=1e-12)
        assert row.expected_mse == pytest.approx(single.expected_mse, rel=1e-12)
        # And both equal the closed forms of the pipeline at that degree.
        hat = hat_matrix(snap, snap.grid, degree=row.degree)
        exact_bias2, exact_variance, _ = closed_forms(snap, hat)
        assert row.exact_bias2 == pytest.approx(exact_bias2, rel=1e-8)
        assert row.exact_variance == pytest.approx(exact_variance, rel=1e-8)


def test_least_squares_variance_grows_with_the_degree():
    # σ² φ(x)ᵀ(ΦᵀΦ)⁻¹φ(x) cannot fall when a column joins Φ (nested models),
    # so the exact variance is nondecreasing at every grid point.
    frame = bias_variance_by_degree(snapshot(**OLS), max_degree=10, replicates=20)
    exact = frame.exact_variance.to_numpy()[1:]
    assert np.all(np.diff(exact) >= 0)
    assert exact[-1] > 2 * exact[0]


def test_bias_variance_by_alpha_rows_equal_single_calls_and_variance_falls():
    snap = snapshot(degree=8, **RIDGE)
    frame = bias_variance_by_alpha(snap, replicates=20)
    np.testing.assert_array_equal(frame.alpha, diagnostics.BIAS_VARIANCE_ALPHAS)
    for row in frame.itertuples():
        single = bias_variance(snap, 20, alpha=row.alpha)
        assert row.exact_bias2 == pytest.approx(single.exact_bias2, rel=1e-12)
        assert row.exact_variance == pytest.approx(single.exact_variance, rel=1e-12)
        hat = hat_matrix(snap, snap.grid, alpha=row.alpha)
        exact_bias2, exact_variance, _ = closed_forms(snap, hat)
        # Agreement is ~1e-11 even at alpha 1e-6, where Ridge's Cholesky solve is worst.
        assert row.exact_bias2 == pytest.approx(exact_bias2, rel=1e-8)
        assert row.exact_variance == pytest.approx(exact_variance, rel=1e-8)
    # Every term of ‖H_g‖² is a squared gain s/(s² + α), which falls with α.
    assert np.all(np.diff(frame.exact_variance) < 0)
    assert bias_variance_by_alpha(snapshot(**OLS)) is None


def test_lasso_bias_variance_by_alpha_follows_single_fits():
    # One warm-started path per replicate against a cold Lasso fit per alpha,
    # on the same seed's noise: the fits agree to coordinate descent's
    # tolerance (1e-4 on the duality gap), so bias² and variance to ~1e-4.
    snap = snapshot(data=Polynomial(), degree=3, penalty="l1")
    frame = bias_variance_by_alpha(snap, replicates=10, seed=1)
    assert np.all(np.diff(frame.alpha) > 0)
    for row in frame.itertuples():
        single = bias_variance(snap, 10, seed=1, alpha=row.alpha)
        assert row.exact_variance is None
        assert row.bias2 == pytest.approx(single.bias2, rel=1e-3)
        assert row.variance == pytest.approx(single.variance, rel=1e-3, abs=1e-12)
    # The largest alphas zero every coefficient: each fit is its replicate's mean.
    assert frame.bias2.iloc[-1] > 10 * frame.bias2.iloc[0]


# ---- validation and learning curves -----------------------------------------


def cv_reference(snap, estimator, degrees):
    """√(mean fold MSE) and its standard error, from sklearn's validation_curve.

    √ of the mean MSE is what RidgeCV and LassoCV minimize; its standard error
    is the MSE's divided by 2√MSE (the delta method).
    """
    _, test_scores = sklearn_validation_curve(
        estimator, snap.x_train[:, None], snap.y_train,
        param_name="polynomialfeatures__degree", param_range=list(degrees),
        cv=snap.folds(len(snap.y_train)), scoring="neg_mean_squared_error")
    mse = -test_scores
    mean, se = mse.mean(axis=1), mse.std(axis=1, ddof=1) / np.sqrt(mse.shape[1])
    return np.sqrt(mean), se / (2 * np.sqrt(mean))


def assert_scores_equal_the_models(frame, settings, data=None):
    for row in frame.itertuples():
        model = RegressionModel(data=data, degree=row.degree, **settings)
        # A fit that interpolates has a training RMSE of rounding error.
        atol = 1e-10 * np.abs(model.samples_.y).max()
        assert row.train_rmse == pytest.approx(model.train_rmse_, rel=1e-8, abs=atol)
        assert row.test_rmse == pytest.approx(model.test_rmse_, rel=1e-8)


#: Six training points: from degree 5 on the fits interpolate, and the
#: module's minimum-norm least squares must still be LinearRegression's.
FEW_POINTS = {"n_samples": 8, "random_state": 2}


@pytest.mark.parametrize("settings", [OLS, RIDGE], ids=["ols", "ridge"])
@pytest.mark.parametrize("data", [{}, FEW_POINTS], ids=["default", "few-points"])
def test_validation_curve_equals_scikit_learn(settings, data):
    max_degree = 12
    data = DataGenerator(**data)
    snap = snapshot(data=data, **settings)
    frame = validation_curve(snap, max_degree)
    assert list(frame.degree) == list(range(max_degree + 1))
    # sklearn's validation_curve only sets the degree, and degree 0 needs the
    # bias column (include_bias) the pipeline adds only when built at degree
    # 0: compare degree 0 with cross_validate on that pipeline instead.
    mean, se = cv_reference(snap, snap.make_estimator(), range(1, max_degree + 1))
    np.testing.assert_allclose(frame.cv_rmse[1:], mean, rtol=1e-8)
    np.testing.assert_allclose(frame.cv_se[1:], se, rtol=1e-8)
    scores = cross_validate(snap.make_estimator(degree=0), snap.x_train[:, None],
                            snap.y_train, cv=snap.folds(len(snap.y_train)),
                            scoring="neg_mean_squared_error")
    assert frame.cv_rmse[0] == pytest.approx(np.sqrt(-scores["test_score"].mean()), rel=1e-8)
    assert_scores_equal_the_models(frame, settings, data)
    expected_alpha = settings.get("alpha", 0.0)
    assert list(frame.alpha) == [0.0] + [expected_alpha] * max_degree


def test_validation_curve_holds_the_cross_validated_alpha_of_each_degree():
    # The module chooses alpha once per degree on the whole training split
    # and holds it in the folds (see its docstring), so the reference is a
    # manual-alpha pipeline at that alpha.
    max_degree = 10
    snap = snapshot(**RIDGE_CV)
    frame = validation_curve(snap, max_degree)
    for row in frame.itertuples():
        if row.degree == 0:
            continue
        assert row.alpha == RegressionModel(degree=row.degree, **RIDGE_CV).alpha_
        manual = snap.make_estimator(alpha_mode="manual", alpha=row.alpha)
        mean, se = cv_reference(snap, manual, [row.degree])
        assert row.cv_rmse == pytest.approx(mean[0], rel=1e-8)
        assert row.cv_se == pytest.approx(se[0], rel=1e-8)
    assert len(set(frame.alpha[1:])) > 1  # the alpha does change with the degree
    assert_scores_equal_the_models(frame, RIDGE_CV)


@pytest.mark.parametrize("settings", [OLS, RIDGE, RIDGE_CV], ids=["ols", "ridge", "ridge-cv"])
def test_learning_curve_equals_scikit_learn(settings):
    model = RegressionModel(degree=4, **settings)
    snap = Snapshot.of(model)
    frame = learning_curve(snap)
    # The module fits the first m training points; sklearn's learning_curve
    # does the same with shuffle=False and the current split as its one fold.
    n_train, n = len(snap.y_train), len(snap.y_train) + len(snap.y_test)
    sizes, train_scores, test_scores = sklearn_learning_curve(
        snap.make_estimator(), np.r_[snap.x_train, snap.x_test][:, None],
        np.r_[snap.y_train, snap.y_test], train_sizes=frame.n_train.to_numpy(),
        cv=[(np.arange(n_train), np.arange(n_train, n))], scoring=SCORING, shuffle=False)
    np.testing.assert_array_equal(sizes, frame.n_train)
    assert frame.n_train.iloc[-1] == n_train
    # Below degree + 2 points the fit interpolates: its training RMSE is
    # rounding error, so compare on the scale of y as well.
    atol = 1e-10 * np.abs(snap.y_train).max()
    np.testing.assert_allclose(frame.train_rmse, -train_scores[:, 0], rtol=1e-8, atol=atol)
    np.testing.assert_allclose(frame.test_rmse, -test_scores[:, 0], rtol=1e-8, atol=atol)
    assert frame.train_rmse.iloc[-1] > 1  # the curve reaches the noise level
    # The last row fits the whole training split: the model's own fit, whose true
    # error is the score panel's (the audit found 7.592 here against 7.448 there).
    assert frame.true_rmse.iloc[-1] == pytest.approx(model.true_rmse_, rel=1e-9)


# ---- alpha path ---------------------------------------------------------------


def test_ridge_alpha_path_equals_ridge_on_the_pipeline_features():
    model = RegressionModel(degree=6, **RIDGE_CV)
    snap = Snapshot.of(model)
    path = alpha_path(snap)
    features = model.estimator_[:-1]
    z, z_test, y = (features.transform(snap.x_train[:, None]),
                    features.transform(snap.x_test[:, None]), snap.y_train)
    folds = snap.folds(len(y))
    assert np.all(np.diff(path.alphas) > 0)
    mse = np.empty((len(path.alphas), folds.n_splits))
    for k, alpha in enumerate(path.alphas):
        ridge = Ridge(alpha=alpha).fit(z, y)
        assert path.train_rmse[k] == pytest.approx(
            root_mean_squared_error(y, ridge.predict(z)), rel=1e-8)
        assert path.test_rmse[k] == pytest.approx(
            root_mean_squared_error(snap.y_test, ridge.predict(z_test)), rel=1e-8)
        np.testing.assert_allclose(path.coef[k], ridge.coef_, rtol=1e-6, atol=1e-8)
        mse[k] = -cross_val_score(Ridge(alpha=alpha), z, y, cv=folds,
                                  scoring="neg_mean_squared_error")
    mean, se = mse.mean(axis=1), mse.std(axis=1, ddof=1) / np.sqrt(folds.n_splits)
    np.testing.assert_allclose(path.cv_rmse, np.sqrt(mean), rtol=1e-8)
    assert path.best_alpha == model.alpha_
    assert path.alpha == model.alpha_
    best = int(np.argmin(mean))
    assert path.alphas[best] == path.best_alpha
    # One-SE rule: the largest alpha whose mean CV error is within one SE of the minimum.
    assert path.one_se_alpha >= path.best_alpha
    within = mean <= mean[best] + se[best]
    one_se = np.flatnonzero(path.alphas == path.one_se_alpha)[0]
    assert within[one_se]
    assert not within[one_se + 1:].any()
    assert path.one_se_alpha > path.best_alpha  # this setting does move it
    np.testing.assert_allclose(path.cv_se, se / (2 * np.sqrt(mean)), rtol=1e-8)


def test_lasso_alpha_path_matches_the_models_lasso_cv():
    model = RegressionModel(data=Polynomial(), degree=3, penalty="l1")
    assert model.messages_ == []  # converged
    snap = Snapshot.of(model)
    path = alpha_path(snap)
    lasso_cv = model.estimator_[-1]
    np.testing.assert_allclose(path.alphas, np.sort(lasso_cv.alphas_), rtol=1e-12)
    assert path.best_alpha == model.alpha_
    # LassoCV lists alphas from large to small.
    np.testing.assert_allclose(path.cv_rmse, np.sqrt(lasso_cv.mse_path_.mean(axis=1))[::-1],
                               rtol=1e-10)
    # Coordinate descent stops at a duality gap of 1e-4 (scikit-learn's tol):
    # the warm-started path and the model's cold fit agree to about that.
    best = np.flatnonzero(path.alphas == path.best_alpha)[0]
    np.testing.assert_allclose(path.coef[best], lasso_cv.coef_, rtol=0, atol=1e-4)
    features = model.estimator_[:-1]
    z, z_test = (features.transform(snap.x_train[:, None]),
                 features.transform(snap.x_test[:, None]))
    for k in range(0, len(path.alphas), 6):
        lasso = Lasso(alpha=path.alphas[k], max_iter=LASSO_MAX_ITER).fit(z, snap.y_train)
        assert path.train_rmse[k] == pytest.approx(
            root_mean_squared_error(snap.y_train, lasso.predict(z)), rel=1e-4)
        assert path.test_rmse[k] == pytest.approx(
            root_mean_squared_error(snap.y_test, lasso.predict(z_test)), rel=1e-4)
    # LASSO's coefficients leave the path at exactly 0: all at the top alpha,
    # some but not all just below it.
    zero = path.coef == 0
    assert zero[-1].all()
    assert (zero.any(axis=1) & ~zero.all(axis=1)).any()
    assert not zero[0].any()


def test_alpha_path_is_none_without_a_penalty():
    assert alpha_path(snapshot(**OLS)) is None
    assert alpha_path(snapshot(degree=0, **RIDGE_CV)) is None


# ---- coefficients --------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "settings"),
    [
        (DataGenerator(), {"degree": 5, **OLS}),
        (DataGenerator(x_min=0.0, x_max=10.0), {"degree": 7, **RIDGE}),
        (Polynomial(), {"degree": 3, "penalty": "l1"}),
    ],
    ids=["ols", "ridge-shifted-interval", "lasso"],
)
def test_fitted_coefficients_reproduce_the_predictions(data, settings):
    model = RegressionModel(data=data, **settings)
    frame = coefficients(Snapshot.of(model))
    assert list(frame.power) == list(range(settings["degree"] + 1))
    x = np.linspace(data.x_min, data.x_max, 200)
    scale = np.abs(data.data.y).max()
    np.testing.assert_allclose(NumpyPolynomial(frame.fitted.to_numpy())(x), model.predict(x),
                               rtol=0, atol=1e-8 * scale)


def test_true_coefficients_are_the_generators_plus_the_noise_mean():
    data = Polynomial(c0=1.5, c1=-2.0, c2=0.25, c3=0.5, c4=-0.1, c5=0.02, noise_mean=0.7)
    truth = [2.2, -2.0, 0.25, 0.5, -0.1, 0.02]
    frame = coefficients(Snapshot.of(RegressionModel(data=data, degree=5)))
    np.testing.assert_allclose(frame.true, truth, rtol=1e-14)
    frame = coefficients(Snapshot.of(RegressionModel(data=data, degree=3)))
    np.testing.assert_allclose(frame.true, truth[:4], rtol=1e-14)
    frame = coefficients(Snapshot.of(RegressionModel(degree=3)))
    assert frame.true.isna().all()  # the default truth is not a polynomial
    assert not frame.dropped.any()


def test_lasso_drops_powers_to_exactly_zero_on_a_symmetric_interval():
    # On [-3, 3] the map onto [-1, 1] only scales, so a zero standardized
    # coefficient is a zero coefficient in x.
    data = Polynomial(c4=0.0, c5=0.0)
    model = RegressionModel(data=data, degree=8, penalty="l1", alpha_mode="manual", alpha=0.01)
    assert model.messages_ == []  # converged
    frame = coefficients(Snapshot.of(model))
    dropped = frame.dropped.to_numpy()
    assert not dropped[0]
    np.testing.assert_array_equal(dropped[1:], model.estimator_[-1].coef_ == 0)
    assert dropped.any()
    assert not dropped[1:].all()
    assert (frame.fitted[dropped] == 0).all()
    assert (frame.fitted[~dropped][1:] != 0).all()


# ---- effective degrees of freedom ---------------------------------------------


def test_least_squares_edf_is_the_number_of_coefficients():
    model = RegressionModel(degree=0)
    for degree in range(13):
        model.degree = degree
        assert model.edf_ == degree + 1


def test_ridge_edf_falls_strictly_as_alpha_grows():
    model = RegressionModel(degree=8, **RIDGE)
    edf = []
    for alpha in np.logspace(-4, 4, 9):
        model.alpha = alpha
        edf.append(model.edf_)
    assert np.all(np.diff(edf) < 0)
    assert 1 < edf[-1] < edf[0] < 9


@pytest.mark.parametrize("degree", [1, 4, 9])
def test_effective_dof_is_the_trace_of_the_hat_matrix(degree):
    snap = snapshot(degree=degree, **RIDGE)
    design = LinearDesign(snap.x_train, degree, snap.settings["x_min"], snap.settings["x_max"])
    alphas = [0.0, 1e-3, 1.0, 1e3]
    traces = [np.trace(hat_matrix(snap, snap.x_train, **(
        {"penalty": "none"} if alpha == 0 else {"alpha": alpha}))) for alpha in alphas]
    np.testing.assert_allclose(design.effective_dof(alphas), traces, rtol=1e-8)
    assert traces[0] == pytest.approx(degree + 1, rel=1e-8)
    model = RegressionModel(degree=degree, **RIDGE)
    assert model.edf_ == pytest.approx(design.effective_dof([RIDGE["alpha"]])[0], rel=1e-10)


def test_lasso_edf_counts_the_nonzero_coefficients():
    model = RegressionModel(data=Polynomial(c4=0.0, c5=0.0), degree=8, penalty="l1",
                            alpha_mode="manual", alpha=0.01)
    # On a symmetric interval the zeros are zeros of the coefficients in x.
    assert model.edf_ == 1 + np.count_nonzero(model.coef_[1:])
    assert model.edf_ < 9


# ---- LinearDesign ----------------------------------------------------------------


@pytest.mark.parametrize(("degree", "x_min", "x_max"), [(3, -5.0, 5.0), (7, -5.0, 5.0),
                                                         (6, 0.0, 10.0)])
def test_linear_design_equals_scikit_learn_pipelines(degree, x_min, x_max):
    data = DataGenerator(x_min=x_min, x_max=x_max, n_samples=120, random_state=4)
    x = data.data.x.to_numpy()
    rng = np.random.default_rng(0)
    y = np.column_stack([data.data.y, rng.normal(size=len(x)), 5 + 100 * rng.normal(size=len(x))])
    x_new = np.linspace(x_min - 1, x_max + 1, 50)
    alphas = [0.0, 1e-3, 0.5, 100.0]
    design = LinearDesign(x, degree, x_min, x_max)
    predictions = design.predict(x_new, y, alphas)
    assert predictions.shape == (len(alphas), len(x_new), y.shape[1])
    for k, alpha in enumerate(alphas):
        for j in range(y.shape[1]):
            penalty = {"penalty": "none"} if alpha == 0 else {
                "penalty": "l2", "alpha_mode": "manual", "alpha": alpha}
            pipeline = polynomial_regression(degree, x_min, x_max, **penalty)
            pipeline.fit(x[:, None], y[:, j])
            scale = np.abs(y[:, j]).max()
            np.testing.assert_allclose(predictions[k, :, j], pipeline.predict(x_new[:, None]),
                                       rtol=0, atol=1e-8 * scale)
            np.testing.assert_allclose(design.coef(y[:, j], [alpha])[0], pipeline[-1].coef_,
                                       rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(design.features(x), pipeline[:-1].transform(x[:, None]),
                               atol=1e-12)


# ---- Diagnostics ---------------------------------------------------------------------


def test_diagnostics_methods_equal_the_functions_on_a_snapshot():
    model = RegressionModel(degree=5, **RIDGE)
    wrapper = Diagnostics(model=model, max_degree=6, replicates=20, seed=7)
    snap = Snapshot.of(model)
    pd.testing.assert_frame_equal(wrapper.validation_curve(), validation_curve(snap, 6))
    pd.testing.assert_frame_equal(wrapper.bias_variance_by_degree(),
                                  bias_variance_by_degree(snap, 6, 20, 7))
    pd.testing.assert_frame_equal(wrapper.bias_variance_by_alpha(),
                                  bias_variance_by_alpha(snap, 20, 7))
    pd.testing.assert_frame_equal(wrapper.learning_curve(), learning_curve(snap))
    pd.testing.assert_frame_equal(wrapper.coefficients(), coefficients(snap))
    ours, reference = wrapper.bias_variance(), bias_variance(snap, 20, 7)
    np.testing.assert_array_equal(ours.fits, reference.fits)
    assert (ours.bias2, ours.variance, ours.expected_mse, ours.exact_variance) == (
        reference.bias2, reference.variance, reference.expected_mse, reference.exact_variance)
    ours, reference = wrapper.alpha_path(), alpha_path(snap)
    pd.testing.assert_frame_equal(ours.frame(), reference.frame())
    np.testing.assert_array_equal(ours.coef, reference.coef)
    # The wrapper follows the model: a new degree gives the new degree's results.
    model.degree = 2
    pd.testing.assert_frame_equal(wrapper.coefficients(), coefficients(Snapshot.of(model)))


@pytest.mark.parametrize(("name", "value"), [("max_degree", 99), ("max_degree", 0),
                                             ("replicates", 5), ("replicates", 5000),
                                             ("seed", -1)])
def test_diagnostics_parameters_are_bounded(name, value):
    wrapper = Diagnostics()
    with pytest.raises(ValueError, match=name):
        setattr(wrapper, name, value)
