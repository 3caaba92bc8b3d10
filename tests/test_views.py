"""The Explorer rendered into a Bokeh document offline, driven through its models."""

import numpy as np
import panel as pn
import param
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, LegendItem
from pyviz_comms import Comm

from polyfit_explorer import DataGenerator, Explorer, RegressionModel


@pytest.fixture
def explorer():
    return Explorer()


@pytest.fixture
def root(explorer):
    yield pn.panel(explorer).get_root(Document(), comm=Comm())
    pn.config.exception_handler = None


def source(root, *columns, without=()):
    """The one ColumnDataSource with all ``columns`` and none of ``without``."""
    found = [m for m in root.references() if isinstance(m, ColumnDataSource)
             and set(columns) <= set(m.data) and not set(without) & set(m.data)]
    assert len(found) == 1, [list(m.data) for m in found]
    return found[0]


def split_source(root, split, *columns):
    """The data source of the layer labelled ``split`` that has ``columns``."""
    found = [r.data_source for item in root.references() if isinstance(item, LegendItem)
             and item.label.value == split for r in item.renderers
             if set(columns) <= set(r.data_source.data)]
    assert len(found) == 1, found
    return found[0]


def widget(root_view, label):
    found = [w for w in root_view.select(pn.widgets.WidgetBase) if w.label == label]
    assert found, label
    return found[0]


def test_plots_show_the_models_numbers(explorer, root):
    model = explorer.model
    fit = source(root, "fit")
    x = np.asarray(fit.data["x"])
    np.testing.assert_allclose(fit.data["fit"], model.predict(x))
    np.testing.assert_allclose(source(root, "truth").data["truth"], model.data.ground_truth(x))
    is_test = (model.samples_.split == "test").to_numpy()
    for split, rows in [("train", ~is_test), ("test", is_test)]:
        samples = split_source(root, split, "x", "y")
        assert set(samples.data) == {"x", "y"}  # no text columns to re-send
        np.testing.assert_array_equal(samples.data["y"], model.data.data.y[rows])
        predictions = split_source(root, split, "y", "y_pred")
        np.testing.assert_allclose(predictions.data["y_pred"], model.y_pred_[rows])
    assert len(split_source(root, "test", "x").data["x"]) == model.n_test_


def test_degree_change_patches_only_the_fit_and_scores(explorer, root):
    fit, samples = source(root, "fit"), split_source(root, "train", "x", "y")
    before_fit, before_y = np.array(fit.data["fit"]), np.array(samples.data["y"])
    html_before = explorer.scores.pane.object
    explorer.model.degree = 9
    assert not np.allclose(fit.data["fit"], before_fit)
    np.testing.assert_allclose(fit.data["fit"], explorer.model.predict(fit.data["x"]))
    np.testing.assert_array_equal(samples.data["y"], before_y)
    assert explorer.scores.pane.object != html_before
    assert f"{explorer.model.test_score_:.4g}" in explorer.scores.pane.object


def test_switching_the_ground_truth_swaps_the_generator(explorer, root):
    explorer.model.data.n_samples = 120
    explorer.truth = "Sine"
    assert type(explorer.model.data).__name__ == "Sine"
    assert explorer.model.data.n_samples == 120  # carried over
    samples = split_source(root, "train", "x", "y")
    train = explorer.model.samples_.split == "train"
    np.testing.assert_array_equal(samples.data["y"], explorer.model.data.data.y[train])
    sine = explorer.model.data
    sine.noise_sd = 0.0
    explorer.truth = "Original: 2x − 0.6x² + 0.2x³ + 18·sin x"
    explorer.truth = "Sine"
    assert explorer.model.data is sine  # each truth keeps its own settings


def test_a_user_subclass_appears_in_the_selector():
    class Parabola(DataGenerator):
        def ground_truth(self, x):
            return x**2

    explorer = Explorer()
    assert "Parabola" in explorer.param.truth.objects
    explorer.truth = "Parabola"
    np.testing.assert_allclose(explorer.model.data.truth(5).y, np.linspace(-5, 5, 5) ** 2)


def test_an_explorer_of_a_custom_model_selects_its_truth():
    class Cubic(DataGenerator):
        def ground_truth(self, x):
            return x**3

    explorer = Explorer(model=RegressionModel(data=Cubic(), degree=2))
    assert explorer.truth == "Cubic"
    assert explorer.model.degree == 2


def test_refused_widget_value_shows_a_message_and_keeps_state(explorer, root):
    view = explorer._page
    x_min = widget(view, "x min")
    data = explorer.model.data.data
    # As a notebook edit arrives: Panel hands the error to the exception handler.
    x_min._comm_change(Document(), "ref", None, None, "value_throttled", -5.0, 8.0)
    assert "x_min must be less than x_max" in explorer.message
    assert explorer.model.data.x_min == -5.0
    assert x_min.value == -5.0
    assert explorer.model.data.data is data
    explorer.model.degree = 4  # a later valid change clears it
    assert explorer.message == ""


def test_alpha_slider_moves_log10_alpha_both_ways(explorer, root):
    slider = widget(explorer._page, "Alpha (log₁₀)")
    model = explorer.model
    assert slider.disabled
    model.param.update(penalty="l2", alpha_mode="manual")
    assert not slider.disabled
    # As the browser does on release: a drag sets value on the way, value_throttled once.
    with param.edit_constant(slider):
        slider.param.update(value=-3.0)
        assert model.alpha == 1.0
        slider.param.update(value=-2.0, value_throttled=-2.0)
    assert model.alpha == pytest.approx(0.01)
    assert model.alpha_ == pytest.approx(0.01)
    model.alpha = 1000.0
    assert slider.value == pytest.approx(3.0)


def test_undefined_scores_show_a_dash_not_nan():
    explorer = Explorer(model=RegressionModel(data=DataGenerator(n_samples=10), test_size=0.1))
    html = explorer.scores.pane.object
    assert "class='test-r2'>—<" in html
    assert "nan" not in html.lower()


def test_resample_shows_the_new_seed(explorer, root):
    seed = widget(explorer._page, "Data seed")
    generator = explorer.model.data
    generator.param.trigger("resample")
    assert seed.value == str(generator.random_state) != "0"  # typed, so text, no separators
    assert explorer.message == ""


def sent_sources(explorer, change) -> list[str]:
    """Column sets of the data sources of the main plots whose data ``change`` replaces."""
    root = pn.panel(explorer).get_root(Document(), comm=Comm())
    plots_row = explorer._page.main[0]  # not the diagnostics tabs: they have tests of their own
    sources = [m for m in plots_row._models[root.ref["id"]][0].references()
               if isinstance(m, ColumnDataSource)]
    replaced = []
    for source in sources:  # a model's own callbacks run whether or not its document is held
        source.on_change("data", lambda attr, old, new, s=source: replaced.append(s))
    change()
    return sorted({",".join(sorted(s.data)) for s in replaced})


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: setattr(m, "degree", 6), ["fit,x", "y,y_pred"]),
        # New data also re-send the invisible edit layer (label, x, y); a new split not.
        (lambda m: setattr(m, "test_size", 0.3), ["fit,x", "x,y", "y,y_pred"]),
        (lambda m: setattr(m.data, "noise_sd", 1.0), ["fit,x", "label,x,y", "x,y", "y,y_pred"]),
        (lambda m: setattr(m.data, "x_max", 6.0),
         ["fit,x", "label,x,y", "truth,x", "x,y", "y,y_pred"]),
    ],
)
def test_a_change_sends_only_the_layers_it_changes(change, expected):
    explorer = Explorer()
    try:
        assert sent_sources(explorer, lambda: change(explorer.model)) == expected
    finally:
        pn.config.exception_handler = None
