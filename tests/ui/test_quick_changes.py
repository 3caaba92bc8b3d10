"""Quick changes in Chromium: many key presses in a row, and the plots a penalty fills.

Speed itself is measured in benchmarks/e2e.py, never here; these tests check
what a quick user must see: the last value wins and the page shows one state.
"""

from __future__ import annotations

import re

import numpy as np
from playwright.sync_api import Page, expect

from polyfit_explorer import RegressionModel

from ._bokeh import FIGURES_WITH, SETTLED, UNSETTLED, sources
from .conftest import SETTLE_TIMEOUT


def test_after_many_quick_presses_the_page_shows_the_last_value_everywhere(settled_app: Page):
    degree = settled_app.get_by_role("slider", name="Degree", exact=True)
    degree.focus()
    for _ in range(30):
        degree.press("ArrowLeft")
    for _ in range(7):
        degree.press("ArrowRight")

    expect(degree).to_have_attribute("aria-valuenow", "7")
    settled_app.wait_for_function(SETTLED, timeout=SETTLE_TIMEOUT)
    assert settled_app.evaluate(UNSETTLED)["disagree"] == []
    expected = RegressionModel(degree=7)
    fit = sources(settled_app)["fit"]
    np.testing.assert_allclose(fit["fit"], expected.predict(fit["x"]), rtol=1e-9, atol=1e-9)
    expect(settled_app.locator("td.test-r2")).to_have_text(f"{expected.test_score_:.4g}")
    assert "degree=7&" in settled_app.url
    expect(settled_app.locator("span.edf")).to_have_text(f"{expected.edf_:.3g}")


#: The x and y ranges of the figure that draws ``columns``, with its finite data.
FIGURE_RANGES = f"""columns => {FIGURES_WITH}(columns).map(view => {{
  const source = view.model.renderers.find(r => r.data_source !== undefined
    && columns.every(c => c in r.data_source.data)).data_source;
  const values = c => Array.from(source.data[c]).filter(v => Number.isFinite(v) && v > 0);
  return {{x: [view.model.x_range.start, view.model.x_range.end],
          y: [view.model.y_range.start, view.model.y_range.end],
          xs: values(columns[0]), ys: values(columns[1])}};
}})"""


def assert_shows_its_data(page: Page, columns: list[str], points: int):
    # A click reaches the server after SETTLED may have held: wait for the figure first.
    page.wait_for_function(f"columns => ({FIGURES_WITH})(columns).length === 1", arg=columns,
                           timeout=SETTLE_TIMEOUT)
    page.wait_for_function(SETTLED, timeout=SETTLE_TIMEOUT)
    (figure,) = page.evaluate(FIGURE_RANGES, columns)
    assert len(figure["xs"]) == points
    for axis, values in (("x", figure["xs"]), ("y", figure["ys"])):
        start, end = figure[axis]
        assert start <= min(values), (axis, figure[axis])
        assert max(values) <= end, (axis, figure[axis])
        assert [start, end] != [0, 1], f"the {axis} range never followed the data"


def test_choosing_a_penalty_fills_both_alpha_plots_and_tabs_switch_cleanly(settled_app: Page):
    """Both stayed blank ([0, 1] ranges) on a fresh page; switching tabs then threw
    "Cannot read properties of undefined (reading 'top_panel')"."""
    settled_app.get_by_role("radio", name="L2 (Ridge)").check()
    # The page was settled before the click: wait until it names the new state.
    expect(settled_app).to_have_url(re.compile(r"penalty=l2"))
    settled_app.wait_for_function(SETTLED, timeout=SETTLE_TIMEOUT)
    assert_shows_its_data(settled_app, ["alpha", "cv_rmse"], 49)

    settled_app.get_by_role("tab", name="Bias & variance").click()
    settled_app.wait_for_function(SETTLED, timeout=SETTLE_TIMEOUT)
    assert_shows_its_data(settled_app, ["alpha", "total"], 25)

    for title in ("Validation curve", "Learning curve", "Bias & variance", "Coefficients",
                  "Validation curve"):
        settled_app.get_by_role("tab", name=title).click()
        settled_app.wait_for_function(SETTLED, timeout=SETTLE_TIMEOUT)
    assert_shows_its_data(settled_app, ["alpha", "cv_rmse"], 49)
    # The conftest fails the test on the page error this used to throw.
