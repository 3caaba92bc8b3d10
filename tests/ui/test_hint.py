"""The hint in the served app: the verdict of the settings on screen, after every change.

The verdict is computed in a worker thread with the validation curve, whatever
tab is shown; SETTLED waits until the hint's ``data-state`` names the
settings of the fit shown.  The conftest fails the test on any browser or
server error.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from playwright.sync_api import Page, expect

from ._bokeh import SETTLED


def move_degree(settled_app: Page, key: str, presses: int):
    degree = settled_app.get_by_role("slider", name="Degree", exact=True)
    degree.focus()
    for _ in range(presses):
        degree.press(key)
    settled_app.wait_for_function(SETTLED)


def hint_state(settled_app: Page) -> dict:
    """The settings the hint's verdict is of, as the URL query's keys and values."""
    return parse_qs(settled_app.locator("p.hint").get_attribute("data-state"))


def test_the_hint_shows_the_verdict_of_the_current_degree(settled_app: Page):
    hint = settled_app.locator("p.hint")
    expect(hint).to_contain_text("Under-fitting")  # the default degree, 3
    assert hint_state(settled_app)["degree"] == ["3"]

    move_degree(settled_app, "ArrowLeft", 2)
    assert hint_state(settled_app)["degree"] == ["1"]
    expect(hint).to_have_class(re.compile(r"\bunder\b"))
    expect(hint).to_contain_text("Under-fitting")
    expect(hint).to_contain_text("the cross-validated RMSE at degree 1")
    expect(hint).to_contain_text("Based on cross-validation and the known truth.")

    move_degree(settled_app, "ArrowRight", 7)
    assert hint_state(settled_app)["degree"] == ["8"]
    expect(hint).to_have_class(re.compile(r"\bbalanced\b"))
    expect(hint).to_contain_text("close to the truth")
    assert "R²" not in hint.inner_text()


def test_the_hint_follows_changes_while_another_tab_is_shown(settled_app: Page):
    settled_app.get_by_role("tab", name="Learning curve").click()
    settled_app.wait_for_function(SETTLED)
    move_degree(settled_app, "ArrowLeft", 3)
    assert hint_state(settled_app)["degree"] == ["0"]
    expect(settled_app.locator("p.hint")).to_contain_text("the cross-validated RMSE at degree 0")
