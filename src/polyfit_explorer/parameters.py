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

import math
import re
import traceback
from pathlib import Path

import param

__all__ = ["Integer", "InvalidValue", "Number", "UpdateFailed", "field_name", "parse_number",
           "quoted", "range_error", "rolled_back"]

#: Quoted outside text (a link's value, a column name) is cut to this many characters.
QUOTE_LIMIT = 60


class InvalidValue(ValueError):
    """A refused parameter value; the object kept its previous, valid state."""


def quoted(text: object, limit: int = QUOTE_LIMIT) -> str:
    """Return ``repr(str(text))``, shortened with "…" to at most ``limit`` characters.

    For text from outside (a link, a file, a field) in a message: repr shows
    where it starts and ends and any control character as written, and the
    limit keeps a long paste from flooding the message.  The result is still
    raw text: a view shows it with ``views.text.as_text``.

    Examples
    --------
    >>> quoted("dose (mg)")
    "'dose (mg)'"
    >>> quoted("<img src=x onerror=alert(1)>" * 3, limit=20)
    "'<img src=x onerro'…"
    """
    text = str(text)
    shown, size = repr(text), len(text)
    while len(shown) > limit:  # the repr of ``size`` characters is at least 2 longer
        size -= 1
        shown = repr(text[:size]) + "…"
    return shown


def field_name(parameter: param.Parameter) -> str:
    """Return how messages name a parameter: ``name (Label)``."""
    return f"{parameter.name} ({parameter.label})" if parameter.label else parameter.name


def range_error(name: str, value: object, bounds: tuple, inclusive=(True, True)) -> InvalidValue:
    """Return the error raised for ``value`` outside ``bounds``."""
    return InvalidValue(f"{name} must be in {_interval(bounds, inclusive)}; got {value!r}.")


def _interval(bounds: tuple | None, inclusive=(True, True)) -> str:
    low, high = bounds or (None, None)
    left = "[" if inclusive[0] else "("
    right = "]" if inclusive[1] else ")"
    return f"{left}{_fmt(low, '-inf')}, {_fmt(high, 'inf')}{right}"


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
            raise range_error(field_name(self), val, bounds, inclusive_bounds) from None


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


#: A number as people type it: optional sign, digits with an optional decimal
#: point, an optional exponent.  No thousands separators, no hexadecimal, no
#: underscores, no nan or inf, no digits of other scripts: Python's float()
#: accepts all of those.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
#: Signs people type or paste for minus: the hyphen, the minus sign (the app's
#: labels use it), the en dash.
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})


def parse_number(parameter: param.Number, text: str) -> int | float:
    """Return the number ``text`` gives for ``parameter``, by the parameter's own rules.

    Accepts what a person types (``3.5``, ``-2``, ``1e3``, ``.5``, surrounding
    spaces) and refuses everything else: a comma (``3,5`` is a decimal comma
    in many locales and a thousands separator in others, so it is never
    guessed), ``nan``, ``inf``, hexadecimal, underscores, and for an
    :class:`param.Integer` a value that is not whole.  The value must lie
    within the parameter's bounds.

    Raises
    ------
    InvalidValue
        Naming the parameter, the text (quoted, cut to 60 characters) and the
        allowed range.  The caller says what it kept.

    Examples
    --------
    >>> from polyfit_explorer import DataGenerator
    >>> parse_number(DataGenerator.param.n_samples, " 1e3 ")
    1000
    >>> parse_number(DataGenerator.param.noise_sd, "3,5")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    polyfit_explorer.parameters.InvalidValue: noise_sd (Noise σ): '3,5' has a comma; ...
    """
    whole = isinstance(parameter, param.Integer)
    allowed = (f"Allowed: {'a whole number' if whole else 'a number'} in "
               f"{_interval(parameter.bounds, parameter.inclusive_bounds)}.")
    cleaned = str(text).strip().translate(_MINUS)
    if "," in cleaned:
        problem = ("has a comma; write a decimal point (3.5) and no thousands separators")
    elif not _NUMBER.fullmatch(cleaned):
        problem = "is not a number"
    elif not math.isfinite(value := float(cleaned)) or not _within(parameter, value):
        problem = "is out of range"
    elif whole and not value.is_integer():
        problem = "is not a whole number"
    else:
        return int(value) if whole else value
    raise InvalidValue(f"{field_name(parameter)}: {quoted(text)} {problem}. {allowed}")


def _within(parameter: param.Number, value: float) -> bool:
    low, high = parameter.bounds or (None, None)
    low_ok, high_ok = parameter.inclusive_bounds
    above = low is None or (value >= low if low_ok else value > low)
    below = high is None or (value <= high if high_ok else value < high)
    return above and below
