"""Pure functions from model results to HoloViews elements.

They only shape arrays for display; every number comes from the models.  The
curves' value dimensions are named after the layer (``truth``, ``fit``) so
their Bokeh data sources have columns of their own; the train and test layers
carry the split as their label, which is also their legend entry.
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
