"""The average over x: what "averaged over the interval" means everywhere.

x is drawn uniformly from ``[x_min, x_max]``, so an error "over x" (the true
error, bias², variance, the noise floor) is the integral
``1/(x_max - x_min) ∫ f(x) dx``.  Every such average in the package is this
one, by Gauss-Legendre quadrature: with :data:`NODES` nodes it is exact for
polynomials up to degree 2·NODES - 1, so for the squared difference of any
two polynomials the app fits.  Where the integrand has a kink or a jump (an
absolute value, a step, σ growing with |x|) the interval is cut there and
each piece gets its own nodes, so the rule stays exact on each smooth piece.
An even ``linspace`` grid, as used before, gives its two ends double weight:
at degree 15 the true error came out 7 % too high.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = ["NODES", "Average"]

#: Quadrature nodes: exact up to degree 399, and enough to draw a fit smoothly.
NODES = 200


@dataclass(frozen=True, eq=False)
class Average:
    """The mean over x uniform on an interval, as nodes ``x`` and ``weights`` summing to 1.

    Examples
    --------
    >>> average = Average.over(0.0, 3.0)
    >>> round(average(average.x**2), 12)  # (1/3) ∫₀³ x² dx
    3.0
    """

    x: np.ndarray
    weights: np.ndarray

    @classmethod
    def over(cls, x_min: float, x_max: float, nodes: int = NODES, breaks=()) -> Average:
        """Return the average over ``[x_min, x_max]``, ``nodes`` Gauss-Legendre nodes a piece.

        ``breaks`` are x where the integrand is not smooth; those inside the
        interval cut it into pieces.  The nodes come out in increasing order.
        """
        t, w = _legendre(nodes)
        inner = sorted(b for b in set(breaks) if x_min < b < x_max)
        pieces = list(itertools.pairwise([x_min, *inner, x_max]))
        x = [a + (b - a) / 2 * (t + 1) for a, b in pieces]
        weights = [(b - a) / (x_max - x_min) * w / 2 for a, b in pieces]
        return cls(x=np.concatenate(x), weights=np.concatenate(weights))

    def __call__(self, values, axis: int = -1) -> np.ndarray | float:
        """Return the average of ``values`` given at :attr:`x` (along ``axis``)."""
        values = np.moveaxis(np.asarray(values, dtype=float), axis, -1)
        mean = values @ self.weights
        return float(mean) if np.ndim(mean) == 0 else mean


@cache
def _legendre(nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1], computed once: 17 ms for 200 nodes."""
    t, w = np.polynomial.legendre.leggauss(nodes)
    t.flags.writeable = w.flags.writeable = False
    return t, w
