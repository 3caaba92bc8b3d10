"""Data generators: a known ground truth plus noise, sampled reproducibly.

A generator draws ``n_samples`` points with x uniform on ``[x_min, x_max]`` and
``y = ground_truth(x) + noise``.  A new ground truth is a subclass that
overrides :meth:`DataGenerator.ground_truth`; it needs nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import param
from numpy.polynomial import polynomial as npoly

from .average import NODES, Average
from .parameters import Integer, InvalidValue, Number, rolled_back

__all__ = [
    "MAX_SAMPLES",
    "NOISE_KINDS",
    "AbsoluteValue",
    "DataGenerator",
    "Noise",
    "Polynomial",
    "Runge",
    "Sine",
    "Step",
    "ground_truths",
    "title",
]

MAX_SEED = 2**32 - 1
#: The most points a sample may have, drawn or uploaded (``userdata.MAX_ROWS``):
#: the app draws 1,000,000 in about 8 s; twice that took 14 s.
MAX_SAMPLES = 1_000_000

#: Noise distributions, each scaled to standard deviation 1 before noise σ multiplies it.
NOISE_KINDS = {"Gaussian": "gaussian", "Uniform": "uniform", "Laplace": "laplace",
               "Student-t": "student_t"}


@dataclass(frozen=True)
class Noise:
    """The noise of a generator's y, as a frozen value: draws and variance at any x.

    ``sd`` scales a unit-variance draw of ``kind``; it grows with |x| as
    ``sd · (1 + growth · |x| / reach)``.  A share ``outlier_fraction`` of the
    points gets extra Gaussian noise with ``outlier_scale`` times that
    standard deviation.  Student-t with ``df`` ≤ 2 has no variance: it is then
    drawn with scale 1 instead of standard deviation 1.
    """

    kind: str = "gaussian"
    sd: float = 1.0
    df: float = 3.0
    growth: float = 0.0
    reach: float = 1.0
    outlier_fraction: float = 0.0
    outlier_scale: float = 10.0

    @property
    def is_plain_gaussian(self) -> bool:
        """Gaussian with one σ everywhere and no outliers: the textbook case."""
        return self.kind == "gaussian" and self.growth == 0 and self.outlier_fraction == 0

    def sd_at(self, x: np.ndarray) -> np.ndarray:
        """Return the standard deviation of the main noise at ``x``, before outliers."""
        return self.sd * (1.0 + self.growth * np.abs(x) / self.reach)

    def variance(self, x: np.ndarray) -> np.ndarray:
        """Return the variance of the noise at ``x``, outliers included (inf if undefined)."""
        unit = np.inf if self.kind == "student_t" and self.df <= 2 else 1.0
        sd = self.sd_at(np.asarray(x, dtype=float))
        if self.sd == 0:  # no noise, whatever its kind: not 0 · ∞
            return np.zeros_like(sd)
        return sd**2 * (unit + self.outlier_fraction * self.outlier_scale**2)

    def unit(self, rng: np.random.Generator, shape) -> np.ndarray:
        """Draw zero-mean, unit-variance values of this kind."""
        if self.kind == "uniform":
            return rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), shape)
        if self.kind == "laplace":
            return rng.laplace(0.0, np.sqrt(0.5), shape)
        if self.kind == "student_t":
            scale = np.sqrt((self.df - 2) / self.df) if self.df > 2 else 1.0
            return scale * rng.standard_t(self.df, shape)
        return rng.standard_normal(shape)

    def apply(self, x, unit, outlier_u=None, outlier_z=None) -> np.ndarray:
        """Turn unit draws (and the outlier draws, if any) into noise at ``x``."""
        sd = self.sd_at(x)
        noise = sd * unit
        if self.outlier_fraction > 0:
            noise = noise + (outlier_u < self.outlier_fraction) * (
                self.outlier_scale * sd * outlier_z)
        return noise

    def draw(self, x: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` fresh noise vectors at ``x``: shape (len(x), size)."""
        x = np.asarray(x, dtype=float)[:, None]
        shape = (len(x), size)
        unit = self.unit(rng, shape)
        if self.outlier_fraction == 0:
            return self.apply(x, unit)
        return self.apply(x, unit, rng.random(shape), rng.standard_normal(shape))


class DataGenerator(param.Parameterized):
    """Noisy samples of the original notebook's curve, 2x - 0.6x² + 0.2x³ + 18·sin x.

    Subclass it and override :meth:`ground_truth` for another curve; the
    subclass then appears in the app's ground-truth selector.

    Noise is ``noise_mean + noise_sd * N(0, 1)``.  x and the standard-normal
    draws come from two independent streams of ``random_state``, so a larger
    ``n_samples`` keeps the earlier points, and a noise change rescales the
    same draws instead of drawing new ones.

    Examples
    --------
    >>> gen = DataGenerator(n_samples=5, random_state=1)
    >>> gen.data.shape
    (5, 2)
    >>> gen.data.equals(DataGenerator(n_samples=5, random_state=1).data)
    True
    """

    title = "Original: 2x − 0.6x² + 0.2x³ + 18·sin x"

    n_samples = Integer(
        default=200, bounds=(2, MAX_SAMPLES), softbounds=(10, 2_000), step=10,
        label="Samples", doc="Number of (x, y) points drawn from the ground truth.")

    x_min = Number(
        default=-5.0, bounds=(-1e6, 1e6), softbounds=(-10.0, 10.0), step=0.5,
        label="x min", doc="Lower end of the interval x is drawn from; below x max.")

    x_max = Number(
        default=5.0, bounds=(-1e6, 1e6), softbounds=(-10.0, 10.0), step=0.5,
        label="x max", doc="Upper end of the interval x is drawn from; above x min.")

    noise_sd = Number(
        default=3.0, bounds=(0.0, 1e6), softbounds=(0.0, 10.0), step=0.1,
        label="Noise σ", doc=(
            "Standard deviation of the noise added to y. The original "
            "notebook's noise_magnitude × noise_sd."))

    noise_mean = Number(
        default=0.0, bounds=(-1e6, 1e6), softbounds=(-10.0, 10.0), step=0.5,
        label="Noise mean", doc=(
            "Constant offset of the noise: a systematic error the intercept absorbs. "
            "The original notebook's noise_magnitude × noise_mean."))

    noise_kind = param.Selector(
        default="gaussian", objects=NOISE_KINDS, label="Noise distribution",
        doc="Shape of the noise; every kind is scaled to standard deviation noise σ.")

    noise_df = Number(
        default=3.0, bounds=(1.0, 100.0), softbounds=(1.0, 30.0), step=0.5,
        label="Student-t ν", doc=(
            "Degrees of freedom ν of Student-t noise: small ν gives heavy tails. With ν ≤ 2 "
            "the variance is infinite, and noise σ is then the scale."))

    noise_growth = Number(
        default=0.0, bounds=(0.0, 100.0), softbounds=(0.0, 5.0), step=0.1,
        label="σ growth with |x|", doc=(
            "Heteroscedastic noise: σ at x is noise σ × (1 + growth × |x| / largest |x|), "
            "so at the interval's largest |x| it is (1 + growth) times noise σ."))

    outlier_fraction = Number(
        default=0.0, bounds=(0.0, 0.5), step=0.01, label="Outlier fraction",
        doc="Share of the points that get extra noise of outlier scale × σ.")

    outlier_scale = Number(
        default=10.0, bounds=(1.0, 1000.0), softbounds=(1.0, 50.0), step=1.0,
        label="Outlier scale",
        doc="Standard deviation of an outlier's extra noise, in units of σ.")

    random_state = Integer(
        default=0, bounds=(0, MAX_SEED), label="Data seed",
        doc="Seed of the random draws: the same seed and settings give the same data.")

    resample = param.Event(
        label="Resample", doc="Draw fresh data under a new random seed.")

    reset = param.Event(
        label="Reset to generated data",
        doc="Discard the points added, moved or deleted by hand and draw the sample again.")

    data = param.DataFrame(
        default=None, constant=True, precedence=-1, columns=["x", "y"],
        doc=("The current sample, columns x and y; its index labels identify the points. "
             "Recomputed only when an input changes."))

    edited = param.Boolean(
        default=False, constant=True, precedence=-1,
        doc="True while the data hold points edited by hand (see set_points).")

    def __init__(self, **params):
        super().__init__(**params)
        self._draws = None
        self._valid_range = (self.x_min, self.x_max)
        # Every parameter except the outputs feeds the sample, including those a
        # subclass adds for its own curve, so discover them rather than list them.
        self.param.watch(self._inputs_changed, self._inputs())
        self._sample()

    def _inputs_changed(self, *events):
        """Resample, all changes or none: on an error restore inputs and data, then raise.

        The error may come from this generator (its ``ground_truth``) or from a
        model fitting the new sample; either way the old sample stays.
        """
        data, edited = self.data, self.edited
        try:
            self._sample()
        except Exception as error:
            with param.parameterized.discard_events(self), param.edit_constant(self):
                self.param.update({e.name: e.old for e in events}, data=data, edited=edited)
            failure = rolled_back({e.name: e.new for e in events},
                                  {e.name: e.old for e in events}, error)
            raise failure from failure.__cause__

    def _inputs(self) -> list[str]:
        return [p for p in self.param
                if p not in ("name", "data", "resample", "reset", "edited")]

    def ground_truth(self, x: np.ndarray) -> np.ndarray:
        """Return the noiseless curve at ``x``.  Override this in a subclass."""
        return 2 * x - 0.6 * x**2 + 0.2 * x**3 + 18 * np.sin(x)

    def grid(self, n_points: int = 500) -> np.ndarray:
        """Return ``n_points`` evenly spaced x values covering ``[x_min, x_max]``."""
        return np.linspace(self.x_min, self.x_max, n_points)

    def expected_y(self, x: np.ndarray) -> np.ndarray:
        """Return E[y|x] = ground truth + noise mean: the regression function a fit estimates.

        The noise's mean is a systematic offset, part of what y is on average;
        the true error and bias² are measured against this curve.
        """
        return self.ground_truth(x) + self.noise_mean

    def breaks(self) -> tuple[float, ...]:
        """Return the x where E[y|x] or the noise's σ has a kink or a jump.

        Averages over x cut the interval there (:class:`~.average.Average`).
        σ growing with |x| has a kink at 0; a subclass with a kink or a jump
        of its own adds it.
        """
        return (0.0,) if self.noise_growth > 0 else ()

    def average(self, nodes: int = NODES) -> Average:
        """Return the average over x uniform on the interval, cut at :meth:`breaks`."""
        return Average.over(self.x_min, self.x_max, nodes, self.breaks())

    def truth(self, n_points: int = 500) -> pd.DataFrame:
        """Return E[y|x] (:meth:`expected_y`) on :meth:`grid` as columns x and y."""
        x = self.grid(n_points)
        return pd.DataFrame({"x": x, "y": self.expected_y(x)})

    def set_points(self, x, y, labels=None):
        """Replace the sample with points edited by hand: the app's add, move and delete.

        ``labels`` are the points' index labels; a missing one (None or NaN)
        marks a new point, which gets a label never used before.  Any input
        change, or ``reset``, draws the generator's sample again.

        Raises
        ------
        InvalidValue
            If x and y differ in length, are not finite, or hold fewer than 2 points.
        """
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
            raise InvalidValue(f"Points need equally many x and y values, at least 2; got "
                               f"{x.size} x and {y.size} y. Kept the previous points.")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise InvalidValue("Points must have finite x and y. Kept the previous points.")
        labels = np.full(len(x), np.nan) if labels is None else np.array(
            [np.nan if v is None else v for v in labels], dtype=float)
        known = labels[~np.isnan(labels)]
        if len(labels) != len(x) or len(np.unique(known)) < len(known) or (
                known != np.round(known)).any():
            raise InvalidValue("Point labels must be one per point, whole numbers, and "
                               "distinct. Kept the previous points.")
        new = np.isnan(labels)
        next_label = max(self._next_label, int(np.nanmax(labels, initial=-1)) + 1)
        labels[new] = np.arange(next_label, next_label + new.sum())
        self._next_label = next_label + int(new.sum())
        with param.edit_constant(self):
            self.param.update(data=pd.DataFrame({"x": x, "y": y}, index=labels.astype(int)),
                              edited=True)

    @param.depends("reset", watch=True)
    def _reset(self):
        self._sample()

    @param.depends("resample", watch=True)
    def _reseed(self):
        self.random_state = int(np.random.default_rng().integers(MAX_SEED))

    def noise(self) -> Noise:
        """Return the current noise settings as a frozen :class:`Noise`."""
        return Noise(kind=self.noise_kind, sd=self.noise_sd, df=self.noise_df,
                     growth=self.noise_growth,
                     reach=max(abs(self.x_min), abs(self.x_max)) or 1.0,
                     outlier_fraction=self.outlier_fraction, outlier_scale=self.outlier_scale)

    def noise_floor(self) -> float:
        """Return the RMSE of E[y|x] itself: √(noise variance averaged over x)."""
        average = self.average()
        return math.sqrt(average(self.noise().variance(average.x)))

    def _sample(self, *events):
        self._check_range()
        unit_x, unit_noise, outlier_u, outlier_z = self._unit_draws()
        x = self.x_min + (self.x_max - self.x_min) * unit_x
        noise = self.noise().apply(x, unit_noise, outlier_u, outlier_z)
        y = self.expected_y(x) + noise
        # Labels are never reused, so an exclusion cannot catch a later new point.
        self._next_label = max(getattr(self, "_next_label", 0), len(x))
        with param.edit_constant(self):
            self.param.update(data=pd.DataFrame({"x": x, "y": np.asarray(y, dtype=float)}),
                              edited=False)

    def _check_range(self):
        """Refuse ``x_min >= x_max``, restoring the last valid pair first."""
        if self.x_min < self.x_max:
            self._valid_range = (self.x_min, self.x_max)
            return
        bad = (self.x_min, self.x_max)
        with param.parameterized.discard_events(self):
            self.x_min, self.x_max = self._valid_range
        raise InvalidValue(
            f"x_min must be less than x_max; got x_min={bad[0]:g}, x_max={bad[1]:g}. "
            f"Kept x_min={self.x_min:g}, x_max={self.x_max:g}.")

    def _unit_draws(self) -> tuple[np.ndarray, ...]:
        """Return x in [0, 1), unit noise, and the outliers' uniform and normal draws, cached.

        Each comes from its own stream of ``random_state``, so changing the noise
        kind keeps x, and changing a σ or the outlier fraction rescales or
        re-thresholds the same draws instead of drawing new ones.
        """
        key = (self.n_samples, self.random_state, self.noise_kind, self.noise_df)
        if self._draws is None or self._draws[0] != key:
            x_stream, noise_stream, outlier_stream = (
                np.random.default_rng(s)
                for s in np.random.SeedSequence(self.random_state).spawn(3))
            n = self.n_samples
            self._draws = (key, x_stream.random(n), self.noise().unit(noise_stream, n),
                           outlier_stream.random(n), outlier_stream.standard_normal(n))
        return self._draws[1:]


class Polynomial(DataGenerator):
    """A polynomial of degree at most 5 with editable coefficients.

    Use it to check whether a fit recovers the true degree: with no noise, any
    model of degree at least :attr:`true_degree` fits it exactly.
    """

    title = "Polynomial (editable coefficients)"

    x_min = Number(default=-3.0)
    x_max = Number(default=3.0)
    noise_sd = Number(default=1.0)

    c0 = Number(default=1.0, bounds=(-1e3, 1e3), softbounds=(-10.0, 10.0), step=0.1,
                label="c₀ (constant)", doc="Constant term of the true polynomial.")
    c1 = Number(default=-2.0, bounds=(-1e3, 1e3), softbounds=(-10.0, 10.0), step=0.1,
                label="c₁ (× x)", doc="Coefficient of x in the true polynomial.")
    c2 = Number(default=-0.5, bounds=(-1e3, 1e3), softbounds=(-5.0, 5.0), step=0.1,
                label="c₂ (× x²)", doc="Coefficient of x² in the true polynomial.")
    c3 = Number(default=0.5, bounds=(-1e3, 1e3), softbounds=(-2.0, 2.0), step=0.05,
                label="c₃ (× x³)", doc="Coefficient of x³ in the true polynomial.")
    c4 = Number(default=0.0, bounds=(-1e3, 1e3), softbounds=(-1.0, 1.0), step=0.01,
                label="c₄ (× x⁴)", doc="Coefficient of x⁴ in the true polynomial.")
    c5 = Number(default=0.0, bounds=(-1e3, 1e3), softbounds=(-0.5, 0.5), step=0.01,
                label="c₅ (× x⁵)", doc="Coefficient of x⁵ in the true polynomial.")

    @property
    def coefficients(self) -> np.ndarray:
        """The true coefficients c₀ … c₅, lowest degree first."""
        return np.array([self.c0, self.c1, self.c2, self.c3, self.c4, self.c5])

    @property
    def true_degree(self) -> int:
        """Degree of the true polynomial: the highest power with a nonzero coefficient."""
        nonzero = np.flatnonzero(self.coefficients)
        return int(nonzero[-1]) if nonzero.size else 0

    def ground_truth(self, x):
        """Evaluate c₀ + c₁x + … + c₅x⁵."""
        return npoly.polyval(x, self.coefficients)


class Sine(DataGenerator):
    """A sine wave, amplitude · sin(frequency · x + phase): smooth but not a polynomial."""

    title = "Sine"

    noise_sd = Number(default=0.3)

    amplitude = Number(default=1.0, bounds=(0.0, 1e3), softbounds=(0.0, 5.0), step=0.1,
                       label="Amplitude", doc="Peak height of the sine wave.")
    frequency = Number(default=1.0, bounds=(0.0, 1e3), softbounds=(0.0, 5.0), step=0.1,
                       label="Frequency", doc="Angular frequency: radians per unit of x.")
    phase = Number(default=0.0, bounds=(-np.pi, np.pi), step=0.1,
                   label="Phase", doc="Shift of the wave, in radians.")

    def ground_truth(self, x):
        """Evaluate amplitude · sin(frequency · x + phase)."""
        return self.amplitude * np.sin(self.frequency * x + self.phase)


class AbsoluteValue(DataGenerator):
    """A V shape, slope · |x − corner|: continuous with a kink no polynomial can follow."""

    title = "Absolute value |x|"

    noise_sd = Number(default=0.3)

    slope = Number(default=1.0, bounds=(-1e3, 1e3), softbounds=(-5.0, 5.0), step=0.1,
                   label="Slope", doc="Slope of each arm of the V.")
    corner = Number(default=0.0, bounds=(-1e6, 1e6), softbounds=(-5.0, 5.0), step=0.1,
                    label="Corner", doc="x position of the kink.")

    def breaks(self) -> tuple[float, ...]:
        """Add the corner: the kink of the V."""
        return (*super().breaks(), self.corner)

    def ground_truth(self, x):
        """Evaluate slope · |x − corner|."""
        return self.slope * np.abs(x - self.corner)


class Step(DataGenerator):
    """A jump of ``height`` at ``location``: the hardest case for a smooth fit."""

    title = "Step"

    noise_sd = Number(default=0.2)

    height = Number(default=1.0, bounds=(-1e3, 1e3), softbounds=(-5.0, 5.0), step=0.1,
                    label="Height", doc="Size of the jump.")
    location = Number(default=0.0, bounds=(-1e6, 1e6), softbounds=(-5.0, 5.0), step=0.1,
                      label="Jump at", doc="x position of the jump.")

    def breaks(self) -> tuple[float, ...]:
        """Add the jump's location."""
        return (*super().breaks(), self.location)

    def ground_truth(self, x):
        """Evaluate ``height`` where x > location and 0 elsewhere."""
        return np.where(x > self.location, self.height, 0.0)


class Runge(DataGenerator):
    """Runge's function 1 / (1 + 25x²): high-degree fits oscillate near the ends."""

    title = "Runge 1/(1 + 25x²)"

    x_min = Number(default=-1.0, softbounds=(-2.0, 2.0), step=0.1)
    x_max = Number(default=1.0, softbounds=(-2.0, 2.0), step=0.1)
    noise_sd = Number(default=0.02, softbounds=(0.0, 0.5), step=0.01)

    def ground_truth(self, x):
        """Evaluate 1 / (1 + 25x²)."""
        return 1.0 / (1.0 + 25.0 * x**2)


def ground_truths() -> dict[str, type[DataGenerator]]:
    """Return every concrete DataGenerator class defined so far, keyed by :func:`title`.

    Subclasses defined in user code are included: nothing needs registering.
    """
    classes = param.concrete_descendents(DataGenerator).values()
    return {title(cls): cls for cls in sorted(classes, key=_definition_order)}


def title(cls: type[DataGenerator]) -> str:
    """Return the display name of a generator class: its own ``title``, else its name."""
    return cls.__dict__.get("title", cls.__name__)


def _definition_order(cls: type) -> tuple[int, str]:
    # Built-in truths first, in the order they are defined here, then users' classes.
    builtin = (DataGenerator, Polynomial, Sine, AbsoluteValue, Step, Runge)
    if cls in builtin:
        return builtin.index(cls), ""
    return len(builtin), cls.__qualname__
