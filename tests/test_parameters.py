"""Typed numbers and quoted outside text: the rules every entry point shares."""

import pytest

from polyfit_explorer import DataGenerator, RegressionModel
from polyfit_explorer.parameters import InvalidValue, parse_number, quoted
from polyfit_explorer.userdata import Dataset

MARKUP = ("<img src=x onerror=alert(1)>" * 8)[:200]
NOISE, SAMPLES, DEGREE = (DataGenerator.param.noise_sd, DataGenerator.param.n_samples,
                          RegressionModel.param.degree)
ALLOWED = {"noise_sd": "a number in [0, 1e+06]", "n_samples": "a whole number in [2, 1000000]",
           "degree": "a whole number in [0, 50]"}


@pytest.mark.parametrize(
    ("parameter", "text", "value"),
    [
        (NOISE, "3.5", 3.5), (NOISE, " 3.5 ", 3.5), (NOISE, ".5", 0.5), (NOISE, "5.", 5.0),
        (NOISE, "+2", 2.0), (NOISE, "1e3", 1000.0), (NOISE, "2.5E-1", 0.25),
        (NOISE, "0", 0.0), (NOISE, "1e6", 1e6),
        (DataGenerator.param.x_min, "−2", -2.0),  # the minus sign the labels use
        (DataGenerator.param.x_min, "\u20132", -2.0),  # an en dash, as pasted
        (SAMPLES, "250", 250), (SAMPLES, "2.5e3", 2500), (SAMPLES, "12.0", 12),
        (SAMPLES, "1000000", 1_000_000), (DEGREE, "0", 0),
    ],
)
def test_what_a_person_types_is_read_as_meant(parameter, text, value):
    parsed = parse_number(parameter, text)
    assert parsed == value
    assert type(parsed) is type(value)


@pytest.mark.parametrize(
    ("parameter", "text", "problem"),
    [
        (NOISE, "3,5", "has a comma"),  # a decimal comma, or a thousands separator
        (SAMPLES, "1,000", "has a comma"),
        (NOISE, "nan", "is not a number"), (NOISE, "inf", "is not a number"),
        (NOISE, "-inf", "is not a number"), (NOISE, "abc", "is not a number"),
        (NOISE, "", "is not a number"), (NOISE, "1_000", "is not a number"),
        (SAMPLES, "0x10", "is not a number"), (NOISE, "3.5.1", "is not a number"),
        (NOISE, "1e", "is not a number"), (NOISE, "٣", "is not a number"),  # Arabic-Indic 3
        (NOISE, "1e308", "is out of range"), (NOISE, "1e400", "is out of range"),
        (NOISE, "-0.1", "is out of range"), (SAMPLES, "1e308", "is out of range"),
        (SAMPLES, "1000001", "is out of range"), (SAMPLES, "1", "is out of range"),
        (SAMPLES, "9" * 5000, "is out of range"),  # no int() of 5,000 digits
        (SAMPLES, "12.5", "is not a whole number"), (DEGREE, "3.5", "is not a whole number"),
        (NOISE, MARKUP, "is not a number"),
    ],
)
def test_anything_else_is_refused_naming_the_field_and_the_range(parameter, text, problem):
    with pytest.raises(InvalidValue) as refused:
        parse_number(parameter, text)
    message = str(refused.value)
    assert message.startswith(f"{parameter.name} ({parameter.label}): {quoted(text)} {problem}")
    assert message.endswith(f"Allowed: {ALLOWED[parameter.name]}.")
    assert MARKUP not in message


def test_a_parameter_without_bounds_takes_any_finite_number():
    x_min = Dataset.param.x_min
    assert x_min.bounds is None
    assert parse_number(x_min, "-1e300") == -1e300
    with pytest.raises(InvalidValue, match=r"Allowed: a number in \[-inf, inf\]"):
        parse_number(x_min, "1e400")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dose (mg)", "'dose (mg)'"),
        ("it's", '"it\'s"'),
        ("a" * 58, repr("a" * 58)),  # 60 characters with its quotes: not cut
        ("a" * 59, repr("a" * 57) + "…"),
        ("\n" * 100, repr("\n" * 28) + "…"),  # escapes count as what they show
        (MARKUP, repr(MARKUP[:57]) + "…"),
        (10**70, repr(str(10**70)[:57]) + "…"),
    ],
    ids=["short", "quote", "at-limit", "over-limit", "escapes", "markup", "not-text"],
)
def test_quoted_text_is_cut_to_60_characters(text, expected):
    assert quoted(text) == expected
    assert len(expected) <= 60
