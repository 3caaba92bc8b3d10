"""Issue 13's audit of the teaching layer: each number checked against an independent reference.

Every test here failed before its fix; the numbers of the audit are in the
comments.  References: scipy's adaptive quadrature for averages over x,
the model's own scores for curves that refit it, closed forms for bias².
"""

import numpy as np
import pytest
from scipy.integrate import quad

from polyfit_explorer import AbsoluteValue, DataGenerator, Polynomial, RegressionModel, Step
from polyfit_explorer.diagnostics import (
    Snapshot,
    bias_variance,
    bias_variance_by_degree,
    learning_curve,
    validation_curve,
)


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
