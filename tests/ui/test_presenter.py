"""The presenter view in Chromium: one page opened by a link, checked at two sizes.

The link ``?lesson=overfitting&step=2&present=1`` opens it.  At 1920×1080 and
1280×720 no text is cut off (:func:`._layout.assert_fits`), only the step's
controls show and the downloads are hidden.  The switch turns it off and on
again; the server's state is read back from the page (the scores' state and
the URL, both written by the server), and the text and the plot's fonts are
measured larger presenting than not.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from polyfit_explorer import lessons

from ._bokeh import RENDERED, SETTLED
from ._layout import assert_fits
from .test_lessons import state

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-presenter.png"
STEP_TIMEOUT = 30_000

#: Sizes as drawn: the lesson's step text and the scores' first cell (CSS font
#: size × the element's effective zoom), and the data plot's title and axis
#: labels (Bokeh's font sizes in em) and height (px).
SIZES = """() => {
  const found = {};
  const walk = root => {
    for (const el of root.querySelectorAll("*")) {
      const key = el.matches("table.scores td") ? "scores"
        : el.matches("p") && el.textContent.includes("Step 2 of") ? "lesson" : null;
      if (key && !(key in found))
        found[key] = parseFloat(getComputedStyle(el).fontSize) * el.currentCSSZoom;
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const [figure] = Array.from(Bokeh.documents[0].all_models).filter(m =>
    m.type === "Figure" && m.renderers.some(r =>
      r.data_source !== undefined && "fit" in r.data_source.data));
  found.title = parseFloat(figure.title.text_font_size);
  found.axis = parseFloat(figure.below[0].axis_label_text_font_size);
  found.height = figure.height;
  return found;
}"""


def shown_in_server(page: Page, link: str):
    """Wait until the server has shown ``link``: in the scores' state and in the URL."""
    expect(page.locator("table.scores")).to_have_attribute("data-state", link,
                                                          timeout=STEP_TIMEOUT)
    page.wait_for_function("q => window.location.search === '?' + q", arg=link,
                           timeout=STEP_TIMEOUT)
    page.wait_for_function(SETTLED, timeout=STEP_TIMEOUT)


def test_presenter_view_by_link_and_switch(page: Page, app_url: str):
    page.set_default_timeout(STEP_TIMEOUT)
    step = state(lessons.find("overfitting"), 2)
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{app_url}?lesson=overfitting&step=2&present=1")
    page.wait_for_function(RENDERED)
    shown_in_server(page, f"{step}&present=1")
    switch = page.get_by_role("switch", name="Presenter view")
    expect(switch).to_be_checked()
    degree, noise = (page.get_by_role("slider", name=name, exact=True)
                     for name in ("Degree", "Noise σ"))
    expect(degree).to_be_visible()
    expect(noise).to_be_hidden()
    expect(page.get_by_text("Data (CSV)")).to_be_hidden()
    page.wait_for_function("() => Bokeh.documents[0] && "
                           f"({SIZES})().axis > 1")  # the sizes come once the page loaded
    presenting = page.evaluate(SIZES)
    assert_fits(page, "presenter view at 1920×1080")
    page.screenshot(path=SCREENSHOT)
    page.set_viewport_size({"width": 1280, "height": 720})
    assert_fits(page, "presenter view at 1280×720")

    switch.uncheck()
    shown_in_server(page, step)
    plain = page.evaluate(SIZES)
    for key in ("lesson", "scores", "title", "axis", "height"):
        assert presenting[key] > plain[key] * 1.2, (key, presenting, plain)
    expect(page.get_by_text("Data (CSV)")).to_be_visible()
    expect(noise).to_be_hidden()  # the step's own show list still applies

    switch.check()
    shown_in_server(page, f"{step}&present=1")
    assert page.evaluate(SIZES) == presenting
    expect(page.get_by_text("Data (CSV)")).to_be_hidden()
    assert urlsplit(page.url).query == f"{step}&present=1"
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A value the link cannot mean is named in a message; the rest of the link applies.
    page.goto(f"{app_url}?present=%3Cb%3Eyes%3C/b%3E&degree=7")
    page.wait_for_function(RENDERED)
    expect(page.get_by_role("alert")).to_contain_text("Ignored present '<b>yes</b>'")
    expect(page.get_by_role("switch", name="Presenter view")).not_to_be_checked()
    expect(page.get_by_role("slider", name="Degree", exact=True)).to_have_attribute(
        "aria-valuenow", "7")
