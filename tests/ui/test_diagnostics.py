"""Drive the diagnostics tabs in Chromium and check what the page shows against references.

Every number read back from the page (the Bokeh document's data sources, the
tables' cells) is compared with one computed here, in the test process, from
an identical model: the app's default is ``RegressionModel()`` on
``DataGenerator()``, degree 3, no penalty, and the bias-variance tab's
defaults are R = 200 replicates with seed 0.  Where the fit is plain least
squares, numpy's own polynomial fit of the training points the page shows is
the reference, so the pipeline is checked too, not only the wiring.

Diagnostics are computed in a worker thread and land at any time; the
conftest closes a page only once its app has settled.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.polynomial import Polynomial
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sklearn.metrics import r2_score, root_mean_squared_error

from polyfit_explorer import DataGenerator, RegressionModel
from polyfit_explorer.diagnostic_plots import FLOOR_FRACTION
from polyfit_explorer.diagnostics import (
    Snapshot,
    bias_variance,
    bias_variance_by_alpha,
    learning_curve,
)

from ._bokeh import (
    RENDERED,
    SETTLED,
    SPANS,
    UNSETTLED,
    figure_point,
    figure_spans,
    record_texts,
    recorded_texts,
    sources,
    sources_with,
    wait_for_source,
)
from .test_app import LEGEND_LABELS, number_field, save_screenshot, wait_for_change

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "screenshot-diagnostics.png"

#: The app's bias-variance settings.
REPLICATES, SEED = 200, 0

#: Columns that identify the validation curve's data sources.
VALIDATION = ["degree", "cv_rmse"]

#: A column of each hidden tab's data sources: bias-variance (U-curves, mean
#: of the refits), learning curve, coefficients, residuals.
HIDDEN_TAB_COLUMNS = ["bias2_closed_form", "mean_fit", "n_train", "coefficient", "residual"]

#: How long a page may take to load and draw.
LOAD_TIMEOUT = 60_000

#: How long to wait for a diagnostic that takes milliseconds alone (the machine
#: may be busy).
COMPUTE_TIMEOUT = 30_000

#: LASSO's diagnostics take seconds, even with fewer refits and degrees, and
#: twice as long when a result goes stale: generous, and no test asserts
#: anything about time.
LASSO_TIMEOUT = 90_000


@pytest.fixture
def app(page: Page, app_url: str) -> Page:
    """The app in a fresh browser session, with the validation curve drawn."""
    # The server's first session imports the plotting stack: slow on a busy machine.
    page.goto(app_url, timeout=LOAD_TIMEOUT)
    page.wait_for_function(RENDERED, timeout=LOAD_TIMEOUT)
    wait_for_source(page, *VALIDATION, timeout=COMPUTE_TIMEOUT)
    return page


def degree_slider(page: Page) -> Locator:
    # exact: the validation tab has a "Highest degree" slider too.
    return page.get_by_role("slider", name="Degree", exact=True)


def open_tab(page: Page, title: str):
    page.get_by_role("tab", name=title).click()


def assert_shows(cell: Locator, value: float):
    """Assert a table cell shows ``value`` to its 4 significant digits."""
    text = cell.inner_text()
    assert float(text) == pytest.approx(value, rel=5e-4, abs=0), f"shows {text}, not {value}"


def split_points(page: Page, split: str) -> tuple[np.ndarray, np.ndarray]:
    layer = sources(page)[split]
    return np.array(layer["x"]), np.array(layer["y"])


def test_tapping_a_degree_on_the_validation_curve_fits_it(app: Page):
    before = sources(app)["fit"]
    assert figure_spans(app, VALIDATION) == [3], "the current degree is not marked"
    r2_before = app.locator("td.test-r2").inner_text()

    point = figure_point(app, VALIDATION, 7)
    app.mouse.click(point["x"], point["y"])

    expect(degree_slider(app)).to_have_attribute("aria-valuenow", "7")
    wait_for_change(app, "fit", before)
    fit = sources(app)["fit"]
    x = np.array(fit["x"])
    # The same pipeline, in this process ...
    np.testing.assert_allclose(
        fit["fit"], RegressionModel(degree=7).predict(x), rtol=1e-9, atol=1e-9
    )
    # ... and numpy's least squares on the training points the page shows.
    x_train, y_train = split_points(app, "train")
    x_test, y_test = split_points(app, "test")
    polynomial = Polynomial.fit(x_train, y_train, 7)
    np.testing.assert_allclose(fit["fit"], polynomial(x), rtol=0, atol=1e-6)

    expect(app.locator("td.test-r2")).not_to_have_text(r2_before)
    assert_shows(app.locator("td.train-r2"), r2_score(y_train, polynomial(x_train)))
    assert_shows(app.locator("td.test-r2"), r2_score(y_test, polynomial(x_test)))
    assert_shows(app.locator("td.test-rmse"), root_mean_squared_error(y_test, polynomial(x_test)))
    # The marker follows once the validation curve has been recomputed.
    app.wait_for_function(
        f"columns => ({SPANS})(columns).join() === '7'", arg=VALIDATION, timeout=COMPUTE_TIMEOUT
    )


def read_bias_variance(page: Page) -> dict[str, Locator]:
    return {
        key: page.locator(f"td.bv-{key}")
        for key in ("bias2", "variance", "noise", "total", "measured")
    }


def assert_table_is(cells: dict[str, Locator], expected):
    """Assert the table's column "from refits" shows the refits' numbers of ``expected``."""
    for key, value in [
        ("bias2", expected.refit_bias2),
        ("variance", expected.refit_variance),
        ("noise", expected.noise),
        ("total", expected.refit_bias2 + expected.refit_variance + expected.noise),
        ("measured", expected.expected_mse),
    ]:
        assert_shows(cells[key], value)


def test_bias_variance_numbers_follow_the_noise(app: Page):
    open_tab(app, "Bias & variance")
    cells = read_bias_variance(app)
    expect(cells["noise"]).to_have_text("9", timeout=COMPUTE_TIMEOUT)
    expected = bias_variance(Snapshot.of(RegressionModel()), REPLICATES, SEED)
    assert_table_is(cells, expected)
    expect(app.locator("p.bv-setting")).to_contain_text(f"Degree 3, R = {REPLICATES} refits")
    variance_before = float(cells["variance"].inner_text())

    noise = number_field(app, "Noise σ")
    noise.fill("6")
    noise.press("Enter")

    expect(cells["noise"]).to_have_text("36", timeout=COMPUTE_TIMEOUT)
    expect(app.locator("span.noise-sd")).to_have_text("6")
    noisier = RegressionModel(data=DataGenerator(noise_sd=6.0))
    assert_table_is(cells, bias_variance(Snapshot.of(noisier), REPLICATES, SEED))
    # The same noise draws, twice the σ: a linear fit's variance exactly quadruples.
    assert float(cells["variance"].inner_text()) / variance_before == pytest.approx(4, rel=1e-3)


#: Count, from now on, the models the server marks as loading (a tab's spinner).
RECORD_LOADING = """() => {
  window.__loading = 0;
  Bokeh.documents[0].on_change(event => {
    if (event.attr === "css_classes" && event.model.css_classes.includes("pn-loading"))
      window.__loading += 1;
  }, true);
}"""


def test_hidden_tabs_compute_nothing(app: Page):
    # The validation curve's sources are there (the fixture waited for them) ...
    assert len(sources_with(app, *VALIDATION)) == 2  # its curve and its dots
    # ... and no hidden tab's.
    for column in HIDDEN_TAB_COLUMNS:
        assert sources_with(app, column) == [], f"a hidden tab drew {column!r}"
    expect(app.get_by_text("Computing…")).to_have_count(0)
    app.evaluate(RECORD_LOADING)

    open_tab(app, "Learning curve")

    wait_for_source(app, "n_train", "test_rmse", timeout=COMPUTE_TIMEOUT)
    # The tab computed once it was opened (its spinner showed), not before.
    assert app.evaluate("window.__loading") >= 1
    snap = Snapshot.of(RegressionModel())
    expected, floor = learning_curve(snap), FLOOR_FRACTION * snap.noise_floor
    for column in ("train_rmse", "test_rmse", "true_rmse"):
        (source,) = sources_with(app, "n_train", column)
        np.testing.assert_array_equal(source["n_train"], expected["n_train"])
        # The errors of fits through their few points (1e-15) are drawn at the axis' floor.
        np.testing.assert_allclose(source[column], np.maximum(expected[column], floor),
                                   rtol=1e-9)
    (below,) = sources_with(app, "n_train", "rmse_below_floor")
    is_below = expected["train_rmse"] < floor
    assert is_below.any()
    np.testing.assert_array_equal(below["n_train"], expected["n_train"][is_below])
    np.testing.assert_allclose(below["rmse_below_floor"], expected["train_rmse"][is_below],
                               rtol=1e-6, atol=1e-14)
    for column in HIDDEN_TAB_COLUMNS:
        if column != "n_train":
            assert sources_with(app, column) == [], f"a hidden tab drew {column!r}"


def test_lasso_diagnostics_leave_the_sliders_live_and_drop_stale_results(app: Page):
    degree, loading = degree_slider(app), app.locator(".pn-loading")
    setting = app.locator("p.bv-setting")
    open_tab(app, "Bias & variance")
    expect(setting).to_contain_text("Degree 3, R = 200 refits", timeout=COMPUTE_TIMEOUT)
    # Fewer refits and degrees: seconds instead of a minute, still long enough to
    # change the degree while the worker computes.
    replicates = app.get_by_role("slider", name="Replicates R")
    replicates.focus()
    replicates.press("Home")
    expect(replicates).to_have_attribute("aria-valuenow", "20")
    highest = app.get_by_role("slider", name="Highest degree")
    highest.focus()
    for _ in range(5):
        highest.press("ArrowLeft")
    expect(highest).to_have_attribute("aria-valuenow", "10")
    expect(setting).to_contain_text("Degree 3, R = 20 refits", timeout=COMPUTE_TIMEOUT)
    app.wait_for_function(SETTLED)
    record_texts(app, r"Degree \d+(, α)?")

    before = sources(app)["fit"]
    app.get_by_label("L1 (LASSO)").check()

    wait_for_change(app, "fit", before)
    x = np.array(before["x"])
    lasso_3 = RegressionModel(penalty="l1", degree=3)
    np.testing.assert_allclose(sources(app)["fit"]["fit"], lasso_3.predict(x), rtol=1e-7)
    # The tab's column shows Panel's loading indicator while its worker computes.
    expect(loading).to_have_count(1, timeout=COMPUTE_TIMEOUT)

    before = sources(app)["fit"]
    degree.focus()
    degree.press("ArrowRight")

    expect(degree).to_have_attribute("aria-valuenow", "4")
    wait_for_change(app, "fit", before)
    lasso_4 = RegressionModel(penalty="l1", degree=4)
    np.testing.assert_allclose(sources(app)["fit"]["fit"], lasso_4.predict(x), rtol=1e-7)
    # The refit reached the page while the diagnostics were still computing.
    assert loading.count() == 1

    expect(loading).to_have_count(0, timeout=LASSO_TIMEOUT)
    expect(setting).to_contain_text("Degree 4, α = ")
    expect(setting).to_contain_text("R = 20 refits")
    # Least squares at degree 3, then LASSO at degree 4: the LASSO result for
    # degree 3 arrived stale and was never shown.
    assert recorded_texts(app) == ["Degree 3", "Degree 4, α"]
    expected = bias_variance(Snapshot.of(lasso_4), 20, SEED)
    assert_shows(app.locator("td.bv-bias2"), expected.refit_bias2)
    assert_shows(app.locator("td.bv-variance"), expected.refit_variance)
    assert_shows(app.locator("td.bv-measured"), expected.expected_mse)


def test_screenshot_of_the_bias_variance_tab(app: Page):
    # Ridge, so that the U-curve against alpha has data too.
    app.get_by_label("L2 (Ridge)").check()
    open_tab(app, "Bias & variance")
    expect(app.locator("p.bv-setting")).to_contain_text("Degree 3, α = ", timeout=COMPUTE_TIMEOUT)
    # The server's worker pool is shared by all sessions: in the full suite it
    # may still be computing an earlier test's LASSO diagnostics (seconds each).
    # This wait timed out at 15 s in CI (fresh clone, full suite) and never alone.
    try:
        app.wait_for_function(SETTLED, timeout=LASSO_TIMEOUT)
    except PlaywrightTimeout:
        raise AssertionError(f"the page never settled: {app.evaluate(UNSETTLED)}") from None
    snap = Snapshot.of(RegressionModel(penalty="l2"))
    expected = bias_variance(snap, REPLICATES, SEED)
    assert_table_is(read_bias_variance(app), expected)
    # The refits: 50 of the 200 drawn, at every second grid point, as one path
    # broken by NaN ...
    (refits,) = sources_with(app, "xs", "ys")
    (ys,) = refits["ys"]
    pieces = np.split(np.asarray(ys, float), np.flatnonzero(np.isnan(ys)) + 1)
    pieces = [piece[~np.isnan(piece)] for piece in pieces if np.isfinite(piece).any()]
    assert len(pieces) == 50
    np.testing.assert_allclose(pieces[7], expected.fits[7, ::2], rtol=1e-9)
    # ... their mean and the truth, on the whole grid ...
    (mean,) = sources_with(app, "mean_fit")
    np.testing.assert_allclose(mean["mean_fit"], expected.mean_fit, rtol=1e-9)
    (truth,) = sources_with(app, "expected_y")
    np.testing.assert_allclose(truth["expected_y"], expected.target, rtol=1e-12)
    # ... the U-curve against degree, 0 to the highest degree 15 ...
    (by_degree,) = sources_with(app, "degree", "variance")
    assert by_degree["degree"] == list(range(16))
    assert by_degree["variance"][3] == pytest.approx(expected.variance, rel=1e-9)
    # ... and against alpha, where Ridge's variance falls as alpha grows.
    (by_alpha,) = sources_with(app, "alpha", "variance")
    reference = bias_variance_by_alpha(snap, REPLICATES, SEED)
    np.testing.assert_allclose(by_alpha["alpha"], reference["alpha"], rtol=1e-12)
    np.testing.assert_allclose(by_alpha["variance"], reference["variance"], rtol=1e-9)
    assert np.all(np.diff(by_alpha["variance"]) < 0)
    # Ridge's bias² is its closed form, and the legend says so.
    (closed,) = sources_with(app, "alpha", "bias2_closed_form")
    np.testing.assert_allclose(closed["bias2_closed_form"], reference["exact_bias2"], rtol=1e-9)
    assert {"bias² (closed form)", "bias² (refits, corrected)",
            "MSE on new data"} <= set(app.evaluate(LEGEND_LABELS))
    # The tab bar at the top of the screenshot, the table still in it.
    app.get_by_role("tab", name="Bias & variance").evaluate(
        "tab => tab.scrollIntoView({block: 'start'})"
    )

    save_screenshot(app, SCREENSHOT)
