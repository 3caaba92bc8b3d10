"""Fuzz the model API over every parameter's full range, and just beyond it.

The only allowed outcomes are a fit whose scores are all finite, or a
``ValueError`` that names the refused parameter and leaves the object as it
was.  Anything else (a NaN score, another exception, a warning: pytest turns
warnings into errors) is a bug.  ``n_samples`` is capped for speed; every
other parameter is drawn from its whole declared range.
"""

from __future__ import annotations

import math
import os

import numpy as np
import param
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyfit_explorer import (
    AbsoluteValue,
    DataGenerator,
    Dataset,
    Polynomial,
    RegressionModel,
    Runge,
    Sine,
    Step,
)
from polyfit_explorer.diagnostics import Snapshot, verdict
from polyfit_explorer.model import SETTINGS
from polyfit_explorer.parameters import InvalidValue, UpdateFailed

GENERATORS = [DataGenerator, Polynomial, Sine, AbsoluteValue, Step, Runge]
MODEL_SETTINGS = SETTINGS
#: Fits at degree 50 with LASSO's cross-validation take ~0.3 s at this size.
MAX_FUZZ_SAMPLES = 40
#: Set FUZZ_EXAMPLES=500 for a longer hunt; 100 per test take about 20 s.
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 100)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def generator_inputs(cls: type[DataGenerator]) -> list[str]:
    return [p for p in cls.param if p not in ("name", "data", "resample", "reset", "edited")]


def valid(parameter: param.Parameter) -> st.SearchStrategy:
    """Any value within the parameter's declared range, its ends included."""
    if isinstance(parameter, param.Selector):
        objects = parameter.objects
        return st.sampled_from(list(objects.values() if isinstance(objects, dict) else objects))
    low, high = parameter.bounds
    if parameter.name == "n_samples":
        high = MAX_FUZZ_SAMPLES
    if isinstance(parameter, param.Integer):
        return st.one_of(st.sampled_from([low, high]), st.integers(low, high))
    return st.one_of(st.sampled_from([low, high]), st.floats(low, high))


def invalid(parameter: param.Parameter) -> st.SearchStrategy:
    """Values just beyond the parameter's range, and non-finite ones."""
    if isinstance(parameter, param.Selector):
        return st.just("no such option")
    low, high = parameter.bounds
    if isinstance(parameter, param.Integer):
        return st.sampled_from([low - 1, high + 1, -(2**63)])
    return st.sampled_from([np.nextafter(low, -np.inf), np.nextafter(high, np.inf),
                            low - abs(low) - 1, high + abs(high) + 1,
                            math.nan, math.inf, -math.inf])


def draw_settings(data, obj: type[param.Parameterized], names: list[str]) -> dict:
    return {name: data.draw(valid(obj.param[name]), label=name) for name in names}


def draw_excluded(data, n: int) -> list[int]:
    """Labels to exclude: none, a few, all but two, all but one, all, or unknown labels."""
    keep = data.draw(st.sampled_from([n, n - 1, 2, 1, 0]), label="points kept")
    labels = data.draw(st.permutations(range(n)), label="exclusion order")
    return sorted([*labels[keep:], *data.draw(st.lists(st.integers(n, 10 * n), max_size=2))])


def assert_finite_fit(model: RegressionModel):
    """Every score the model reports is a finite number (R² may be None: < 2 points)."""
    has_truth = getattr(model.data, "has_truth", True)
    for name in ("train_score_", "test_score_"):
        value = getattr(model, name)
        assert value is None or math.isfinite(value), (name, value)
    for split in ("train", "test"):
        n = getattr(model, f"n_{split}_")
        for name in (f"{split}_rmse_", f"{split}_mae_"):
            value = getattr(model, name)
            assert (value is None) if n == 0 else math.isfinite(value), (name, value)
    assert model.n_train_ >= 1
    assert math.isfinite(model.edf_)
    assert (model.true_rmse_ is None) if not has_truth else math.isfinite(model.true_rmse_)
    assert np.isfinite(model.y_pred_).all()
    assert model.coef_ is None or np.isfinite(model.coef_).all()
    assert all("nan" not in text.lower() for text in model.messages_)


def snapshot(model: RegressionModel) -> tuple:
    return (model.param.values(), model.data.param.values(), model.estimator_, model.scores,
            model.samples_, model.data.data)


def assert_unchanged(model: RegressionModel, before: tuple):
    settings_before, data_settings_before, estimator, scores, samples, data = before
    for name in MODEL_SETTINGS:
        assert getattr(model, name) == settings_before[name]
    for name in generator_inputs(type(model.data)):
        assert getattr(model.data, name) == data_settings_before[name]
    assert model.estimator_ is estimator
    assert model.scores == scores
    assert model.samples_ is samples
    assert model.data.data is data


def assert_names(error: ValueError, names):
    assert not isinstance(error, UpdateFailed), f"our own code failed: {error!r}"
    assert any(name in str(error) for name in names), error


def assert_refused(error: ValueError, bad: str | None, crossed: bool):
    """The refusal was due, and names the refused parameter (x_min when the ends crossed)."""
    assert (bad, crossed) != (None, False), f"valid settings refused: {error}"
    assert_names(error, [name for name, refused in ((bad, bad is not None),
                                                    ("x_min", crossed)) if refused])


@FUZZ
@given(data=st.data())
def test_any_settings_fit_finitely_or_are_refused_by_name(data):
    cls = data.draw(st.sampled_from(GENERATORS), label="ground truth")
    generator = draw_settings(data, cls, generator_inputs(cls))
    fit = draw_settings(data, RegressionModel, MODEL_SETTINGS)
    # Half the examples refuse one value; the other half must fit.
    bad = data.draw(st.one_of(st.none(), st.sampled_from([*generator, *fit])),
                    label="refused parameter")
    if bad in generator:
        generator[bad] = data.draw(invalid(cls.param[bad]), label="refused value")
    elif bad is not None:
        fit[bad] = data.draw(invalid(RegressionModel.param[bad]), label="refused value")
    crossed = bool(generator["x_min"] >= generator["x_max"])
    try:
        model = RegressionModel(data=cls(**generator), **fit)
    except ValueError as error:
        assert_refused(error, bad, crossed)
        return
    assert bad is None, f"{bad} accepted a value beyond its range"
    assert not crossed, "x_min >= x_max accepted"
    fit["excluded"] = draw_excluded(data, len(model.data.data))
    try:
        model.excluded = fit["excluded"]
    except ValueError as error:
        assert_names(error, ["excluded"])
        return
    assert_finite_fit(model)


@FUZZ
@given(data=st.data())
def test_a_change_applies_whole_or_not_at_all(data):
    """Change a few settings of a working model at once: a refusal leaves it as it was."""
    cls = data.draw(st.sampled_from(GENERATORS), label="ground truth")
    model = RegressionModel(data=cls(n_samples=data.draw(st.integers(2, MAX_FUZZ_SAMPLES))))
    target = data.draw(st.sampled_from(["model", "data"]), label="changed object")
    obj = model if target == "model" else model.data
    names = MODEL_SETTINGS if target == "model" else generator_inputs(cls)
    # Several valid values at once, or one refused value: param.update sets values in
    # turn, so a batch with a refused value leaves the ones before it set (param 2.4).
    chosen = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    refuse = data.draw(st.booleans(), label="one refused value")
    if refuse:
        chosen = chosen[:1]
    pick = invalid if refuse else valid
    changes = {name: data.draw(pick(obj.param[name]), label=name) for name in chosen}
    before = snapshot(model)
    try:
        obj.param.update(changes)
    except ValueError as error:
        assert_names(error, chosen)
        assert_unchanged(model, before)
        return
    assert_finite_fit(model)


finite_or_not = st.one_of(
    st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e-300]))


@FUZZ
@given(data=st.data(), x=st.lists(finite_or_not, max_size=12))
def test_your_data_fit_finitely_or_are_refused(data, x):
    y = data.draw(st.lists(finite_or_not, min_size=len(x), max_size=len(x)), label="y")
    try:
        dataset = Dataset.from_arrays(x, y)
    except InvalidValue:
        usable = [a for a, b in zip(x, y, strict=True) if math.isfinite(a) and math.isfinite(b)]
        assert len(usable) < 3 or len(set(usable)) == 1
        return
    model = RegressionModel(data=dataset, **draw_settings(data, RegressionModel, MODEL_SETTINGS))
    assert_finite_fit(model)


def test_fuzzed_parameters_are_every_input():
    # A parameter added later must be fuzzed too: SETTINGS must be every model input.
    assert set(MODEL_SETTINGS) | {"excluded"} == {
        p for p in RegressionModel.param if p not in ("name", "data") and not p.endswith("_")}
    for cls in GENERATORS:
        assert all(isinstance(cls.param[p], param.Selector | param.Number)
                   for p in generator_inputs(cls))


@pytest.mark.parametrize("cls", GENERATORS)
def test_range_ends_are_accepted(cls):
    """Each end of each range, with the highest degree on few points."""
    for name in generator_inputs(cls):
        parameter = cls.param[name]
        if isinstance(parameter, param.Selector) or name == "n_samples":
            continue
        low, high = parameter.bounds
        # The other end of the interval stays the default, so x_min's top and x_max's
        # bottom are replaced by values on the right side of it.
        ends = {"x_min": (low, cls.param.x_max.default - 1e-9),
                "x_max": (cls.param.x_min.default + 1e-9, high)}.get(name, (low, high))
        for value in ends:
            assert_finite_fit(RegressionModel(data=cls(n_samples=12, **{name: value}), degree=50))


# ---- what the fuzz found, one focused test each ---------------------------------


def test_coefficients_beyond_float_range_are_given_in_the_scaled_variable():
    # Degree 50 on [999999, 1e6]: the coefficients in x would reach ~1e314.
    model = RegressionModel(data=DataGenerator(n_samples=40, x_min=999_999.0, x_max=1e6),
                            degree=50)
    assert model.coef_variable_ == "t = (x − 999999.5) / 0.5"
    assert np.isfinite(model.coef_).all()
    assert any("cannot reproduce the fit" in m for m in model.messages_)
    assert_finite_fit(model)
    model.degree = 3
    assert np.isfinite(model.coef_).all()


def test_verdict_of_an_exact_training_fit_is_no_rounding_story():
    # Degree 0 on a constant training set fits it and every fold exactly (CV RMSE 0).
    data = Dataset.from_arrays([0.0] * 8 + [1.0], [0.0] * 8 + [1.0])
    model = RegressionModel(data=data, degree=0, test_size=0.5, random_state=0)
    assert model.train_rmse_ == 0
    assert model.test_rmse_ > 0
    result = verdict(Snapshot.of(model))
    assert (result.kind, result.basis) == ("balanced", "cross-validation")
    assert "rounding" not in result.text


def test_verdict_of_your_data_names_no_noise():
    data = Dataset.from_arrays([0.0] * 8 + [1.0], [0.0] * 8 + [1.0])
    model = RegressionModel(data=data, degree=0, test_size=0.5, random_state=4_294_967_295)
    result = verdict(Snapshot.of(model))
    assert result.basis == "cross-validation"
    assert "nan" not in result.text.lower()
    assert "noise" not in result.text
    assert "σ" not in result.text


def test_excluding_every_point_is_refused_by_name_and_kept():
    model = RegressionModel(data=DataGenerator(n_samples=5), excluded=[0, 1, 2])
    before = snapshot(model)
    with pytest.raises(InvalidValue, match="excluded"):
        model.excluded = [0, 1, 2, 3, 4]
    assert model.excluded == [0, 1, 2]
    assert_unchanged(model, before)


def test_huber_fits_y_far_from_zero():
    # L-BFGS stopped with "ABNORMAL" on the unscaled y of a noise mean of -1e6.
    gen = Runge(n_samples=40, x_min=-1e6, x_max=1e6, noise_sd=0.0, noise_mean=-1e6)
    model = RegressionModel(data=gen, degree=0, loss="huber")
    assert_finite_fit(model)
    # Degree 0 without noise: the fit is the truth's typical level, about -1e6.
    assert model.predict([0.0])[0] == pytest.approx(-1e6, abs=1.0)


def test_noise_floor_without_noise_is_zero_for_any_kind():
    # σ = 0 with Student-t ν ≤ 2 computed 0 · ∞ = NaN, with a RuntimeWarning.
    gen = DataGenerator(noise_sd=0.0, noise_kind="student_t", noise_df=1.5)
    assert gen.noise_floor() == 0.0


def test_r2_of_a_subnormal_spread_is_finite():
    # Found by the fuzz in CI: the total sum of squares underflowed and r2_score's
    # division overflowed.
    model = RegressionModel(
        data=Dataset.from_arrays([0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
                                 [0.0, 0.0, 0.0, 1.3958804995431658e-154, 0.0, 3.0]),
        degree=0, test_size=0.5, random_state=0)
    assert all(v is None or np.isfinite(v) for v in (model.train_score_, model.test_score_))
