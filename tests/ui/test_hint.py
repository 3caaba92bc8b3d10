"""The hint in the served app: the verdict of the settings on screen, after every change.

The verdict is computed in a worker thread with the validation curve, whatever
tab is shown; SETTLED waits until the hint's ``data-state`` names the
settings of the fit shown.  The conftest fails the test on any browser or
server error.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page, expect

from ._bokeh import RENDERED, SETTLED


@pytest.fixture
def app(page: Page, app_url: str) -> Page:
    """The app in a fresh browser session, settled: the first verdict has arrived."""
    page.goto(app_url)
    page.wait_for_function(RENDERED)
    page.wait_for_function(SETTLED)
    return page


def move_degree(app: Page, key: str, presses: int):
    degree = app.get_by_role("slider", name="Degree", exact=True)
    degree.focus()
    for _ in range(presses):
        degree.press(key)
    app.wait_for_function(SETTLED)


def hint_state(app: Page) -> dict:
    """The settings the hint's verdict is of, as the URL query's keys and values."""
    return parse_qs(app.locator("p.hint").get_attribute("data-state"))


def test_the_hint_shows_the_verdict_of_the_current_degree(app: Page):
    hint = app.locator("p.hint")
    expect(hint).to_contain_text("Under-fitting")  # the default degree, 3
    assert hint_state(app)["degree"] == ["3"]

    move_degree(app, "ArrowLeft", 2)
    assert hint_state(app)["degree"] == ["1"]
    expect(hint).to_have_class(re.compile(r"\bunder\b"))
    expect(hint).to_contain_text("Under-fitting")
    expect(hint).to_contain_text("the cross-validated RMSE at degree 1")
    expect(hint).to_contain_text("Based on cross-validation and the known truth.")

    move_degree(app, "ArrowRight", 7)
    assert hint_state(app)["degree"] == ["8"]
    expect(hint).to_have_class(re.compile(r"\bbalanced\b"))
    expect(hint).to_contain_text("close to the truth")
    assert "R²" not in hint.inner_text()


def test_the_hint_follows_changes_while_another_tab_is_shown(app: Page):
    app.get_by_role("tab", name="Learning curve").click()
    app.wait_for_function(SETTLED)
    move_degree(app, "ArrowLeft", 3)
    assert hint_state(app)["degree"] == ["0"]
    expect(app.locator("p.hint")).to_contain_text("the cross-validated RMSE at degree 0")
