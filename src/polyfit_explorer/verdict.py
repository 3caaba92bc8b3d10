"""The verdict on a fit: under-fitting, over-fitting or balanced, and on what evidence.

A verdict rests only on evidence that holds up:

- **Cross-validation** against degree (the validation curve).  Let ``best``
  be the degree with the lowest CV RMSE.  The current degree under-fits if
  its CV RMSE is more than one standard error (``best``'s) above that
  minimum and it is below ``best``; it over-fits if so and it is above
  ``best``; otherwise cross-validation cannot tell it from the best.  One
  standard error is the usual tolerance of the one-standard-error rule: CV
  errors of neighbouring degrees differ by about that much from the
  sampling of the folds alone.
- **The truth**, when it is known: the true error e (the fit against
  E[y|x], averaged over x) against the noise floor σ.  The expected test
  MSE is σ² + e², so with e ≤ σ/2 the expected test RMSE is at most
  √1.25 ≈ 1.12 times the floor: no fit, however good, could lower it by
  more than 11 %.  Such a fit is close to the truth and called balanced.  A
  fit with e above σ/2 is never called balanced: cross-validation gives the
  direction (a better degree below or above), and where the current degree
  is already the best it has, no degree does better on these data (too few
  points, or a truth that polynomials approximate poorly): ``'limited'``.
- A fit with as many coefficients as training points interpolates them:
  over-fitting, whatever the rest says.
- **Rounding**: float64 holds y to a relative 2.2e-16, and a polynomial fit
  loses up to about :data:`ROUNDING` times that to rounding (measured: 11×
  at degree 15 and 1.9e3× at degree 43 with x in [-1e6, 1e6], where |y|
  reaches 2e17).  Errors below ``ROUNDING · 2.2e-16 · max |y|`` measure
  rounding, not the fit: where the CV error at this degree is that small,
  no degree does better (``'limited'``), and a noise σ that small cannot
  be compared with.

Training scores are never evidence: a high train R² says nothing about the
fit, a low one nothing about its cause.  Every sentence quotes the numbers
it rests on, with as many digits as it takes for the comparison it states
to be visibly true of the numbers shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["CLOSE", "KINDS", "ROUNDING", "Verdict", "judge"]

#: Kinds of verdict: under- or over-fitting, balanced, no degree does better
#: (``'limited'``), or no evidence to judge by.
KINDS = ("under", "over", "balanced", "limited", "unknown")

#: A fit is close to the truth when its true error is at most this share of σ:
#: its expected test RMSE is then at most √(1 + CLOSE²) ≈ 1.12 times the floor.
CLOSE = 0.5

#: Errors below this many times float64's rounding of the largest |y| are
#: rounding: see the module's notes.
ROUNDING = 100


@dataclass(frozen=True)
class Verdict:
    """A verdict on a fit, the sentence that states it and what it is based on.

    Examples
    --------
    >>> import textwrap
    >>> curve = pd.DataFrame({"degree": [0, 1, 2], "cv_rmse": [5.0, 1.1, 1.05],
    ...                       "cv_se": [0.4, 0.1, 0.1]})
    >>> v = judge(curve, degree=0, n_train=40)
    >>> v.kind, v.basis
    ('under', 'cross-validation')
    >>> print(textwrap.fill(v.text, 79))
    Under-fitting: the cross-validated RMSE at degree 0, 5, is more than one
    standard error above the lowest of degrees 0 to 2, 1.05 ± 0.1 at degree 2.
    Raise the degree.
    """

    kind: str
    text: str
    basis: str


@dataclass(frozen=True)
class _Evidence:
    """What cross-validation says about ``degree``: its row and the best one's."""

    degree: int
    best: int
    top: int  # the highest degree on the curve
    cv: float
    cv_best: float
    se_best: float

    @classmethod
    def of(cls, curve: pd.DataFrame, degree: int) -> _Evidence | None:
        """Read the curve at ``degree`` and at its minimum; None without a CV error there."""
        rows = curve[np.isfinite(curve["cv_rmse"].to_numpy(dtype=float))]
        here = rows[rows["degree"] == degree]
        if here.empty:
            return None
        cv = float(here["cv_rmse"].iloc[0])
        best = rows.loc[rows["cv_rmse"].idxmin()]
        # A tie with the minimum is the minimum: "a better degree" must be visibly lower.
        best_degree = degree if cv <= best["cv_rmse"] else int(best["degree"])
        se = float(best["cv_se"])
        return cls(degree=degree, best=best_degree, top=int(curve["degree"].max()), cv=cv,
                   cv_best=float(best["cv_rmse"]), se_best=se if np.isfinite(se) else 0.0)

    @property
    def beyond(self) -> bool:
        """Whether the CV error here exceeds the minimum by more than one standard error."""
        return self.cv > self.cv_best + self.se_best

    @property
    def direction(self) -> str | None:
        """'under' below the best degree, 'over' above it, None at it."""
        if self.degree == self.best:
            return None
        return "under" if self.degree < self.best else "over"

    def clause(self) -> str:
        """Cross-validation's finding, its numbers shown so that it is visibly true."""
        if self.degree == self.best:
            best, se = _figures(self.cv_best, self.se_best)
            return (f"degree {self.degree} has the lowest cross-validated RMSE of degrees "
                    f"0 to {self.top}, {best} ± {se}")
        holds = ((lambda cv, best, se: cv > best + se) if self.beyond
                 else (lambda cv, best, se: best <= cv <= best + se))
        cv, best, se = _figures(self.cv, self.cv_best, self.se_best, holds=holds)
        relation = ("more than one standard error above" if self.beyond
                    else "within one standard error of")
        return (f"the cross-validated RMSE at degree {self.degree}, {cv}, is {relation} the "
                f"lowest of degrees 0 to {self.top}, {best} ± {se} at degree {self.best}")

    def elsewhere(self) -> str:
        """Where cross-validation finds a lower error, for a fit the truth finds far off."""
        best, se, cv = _figures(self.cv_best, self.se_best, self.cv,
                                holds=lambda best, se, cv: best < cv)
        side = "higher" if self.best > self.degree else "lower"
        return (f"the lowest cross-validated RMSE of degrees 0 to {self.top} is at a {side} "
                f"degree: {best} ± {se} at degree {self.best}, against {cv} at degree "
                f"{self.degree}")


ADVICE = {"under": "Raise the degree.", "over": "Lower the degree."}
NAMES = {"under": "Under-fitting", "over": "Over-fitting"}


def judge(curve: pd.DataFrame, degree: int, n_train: int, true_rmse: float | None = None,
          noise_floor: float = math.nan, y_scale: float = 0.0) -> Verdict:
    """Judge the fit at ``degree`` from its validation curve and, if known, the truth.

    Parameters
    ----------
    curve : DataFrame
        Columns degree, cv_rmse and cv_se, as :func:`.diagnostics.validation_curve`
        returns; it must include ``degree``.
    degree : int
        The fit's degree.
    n_train : int
        Its number of training points.
    true_rmse : float or None
        The fit's error against E[y|x]; None when the truth is unknown.
    noise_floor : float
        σ, the RMSE of E[y|x] itself; NaN when unknown.  The truth is used
        only when both are known and σ is above the rounding level.
    y_scale : float
        The largest |y| of the training data, which sets the rounding level.

    Returns
    -------
    Verdict
        See the module's notes for the rule.
    """
    if degree + 1 >= n_train:
        return Verdict("over", (
            f"Over-fitting: degree {degree} has {degree + 1} coefficients for {n_train} "
            f"training point{'s' * (n_train != 1)}, so the curve passes through every one of "
            "them and its training error says nothing. Lower the degree."),
            "the number of training points")
    if degree not in set(curve["degree"]):
        raise ValueError(f"The validation curve has no degree {degree}: it runs to "
                         f"{int(curve['degree'].max())}.")
    evidence = _Evidence.of(curve, degree)
    rounding = ROUNDING * np.finfo(float).eps * y_scale
    if evidence is not None and 0 < evidence.cv <= rounding:  # 0: exact, not rounding
        return _rounding(evidence, rounding, y_scale, noise_floor)
    truth_known = (true_rmse is not None and np.isfinite(true_rmse)
                   and np.isfinite(noise_floor) and noise_floor > rounding)
    if truth_known:
        return _with_truth(evidence, float(true_rmse), float(noise_floor))
    if evidence is None:
        return Verdict("unknown", "No cross-validated error at this degree, and the truth is "
                       "unknown: there is no evidence to judge the fit by.", "nothing")
    return _by_cross_validation(evidence)


def _by_cross_validation(evidence: _Evidence) -> Verdict:
    if evidence.beyond:
        kind = evidence.direction
        return Verdict(kind, f"{NAMES[kind]}: {evidence.clause()}. {ADVICE[kind]}",
                       "cross-validation")
    return Verdict("balanced", "Balanced as far as cross-validation can tell: "
                   f"{evidence.clause()}.", "cross-validation")


def _rounding(evidence: _Evidence, rounding: float, y_scale: float,
              sigma: float) -> Verdict:
    """Judge a fit whose CV error is below the rounding level: no degree does better."""
    cv, limit = _figures(evidence.cv, rounding, holds=lambda cv, limit: cv <= limit)
    found = f"the cross-validated RMSE at degree {evidence.degree}, {cv}, is"
    if evidence.best != evidence.degree:
        best, = _figures(evidence.cv_best)
        found = (f"the cross-validated RMSE at degree {evidence.degree}, {cv}, and the lowest "
                 f"of degrees 0 to {evidence.top}, {best} at degree {evidence.best}, are")
    noise = ""
    if np.isfinite(sigma) and 0 < sigma <= rounding:
        s, limit = _figures(sigma, rounding, holds=lambda s, limit: s <= limit)
        noise = f" The noise σ {s} is below it too, so the truth cannot tell either."
    return Verdict("limited", (
        f"No degree does better on these data: with |y| up to {y_scale:.3g}, float64 "
        f"rounding alone can cause errors up to about {limit} ({ROUNDING} × 2.2e-16 × |y|), "
        f"and {found} below that: the errors measure rounding, not the fit.{noise}"),
        "cross-validation and float64 precision")


def _with_truth(evidence: _Evidence | None, error: float, sigma: float) -> Verdict:
    close = error <= CLOSE * sigma
    if close:
        e, s = _figures(error, sigma, holds=lambda e, s: e <= CLOSE * s)
        text = (f"Balanced: the fit is close to the truth. Its true error, {e}, is at most "
                f"half the noise σ {s}, so its expected test RMSE is at most 12 % above the "
                "noise floor.")
        if evidence is None:
            return Verdict("balanced", text, "the known truth")
        if evidence.beyond:
            return Verdict("balanced", f"{text} Cross-validation alone would not say so: "
                           f"{evidence.clause()}.",
                           "the known truth (cross-validation prefers another degree)")
        return Verdict("balanced", f"{text} Cross-validation agrees: {evidence.clause()}.",
                       "the known truth and cross-validation")
    e, s = _figures(error, sigma, holds=lambda e, s: e > CLOSE * s)
    far = f"its true error, {e}, is more than half the noise σ {s}"
    if evidence is None:
        return Verdict("unknown", f"Not close to the truth: {far}, and there is no "
                       "cross-validated error to tell whether another degree does better.",
                       "the known truth")
    basis = "cross-validation and the known truth"
    kind = evidence.direction
    if kind is None:
        # At the curve's end, higher degrees are untried.
        upto = f" up to {evidence.top}" if evidence.best == evidence.top else ""
        return Verdict("limited", (
            f"No degree{upto} does better on these data: {far}, yet {evidence.clause()}. There "
            "may be too few points, or the truth may be one that polynomials approximate "
            "poorly on this interval."), basis)
    found = evidence.clause() if evidence.beyond else evidence.elsewhere()
    return Verdict(kind, f"{NAMES[kind]}: {far}, and {found}. {ADVICE[kind]}", basis)


def _figures(*values: float, holds: Callable[..., bool] = lambda *_: True) -> list[str]:
    """Format ``values`` with the fewest digits (3 or more) that keep ``holds`` true as shown.

    Rounding to 3 digits could show 3.15 > 3.00 + 0.15 as an equality; 17
    digits give each float back exactly, so a relation true of the values
    is true of what is shown.
    """
    for digits in range(3, 18):
        texts = [f"{value:.{digits}g}" for value in values]
        if holds(*map(float, texts)):
            return texts
    return texts
