"""Edit the data with the mouse, upload, link and export in Chromium; check against references.

Each test drives the served app the way a user does (clicks and drags on the
data plot, its toolbar, buttons, the file input, the URL) and compares what
the page then holds with numbers computed here, in the test process:

- a :class:`RegressionModel` built with the same settings and the same points,
  which gives the expected split (by index label) and scores;
- numpy's own least-squares polynomial of the training points the page shows,
  which checks the fitted curve and the scores without the app's pipeline.

The data plot is found by its ``PointDrawTool``; data coordinates are turned
into screen pixels with the plot's own scales.  The conftest fails a test
whose browser or server reported an error.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.polynomial import Polynomial
from playwright.sync_api import Page, expect
from sklearn.metrics import r2_score, root_mean_squared_error

from polyfit_explorer import DataGenerator, Dataset, RegressionModel
from polyfit_explorer.exports import load_skops

from ._bokeh import RENDERED, SETTLED
from .test_app import number_field

DEGREE = 3

#: A first page load takes seconds, and longer on a busy machine.
LOAD_TIMEOUT = 30_000

#: How often "Exclude selected" is clicked before the selection must have arrived.
SELECTION_TRIES = 10

#: The page shows scores with 4 significant digits.
SHOWN_RTOL = 6e-4

#: The data plot's view: the figure whose toolbar holds the PointDrawTool.
DATA_VIEW = """Bokeh.index.find_one(Array.from(Bokeh.documents[0].all_models).find(
  model => model.type === "Figure"
    && model.toolbar.tools.some(tool => tool.type === "PointDrawTool")))"""

#: The data plot's layers as ``{layer: {column: values}}``: train, test and
#: excluded points, the fit and pinned curves by their legend label, and the
#: editable layer (every point, with its index label), which has no legend
#: entry.  ``hollow`` tells whether the excluded points are drawn unfilled.
READ_LAYERS = """() => {
  const columns = source => Object.fromEntries(
    Object.entries(source.data).map(([column, values]) => [column, Array.from(values)]));
  const layers = {};
  for (const item of Bokeh.documents[0].all_models) {
    if (item.type !== "LegendItem") continue;
    for (const renderer of item.renderers) {
      const data = renderer.data_source.data;
      const name = {train: "x", test: "x", excluded: "x", fit: "fit", "pinned fit": "pinned"};
      if (item.label.value in name && name[item.label.value] in data) {
        layers[item.label.value.replace(" fit", "")] = columns(renderer.data_source);
        if (item.label.value === "excluded") layers.hollow = renderer.glyph.fill_alpha.value === 0;
      }
    }
  }
  const editable = Array.from(Bokeh.documents[0].all_models).filter(
    model => model.type === "ColumnDataSource" && "label" in model.data);
  layers.editable = editable.length === 1 ? columns(editable[0]) : null;
  return layers;
}"""

#: The plot's frame in viewport pixels, and the data coordinates of viewport points.
FRAME = f"""() => {{
  const view = {DATA_VIEW};
  const canvas = view.canvas_view.el.getBoundingClientRect();
  const bbox = view.frame.bbox;
  return {{left: canvas.left + bbox.left, right: canvas.left + bbox.right,
          top: canvas.top + bbox.top, bottom: canvas.top + bbox.bottom}};
}}"""
TO_SCREEN = f"""points => {{
  const view = {DATA_VIEW};
  const canvas = view.canvas_view.el.getBoundingClientRect();
  return points.map(([x, y]) => [canvas.left + view.frame.x_scale.compute(x),
                                 canvas.top + view.frame.y_scale.compute(y)]);
}}"""
TO_DATA = f"""points => {{
  const view = {DATA_VIEW};
  const canvas = view.canvas_view.el.getBoundingClientRect();
  return points.map(([sx, sy]) => [view.frame.x_scale.invert(sx - canvas.left),
                                   view.frame.y_scale.invert(sy - canvas.top)]);
}}"""

#: The class of the innermost element at a viewport point, through the shadow roots.
ELEMENT_AT = """([x, y]) => {
  let element = document.elementFromPoint(x, y);
  while (element && element.shadowRoot) {
    const inner = element.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === element) break;
    element = inner;
  }
  return element && element.className;
}"""

#: The full-page loading overlay stays for a moment after the plots are drawn,
#: and swallows the clicks meant for them.
LOADER_GONE = """() => {
  const loader = document.getElementById("loader");
  return loader === null || getComputedStyle(loader).display === "none";
}"""


# ---- reading the page -----------------------------------------------------------


def layers(page: Page) -> dict:
    return page.evaluate(READ_LAYERS)


def wait_for_layers(page: Page, condition, describe=None, timeout: float = 15_000) -> dict:
    """Poll the layers until ``condition(layers)`` holds; return them.

    On a timeout, the error shows ``describe(layers)``, or else the layers' sizes.
    """
    for _ in range(int(timeout / 100)):
        state = layers(page)
        if condition(state):
            return state
        page.wait_for_timeout(100)
    sizes = {name: layer and len(layer["x"]) for name, layer in state.items()
             if isinstance(layer, dict | None)}
    raise AssertionError("the plot's layers never met the condition: "
                         f"{describe(state) if describe else sizes}")


def points(layer: dict) -> set[tuple[float, float]]:
    return set(zip(layer["x"], layer["y"], strict=True))


def frame_points(frame: pd.DataFrame) -> set[tuple[float, float]]:
    return set(zip(frame["x"].tolist(), frame["y"].tolist(), strict=True))


def to_screen(page: Page, xy) -> list[list[float]]:
    return page.evaluate(TO_SCREEN, [list(map(float, p)) for p in xy])


def to_data(page: Page, xy) -> list[list[float]]:
    return page.evaluate(TO_DATA, [list(map(float, p)) for p in xy])


def pixel(page: Page) -> np.ndarray:
    """The data size of one screen pixel along x and y at the current scales."""
    (x0, y0), (x1, y1) = to_data(page, [(500, 300), (501, 301)])
    return np.abs([x1 - x0, y1 - y0])


def assert_on_frame(page: Page, xy) -> None:
    """``xy`` (viewport pixels) is inside the plot's frame and nothing covers it there.

    Bokeh's tools listen on the canvas's events layer.  A legend drawn inside
    the frame once sat over the top-left points and swallowed such clicks.
    """
    box = page.evaluate(FRAME)
    assert box["left"] < xy[0] < box["right"], f"{xy} is left or right of the frame {box}"
    assert box["top"] < xy[1] < box["bottom"], f"{xy} is above or below the frame {box}"
    element = page.evaluate(ELEMENT_AT, list(map(float, xy)))
    assert "bk-events" in element.split(), f"{xy} is on {element!r}, not on the plot"


def assert_near(point, wanted, tolerance):
    """``point`` is within ``tolerance`` (per coordinate) of ``wanted``."""
    error = np.abs(np.subtract(point, wanted))
    assert (error <= tolerance).all(), f"{point} is {error} from {wanted}, over {tolerance}"


def shown(value) -> str:
    """A score as the page shows it: integers whole, floats with 4 significant digits.

    An undefined score (R² of fewer than 2 points) shows as a dash.
    """
    if value is None:
        return "—"
    return str(value) if isinstance(value, (int, np.integer)) else f"{value:.4g}"


def score(page: Page, key: str) -> float:
    return float(page.locator(f"td.{key}").inner_text())


# ---- references -----------------------------------------------------------------


def expect_scores(page: Page, model: RegressionModel):
    """Wait until the scores table shows ``model``'s points, R² and RMSE."""
    for key, value in [("train-n", model.n_train_), ("test-n", model.n_test_),
                       ("train-r2", model.train_score_), ("test-r2", model.test_score_),
                       ("train-rmse", model.train_rmse_), ("test-rmse", model.test_rmse_)]:
        expect(page.locator(f"td.{key}")).to_have_text(shown(value))


def assert_least_squares(page: Page, state: dict, degree: int = DEGREE):
    """The fit and the scores are numpy's least-squares polynomial of the shown train points."""
    train, test, fit = state["train"], state["test"], state["fit"]
    reference = Polynomial.fit(train["x"], train["y"], degree)
    expected = reference(np.array(fit["x"]))
    np.testing.assert_allclose(fit["fit"], expected, rtol=1e-7,
                               atol=1e-7 * np.abs(expected).max())
    for split, rows in [("train", train), ("test", test)]:
        y, y_pred = np.array(rows["y"]), reference(np.array(rows["x"]))
        assert score(page, f"{split}-r2") == pytest.approx(r2_score(y, y_pred), rel=SHOWN_RTOL)
        assert score(page, f"{split}-rmse") == pytest.approx(
            root_mean_squared_error(y, y_pred), rel=SHOWN_RTOL)


def wait_for_model(page: Page, model: RegressionModel) -> dict:
    """Wait until the page shows ``model``: its scores, each split's points and its fit.

    Return the layers.  The layers are separate plots, updated one after another.
    """
    expect_scores(page, model)
    frame = model.samples_
    wanted = {split: frame_points(frame[frame["split"] == split])
              for split in ("train", "test", "excluded")}
    labels = frame.index.astype(float).tolist()
    fit = model.fit_curve()["y"].to_numpy()

    def differences(state: dict) -> list[str]:
        wrong = [split for split, rows in wanted.items() if points(state[split]) != rows]
        if state["editable"]["label"] != labels:
            wrong.append("labels")
        if not np.allclose(state["fit"]["fit"], fit, rtol=1e-9, atol=1e-9):
            wrong.append("fit")
        return wrong

    return wait_for_layers(page, lambda state: not differences(state), differences)


def model_of(editable: dict, **settings) -> RegressionModel:
    """A model with the app's default settings, fitted to the points and labels given."""
    model = RegressionModel(**settings)
    model.data.set_points(editable["x"], editable["y"], editable["label"])
    return model


def isolated_train_point(page: Page, state: dict, margin: float = 25.0) -> dict:
    """A train point far (on screen) from every other point and from the frame's edges.

    Returns its label, data and screen coordinates, and the screen distance to
    its nearest neighbour, so a tap or drag on it cannot catch another point.
    """
    editable = state["editable"]
    screen = np.array(to_screen(page, zip(editable["x"], editable["y"], strict=True)))
    box = page.evaluate(FRAME)
    train = points(state["train"])
    best = None
    for i, (x, y) in enumerate(zip(editable["x"], editable["y"], strict=True)):
        sx, sy = screen[i]
        inside = (box["left"] + margin < sx < box["right"] - margin
                  and box["top"] + margin < sy < box["bottom"] - margin)
        if (x, y) not in train or not inside:
            continue
        gap = np.delete(np.hypot(*(screen - screen[i]).T), i).min()
        if best is None or gap > best["gap"]:
            best = dict(index=i, label=editable["label"][i], x=x, y=y, sx=sx, sy=sy, gap=gap)
    assert best is not None, "no train point inside the frame"
    assert best["gap"] > 12, f"no isolated train point: {best}"
    assert_on_frame(page, (best["sx"], best["sy"]))
    return best


def button(page: Page, label: str):
    # Not get_by_role(name=...): MUI's tooltip makes the button's doc its accessible name.
    return page.get_by_role("button").filter(has_text=label)


def exclude_selected(page: Page, count: int) -> dict:
    """Click "Exclude selected" until ``count`` points are excluded; return the layers.

    HoloViews hands a selection to Python in a task of its own, which a click
    processed first overtakes: a busy server that reads both messages in one go
    then excludes nothing.  So the click is repeated, which is harmless:
    excluding the same points again changes nothing.
    """
    for _ in range(SELECTION_TRIES):
        button(page, "Exclude selected").click()
        try:
            return wait_for_layers(page, lambda s: len(s["excluded"]["x"]) == count,
                                   timeout=1_000)
        except AssertionError:
            pass
    raise AssertionError(f"{SELECTION_TRIES} clicks did not exclude {count} points")


def download(page: Page, label: str) -> bytes:
    with page.expect_download() as info:
        button(page, label).click()
    return info.value.path().read_bytes()


@pytest.fixture
def app(page: Page, app_url: str) -> Page:
    """The app in a fresh session, drawn and settled, with the loading overlay gone.

    Settled: a drag started once the page had drawn but before it had settled
    left the point where it was (a loaded full-suite run, 2026-12-07); by
    SETTLED nothing of the page's first update is still on its way.
    """
    page.goto(app_url, timeout=LOAD_TIMEOUT)
    page.wait_for_function(RENDERED, timeout=LOAD_TIMEOUT)
    page.wait_for_function(SETTLED, timeout=LOAD_TIMEOUT)
    page.wait_for_function(LOADER_GONE)
    return page


# ---- tests ------------------------------------------------------------------------


def test_click_adds_a_point_and_refits(app: Page):
    before = layers(app)
    generated = DataGenerator().data
    assert before["editable"]["label"] == list(map(float, range(200)))
    target = to_screen(app, [(-4.0, 15.0)])[0]
    wanted, tolerance = to_data(app, [target])[0], 1.5 * pixel(app)
    assert_on_frame(app, target)

    app.mouse.click(*target)

    # Until the server has labelled it, the browser's new point has no label.
    editable = wait_for_layers(app, lambda s: len(s["editable"]["x"]) == 201
                               and not np.isnan(s["editable"]["label"]).any())["editable"]
    # The generated points are untouched; the new one is where the mouse clicked,
    # with the next unused label.
    assert editable["x"][:200] == generated["x"].tolist()
    assert editable["y"][:200] == generated["y"].tolist()
    assert editable["label"][200] == 200
    new = (editable["x"][200], editable["y"][200])
    assert_near(new, wanted, tolerance)

    expected = model_of(editable)
    assert (expected.n_train_, expected.n_test_) == (160, 41)
    after = wait_for_model(app, expected)
    # Label 200's draw puts it in training, so the fit moves.
    assert new in points(after["train"])
    assert_least_squares(app, after)
    assert not np.allclose(after["fit"]["fit"], before["fit"]["fit"]), "the fit did not change"


def test_drag_moves_a_point_and_refits(app: Page):
    before = layers(app)
    point = isolated_train_point(app, before)
    box = app.evaluate(FRAME)
    # A fifth of the plot's height towards the middle: the drag carries only the
    # point grabbed, whatever it passes over.
    shift = (box["bottom"] - box["top"]) / 5
    middle = (box["top"] + box["bottom"]) / 2
    target = (point["sx"], point["sy"] + (shift if point["sy"] < middle else -shift))
    wanted, tolerance = to_data(app, [target])[0], 1.5 * pixel(app)

    app.mouse.move(point["sx"], point["sy"])
    app.mouse.down()
    app.mouse.move(*target, steps=10)
    app.mouse.up()

    i = point["index"]
    editable = wait_for_layers(
        app, lambda s: s["editable"]["y"][i] != point["y"])["editable"]
    assert editable["label"] == before["editable"]["label"], "a drag changed the labels"
    assert_near((editable["x"][i], editable["y"][i]), wanted, tolerance)
    for column in ("x", "y"):
        others = editable[column][:i] + editable[column][i + 1:]
        assert others == before["editable"][column][:i] + before["editable"][column][i + 1:], (
            "a drag moved another point")

    expected = model_of(editable)
    assert (expected.n_train_, expected.n_test_) == (160, 40)
    after = wait_for_model(app, expected)
    assert (editable["x"][i], editable["y"][i]) in points(after["train"])
    assert_least_squares(app, after)
    assert not np.allclose(after["fit"]["fit"], before["fit"]["fit"]), "the fit did not change"


def test_box_select_excludes_points_and_include_all_restores(app: Page):
    default = RegressionModel()
    before = wait_for_model(app, default)
    editable = before["editable"]
    box = app.evaluate(FRAME)
    # The box's right edge cuts between two of the leftmost points, in a gap wide
    # enough that no point's centre lies within 2 px of it.
    xs = np.sort(editable["x"])
    screen_x = np.array(to_screen(app, [(x, 0.0) for x in xs[:15]]))[:, 0]
    gaps = np.diff(screen_x)
    cut = int(np.argmax(gaps[3:]) + 3)
    assert gaps[cut] > 4, f"no gap to cut in: {gaps}"
    inside = [i for i, x in enumerate(editable["x"]) if x <= xs[cut]]
    # Vertically just past those points, inside the frame.
    screen_y = [sy for _, sy in to_screen(app, [(editable["x"][i], editable["y"][i])
                                                for i in inside])]
    low, high = min(box["bottom"] - 2, max(screen_y) + 10), min(screen_y) - 10
    assert_on_frame(app, (box["left"] + 2, low))
    assert_on_frame(app, ((screen_x[cut] + screen_x[cut + 1]) / 2, high))

    app.locator("[title='Box Select']").click()
    app.mouse.move(box["left"] + 2, low)
    app.mouse.down()
    app.mouse.move((screen_x[cut] + screen_x[cut + 1]) / 2, high, steps=10)
    app.mouse.up()
    exclude_selected(app, len(inside))

    expected = RegressionModel(excluded=[int(editable["label"][i]) for i in inside])
    assert expected.n_train_ + expected.n_test_ == 200 - len(inside)
    state = wait_for_model(app, expected)
    assert len(state["excluded"]["x"]) == len(inside) == cut + 1
    assert state["hollow"], "excluded points are not drawn hollow"
    assert max(state["excluded"]["x"]) < min(state["train"]["x"] + state["test"]["x"])
    assert_least_squares(app, state)
    expect(app.locator("ul.fit-warnings")).to_contain_text(
        f"{len(inside)} excluded points left out of training and testing")

    button(app, "Include all").click()

    state = wait_for_model(app, default)
    assert state["excluded"]["x"] == []
    assert state["fit"] == before["fit"]
    expect(app.locator("ul.fit-warnings")).to_have_count(0)  # the default fit has none


CSV_ROWS = 30


def your_csv() -> bytes:
    """A CSV with two numeric columns, a text column and one row with a gap."""
    rng = np.random.default_rng(7)
    t = np.linspace(-2.0, 3.0, CSV_ROWS)
    frame = pd.DataFrame({"t": t, "value": 1 + t - 0.5 * t**3 + rng.normal(0, 0.3, CSV_ROWS),
                          "note": [f"row {i}" for i in range(CSV_ROWS)]})
    frame.loc[4, "value"] = np.nan
    return frame.to_csv(index=False).encode()


def upload(page: Page, name: str, content: bytes):
    page.locator("input[type=file]").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}])


def test_upload_uses_your_csv_and_refuses_a_bad_one(app: Page):
    csv = your_csv()
    expected = RegressionModel(data=Dataset.from_frame(pd.read_csv(io.BytesIO(csv))))
    assert (expected.data.x_column, expected.data.y_column) == ("t", "value")
    alert = app.get_by_role("alert")

    app.get_by_label("Ground truth", exact=True).select_option("Your data (CSV upload)")
    upload(app, "mine.csv", csv)

    state = wait_for_model(app, expected)
    # Every usable row, in the file's order: the one with a gap is dropped.
    rows = pd.read_csv(io.BytesIO(csv)).dropna(subset=["t", "value"])
    assert state["editable"]["x"] == rows["t"].tolist()
    assert state["editable"]["y"] == rows["value"].tolist()
    assert_least_squares(app, state)
    expect(app.get_by_text("1 row with NaN or infinite values dropped.")).to_be_visible()
    x_column = app.get_by_role("combobox", name="x column")
    expect(x_column).to_have_text("t")
    expect(app.get_by_role("combobox", name="y column")).to_have_text("value")
    expect(alert).to_be_hidden()

    # Two rows are too few: refused with the reason, and the data stay.
    upload(app, "short.csv", b"x,y\n1,2\n3,4\n")

    expect(alert).to_contain_text("Only 2 usable rows")
    expect(alert).to_contain_text("at least 3 are needed")
    assert wait_for_model(app, expected) == state

    # Column names are shown as text, never read as HTML.
    html_csv = b"<b>bold</b>,y\n1,2\n2,3.5\n3,7\n4,8\n"
    upload(app, "html.csv", html_csv)

    wait_for_model(app, RegressionModel(data=Dataset.from_frame(
        pd.read_csv(io.BytesIO(html_csv)))))
    expect(alert).to_be_hidden()
    expect(x_column).to_have_text("<b>bold</b>")
    x_column.click()
    # Material's select lists its choices as menu items.
    expect(app.get_by_role("listbox").get_by_role("menuitem")).to_have_text(
        ["<b>bold</b>", "y"])
    assert app.locator("b", has_text="bold").count() == 0
    app.keyboard.press("Escape")
    expect(app.get_by_role("listbox")).to_have_count(0)
    assert app.locator("b", has_text="bold").count() == 0


def test_link_restores_settings_and_skips_bad_values(app: Page, app_url: str):
    degree = app.get_by_role("slider", name="Degree", exact=True)
    degree.focus()
    degree.press("ArrowRight")
    degree.press("ArrowRight")
    app.get_by_role("radio", name="L2 (Ridge)").check()
    noise = number_field(app, "Noise σ")
    noise.fill("4.5")
    noise.press("Enter")

    expected = RegressionModel(data=DataGenerator(noise_sd=4.5), degree=5, penalty="l2")
    wait_for_model(app, expected)
    expect(app).to_have_url(re.compile(r"degree=5&.*penalty=l2"))
    assert "data.noise_sd=4.5&" in app.url
    keys = ["train-r2", "test-r2", "train-rmse", "test-rmse", "train-n", "test-n"]
    scores = {key: app.locator(f"td.{key}").inner_text() for key in keys}

    errors = []
    other = app.context.new_page()
    other.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    other.on("pageerror", lambda error: errors.append(str(error)))
    try:
        other.goto(app.url)
        other.wait_for_function(RENDERED)
        for key, text in scores.items():
            expect(other.locator(f"td.{key}")).to_have_text(text)
        expect(other.get_by_role("slider", name="Degree", exact=True)).to_have_attribute(
            "aria-valuenow", "5")
        expect(other.get_by_role("radio", name="L2 (Ridge)")).to_be_checked()
        expect(number_field(other, "Noise σ")).to_have_value(
            re.compile(r"^4\.50*$"))
        other.wait_for_function(SETTLED)
        # The plots, built after the link applied, draw the link's data and fit.
        wait_for_model(other, expected)

        # An out-of-range value is skipped with a message; the rest of the page works.
        other.goto(f"{app_url}?degree=999")
        other.wait_for_function(RENDERED)
        expect(other.get_by_role("alert")).to_contain_text(
            "Ignored degree from the link: degree (Degree): '999' is out of range")
        expect(other.get_by_role("slider", name="Degree", exact=True)).to_have_attribute(
            "aria-valuenow", str(DEGREE))
        wait_for_model(other, RegressionModel())
        other.wait_for_function(SETTLED)
    finally:
        other.close()
    assert errors == []


def test_exports_match_the_page_with_an_excluded_point(app: Page, tmp_path):
    point = isolated_train_point(app, layers(app))
    app.mouse.click(point["sx"], point["sy"])  # a tap on a point selects it
    exclude_selected(app, 1)

    expected = RegressionModel(excluded=[int(point["label"])])
    state = wait_for_model(app, expected)
    assert points(state["excluded"]) == {(point["x"], point["y"])}

    data = pd.read_csv(io.BytesIO(download(app, "Data (CSV)")))
    assert list(data.columns) == ["x", "y", "split"]
    assert data["x"].tolist() == expected.samples_["x"].tolist()
    assert data["y"].tolist() == expected.samples_["y"].tolist()
    assert data["split"].tolist() == expected.samples_["split"].astype(str).tolist()
    assert data["split"].value_counts().to_dict() == {"train": 159, "test": 40, "excluded": 1}

    script = tmp_path / "polyfit_fit.py"
    script.write_bytes(download(app, "Script (Python)"))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, check=True)
    found = re.findall(r"^(train|test): R2 = (\S+)  RMSE = (\S+)  ", run.stdout, re.MULTILINE)
    assert [split for split, *_ in found] == ["train", "test"], run.stdout
    for split, r2, rmse in found:
        expect(app.locator(f"td.{split}-r2")).to_have_text(shown(float(r2)))
        expect(app.locator(f"td.{split}-rmse")).to_have_text(shown(float(rmse)))

    pipeline = load_skops(download(app, "Model (skops)"))
    fit = state["fit"]
    np.testing.assert_allclose(pipeline.predict(np.array(fit["x"]).reshape(-1, 1)),
                               fit["fit"], rtol=1e-12)


def test_pin_keeps_the_old_fit_until_cleared(app: Page):
    before = layers(app)
    assert np.isnan(before["pinned"]["x"] + before["pinned"]["pinned"]).all()

    button(app, "Pin this fit").click()

    pinned = wait_for_layers(app, lambda s: len(s["pinned"]["x"]) > 1)["pinned"]
    assert pinned == {"x": before["fit"]["x"], "pinned": before["fit"]["fit"]}

    degree = app.get_by_role("slider", name="Degree", exact=True)
    degree.focus()
    degree.press("ArrowRight")

    after = wait_for_model(app, RegressionModel(degree=DEGREE + 1))
    assert after["pinned"] == pinned, "the pinned curve followed the fit"
    assert_least_squares(app, after, degree=DEGREE + 1)
    assert not np.allclose(after["fit"]["fit"], pinned["pinned"])

    button(app, "Clear pin").click()

    cleared = wait_for_layers(app, lambda s: len(s["pinned"]["x"]) == 1)
    assert np.isnan(cleared["pinned"]["x"] + cleared["pinned"]["pinned"]).all()
    assert cleared["fit"] == after["fit"]


def test_backspace_deletes_the_tapped_point(app: Page):
    before = layers(app)
    point = isolated_train_point(app, before)

    app.mouse.click(point["sx"], point["sy"])  # selects it; the mouse stays over the plot
    app.keyboard.press("Backspace")

    editable = wait_for_layers(app, lambda s: len(s["editable"]["x"]) == 199)["editable"]
    assert editable["label"] == [label for label in before["editable"]["label"]
                                 if label != point["label"]]
    assert (point["x"], point["y"]) not in points(editable)

    expected = model_of(editable)
    assert expected.n_train_ + expected.n_test_ == 199
    after = wait_for_model(app, expected)
    assert_least_squares(app, after)
    assert not np.allclose(after["fit"]["fit"], before["fit"]["fit"]), "the fit did not change"
