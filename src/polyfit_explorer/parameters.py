"""Bounded parameter types whose errors state the whole allowed range.

param's own message names one violated end ("must be at least 2, not 1");
users fixing a value want both ends, so these re-raise with the full range.
Panel maps widgets through the class hierarchy, so they still render as sliders.

A subclass that changes a default redeclares the parameter with the same type,
so it keeps the message and inherits bounds, label and doc::

    from polyfit_explorer.parameters import Number

    class Damped(DataGenerator):
        noise_sd = Number(default=0.1)
"""

from __future__ import annotations

import param

__all__ = ["Integer", "InvalidValue", "Number", "range_error"]


class InvalidValue(ValueError):
    """A refused parameter value; the object kept its previous, valid state."""


def range_error(name: str, value: object, bounds: tuple, inclusive=(True, True)) -> InvalidValue:
    """Return the error raised for ``value`` outside ``bounds``."""
    low, high = bounds
    left = "[" if inclusive[0] else "("
    right = "]" if inclusive[1] else ")"
    return InvalidValue(
        f"{name} must be in {left}{_fmt(low, '-inf')}, {_fmt(high, 'inf')}{right}; "
        f"got {value!r}."
    )


def _fmt(bound: object, unbounded: str) -> str:
    if bound is None:
        return unbounded
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


class _RangeMessage:
    """Mixin that rewrites param's bound errors to name the full range."""

    def _validate_bounds(self, val, bounds, inclusive_bounds):
        try:
            super()._validate_bounds(val, bounds, inclusive_bounds)
        except ValueError:
            name = f"{self.name} ({self.label})" if self.label else self.name
            raise range_error(name, val, bounds, inclusive_bounds) from None


class Number(_RangeMessage, param.Number):
    """A float parameter whose bound errors give the allowed range."""

    __slots__ = []


class Integer(_RangeMessage, param.Integer):
    """An integer parameter whose bound errors give the allowed range."""

    __slots__ = []
