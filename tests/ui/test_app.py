"""Drive the served app in Chromium and read back what the browser holds.

Plot data are read from the Bokeh document in the page.  The curves' data
sources are told apart by their column names (``fit``, ``truth``); the train and
test layers by their legend label and columns (see ``polyfit_explorer.plots``).
The conftest fails any of these tests whose browser or server reported an error.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from polyfit_explorer import DataGenerator
from polyfit_explorer.plots import RASTER_THRESHOLD

from ._bokeh import READ_SOURCES, REMEMBER_SOURCES, RENDERED, SENT_SINCE, SETTLED, sources

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot.png"

N_SAMPLES, TEST_SIZE, GRID_POINTS = 200, 0.2, 500

#: Every legend entry's label in the page.
LEGEND_LABELS = """() => Array.from(Bokeh.documents[0].all_models)
  .filter(model => model.type === "LegendItem").map(item => item.label.value)"""


def wait_for_change(page: Page, layer: str, before: dict[str, list]):
    """Wait until ``layer``'s data in the browser differ from ``before``."""
    page.wait_for_function(
        f"([layer, before]) => JSON.stringify(({READ_SOURCES})()[layer]) !== before",
        arg=[layer, page.evaluate("data => JSON.stringify(data)", before)],
    )


def press_degree_up(page: Page) -> dict:
    """Press ArrowRight on the Degree slider; return the layers once the new fit is in."""
    before = sources(page)
    degree = page.get_by_role("slider", name="Degree", exact=True)
    start = int(degree.get_attribute("aria-valuenow"))
    degree.focus()
    degree.press("ArrowRight")
    expect(degree).to_have_attribute("aria-valuenow", str(start + 1))
    wait_for_change(page, "fit", before["fit"])
    return sources(page)


def number_field(page: Page, label: str) -> Locator:
    """The text field of a number control (``views.controls``), found by its name."""
    return page.get_by_role("textbox", name=label, exact=True)


def number_slider(page: Page, label: str) -> Locator:
    """The slider of a number control, found by its name."""
    return page.get_by_role("slider", name=label, exact=True)


def shows(number: str) -> re.Pattern:
    """Match a number field showing ``number`` with any trailing zeros (3.1, 3.10)."""
    whole, _, decimals = number.partition(".")
    return re.compile(rf"^{re.escape(whole)}(\.{decimals}0*|\.0*)?$" if decimals
                      else rf"^{re.escape(whole)}(\.0*)?$")


def merged(layers: dict, column: str) -> list:
    """One column of the train and test samples together."""
    return layers["train"][column] + layers["test"][column]


@pytest.fixture
def app(page: Page, app_url: str) -> Page:
    """The app in a fresh browser session, with its plots drawn."""
    page.goto(app_url)
    page.wait_for_function(RENDERED)
    return page


def test_page_shows_fit_truth_samples_and_scores(app: Page):
    layers = sources(app)

    for split, share in [("train", 1 - TEST_SIZE), ("test", TEST_SIZE)]:
        assert layers[split] is not None, f"no single {split} layer with columns x, y"
        assert set(layers[split]) == {"x", "y"}, "a text column would be re-sent"
        assert len(layers[split]["x"]) == len(layers[split]["y"]) == N_SAMPLES * share
    assert all(-5 <= x <= 5 for x in merged(layers, "x"))

    for layer, column in [("fit", "fit"), ("truth", "truth")]:
        assert layers[layer] is not None, f"no single data source with column {column!r}"
        curve = layers[layer]
        assert len(curve["x"]) == len(curve[column]) == GRID_POINTS
        assert curve["x"][0] == pytest.approx(-5)
        assert curve["x"][-1] == pytest.approx(5)
    assert layers["fit"]["fit"] != layers["truth"]["truth"]

    for split in ("train", "test"):
        predictions = layers[f"{split}_predictions"]
        assert predictions is not None
        assert predictions["y"] == layers[split]["y"]

    expect(app.locator("td.train-n")).to_have_text(str(int(N_SAMPLES * (1 - TEST_SIZE))))
    expect(app.locator("td.test-n")).to_have_text(str(int(N_SAMPLES * TEST_SIZE)))
    expect(app.locator("td.test-r2")).to_have_text(re.compile(r"^0\.\d+$"))


def test_degree_refits_without_resampling(app: Page):
    before = sources(app)
    app.evaluate(REMEMBER_SOURCES)
    test_r2, train_r2 = app.locator("td.test-r2"), app.locator("td.train-r2")
    score_before, train_before = test_r2.inner_text(), float(train_r2.inner_text())

    after = press_degree_up(app)

    expect(test_r2).not_to_have_text(score_before)
    # Least squares on nested polynomial features: one more degree never fits worse.
    assert float(train_r2.inner_text()) >= train_before
    assert after["fit"]["fit"] != before["fit"]["fit"]
    for layer in ("train", "test", "truth"):
        assert after[layer] == before[layer], f"a degree change changed the {layer} layer"
    # Stronger than equal data: only the refitted layers went over the wire.
    sent = app.evaluate(SENT_SINCE)
    assert sent == {"fit": True, "truth": False, "train": False, "test": False,
                    "train_predictions": True, "test_predictions": True}


def test_noise_change_rescales_the_same_draws(app: Page):
    before = sources(app)["train"]
    handle = number_slider(app, "Noise σ")

    handle.focus()
    handle.press("ArrowRight")

    expect(number_field(app, "Noise σ")).to_have_value(shows("3.1"))
    wait_for_change(app, "train", before)
    after = sources(app)["train"]
    assert after["x"] == before["x"], "a noise change moved the x draws"
    assert all(a != b for a, b in zip(after["y"], before["y"], strict=True))


def test_resample_draws_new_data(app: Page):
    before = sources(app)["train"]
    seed = app.get_by_label("Data seed")
    seed_before = seed.input_value()

    # Not get_by_role(name=...): MUI's tooltip makes the button's doc its accessible name.
    app.get_by_role("button").filter(has_text="Resample").click()

    wait_for_change(app, "train", before)
    expect(seed).not_to_have_value(seed_before)
    after = sources(app)
    assert after["train"]["x"] != before["x"]
    assert after["train"]["y"] != before["y"]
    assert len(merged(after, "x")) == N_SAMPLES


def test_refused_x_min_keeps_state_and_says_why(app: Page):
    before = sources(app)
    x_min = number_field(app, "x min")
    expect(x_min).to_have_value(shows("-5"))
    alert = app.get_by_role("alert").filter(has_text="x_min must be less than x_max")
    expect(alert).to_be_hidden()

    x_min.fill("8")
    x_min.press("Enter")

    expect(alert).to_be_visible()
    expect(x_min).to_have_value(shows("-5"))
    expect(number_slider(app, "x min")).to_have_attribute("aria-valuenow", "-5")
    after = sources(app)
    assert (after["train"], after["test"]) == (before["train"], before["test"])
    assert after["fit"] == before["fit"]

    # A valid value then applies and clears the message.
    x_min.fill("-4")
    x_min.press("Enter")

    wait_for_change(app, "train", before["train"])
    expect(alert).to_be_hidden()
    assert min(merged(sources(app), "x")) >= -4


#: The axis labels ``[x, y]`` of each figure titled ``title``, as the page draws them.
AXIS_LABELS = """title => Array.from(Bokeh.documents[0].all_models).filter(
  model => model.type === "Figure" && model.title?.text === title).map(
  figure => [figure.below[0].axis_label, figure.left[0].axis_label])"""

#: Above 20,000 points (plots.RASTER_THRESHOLD) the scatters are Datashader images.
LARGE_N = 30_000
#: The first large data import Datashader and compile its aggregation: seconds.
LARGE_TIMEOUT = 120_000


@pytest.mark.parametrize("n_samples", [N_SAMPLES, LARGE_N])
def test_predicted_against_actual_axes_name_actual_and_predicted_y(page: Page, app_url: str,
                                                                  n_samples: int):
    page.goto(f"{app_url}?data.n_samples={n_samples}", timeout=LARGE_TIMEOUT)
    page.wait_for_function(RENDERED, timeout=LARGE_TIMEOUT)
    page.wait_for_function(SETTLED, timeout=LARGE_TIMEOUT)
    # Point by point at 200, one image at 30,000: the train layer holds no points then.
    drawn = len(sources(page)["train_predictions"]["y"])
    assert (drawn > 0) == (n_samples <= RASTER_THRESHOLD)
    labels = [["actual y", "predicted y"]]
    assert page.evaluate(AXIS_LABELS, "Predicted against actual") == labels

    # A refit (and, at 30,000, a new image) keeps them.
    before = sources(page)
    degree = number_slider(page, "Degree")
    degree.focus()
    degree.press("ArrowRight")
    wait_for_change(page, "fit", before["fit"])
    page.wait_for_function(SETTLED, timeout=LARGE_TIMEOUT)
    assert page.evaluate(AXIS_LABELS, "Predicted against actual") == labels


def test_the_dashed_curve_is_the_truth_plus_the_noise_mean_and_says_so(page: Page,
                                                                        app_url: str):
    page.goto(f"{app_url}?data.noise_mean=4")
    page.wait_for_function(RENDERED)
    page.wait_for_function(SETTLED)
    truth = sources(page)["truth"]
    x = np.array(truth["x"])
    # E[y|x]: what the true error is measured against, and what a fit estimates.
    np.testing.assert_allclose(truth["truth"], DataGenerator().ground_truth(x) + 4, rtol=1e-12)
    assert "E[y|x] (truth + noise mean)" in page.evaluate(LEGEND_LABELS)
    card = page.locator("p.truth")
    expect(card).to_contain_text("True error (fit against E[y|x] = truth + noise mean): RMSE")
    expect(card).not_to_contain_text("noiseless")


def save_screenshot(page: Page, path: Path):
    """Save a full-page PNG for the docs and check it is one, at the test viewport's width."""
    path.parent.mkdir(exist_ok=True)
    page.screenshot(path=path, full_page=True)
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width == 1400
    assert height >= 900


def test_screenshot_for_readme(app: Page):
    save_screenshot(app, SCREENSHOT)
