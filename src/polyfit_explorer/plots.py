"""Pure functions from model results to HoloViews elements and axis ranges.

They only shape arrays for display; every number comes from the models.  The
curves' value dimensions are named after the layer (``truth``, ``fit``) so
their Bokeh data sources have columns of their own; the train and test layers
carry the split as their label, which is also their legend entry.

No element sets its own ranges (no ``framewise``): the views set the
figures' ranges from :func:`data_ranges` and :func:`prediction_ranges`, so a
wild high-degree fit never rescales the plot and an update never has to ask
HoloViews to compute ranges.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass

import holoviews as hv
import holoviews.plotting.bokeh  # registers the backend that .opts() needs
import numpy as np
import pandas as pd

__all__ = ["COLORS", "FONT_SCALE", "RASTER_THRESHOLD", "TRUTH_LABEL", "Layer", "curve_columns",
           "data_ranges", "editable", "editable_columns", "excluded", "fit", "identity",
           "identity_columns", "padded", "pinned", "point_columns", "predicted_vs_actual",
           "prediction_columns", "prediction_ranges", "raster_input", "rasterized", "samples",
           "truth"]

#: Colours of the two splits, also used by the scores table.
COLORS = {"train": "#1f77b4", "test": "#ff7f0e"}
#: Above this many points the scatters are rasterized on the server: the browser
#: receives one image the size of the plot, whatever the number of points.
RASTER_THRESHOLD = 20_000
EXCLUDED_COLOR = "black"
TRUTH_COLOR = "#2ca02c"
FIT_COLOR = "#d62728"
PINNED_COLOR = "#7f7f7f"

#: How Bokeh draws the figures: "canvas" or "webgl".  Settable for a server with
#: the environment variable POLYFIT_EXPLORER_OUTPUT_BACKEND (benchmarks/e2e.py
#: measures both).
OUTPUT_BACKEND = os.environ.get("POLYFIT_EXPLORER_OUTPUT_BACKEND", "canvas")
#: Plot options that choose it; every figure's overlay gets them.
BACKEND_OPTIONS = {"backend_opts": {"plot.output_backend": OUTPUT_BACKEND}}
#: Plot text (titles, axis labels, ticks, legends) this much larger than HoloViews'
#: default, readable from the back of a classroom; titles and legends are sized to fit.
FONT_SCALE = 1.15

_Y = hv.Dimension("y", label="y")
_Y_PRED = hv.Dimension("y_pred", label="predicted y")


@dataclass(frozen=True)
class Layer:
    """A layer of a figure as data, with how to draw it.

    ``columns`` are its data source's columns (or, for a vertical or
    horizontal line, its location; None: ask HoloViews for them, see
    ``views.figure``); ``draw()`` builds the element a figure is first built
    from.  An update writes the columns alone: building an element with its
    options cost a millisecond or more, many times per diagnostics result.
    """

    columns: dict | float | None
    draw: Callable[[], hv.Element]


# ---- the columns of each layer's data source -------------------------------------
# A change writes these straight into the figures (``views.figure``); the
# elements below are built from them once, so the names always agree.


def point_columns(frame: pd.DataFrame) -> dict:
    """Points (a frame of columns x, y) as columns x and y."""
    return {"x": frame["x"].to_numpy(), "y": frame["y"].to_numpy()}


def editable_columns(frame: pd.DataFrame) -> dict:
    """Every point with its index label (a frame of columns x, y): columns x, y and label."""
    return {"x": frame["x"].to_numpy(), "y": frame["y"].to_numpy(),
            "label": frame.index.to_numpy(dtype=float)}


def curve_columns(frame: pd.DataFrame, name: str) -> dict:
    """Return a curve (a frame of columns x, y) as columns x and ``name`` (truth, fit …)."""
    return {"x": frame["x"].to_numpy(), name: frame["y"].to_numpy()}


def prediction_columns(y: np.ndarray, y_pred: np.ndarray) -> dict:
    """One split's predictions against its actual values: columns y and y_pred."""
    return {"y": y, "y_pred": y_pred}


def identity_columns(low: float, high: float) -> dict:
    """Return the line predicted = actual from ``low`` to ``high``: columns y, y_pred."""
    return {"y": np.array([low, high]), "y_pred": np.array([low, high])}


# ---- the elements, drawn once ------------------------------------------------------


def samples(columns: dict, split: str) -> hv.Points:
    """Scatter one split's data (columns x, y) in its colour, labelled by the split."""
    return hv.Points(columns, ["x", "y"], label=split).opts(
        color=COLORS[split], size=6, alpha=0.8, line_color=None, tools=["hover"])


#: The legend of the dashed curve: E[y|x], what a fit estimates, which is the
#: ground truth shifted by the noise's mean (``DataGenerator.expected_y``).
TRUTH_LABEL = "E[y|x] (truth + noise mean)"


def truth(columns: dict) -> hv.Curve:
    """Draw E[y|x] = ground truth + noise mean (columns x, truth): what a fit estimates."""
    return hv.Curve(columns, "x", hv.Dimension("truth", label="y"), label=TRUTH_LABEL).opts(
        color=TRUTH_COLOR, line_dash="dashed", line_width=2)


def fit(columns: dict) -> hv.Curve:
    """Draw the fitted curve (columns x, fit)."""
    return hv.Curve(columns, "x", hv.Dimension("fit", label="y"), label="fit").opts(
        color=FIT_COLOR, line_width=3)


def pinned(columns: dict) -> hv.Curve:
    """Draw a pinned fit (columns x, pinned) as a faint dashed ghost for comparison."""
    return hv.Curve(columns, "x", hv.Dimension("pinned", label="y"), label="pinned fit").opts(
        color=PINNED_COLOR, line_width=3, alpha=0.5, line_dash="dashed")


def predicted_vs_actual(columns: dict, split: str) -> hv.Points:
    """Scatter one split's predictions against its actual values (columns y, y_pred)."""
    return hv.Points(columns, [_Y, _Y_PRED], label=split).opts(
        color=COLORS[split], size=5, alpha=0.8, line_color=None, tools=["hover"])


def identity(columns: dict) -> hv.Curve:
    """Draw the line predicted = actual (columns y, y_pred)."""
    return hv.Curve(columns, _Y, _Y_PRED, label="perfect fit").opts(
        color="gray", line_dash="dotted")


def excluded(columns: dict) -> hv.Points:
    """Draw the points excluded from training and testing (columns x, y) hollow."""
    return hv.Points(columns, ["x", "y"], label="excluded").opts(
        color=EXCLUDED_COLOR, fill_alpha=0, size=7, line_width=1.5, tools=["hover"])


def editable(columns: dict, drawing: bool = True) -> hv.Points:
    """Every point (columns x, y, label), invisible: the layer the mouse edits and selects.

    Drawn over the coloured layers and picked by the draw and select tools;
    a selected point shows a black ring.  It has no legend entry.  ``drawing``
    makes the draw tool the active one; it exists only with a PointDraw stream.
    """
    return hv.Points(columns, ["x", "y"], ["label"]).opts(
        size=9, fill_alpha=0, line_alpha=0, selection_line_alpha=1, selection_line_color="black",
        selection_fill_alpha=0, nonselection_line_alpha=0, nonselection_fill_alpha=0,
        tools=["box_select", "lasso_select"],
        active_tools=["point_draw"] if drawing else [], hooks=[_new_points_unlabelled])


def raster_input(frame: pd.DataFrame, predicted: bool = False) -> hv.Points:
    """All points (columns x, y or y, y_pred, and split), for :func:`rasterized`."""
    kdims = [_Y, _Y_PRED] if predicted else ["x", "y"]
    return hv.Points(frame, kdims, ["split"])


def rasterized(points: hv.Points, x_range=None, y_range=None, width=None,
               height=None) -> hv.RGB:
    """Rasterize ``points`` (with a categorical ``split`` column) into one image.

    Datashader counts the points of each split in every pixel of a
    ``width`` × ``height`` grid over the ranges (the points' extent where a
    range is None) and mixes the splits' colours.  A pixel with one point is
    drawn at 40% opacity, so lone points stay visible.  Datashader (and the
    Numba it compiles with) is imported here, on first use: it adds seconds to
    the start of an app that never sees large data.
    """
    import datashader as ds
    from holoviews.operation.datashader import datashade

    if not len(points):
        return no_image()
    return datashade(points, aggregator=ds.count_cat("split"), dynamic=False,
                     color_key={**COLORS, "excluded": EXCLUDED_COLOR}, min_alpha=100,
                     x_range=x_range, y_range=y_range, width=width or 400,
                     height=height or 400).opts(show_legend=False)


@functools.cache
def no_image() -> hv.RGB:
    """Return an image with no pixels: the raster layer while the data are small.

    Always the same object, which HoloViews does not send again.  Its options
    are its own: options set on a DynamicMap are applied to every element it
    returns, and each application grows the element's pipeline, which for this
    object, shared by every session, never ended.
    """
    empty = np.empty(0)
    return hv.RGB((empty, empty, *[np.zeros((0, 0))] * 4), vdims=list("RGBA")).opts(
        show_legend=False)


#: Room around the data, as a fraction of their span on each side: points at
#: the extremes stay whole inside the frame.
PADDING = 0.08


def padded(values, padding: float = PADDING, log: bool = False) -> tuple[float, float]:
    """Return a range that holds the finite ``values`` with ``padding`` on each side.

    On a log axis only positive values count and the padding is in decades.
    A single value gets a range around it; no finite value gives (0, 1)
    (or (0.1, 1) on a log axis): there is nothing to show.
    """
    values = np.asarray(values, dtype=float).ravel()
    values = values[np.isfinite(values) & ((values > 0) if log else True)]
    if not values.size:
        return (0.1, 1.0) if log else (0.0, 1.0)
    low, high = (np.log10(values.min()), np.log10(values.max())) if log else (
        values.min(), values.max())
    span = high - low or (1.0 if log or low == 0 else abs(low))
    low, high = low - padding * span, high + padding * span
    return (float(10.0**low), float(10.0**high)) if log else (float(low), float(high))


def data_ranges(samples: pd.DataFrame, truth: pd.DataFrame) -> dict:
    """Return the data plot's ranges: every point and the truth curve, not the fit.

    A high-degree fit may overshoot wildly between points; it is drawn, but
    the axes stay on the data.
    """
    return {"x": padded(samples["x"]),
            "y": padded(np.concatenate([samples["y"].to_numpy(), truth["y"].to_numpy()]))}


def prediction_ranges(y: pd.Series) -> dict:
    """Return the predicted-against-actual plot's ranges: the actual values, on both axes.

    Wild predictions of a high-degree fit are drawn but do not rescale the plot.
    """
    span = padded(y)
    return {"x": span, "y": span}


def _new_points_unlabelled(plot, element):
    # The draw tool reports edits with the source's columns: the labels must be one
    # (HoloViews sends a glyph's own columns only).  And it gives a new point a
    # default inferred from the column (0, a label in use), not the stream's empty
    # value: NaN marks it as new.
    source = plot.handles["source"]
    if "label" not in source.data:
        source.data.update(label=element.dimension_values("label"))
    if "label" not in source.default_values:
        source.default_values = {"label": float("nan")}
