"""Pure functions from model results to HoloViews elements.

They only shape arrays for display; every number comes from the models.  The
curves' value dimensions are named after the layer (``truth``, ``fit``) so
their Bokeh data sources have columns of their own; the train and test layers
carry the split as their label, which is also their legend entry.
"""

from __future__ import annotations

import functools
import os

import holoviews as hv
import holoviews.plotting.bokeh  # registers the backend that .opts() needs
import numpy as np
import pandas as pd

__all__ = ["COLORS", "RASTER_THRESHOLD", "editable", "excluded", "fit", "identity", "pinned",
           "predicted_vs_actual", "raster_input", "rasterized", "samples", "truth"]

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
OUTPUT_BACKEND = os.environ.get("POLYFIT_EXPLORER_OUTPUT_BACKEND", "webgl")
#: Plot options that choose it; every figure's overlay gets them.
BACKEND_OPTIONS = {"backend_opts": {"plot.output_backend": OUTPUT_BACKEND}}

_Y = hv.Dimension("y", label="y")
_Y_PRED = hv.Dimension("y_pred", label="predicted y")


def samples(frame: pd.DataFrame, split: str) -> hv.Points:
    """Scatter one split's data (columns x, y) in its colour, labelled by the split.

    The axis ranges follow these points: with ``framewise`` they re-fit when
    the data change, and the fit, which may overshoot, is left out of them.
    """
    return hv.Points(frame, ["x", "y"], label=split).opts(
        color=COLORS[split], size=6, alpha=0.8, line_color=None, tools=["hover"],
        framewise=True,
    )


def truth(frame: pd.DataFrame) -> hv.Curve:
    """Draw the noiseless ground truth (columns x, y)."""
    return hv.Curve(frame.rename(columns={"y": "truth"}), "x",
                    hv.Dimension("truth", label="y"), label="ground truth").opts(
        color=TRUTH_COLOR, line_dash="dashed", line_width=2, framewise=True,
    )


def fit(frame: pd.DataFrame) -> hv.Curve:
    """Draw the fitted curve (columns x, y) without letting it move the axes."""
    return hv.Curve(frame.rename(columns={"y": "fit"}), "x",
                    hv.Dimension("fit", label="y"), label="fit").opts(
        color=FIT_COLOR, line_width=3, apply_ranges=False,
    )


def predicted_vs_actual(frame: pd.DataFrame, split: str) -> hv.Points:
    """Scatter one split's predictions against its actual values (columns y, y_pred).

    Wild predictions of a high-degree fit must not rescale the plot, so its
    ranges come from :func:`identity` instead.
    """
    return hv.Points(frame, [_Y, _Y_PRED], label=split).opts(
        color=COLORS[split], size=5, alpha=0.8, line_color=None, tools=["hover"],
        apply_ranges=False,
    )


def identity(low: float, high: float) -> hv.Curve:
    """Draw the line predicted = actual across ``[low, high]``; it sets the ranges."""
    return hv.Curve([(low, low), (high, high)], _Y, _Y_PRED, label="perfect fit").opts(
        color="gray", line_dash="dotted", framewise=True,
    )


def excluded(frame: pd.DataFrame) -> hv.Points:
    """Draw the points excluded from training and testing (columns x, y) hollow."""
    return hv.Points(frame, ["x", "y"], label="excluded").opts(
        color=EXCLUDED_COLOR, fill_alpha=0, size=7, line_width=1.5, tools=["hover"],
        framewise=True)


def editable(frame: pd.DataFrame, drawing: bool = True) -> hv.Points:
    """Every point (columns x, y, label), invisible: the layer the mouse edits and selects.

    Drawn over the coloured layers and picked by the draw and select tools;
    a selected point shows a black ring.  It has no legend entry.  ``drawing``
    makes the draw tool the active one; it exists only with a PointDraw stream.
    """
    return hv.Points(frame, ["x", "y"], ["label"]).opts(
        size=9, fill_alpha=0, line_alpha=0, selection_line_alpha=1, selection_line_color="black",
        selection_fill_alpha=0, nonselection_line_alpha=0, nonselection_fill_alpha=0,
        tools=["box_select", "lasso_select"],
        active_tools=["point_draw"] if drawing else [], apply_ranges=False,
        hooks=[_sync_labels])


def pinned(frame: pd.DataFrame) -> hv.Curve:
    """Draw a pinned fit (columns x, y) as a faint dashed ghost for comparison."""
    return hv.Curve(frame.rename(columns={"y": "pinned"}), "x",
                    hv.Dimension("pinned", label="y"), label="pinned fit").opts(
        color=PINNED_COLOR, line_width=3, alpha=0.5, line_dash="dashed", apply_ranges=False)


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


def _sync_labels(plot, element):
    # HoloViews sends a glyph's own columns (x, y) on an update, not the labels the
    # draw tool reports edits with: the browser would keep stale ones.  And Bokeh's
    # draw tool gives a new point a default inferred from the column (0, a label
    # in use), not the stream's empty value: NaN marks it as new.
    source = plot.handles["source"]
    if "label" not in source.default_values:
        source.default_values = {"label": float("nan")}
    labels = element.dimension_values("label")
    if not np.array_equal(source.data.get("label", []), labels, equal_nan=True):
        source.data.update(label=labels)
