import re

import numpy as np
import param
import pytest
from numpy.polynomial import polynomial as npoly

from polyfit_explorer import (
    AbsoluteValue,
    DataGenerator,
    Polynomial,
    Runge,
    Sine,
    Step,
    ground_truths,
)


def test_same_seed_gives_identical_data():
    a = DataGenerator(n_samples=300, random_state=7)
    b = DataGenerator(n_samples=300, random_state=7)
    assert a.data.equals(b.data)
    assert not a.data.equals(DataGenerator(n_samples=300, random_state=8).data)


def test_x_is_uniform_on_the_interval():
    data = DataGenerator(n_samples=20_000, x_min=-2.0, x_max=6.0).data
    assert data.x.between(-2.0, 6.0).all()
    # Uniform on [-2, 6]: mean 2, variance 64 / 12; 5 standard errors of slack.
    assert data.x.mean() == pytest.approx(2.0, abs=5 * np.sqrt(64 / 12 / 20_000))
    assert data.x.var() == pytest.approx(64 / 12, rel=0.05)


def test_noise_has_the_declared_mean_and_sd():
    gen = DataGenerator(n_samples=50_000, noise_sd=2.5, noise_mean=-1.0)
    residual = gen.data.y - gen.ground_truth(gen.data.x)
    assert residual.mean() == pytest.approx(-1.0, abs=5 * 2.5 / np.sqrt(50_000))
    assert residual.std() == pytest.approx(2.5, rel=0.02)


def test_zero_noise_gives_the_truth_exactly():
    gen = Sine(noise_sd=0.0, n_samples=50)
    np.testing.assert_array_equal(gen.data.y, gen.ground_truth(gen.data.x))


def test_more_samples_keep_the_earlier_ones():
    small = DataGenerator(n_samples=50, random_state=3).data
    large = DataGenerator(n_samples=500, random_state=3).data
    assert large.iloc[:50].equals(small)


def test_noise_change_rescales_the_same_draws():
    gen = DataGenerator(noise_sd=1.0)
    x_before, noise_before = gen.data.x.copy(), gen.data.y - gen.ground_truth(gen.data.x)
    gen.noise_sd = 3.0
    np.testing.assert_array_equal(gen.data.x, x_before)
    np.testing.assert_allclose(gen.data.y - gen.ground_truth(gen.data.x), 3 * noise_before)


def test_data_are_recomputed_only_when_an_input_changes():
    gen = DataGenerator()
    frame = gen.data
    gen.param.update(noise_sd=gen.noise_sd)  # same value: no event
    assert gen.data is frame
    gen.noise_sd = 1.5
    assert gen.data is not frame


def test_resample_draws_new_data_under_a_new_seed():
    gen = DataGenerator(random_state=11)
    before = gen.data
    gen.param.trigger("resample")
    assert gen.random_state != 11
    assert not gen.data.equals(before)
    assert gen.data.equals(DataGenerator(random_state=gen.random_state).data)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("n_samples", 1, "n_samples (Samples) must be in [2, 1000000]; got 1"),
        ("n_samples", 1_000_001, "n_samples (Samples) must be in [2, 1000000]; got 1000001"),
        ("noise_sd", -0.1, "noise_sd (Noise σ) must be in [0, 1e+06]; got -0.1"),
        ("x_min", -2e6, "x_min (x min) must be in [-1e+06, 1e+06]"),
        ("random_state", -1, "random_state (Data seed) must be in [0, 4294967295]"),
        ("noise_sd", float("nan"), "noise_sd (Noise σ) must be in [0, 1e+06]; got nan"),
    ],
)
def test_out_of_range_values_name_parameter_and_range(name, value, words):
    gen = DataGenerator()
    before = gen.data
    with pytest.raises(ValueError, match="^" + re.escape(words)):
        setattr(gen, name, value)
    assert gen.data is before


def test_x_min_must_stay_below_x_max_and_nothing_is_lost():
    gen = DataGenerator(x_min=-5.0, x_max=5.0)
    before = gen.data
    with pytest.raises(ValueError, match="x_min must be less than x_max"):
        gen.x_min = 5.0
    assert (gen.x_min, gen.x_max) == (-5.0, 5.0)
    assert gen.data is before
    with pytest.raises(ValueError, match="x_min must be less than x_max"):
        gen.param.update(x_min=7.0, x_max=6.0)
    assert (gen.x_min, gen.x_max) == (-5.0, 5.0)
    gen.param.update(x_min=6.0, x_max=7.0)  # both at once is valid
    assert gen.data.x.between(6.0, 7.0).all()


def test_constructor_rejects_an_empty_interval():
    with pytest.raises(ValueError, match="x_min must be less than x_max"):
        DataGenerator(x_min=3.0, x_max=3.0)


def test_data_is_read_only():
    gen = DataGenerator()
    with pytest.raises(TypeError, match=r"Constant parameter 'data' cannot be modified"):
        gen.data = gen.data.copy()


def test_polynomial_truth_and_true_degree():
    gen = Polynomial(c0=1.0, c1=0.0, c2=2.0, c3=0.0, c4=-0.5, c5=0.0)
    x = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(gen.ground_truth(x), npoly.polyval(x, [1, 0, 2, 0, -0.5]))
    assert gen.true_degree == 4
    gen.c4 = 0.0
    assert gen.true_degree == 2


@pytest.mark.parametrize(
    ("cls", "x", "expected"),
    [
        (DataGenerator, np.pi, 2 * np.pi - 0.6 * np.pi**2 + 0.2 * np.pi**3),
        (Sine, np.pi / 2, 1.0),
        (AbsoluteValue, -3.0, 3.0),
        (Step, 0.5, 1.0),
        (Step, -0.5, 0.0),
        (Runge, 0.2, 0.5),
    ],
)
def test_ground_truth_values(cls, x, expected):
    assert cls().ground_truth(np.array([x]))[0] == pytest.approx(expected, abs=1e-12)


def test_truth_is_the_noiseless_curve_on_a_grid():
    gen = Runge()
    truth = gen.truth(11)
    np.testing.assert_allclose(truth.x, np.linspace(-1, 1, 11))
    np.testing.assert_allclose(truth.y, 1 / (1 + 25 * truth.x**2))


def test_a_user_subclass_needs_only_ground_truth_and_is_discovered():
    class Cubic(DataGenerator):
        """x cubed."""

        def ground_truth(self, x):
            return x**3

    gen = Cubic(noise_sd=0.0, n_samples=10)
    np.testing.assert_allclose(gen.data.y, gen.data.x**3)
    truths = ground_truths()
    assert truths["Cubic"] is Cubic
    assert list(truths)[:6] == [
        "Original: 2x − 0.6x² + 0.2x³ + 18·sin x", "Polynomial (editable coefficients)",
        "Sine", "Absolute value |x|", "Step", "Runge 1/(1 + 25x²)"]


def test_subclass_parameters_feed_the_sample():
    gen = Sine(noise_sd=0.0)
    before = gen.data
    gen.amplitude = 2.0
    np.testing.assert_allclose(gen.data.y, 2 * before.y)


def test_every_public_parameter_is_documented_labelled_and_bounded():
    classes = [DataGenerator, *param.concrete_descendents(DataGenerator).values()]
    for cls in classes:
        for name, p in cls.param.objects().items():
            if name == "name":
                continue
            assert p.doc, f"{cls.__name__}.{name} has no doc"
            assert p.label, f"{cls.__name__}.{name} has no label"
            if isinstance(p, param.Number) and p.precedence is None:
                assert p.bounds is not None, f"{cls.__name__}.{name} is unbounded"
                assert None not in p.bounds, f"{cls.__name__}.{name} is half-bounded"


def test_every_builtin_bounded_parameter_names_its_range():
    from polyfit_explorer.parameters import InvalidValue

    for cls in ground_truths().values():
        gen = cls()
        for name, p in cls.param.objects().items():
            if isinstance(p, param.Number) and p.bounds and p.bounds[1] is not None:
                words = re.escape(f"{name} ({p.label}) must be in")
                with pytest.raises(InvalidValue, match=words):
                    setattr(gen, name, p.bounds[1] + 1)
