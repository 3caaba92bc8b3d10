"""The clean-run check itself: which server log lines fail a UI test."""

from __future__ import annotations

import pytest

from ._checks import server_log_problems

STAMP = "2026-01-02 03:04:05,678"


@pytest.mark.parametrize(
    "line",
    [
        f"{STAMP} INFO bokeh.server.views.ws: WebSocket connection opened",
        f"{STAMP} WARNING polyfit_explorer.app: Refused input: x_min must be less than x_max",
        f"{STAMP} WARNING polyfit_explorer.app: Refused input: an error in the user's value",
    ],
)
def test_accepts(line):
    assert server_log_problems(line) == []


@pytest.mark.parametrize(
    "line",
    [
        f"{STAMP} ERROR panel.reactive: Callback failed for object named ''",
        f"{STAMP} CRITICAL bokeh.server: shutting down",
        "Traceback (most recent call last):",
        f"{STAMP} WARNING param.DynamicMap: Callable raised \"ValueError('boom')\".",
        "ValueError: x_min must be less than x_max",
        "Unexpected error while rendering",
    ],
)
def test_flags(line):
    assert server_log_problems(f"{STAMP} INFO x: fine\n{line}\n") == [line]


EXPECTED = (r"ERROR polyfit_explorer\.app: Setting n_samples=400 failed",)


def test_expected_record_is_accepted_only_where_expected():
    line = f"{STAMP} ERROR polyfit_explorer.app: Setting n_samples=400 failed in ground_truth"
    assert server_log_problems(line, expected=EXPECTED) == []
    assert server_log_problems(line) == [line]


@pytest.mark.parametrize(
    "line",
    [
        f"{STAMP} ERROR polyfit_explorer.app: Setting degree=4 failed",
        f"{STAMP} ERROR panel.reactive: Setting n_samples=400 failed\nTraceback (most recent",
        "Traceback (most recent call last): Setting n_samples=400 failed",
        "ERROR polyfit_explorer.app: Setting n_samples=400 failed",  # no record
    ],
)
def test_expected_patterns_excuse_nothing_else(line):
    problems = server_log_problems(f"{STAMP} INFO x: fine\n{line}\n", expected=EXPECTED)
    assert problems
