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

import traceback
from pathlib import Path

import param

__all__ = ["Integer", "InvalidValue", "Number", "UpdateFailed", "range_error", "rolled_back"]


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


class UpdateFailed(InvalidValue):
    """A change made the recomputation raise; the object rolled back to its previous state.

    The error raised by the recomputation is the ``__cause__``.  Raised for faults
    in code, typically a subclass's ``ground_truth`` or ``make_estimator``, not for
    values outside a declared range.
    """


def rolled_back(changes: dict, kept: dict, error: Exception) -> InvalidValue:
    """Return the error to raise after a failed recomputation was rolled back.

    A refusal (:class:`InvalidValue`) already says why and passes unchanged;
    any other exception is a fault in code and becomes an :class:`UpdateFailed`
    that names the change, the failing line and the settings kept.
    """
    if isinstance(error, InvalidValue) and not isinstance(error, UpdateFailed):
        return error
    cause = error.__cause__ if isinstance(error, UpdateFailed) else error
    new = ", ".join(f"{name}={value!r}" for name, value in changes.items()) or "the new data"
    old = ", ".join(f"{name}={value!r}" for name, value in kept.items()) or "the previous fit"
    failed = UpdateFailed(f"Setting {new} failed{where(cause)}: {type(cause).__name__}: "
                          f"{cause}. Kept {old}.")
    failed.__cause__ = cause
    return failed


def where(error: BaseException) -> str:
    """Return ' in function (file.py:line)' for the line that raised ``error``."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    frame = frames[-1]
    return f" in {frame.name} ({Path(frame.filename).name}:{frame.lineno})"
