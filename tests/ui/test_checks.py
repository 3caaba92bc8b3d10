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
