"""The data plot: the sample by split, the ground truth and the fit; points edited by hand.

Built once by HoloViews, updated by writing its data sources
(:class:`~polyfit_explorer.views.figure.Figure`): a refit writes the fit
curve; a new sample writes the points, the truth and the ranges.  Above
:data:`~polyfit_explorer.plots.RASTER_THRESHOLD` points the scatters are
Datashader images that follow zooming, and editing by hand is off.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import panel as pn
import panel_material_ui as pmui
import param

from .. import plots
from ..model import RegressionModel
from ..parameters import InvalidValue
from .figure import Figure
from .raster import Raster

__all__ = ["DataPlot"]

#: Options of the two main figures: low enough that the scores below them show
#: without scrolling on a 1400×900 screen.  Two legend columns fit the data plot's
#: six entries on a 1280-pixel screen.
FIGURE_OPTIONS = dict(responsive=True, height=460, legend_position="top", legend_cols=2,
                      fontscale=plots.FONT_SCALE, **plots.BACKEND_OPTIONS)

#: What an unpinned ghost curve holds: one invisible point.
NO_CURVE = pd.DataFrame({"x": [np.nan], "y": [np.nan]})


class DataPlot(pn.viewable.Viewer):
    """The model's data, truth and fit, with the tools and buttons that edit the data.

    Parameters
    ----------
    model : RegressionModel
        The model shown; edits go to its generator and its ``excluded``.
    on_error : callable
        Called with the :class:`InvalidValue` of a refused edit.
    editing : bool
        Whether the mouse edits the data; it needs an event loop to send the
        edits back (a server or a notebook), which an offline render has not.
    """

    model = param.ClassSelector(class_=RegressionModel, doc="The model shown.")

    pinned = param.DataFrame(
        default=None, allow_None=True, precedence=-1, label="Pinned fit",
        doc="A fitted curve (columns x, y) kept as a ghost to compare with; None if none.")

    def __init__(self, on_error, editing: bool = False, **params):
        super().__init__(**params)
        self._on_error, self._editing = on_error, editing
        self._selection: list[int] = []
        self._shown_points = self._shown_truth = None  # what the figure shows now
        self._raster = Raster(self._raster_points)
        columns = {**self._sample_columns(), "pinned": plots.curve_columns(NO_CURVE, "pinned"),
                   "fit": self._fit_columns()}
        builders = {"train": partial(plots.samples, split="train"),
                    "test": partial(plots.samples, split="test"), "excluded": plots.excluded,
                    "truth": plots.truth, "editable": partial(plots.editable, drawing=editing),
                    "pinned": plots.pinned, "fit": plots.fit}
        self.figure = Figure(
            {name: builders[name](columns[name]) for name in builders}, self._ranges(),
            extra=[self._raster.dynamic_map],
            title="Data, truth and fit: click to add a point, drag to move",
            **FIGURE_OPTIONS)
        if editing:
            self._attach_edit_streams()
        self._note = pn.pane.Markdown(self._size_note(), margin=(0, 10),
                                      visible=bool(self._size_note()))
        self._view = pn.Column(self.figure, self._buttons(), sizing_mode="stretch_width")

    # ---- what the figure shows ------------------------------------------------

    @property
    def large(self) -> bool:
        """Whether the data have more points than the browser is sent one by one."""
        return len(self.model.samples_) > plots.RASTER_THRESHOLD

    def _fit_columns(self) -> dict:
        return plots.curve_columns(self.model.fit_curve(), "fit")

    def _sample_columns(self, truth=None) -> dict:
        """Each sample layer's columns; none of the points while they are an image."""
        frame, large = self.model.samples_, self.large
        split = frame["split"].to_numpy()
        points = {name: plots.point_columns(frame[(split == name) & (not large)])
                  for name in ("train", "test", "excluded")}
        self._shown_truth = self.model.data.truth() if truth is None else truth
        self._shown_points = data = self.model.data.data
        return {**points, "truth": plots.curve_columns(self._shown_truth, "truth"),
                "editable": plots.editable_columns(data.iloc[:0] if large else data)}

    def _ranges(self) -> dict:
        return plots.data_ranges(self.model.samples_, self._shown_truth)

    def _raster_points(self):
        return plots.raster_input(self.model.samples_) if self.large else None

    # ---- updates --------------------------------------------------------------

    def refit(self):
        """Show the current fit."""
        self.figure.update({"fit": self._fit_columns()})

    def resample(self):
        """Show the current sample, split and truth, with ranges that hold them."""
        same_points = self.model.data.data is self._shown_points
        truth = self.model.data.truth()  # evaluated once: compared, then shown
        same_truth = truth.equals(self._shown_truth)
        columns = self._sample_columns(truth)
        if same_points:  # a new split or an exclusion: the edit layer holds no split
            del columns["editable"]
        else:
            self._selection = []
        if same_truth:  # new noise or a new sample: the same curve, not sent again
            del columns["truth"]
        self.figure.update(columns, self._ranges())
        self._raster.refresh(self.figure.ranges)
        note = self._size_note()
        self._note.param.update(object=note, visible=bool(note))

    @param.depends("pinned", watch=True)
    def _show_pinned(self):
        frame = NO_CURVE if self.pinned is None else self.pinned
        self.figure.update({"pinned": plots.curve_columns(frame, "pinned")})

    def _size_note(self) -> str:
        """Say when the scatters are images, and why the edit tools do nothing then."""
        if not self.large:
            return ""
        return (f"**{len(self.model.samples_):,} points** are drawn as images by Datashader "
                "(zoom in for detail); editing by hand works up to "
                f"{plots.RASTER_THRESHOLD:,} points.")

    # ---- editing by hand ------------------------------------------------------

    def _attach_edit_streams(self):
        import holoviews as hv

        editable = self.figure.layers["editable"]
        # Click on empty space adds a point, drag moves one, Backspace deletes the
        # selected ones; box and lasso select, for "Exclude selected".
        draw = hv.streams.PointDraw(source=editable, add=True, drag=True,
                                    empty_value=np.nan)
        draw.add_subscriber(self.points_drawn)
        selection = hv.streams.Selection1D(source=editable)
        selection.add_subscriber(self.points_selected)

    def points_drawn(self, data: dict):
        """Apply the points the browser's draw tool added, moved or deleted."""
        frame = self.model.data.data
        if self.large:
            self._on_error(InvalidValue(
                f"Points can be edited by hand up to {plots.RASTER_THRESHOLD:,} points; "
                "these data are drawn as an image."))
            return
        x, y = np.asarray(data.get("x", []), float), np.asarray(data.get("y", []), float)
        labels = np.asarray(data.get("label", []), float)
        # A data update from Python comes back through the draw stream: not an edit.
        unchanged = (len(x) == len(frame) and np.array_equal(x, frame["x"].to_numpy())
                     and np.array_equal(y, frame["y"].to_numpy()))
        if not unchanged:
            # Said here: HoloViews drops what a stream's subscriber raises, unlogged.
            try:
                self.model.data.set_points(x, y, labels)
            except InvalidValue as error:
                self._on_error(error)

    def points_selected(self, index: list[int]):
        """Remember the points selected with the box or lasso tool."""
        self._selection = list(index)

    def exclude_selected(self, *_):
        """Leave the points selected in the plot out of training and testing."""
        labels = self.model.samples_.index[
            [i for i in self._selection if i < len(self.model.samples_)]]
        self.model.excluded = sorted({*self.model.excluded, *map(int, labels)})

    def include_all(self, *_):
        """Use every point again."""
        self.model.excluded = []

    def reset_points(self, *_):
        """Restore the generator's sample: edits and exclusions are dropped."""
        self.model.excluded = []
        self.model.data.param.trigger("reset")

    def pin(self, *_):
        """Keep the current fitted curve as a ghost to compare the next fits with."""
        self.pinned = self.model.fit_curve()

    def unpin(self, *_):
        """Remove the pinned curve."""
        self.pinned = None

    def _buttons(self) -> pn.Column:
        buttons = [
            ("Exclude selected", self.exclude_selected,
             "Leave the points selected with the box or lasso tool out of the fit."),
            ("Include all", self.include_all, "Use the excluded points again."),
            ("Reset to generated data", self.reset_points,
             "Discard added, moved, deleted and excluded points."),
            ("Pin this fit", self.pin, "Keep the current fit as a ghost curve."),
            ("Clear pin", self.unpin, "Remove the ghost curve."),
        ]
        # The note on a line of its own: beside the buttons it was squeezed and cut off.
        return pn.Column(
            pn.Row(*(pmui.Button(label=label, on_click=action, description=tip,
                                 variant="outlined", size="small")
                     for label, action, tip in buttons), sizing_mode="stretch_width"),
            self._note, sizing_mode="stretch_width")

    def __panel__(self):
        """Return the figure with the edit buttons below it."""
        return self._view
