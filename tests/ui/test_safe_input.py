"""Text from outside stays text: links, file names, column names and typed values.

Each link and upload test runs twice: against the app served with its
Content-Security-Policy (``python -m polyfit_explorer``) and against plain
``panel serve``, which sends no policy.  The second shows the escaping alone
keeps every payload inert: with the policy, a rendered ``<img onerror>``
would exist in the page but not run, so the tests look for the elements a
payload would create, not only for what it would do.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from polyfit_explorer.parameters import quoted

from ._bokeh import READ_SOURCES, RENDERED, SETTLED, sources
from .test_app import number_field, number_slider

#: Every payload records that it ran in ``window.__ran``.
PAYLOADS = {
    "img": '<img src=y onerror="window.__ran.push(\'img\')">',
    "svg": '<svg onload="window.__ran.push(\'svg\')"><circle r="9"/></svg>',
    "h1": '<h1 data-payload="h1" style="font-size:9em">YOU HAVE BEEN HACKED</h1>',
    "markdown link": "[click me](javascript:window.__ran.push('md'))",
    "anchor": "<a href=\"javascript:window.__ran.push('a')\" data-payload=\"a\">click</a>",
    "script": "<script>window.__ran.push('script')</script>",
}

#: Installed before the page's scripts.
RECORD = "window.__ran = []; window.__dialogs = 0; window.alert = () => window.__dialogs++;"

#: Elements a payload would create, searched in the page and in every shadow root.
CREATED = """() => {
  const found = [];
  const walk = root => {
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) walk(el.shadowRoot);
      // Text in an attribute (a title, a label) is text; a handler or a marker is markup.
      const handler = el.getAttributeNames().some(
        name => name.startsWith("on") && el.getAttribute(name).includes("__ran"));
      const marked = el.hasAttribute("data-payload");
      const href = (el.getAttribute("href") || "").trim().toLowerCase();
      const script = el.tagName === "SCRIPT" && el.textContent.includes("__ran");
      if (handler || marked || href.startsWith("javascript") || script)
        found.push(el.outerHTML.slice(0, 120));
    }
  };
  walk(document);
  return found;
}"""


@pytest.fixture(params=["with policy", "escaping alone"])
def url(request, app_url, plain_app_url):
    """The app's URL, served with the Content-Security-Policy or without any."""
    return app_url if request.param == "with policy" else plain_app_url


def open_recording(page: Page, url: str) -> list[str]:
    """Open ``url`` with payload and dialog recording; return the list of dialogs seen."""
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(RECORD)
    page.goto(url)
    page.wait_for_function(RENDERED)
    return dialogs


def assert_inert(page: Page, dialogs: list[str]):
    page.wait_for_function(SETTLED)
    page.wait_for_timeout(500)  # an image's error handler runs after its load fails
    assert page.evaluate("() => window.__ran") == []
    assert page.evaluate("() => window.__dialogs") == 0
    assert dialogs == []
    assert page.evaluate(CREATED) == []


#: Where each payload goes in one link: a setting that refuses it (quoting it) and,
#: as a name, an unknown setting.  Text, number and choice settings all quote.
SLOTS = {"img": "penalty", "svg": "data.noise_sd", "h1": "truth", "markdown link": "loss",
         "anchor": "data.n_samples", "script": "alpha_mode"}


def test_a_link_with_markup_shows_it_as_text(page: Page, url: str):
    pairs = [(SLOTS[name], payload) for name, payload in PAYLOADS.items()]
    pairs += [(payload, "1") for payload in PAYLOADS.values()] + [("degree", "4")]
    dialogs = open_recording(page, f"{url}?{urlencode(pairs)}")

    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    assert_inert(page, dialogs)
    text = alert.inner_text()
    # Two refusals of each, each quoting the payload as typed, cut to 60 characters.
    for payload in PAYLOADS.values():
        assert text.count(quoted(payload)) == 2, (payload, text)
    assert text.count("Ignored the unknown setting") == len(PAYLOADS)
    # The good value in the same link still applies.
    expect(page.get_by_role("slider", name="Degree", exact=True)).to_have_attribute(
        "aria-valuenow", "4")


def test_a_csv_named_with_markup_shows_its_names_as_text(page: Page, url: str):
    dialogs = open_recording(page, url)
    page.wait_for_function(SETTLED)
    x_name, y_name = PAYLOADS["img"], PAYLOADS["anchor"]
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow([x_name, y_name])
    writer.writerows((x, 2 * x + 1) for x in range(10))
    page.get_by_label("Ground truth", exact=True).select_option("Your data (CSV upload)")
    page.locator("input[type=file]").set_input_files(files=[
        {"name": f"{PAYLOADS['svg']}.csv", "mimeType": "text/csv",
         "buffer": table.getvalue().encode()}])

    x_column = page.get_by_role("combobox", name="x column")
    expect(x_column).to_have_text(x_name)
    expect(page.get_by_role("combobox", name="y column")).to_have_text(y_name)
    assert_inert(page, dialogs)

    # A refused file with such a name: the reason, never the name.
    page.locator("input[type=file]").set_input_files(files=[
        {"name": f"{PAYLOADS['h1']}.csv", "mimeType": "text/csv", "buffer": b"x,y\n1,2\n"}])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("usable rows")
    assert "HACKED" not in alert.inner_text()
    expect(x_column).to_have_text(x_name)  # the previous data stay
    assert_inert(page, dialogs)


#: Typed text that must be refused, and a word of the reason.
REFUSED = [("Noise σ", "3,5", "has a comma"), ("Noise σ", "1e308", "is out of range"),
           ("Noise σ", "nan", "is not a number"), ("Noise σ", "inf", "is not a number"),
           ("Noise σ", "abc", "is not a number"), ("Samples", "1e308", "is out of range"),
           ("Samples", "0x10", "is not a number"), ("Samples", "12.5", "is not a whole number"),
           ("Samples", "2000000", "is out of range"),
           ("x min", PAYLOADS["img"], "is not a number")]
RANGES = {"Noise σ": "noise_sd (Noise σ)", "Samples": "n_samples (Samples)",
          "x min": "x_min (x min)"}
SHOWN = {"Noise σ": "3", "Samples": "200", "x min": "-5"}


def test_typed_values_are_read_by_the_parameters_rules(page: Page, app_url: str):
    page.goto(app_url)
    page.wait_for_function(RENDERED)
    page.wait_for_function(SETTLED)
    before = sources(page)
    alert = page.get_by_role("alert")
    for label, text, reason in REFUSED:
        field = number_field(page, label)
        field.fill(text)
        field.press("Enter")
        expect(alert).to_contain_text(f"{RANGES[label]}: {quoted(text)} {reason}")
        expect(alert).to_contain_text("Allowed: a")
        expect(alert).to_contain_text(f"Kept {SHOWN[label]}.")
        expect(field).to_have_value(SHOWN[label])
    page.wait_for_function(SETTLED)
    assert sources(page) == before, "a refused value changed the plots"
    assert page.evaluate(CREATED) == []

    # What a person types is read as meant, and the slider follows the field.
    field = number_field(page, "Noise σ")
    field.fill(" 3.5 ")
    field.press("Enter")
    expect(alert).to_be_hidden()
    expect(field).to_have_value("3.5")
    expect(number_slider(page, "Noise σ")).to_have_attribute("aria-valuenow", "3.5")
    samples = number_field(page, "Samples")
    samples.fill("2.5e3")  # beyond the slider's end: the slider stretches to it
    samples.press("Enter")
    expect(samples).to_have_value("2500")
    expect(number_slider(page, "Samples")).to_have_attribute("aria-valuenow", "2500")
    page.wait_for_function(SETTLED)
    layers = sources(page)
    assert len(layers["train"]["x"]) + len(layers["test"]["x"]) == 2500


def test_files_people_have_are_read_and_an_empty_one_is_refused(page: Page, app_url: str):
    page.goto(app_url)
    page.wait_for_function(RENDERED)
    page.wait_for_function(SETTLED)
    page.get_by_label("Ground truth", exact=True).select_option("Your data (CSV upload)")
    upload = page.locator("input[type=file]")
    # A spreadsheet's export in a decimal-comma locale, saved as Excel's "Unicode text".
    rows = "".join(f"{x},5\t{2 * x + 1},25\r\n" for x in range(12))
    content = "\ufeffdose\tresponse\r\n" + rows
    upload.set_input_files(files=[{"name": "export.txt", "mimeType": "text/plain",
                                   "buffer": content.encode("utf-16-le")}])
    expect(page.get_by_role("combobox", name="x column")).to_have_text("dose")
    # The upload changes no setting of a link, so SETTLED cannot tell it apart: wait for it.
    page.wait_for_function(f"() => ({READ_SOURCES})().train.x.length === 9")
    page.wait_for_function(SETTLED)
    layers = sources(page)
    shown = sorted(layers["train"]["x"] + layers["test"]["x"])
    assert shown == [x + 0.5 for x in range(12)]

    upload.set_input_files(files=[{"name": "empty.csv", "mimeType": "text/csv", "buffer": b""}])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The file is empty.")
    expect(alert).to_contain_text("the previous data are kept")
    page.wait_for_function(SETTLED)
    assert sources(page) == layers
