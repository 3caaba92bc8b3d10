"""Pure functions from model results to HoloViews elements.

They only shape arrays for display; every number comes from the models.  The
value dimensions are named after the layer (``truth``, ``fit``, ``y_pred``) so
each layer's Bokeh data source has columns of its own, findable in a browser.
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # registers the backend that .opts() needs
import pandas as pd

__all__ = ["COLORS", "fit", "identity", "predicted_vs_actual", "samples", "truth"]

#: Colours of the two splits, also used by the scores table.
COLORS = {"train": "#1f77b4", "test": "#ff7f0e"}
TRUTH_COLOR = "#2ca02c"
FIT_COLOR = "#d62728"

_Y = hv.Dimension("y", label="y")


def samples(frame: pd.DataFrame) -> hv.Points:
    """Scatter the data (columns x, y, split), coloured by split.

    The axis ranges follow these points: with ``framewise`` they re-fit when
    the data change, and the fit, which may overshoot, is left out of them.
    """
    return hv.Points(frame, ["x", "y"], ["split"], label="samples").opts(
        color="split", cmap=COLORS, size=6, alpha=0.8, line_color=None,
        tools=["hover"], framewise=True, show_legend=True,
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


def predicted_vs_actual(frame: pd.DataFrame) -> hv.Points:
    """Scatter predictions against actual values (columns y, y_pred, split).

    Wild predictions of a high-degree fit must not rescale the plot, so its
    ranges come from :func:`identity` instead.
    """
    return hv.Points(frame, [_Y, hv.Dimension("y_pred", label="predicted y")], ["split"]).opts(
        color="split", cmap=COLORS, size=5, alpha=0.8, line_color=None,
        tools=["hover"], apply_ranges=False, show_legend=True,
    )


def identity(low: float, high: float) -> hv.Curve:
    """Draw the line predicted = actual across ``[low, high]``; it sets the ranges."""
    return hv.Curve([(low, low), (high, high)], _Y,
                    hv.Dimension("y_pred", label="predicted y"), label="perfect fit").opts(
        color="gray", line_dash="dotted", framewise=True,
    )
