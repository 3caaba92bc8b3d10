"""Predicted against actual: one plot for both splits, with the identity line.

The original drew two panels (test: actual vs predicted; train: actual vs
fitted); one plot coloured by split puts both on the same axes.  Built once,
updated by writing its data sources (:class:`~.figure.Figure`).
"""

from __future__ import annotations

import panel as pn
import param

from .. import plots
from ..model import SPLITS, RegressionModel
from .data_plot import FIGURE_OPTIONS
from .figure import Figure
from .raster import Raster

__all__ = ["PredictionPlot"]


#: The prediction plot's width in pixels: its three legend entries fit.
PREDICTION_WIDTH = 400


class PredictionPlot(pn.viewable.Viewer):
    """Each point's prediction against its actual y, by split; the line of perfect fit."""

    model = param.ClassSelector(class_=RegressionModel, doc="The model shown.")

    def __init__(self, **params):
        super().__init__(**params)
        self._raster = Raster(self._raster_points)
        predictions = {name: plots.predicted_vs_actual(columns, split) for (name, columns), split
                       in zip(self._prediction_columns().items(), SPLITS, strict=True)}
        identity = plots.identity(self._identity_columns()["identity"])
        self.figure = Figure({"identity": identity, **predictions},
                             self._ranges(), extra=[self._raster.dynamic_map],
                             title="Predicted against actual", xlabel="actual y",
                             ylabel="predicted y", **{**FIGURE_OPTIONS, "legend_cols": 3})
        # A fixed width, nearly square: the data plot beside it takes the rest.
        self._view = pn.Column(self.figure, width=PREDICTION_WIDTH)

    @property
    def large(self) -> bool:
        """Whether the points are drawn as an image."""
        return len(self.model.samples_) > plots.RASTER_THRESHOLD

    def _prediction_columns(self) -> dict:
        """Each split's columns, by layer name; none while the points are an image."""
        frame, large = self.model.samples_, self.large
        split, y = frame["split"].to_numpy(), frame["y"].to_numpy()
        columns = {}
        for name in SPLITS:
            rows = (split == name) & (not large)
            columns[f"{name}_predictions"] = plots.prediction_columns(
                y[rows], self.model.y_pred_[rows])
        return columns

    def _identity_columns(self) -> dict:
        y = self.model.samples_["y"]
        return {"identity": plots.identity_columns(y.min(), y.max())}

    def _ranges(self) -> dict:
        return plots.prediction_ranges(self.model.samples_["y"])

    def _raster_points(self):
        if not self.large:
            return None
        frame = self.model.samples_
        return plots.raster_input(frame[["y", "split"]].assign(y_pred=self.model.y_pred_),
                                  predicted=True)

    def refit(self):
        """Show the current predictions."""
        self.figure.update(self._prediction_columns())
        self._raster.refresh(self.figure.ranges)

    def resample(self):
        """Show the line of perfect fit and ranges for the current sample."""
        self.figure.update(self._identity_columns(), self._ranges())

    def __panel__(self):
        """Return the figure, at its fixed width."""
        return self._view
