"""Issue 13's audit of the teaching layer: each number checked against an independent reference.

Every test here failed before its fix; the numbers of the audit are in the
comments.  References: scipy's adaptive quadrature for averages over x,
the model's own scores for curves that refit it, closed forms for bias².
"""

import numpy as np
import pytest
from numpy.polynomial import Polynomial as NumpyPolynomial
from scipy.integrate import quad
from sklearn.metrics import r2_score

from polyfit_explorer import AbsoluteValue, DataGenerator, Polynomial, RegressionModel, Step
from polyfit_explorer.diagnostics import (
    Diagnostics,
    Snapshot,
    bias_variance,
    bias_variance_by_degree,
    coefficients,
    learning_curve,
    validation_curve,
)
from polyfit_explorer.model import raw_coefficients


def average_over_x(f, x_min, x_max) -> float:
    """1/(b - a) ∫ f over [a, b] by adaptive quadrature: x is uniform on the interval."""
    value, _ = quad(f, x_min, x_max, limit=500, epsabs=0, epsrel=1e-11)
    return value / (x_max - x_min)


# ---- 1. no penalty means no alpha, whatever alpha_mode says ----------------------


def leftover_manual_alpha() -> RegressionModel:
    """Least squares after a manual Ridge: alpha_mode and alpha are left over."""
    return RegressionModel(data=DataGenerator(random_state=2), degree=4,
                           alpha_mode="manual", alpha=1000.0)


def test_learning_curve_fits_least_squares_when_there_is_no_penalty():
    model = leftover_manual_alpha()
    curve = learning_curve(Snapshot.of(model))
    # The audit: 14.20 in the curve against 5.95 in the model.
    assert curve.train_rmse.iloc[-1] == pytest.approx(model.train_rmse_, rel=1e-9)
    assert curve.true_rmse.iloc[-1] == pytest.approx(model.true_rmse_, rel=1e-9)


def test_no_diagnostic_applies_a_leftover_alpha():
    model = leftover_manual_alpha()
    plain = RegressionModel(data=DataGenerator(random_state=2), degree=4)
    snap, plain_snap = Snapshot.of(model), Snapshot.of(plain)
    assert (validation_curve(snap, 6).drop(columns="alpha")
            .equals(validation_curve(plain_snap, 6).drop(columns="alpha")))
    here, reference = bias_variance(snap, 20), bias_variance(plain_snap, 20)
    assert here.alpha is None
    assert here.exact_bias2 == pytest.approx(reference.exact_bias2, rel=1e-12)
    assert here.exact_variance == pytest.approx(reference.exact_variance, rel=1e-12)


# ---- 2. bias² is not inflated by the refits' variance -----------------------------


def test_u_curve_shows_the_exact_bias2_of_least_squares():
    # A cubic truth: from degree 3 on the exact bias² is 0.  The mean fit of R
    # refits still scatters, which put 0.0125 on the log axis at degree 15.
    replicates = 50
    snap = Snapshot.of(RegressionModel(data=Polynomial(random_state=1), degree=3))
    frame = bias_variance_by_degree(snap, max_degree=15, replicates=replicates)
    assert (frame.method == "closed form").all()
    np.testing.assert_array_equal(frame.bias2, frame.exact_bias2)
    np.testing.assert_array_equal(frame.variance, frame.exact_variance)
    unbiased = frame[frame.degree >= 3]
    assert (unbiased.bias2 < 1e-9).all()
    # The uncorrected mean-fit bias² is what was drawn before: of the order of
    # variance / R, ten orders of magnitude above the truth.
    assert (unbiased.mean_fit_bias2 > 1e-5).all()
    assert (unbiased.mean_fit_bias2 < 10 * unbiased.variance / replicates).all()


def test_bias2_without_closed_form_is_corrected_for_the_refits_variance():
    # LASSO: no closed form.  With a tiny alpha it is least squares, whose exact
    # bias² is known: the corrected estimate must be far closer than the mean fit's.
    snap = Snapshot.of(RegressionModel(degree=8, penalty="l1", alpha_mode="manual",
                                       alpha=1e-6))
    lasso = bias_variance(snap, replicates=400, seed=1)
    exact = bias_variance(Snapshot.of(RegressionModel(degree=8)), replicates=10)
    assert lasso.method == "refits"
    assert lasso.bias2 == lasso.refit_bias2
    corrected_error = abs(lasso.bias2 - exact.exact_bias2)
    naive_error = abs(lasso.mean_fit_bias2 - exact.exact_bias2)
    assert corrected_error < 0.5 * naive_error


# ---- 3. one average over x ------------------------------------------------------


@pytest.mark.parametrize("degree", [3, 8, 15])
def test_true_error_is_the_average_over_x_uniform_on_the_interval(degree):
    # The audit: 7 % too high at degree 15 with an even grid.
    model = RegressionModel(degree=degree)
    data = model.data
    reference = average_over_x(
        lambda x: (model.predict([x])[0] - data.expected_y(x)) ** 2, data.x_min, data.x_max)
    assert model.true_rmse_ == pytest.approx(np.sqrt(reference), rel=1e-9)


@pytest.mark.parametrize("degree", [2, 8])
def test_exact_bias2_is_the_average_over_x(degree):
    # For a linear smoother the mean fit is the fit to E[y|x] itself.
    model = RegressionModel(degree=degree)
    snap = Snapshot.of(model)
    mean_fit = model.make_estimator().fit(snap.x_train[:, None], snap.target_train)
    data = model.data
    reference = average_over_x(
        lambda x: (mean_fit.predict([[x]])[0] - data.expected_y(x)) ** 2,
        data.x_min, data.x_max)
    assert bias_variance(snap, replicates=10).exact_bias2 == pytest.approx(reference, rel=1e-8)


def test_noise_floor_averages_a_growing_sigma_over_x():
    data = DataGenerator(noise_sd=2.0, noise_growth=1.5, x_min=-2.0, x_max=6.0)
    noise = data.noise()
    reference = average_over_x(lambda x: float(noise.variance(np.array([x]))[0]), -2.0, 6.0)
    assert data.noise_floor() == pytest.approx(np.sqrt(reference), rel=1e-10)
    assert Snapshot.of(RegressionModel(data=data)).noise_variance == pytest.approx(
        reference, rel=1e-10)


@pytest.mark.parametrize("data", [AbsoluteValue(corner=0.7, x_min=-2.0, x_max=2.0),
                                  Step(location=-0.4, x_min=-2.0, x_max=2.0)],
                         ids=["kink", "jump"])
def test_true_error_of_a_truth_with_a_kink_or_a_jump(data):
    model = RegressionModel(data=data, degree=6)
    location = getattr(data, "corner", getattr(data, "location", None))
    pieces = [(data.x_min, location), (location, data.x_max)]
    reference = sum(
        average_over_x(lambda x: (model.predict([x])[0] - data.expected_y(x)) ** 2, a, b)
        * (b - a) for a, b in pieces) / (data.x_max - data.x_min)
    assert model.true_rmse_ == pytest.approx(np.sqrt(reference), rel=1e-9)


# ---- 4. coefficients that reproduce the fit ---------------------------------------


def test_coefficients_on_a_shifted_interval_are_given_in_the_scaled_variable():
    # The audit: on [100, 110] at degree 20 the coefficients of x^k reached 1e26
    # and evaluating them missed the fit by a factor 4e8, with no message.
    model = RegressionModel(data=DataGenerator(x_min=100.0, x_max=110.0), degree=20)
    assert model.coef_variable_ == "t = (x − 105) / 5"
    x = np.linspace(100.0, 110.0, 301)
    fit = model.predict(x)
    reproduced = NumpyPolynomial(model.coef_)((x - 105.0) / 5.0)
    assert np.abs(reproduced - fit).max() <= 1e-9 * np.abs(fit).max()
    assert any("t = (x − 105) / 5" in message for message in model.messages_)
    # The raw coefficients in x would not do: that is why.
    assert np.abs(NumpyPolynomial(raw_coefficients(model.estimator_))(x) - fit).max() > 1.0


def test_coefficients_in_x_where_they_reproduce_the_fit():
    model = RegressionModel(data=DataGenerator(x_min=-1.0, x_max=4.0), degree=6)
    assert model.coef_variable_ == "x"
    x = np.linspace(-1.0, 4.0, 301)
    np.testing.assert_allclose(NumpyPolynomial(model.coef_)(x), model.predict(x), rtol=1e-8)
    assert not any("cannot reproduce" in message for message in model.messages_)


def test_coefficient_table_gives_the_truth_in_the_same_variable():
    truth = Polynomial(x_min=100.0, x_max=110.0, noise_sd=0.0)
    model = RegressionModel(data=truth, degree=20)
    table = coefficients(Snapshot.of(model))
    assert table.attrs["variable"] == model.coef_variable_ == "t = (x − 105) / 5"
    # The true polynomial of x, written in t: evaluating it in t gives the truth.
    x = np.linspace(100.0, 110.0, 11)
    in_t = NumpyPolynomial(table.true.to_numpy())((x - 105.0) / 5.0)
    np.testing.assert_allclose(in_t, truth.ground_truth(x), rtol=1e-9)


# ---- 5. constant y ------------------------------------------------------------------


@pytest.mark.parametrize("level", [0.1, 3.0, 7.3])
def test_r2_of_constant_y_is_undefined(level):
    # The audit: a perfect fit of constant y (RMSE 1e-16) scored R² 0.00 and
    # "Under-fitting"; with another constant, R² 1.0.
    flat = Polynomial(noise_sd=0.0, c0=level, c1=0.0, c2=0.0, c3=0.0)
    model = RegressionModel(data=flat, degree=2)
    assert model.train_rmse_ < 1e-12
    assert model.train_score_ is None
    assert model.test_score_ is None
    assert any("constant" in message and "undefined" in message
               for message in model.messages_)


def test_r2_of_varying_y_still_equals_scikit_learn():
    model = RegressionModel(degree=5)
    frame, prediction = model.samples_, model.y_pred_
    train = (frame.split == "train").to_numpy()
    assert model.train_score_ == pytest.approx(
        r2_score(frame.y[train], prediction[train]), abs=1e-12)
    assert not any("constant" in message for message in model.messages_)


# ---- 10. LASSO at the largest alpha -------------------------------------------------


def test_lasso_at_its_largest_alpha_says_every_coefficient_is_zero():
    # The audit: "the best alpha may lie beyond the grid", where every larger
    # alpha gives the same all-zero fit.
    model = RegressionModel(data=DataGenerator(noise_sd=300.0, random_state=1), degree=3,
                            penalty="l1")
    assert model.alpha_ == pytest.approx(model.estimator_[-1].alphas_.max())
    assert not np.ravel(model.estimator_[-1].coef_).any()
    message = next(m for m in model.messages_ if "largest alpha" in m)
    assert "beyond the grid" not in message
    assert "every coefficient to 0" in message


def test_ridge_at_its_largest_alpha_still_points_beyond_the_grid():
    model = RegressionModel(data=DataGenerator(noise_sd=1e4, random_state=1), degree=3,
                            penalty="l2")
    assert model.alpha_ == pytest.approx(max(model.estimator_[-1].alphas))
    assert any("beyond the grid" in m for m in model.messages_)


# ---- found on the way: least squares that is least squares --------------------------


def test_high_degree_least_squares_equals_numpy_polynomial_fit():
    # scikit-learn 1.9's LinearRegression cut singular values below 1e-6 of the
    # largest: at degree 15 on 20 points its training RMSE was 0.988 where least
    # squares reaches 0.948, and its test RMSE 13.5 where the validation curve
    # (exact least squares) said 85.3 for the same fit.
    data = DataGenerator(n_samples=40, noise_sd=3.0, random_state=8)
    model = RegressionModel(data=data, degree=15, test_size=0.5)
    snap = Snapshot.of(model)
    reference = NumpyPolynomial.fit(snap.x_train, snap.y_train, 15, domain=[-5, 5])
    x = np.r_[snap.x_train, snap.x_test]
    np.testing.assert_allclose(model.predict(x), reference(x), rtol=1e-6,
                               atol=1e-6 * np.abs(reference(x)).max())
    curve = validation_curve(snap, 15).set_index("degree").loc[15]
    assert curve.train_rmse == pytest.approx(model.train_rmse_, rel=1e-8)
    assert curve.test_rmse == pytest.approx(model.test_rmse_, rel=1e-8)


@pytest.mark.parametrize("level", [0.1, 3.0])
def test_constant_y_gets_no_verdict(level):
    flat = Polynomial(noise_sd=0.0, c0=level, c1=0.0, c2=0.0, c3=0.0)
    verdict = Diagnostics(model=RegressionModel(data=flat, degree=2)).verdict()
    assert verdict.kind == "unknown"
    assert verdict.text.startswith("No verdict")
