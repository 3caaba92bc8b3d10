"""The diagnostics figures' contents as pure functions: layers, ranges and titles."""

import numpy as np
import pandas as pd
import pytest

from polyfit_explorer import DataGenerator, RegressionModel
from polyfit_explorer import diagnostic_plots as plots
from polyfit_explorer.diagnostics import Snapshot, learning_curve

ERRORS = ["train_rmse", "test_rmse", "true_rmse"]
LEARNING_LAYERS = ["train", "test", "true", "noise", "below"]


def interpolating_curve():
    """A learning curve whose first fits interpolate: degree 9 through 2 … 10 points."""
    model = RegressionModel(data=DataGenerator(n_samples=40, random_state=0), degree=9)
    snap = Snapshot.of(model)
    return learning_curve(snap), snap.noise_floor


def test_the_learning_curves_axis_stops_at_a_thousandth_of_sigma():
    frame, sigma = interpolating_curve()
    floor = plots.FLOOR_FRACTION * sigma
    tiny = frame["train_rmse"] < 1e-9
    assert tiny.sum() >= 3  # machine zero: what used to stretch the axis to 1e-15
    shown = plots.learning_curve(frame, sigma)

    assert list(shown.layers) == LEARNING_LAYERS
    low, high = shown.ranges["y"]
    # The floor and a little padding below it, not 12 decades of nothing.
    assert floor / 10 < low < floor
    assert high > frame[ERRORS].max().max()
    # Errors below the floor are drawn at it ...
    train = shown.layers["train"].columns
    np.testing.assert_array_equal(train["train_rmse"],
                                  np.maximum(frame["train_rmse"], floor))
    # ... and marked there, each with its value, as many as there are.
    below = shown.layers["below"].columns
    is_below = frame[ERRORS].to_numpy() < floor
    assert len(below["n_train"]) == is_below.sum() >= tiny.sum()
    np.testing.assert_array_equal(below["floor_rmse"], floor)
    np.testing.assert_array_equal(np.sort(below["rmse_below_floor"]),
                                  np.sort(frame[ERRORS].to_numpy()[is_below]))
    assert set(below["n_train"][below["error"] == "train"]) == set(frame["n_train"][tiny])
    assert "below 0.001·σ" in shown.title
    # Errors above the floor are drawn as they are.
    np.testing.assert_array_equal(shown.layers["test"].columns["test_rmse"],
                                  frame["test_rmse"])


def test_a_learning_curve_above_the_floor_has_the_same_layers_with_none_marked():
    frame, sigma = interpolating_curve()
    above = frame[frame[ERRORS].min(axis=1) > plots.FLOOR_FRACTION * sigma]
    assert len(above)
    shown = plots.learning_curve(above, sigma)
    assert list(shown.layers) == LEARNING_LAYERS
    assert len(shown.layers["below"].columns["n_train"]) == 0
    assert shown.title == "Error against training-set size"
    assert shown.ranges["y"][0] > above[ERRORS].min().min() / 2


def test_without_noise_the_floor_is_a_thousandth_of_the_largest_error():
    frame = pd.DataFrame({"n_train": [2, 4, 8], "train_rmse": [1e-15, 0.0, 0.5],
                          "test_rmse": [4.0, 2.0, 1.0], "true_rmse": [3.0, 1.5, 0.8]})
    shown = plots.learning_curve(frame, 0.0)
    below = shown.layers["below"].columns
    assert list(below["n_train"]) == [2, 4]  # 0 too: a log axis could not draw it
    np.testing.assert_array_equal(below["floor_rmse"], 4e-3)
    assert 2e-3 < shown.ranges["y"][0] < 4e-3
    assert "below 0.001 × the largest error" in shown.title


@pytest.mark.parametrize("noise_sd", [None, 0.0, 1.0])
def test_an_empty_learning_curve_has_every_layer(noise_sd):
    shown = plots.learning_curve(None, noise_sd)
    assert list(shown.layers) == LEARNING_LAYERS
    assert all(len(v) == 0 for v in shown.layers["below"].columns.values())
