"""The diagnostics tabs rendered offline: what they compute, when, and what they show."""

import html
import threading

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, LegendItem
from pyviz_comms import Comm

from polyfit_explorer import Explorer, RegressionModel
from polyfit_explorer.diagnostics import (
    Diagnostics,
    Snapshot,
    bias_variance,
    learning_curve,
    validation_curve,
)
from polyfit_explorer.views import live
from polyfit_explorer.views.diagnostics import DiagnosticsView, bias_variance_html
from polyfit_explorer.views.live import LiveResult


@pytest.fixture(autouse=True)
def _in_place(monkeypatch):
    """Compute in place, as in a script, even if an earlier test left an event loop running."""
    monkeypatch.setattr(live, "dispatcher", lambda: None)


@pytest.fixture
def view():
    return DiagnosticsView(diagnostics=Diagnostics(model=RegressionModel(), replicates=50))


@pytest.fixture
def root(view):
    return pn.panel(view).get_root(Document(), comm=Comm())


def computations(view):
    return {title: result.computations for title, result in view.results.items()}


def sources_with(root, *columns):
    return [m for m in root.references()
            if isinstance(m, ColumnDataSource) and set(columns) <= set(m.data)]


def test_only_the_shown_tab_computes(view, root):
    assert computations(view) == {"Validation curve": 1, "Bias & variance": 0,
                                  "Learning curve": 0, "Coefficients": 0, "Residuals": 0}
    view.model.degree = 5
    view.model.penalty = "l2"
    view.diagnostics.replicates = 60  # not an input of the shown tab
    assert computations(view)["Validation curve"] == 3
    assert sum(computations(view).values()) == 3
    assert sources_with(root, "bias2") == []  # the hidden tab is not even rendered

    view.active = 2  # the learning curve: computed once, on opening
    assert computations(view)["Learning curve"] == 1
    (source,) = sources_with(root, "n_train", "test_rmse")
    expected = learning_curve(Snapshot.of(view.model))
    np.testing.assert_allclose(source.data["test_rmse"], expected["test_rmse"])


def test_a_hidden_validation_tab_computes_for_the_verdict_but_draws_only_when_shown(view, root):
    before = validation_curve(Snapshot.of(view.model), view.diagnostics.max_degree)
    view.active = 1  # bias and variance
    view.model.data.random_state = 1  # new data: a new validation curve
    assert computations(view)["Validation curve"] == 2  # computed: it holds the verdict
    after = validation_curve(Snapshot.of(view.model), view.diagnostics.max_degree)
    assert not np.allclose(after["train_rmse"], before["train_rmse"])
    (train,) = sources_with(root, "degree", "train_rmse")
    # Not drawn while hidden: nothing of it is sent to the browser.
    np.testing.assert_allclose(train.data["train_rmse"], before["train_rmse"])
    view.active = 0
    np.testing.assert_allclose(train.data["train_rmse"], after["train_rmse"])
    assert computations(view)["Validation curve"] == 2  # drawn from the result it had


def test_the_validation_curve_shows_the_models_numbers(view, root):
    view.model.degree = 6
    expected = validation_curve(Snapshot.of(view.model), view.diagnostics.max_degree)
    curve, dots = sources_with(root, "degree", "cv_rmse")
    np.testing.assert_allclose(curve.data["cv_rmse"], expected["cv_rmse"])
    np.testing.assert_allclose(dots.data["cv_rmse"], expected["cv_rmse"])
    (band,) = sources_with(root, "x", "y")  # the ±1 SE band, as a closed patch
    np.testing.assert_allclose(np.sort(band.data["y"]), np.sort(np.r_[
        expected.cv_rmse - expected.cv_se, expected.cv_rmse + expected.cv_se]))
    (source,) = sources_with(root, "degree", "test_rmse")
    np.testing.assert_allclose(source.data["test_rmse"], expected["test_rmse"])


def test_the_regularization_path_sends_one_line_per_power(view, root):
    view.model.degree, view.model.penalty = 12, "l2"
    view.active = 3  # the coefficients
    path = view.results["Coefficients"].result["path"]
    (source,) = sources_with(root, "xs", "ys", "power")
    # One line per power, not one per segment (HoloViews' Path sends 12 × 47).
    assert list(source.data["power"]) == list(range(1, 13))
    for k, (xs, ys) in enumerate(zip(source.data["xs"], source.data["ys"], strict=True)):
        np.testing.assert_array_equal(xs, path.alphas)
        np.testing.assert_array_equal(ys, path.coef[:, k])


def test_a_tap_sets_the_nearest_degree(view):
    view.set_degree(x=7.4)
    assert view.model.degree == 7
    view.set_degree(x=40.0)  # beyond the curve: its last degree
    assert view.model.degree == view.diagnostics.max_degree
    view.set_degree(x=None)  # a tap outside the frame
    assert view.model.degree == view.diagnostics.max_degree


def test_the_bias_variance_table_shows_closed_forms_for_a_linear_fit(view, root):
    view.active = 1
    result = view.results["Bias & variance"].result["here"]
    expected = bias_variance(Snapshot.of(view.model), 50, 0)
    assert result.bias2 == expected.bias2
    text = bias_variance_html(view.results["Bias & variance"].result)
    # From the refits, bias² corrected for the scatter of their mean; beside them the exact.
    assert f"<td class='bv-bias2'>{expected.refit_bias2:.4g}</td>" in text
    assert f"<td class='bv-exact-bias2'>{expected.exact_bias2:.4g}</td>" in text
    assert f"<td class='bv-exact-variance'>{expected.exact_variance:.4g}</td>" in text
    view.model.penalty = "l1"  # no closed form for LASSO
    assert "bv-exact" not in bias_variance_html(view.results["Bias & variance"].result)


def legend_labels(root) -> set[str]:
    return {item.label.value for item in root.references() if isinstance(item, LegendItem)}


def texts(root) -> str:
    """The document's texts as the page shows them (Markdown panes hold their HTML escaped)."""
    return html.unescape("\n".join(m.text for m in root.references()
                                   if isinstance(getattr(m, "text", None), str)))


def test_the_bias_variance_tab_tells_the_error_on_new_data_from_the_test_split(view, root):
    view.active = 1
    table = html.unescape(bias_variance_html(view.results["Bias & variance"].result))
    assert "<th>expected MSE on new data (refits)</th><td class='bv-measured'>" in table
    assert "test MSE" not in table
    assert "MSE on new data" in legend_labels(root)
    assert "measured test MSE" not in legend_labels(root)
    intro = texts(root)
    assert "expected error on new data" in intro
    assert ("It is not the score table's test MSE, which is the error on this one test "
            "split") in intro


def test_least_squares_bias_is_drawn_from_its_closed_form(view, root):
    view.active = 1
    frame = view.results["Bias & variance"].result["by_degree"]
    assert {"bias² (closed form)", "bias² (refits, corrected)"} <= legend_labels(root)
    (closed,) = sources_with(root, "degree", "bias2_closed_form")
    (refits,) = sources_with(root, "degree", "bias2_refits")
    np.testing.assert_array_equal(closed.data["bias2_closed_form"], frame["exact_bias2"])
    assert np.isnan(refits.data["bias2_refits"]).all()


def test_lasso_bias_is_the_refits_corrected_estimate_and_says_so():
    model = RegressionModel(penalty="l1")
    view = DiagnosticsView(diagnostics=Diagnostics(model=model, replicates=10, max_degree=4))
    root = pn.panel(view).get_root(Document(), comm=Comm())
    view.active = 1
    result = view.results["Bias & variance"].result
    by_degree, by_alpha = result["by_degree"], result["by_alpha"]
    assert list(by_degree["method"]) == ["closed form"] + ["refits"] * 4  # degree 0: no penalty
    assert {"bias² (closed form)", "bias² (refits, corrected)"} <= legend_labels(root)
    closed, refits = (sources_with(root, "degree", f"bias2_{m}")[0]
                      for m in ("closed_form", "refits"))
    # Degrees above 0: the bias-corrected refits' estimate, and no closed form ...
    assert np.isnan(closed.data["bias2_closed_form"][1:]).all()
    np.testing.assert_array_equal(refits.data["bias2_refits"][1:], by_degree["refit_bias2"][1:])
    assert (by_degree["refit_bias2"] < by_degree["mean_fit_bias2"])[1:].all()
    # ... degree 0, least squares: its closed form.
    assert closed.data["bias2_closed_form"][0] == by_degree["exact_bias2"][0]
    assert np.isnan(refits.data["bias2_refits"][0])
    # Against alpha, LASSO throughout.
    closed, refits = (sources_with(root, "alpha", f"bias2_{m}")[0]
                      for m in ("closed_form", "refits"))
    assert np.isnan(closed.data["bias2_closed_form"]).all()
    np.testing.assert_array_equal(refits.data["bias2_refits"], by_alpha["refit_bias2"])
    text = bias_variance_html(result)
    assert f"<td class='bv-bias2'>{result['here'].refit_bias2:.4g}</td>" in text


def test_the_scores_show_true_error_noise_floor_and_edf():
    explorer = Explorer()
    html = explorer.scores.pane.object
    model = explorer.model
    assert f"<span class='true-rmse'>{model.true_rmse_:.4g}</span>" in html
    assert "<span class='edf'>4</span> of 4 coefficients" in html
    model.param.update(penalty="l2", alpha_mode="manual", alpha=100.0)
    assert f"<span class='edf'>{model.edf_:.3g}</span>" in explorer.scores.pane.object
    assert model.edf_ < 4


def test_stale_results_are_dropped_and_only_the_newest_inputs_computed(event_queue,
                                                                      monkeypatch):
    queue, release = event_queue, threading.Event()
    inputs = iter(range(1, 10))
    computed = []

    def compute(value):
        release.wait(10)
        computed.append(value)
        return value * 10

    result = LiveResult(compute, lambda: next(inputs), active=True)
    assert result.busy  # a first computation shows its spinner at once
    queue.run()  # after the change: reads 1 and computes it
    result.invalidate()  # while 1 runs
    result.invalidate()  # again: still one computation to come, not two
    release.set()
    queue.run()  # 1 arrives stale: dropped, and the newest inputs (2) are read and computed
    assert result.result is None
    assert result.busy
    queue.run()
    assert (result.result, result.busy, computed) == (20, False, [1, 2])
    # A later change sends no spinner with itself: it shows once the worker starts.
    result.invalidate()
    assert not result.busy
    queue.run()  # starts the worker
    assert result.busy
    queue.run()
    assert (result.result, result.busy, computed) == (30, False, [1, 2, 3])


def test_a_failing_diagnostic_shows_its_error_and_keeps_the_last_result(caplog):
    values = iter([1, 0])
    result = LiveResult(lambda v: 1 / v, lambda: next(values), active=True)
    assert result.result == 1
    result.invalidate()
    assert result.result == 1
    assert result.error == "Could not compute this diagnostic: division by zero"
    assert "A diagnostic failed" in caplog.text
