"""Explorer: the app's view of a RegressionModel, built with Panel and HoloViews.

Widgets come from the models' parameter declarations; plots are DynamicMaps
over the models' results, so an update patches data already in the browser.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import io
import logging
import weakref
from functools import reduce, wraps
from operator import mul

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import panel_material_ui as pmui
import param
from panel.io.document import GC_DEBOUNCE
from panel.util import edit_readonly
from tornado.ioloop import IOLoop

from . import plots, workarounds
from .data import DataGenerator, ground_truths, title
from .diagnostic_views import DiagnosticsView, _dispatcher
from .diagnostics import Diagnostics
from .exports import to_csv, to_script, to_skops
from .links import MODEL_SETTINGS, apply_query, query_of
from .model import SPLITS, RegressionModel
from .parameters import InvalidValue, UpdateFailed, where
from .userdata import MAX_BYTES
from .views.controls import TYPED, NumberSlider, controls, param_widgets
from .views.text import as_text

__all__ = ["Explorer"]

log = logging.getLogger(__name__)

#: Parameters of a generator shown under "Data", in this order; parameters a
#: subclass adds for its own curve follow them.
DATA_PARAMETERS = ["n_samples", "x_min", "x_max", "noise_sd", "noise_mean",
                   "random_state", "resample"]
NOISE_PARAMETERS = ["noise_kind", "noise_df", "noise_growth", "outlier_fraction",
                    "outlier_scale"]
MODEL_PARAMETERS = ["degree", "loss", "penalty", "alpha_mode", "cv_folds", "test_size",
                    "random_state"]


SCORES_CSS = """
table.scores { border-collapse: collapse; font-size: 1.05em; margin: 0 0 0.5em 0; }
table.scores th, table.scores td { padding: 0.25em 1.2em 0.25em 0; text-align: right; }
table.scores td { font-variant-numeric: tabular-nums; }
table.scores tbody th { text-align: left; }
p.hint { padding: 0.5em 0.8em; border-left: 4px solid #888; max-width: 60em; }
p.hint.over { border-color: #d62728; }
p.hint.under { border-color: #ff7f0e; }
p.hint.balanced { border-color: #2ca02c; }
ul.fit-warnings { color: #b35900; max-width: 60em; }
"""

#: The manual-alpha slider moves log10(alpha) in steps of a quarter decade.
LOG_ALPHA_RANGE = (-6.0, 4.0)

#: Explicit padding: HoloViews drops its default when a framewise layer updates,
#: which half-hid the points at the data's extremes.
PLOT_OPTIONS = dict(
    responsive=True, height=500, legend_position="top", legend_cols=4, padding=0.08,
    **plots.BACKEND_OPTIONS)


def _keeps_last(layer):
    """Make a plot layer report an exception and return its last good element instead.

    HoloViews would log "Callable raised" with a traceback and the plot could
    break; this way the plot keeps its previous state and the app says why.
    The first call has no previous element, so it raises.
    """
    @wraps(layer)
    def guarded(self):
        try:
            element = layer(self)
        except Exception as error:
            if layer.__name__ not in self._last_elements:
                raise
            self._on_error(error)
            return self._last_elements[layer.__name__]
        self._last_elements[layer.__name__] = element
        return element
    return guarded


class Explorer(pn.viewable.Viewer):
    """Interactive view of a :class:`RegressionModel` and its data.

    Parameters
    ----------
    model : RegressionModel
        The model to show; a default one if not given.  Its generator's
        class is the initially selected ground truth.

    Examples
    --------
    >>> explorer = Explorer()
    >>> explorer.truth
    'Original: 2x − 0.6x² + 0.2x³ + 18·sin x'
    """

    model = param.ClassSelector(
        class_=RegressionModel, label="Model", doc="The regression model shown and driven.")

    truth = param.Selector(
        label="Ground truth",
        doc="The curve the data are drawn from: every DataGenerator subclass defined so far.")

    message = param.String(
        default="", label="Message",
        doc="Why the last change was refused; empty once a later change succeeds.")

    pinned = param.DataFrame(
        default=None, allow_None=True, precedence=-1, label="Pinned fit",
        doc="A fitted curve (columns x, y) kept as a ghost to compare with; None if none.")

    def __init__(self, **params):
        if params.get("model") is None:
            params["model"] = RegressionModel()
        super().__init__(**params)
        generator = self.model.data
        self._generators = {title(type(generator)): generator}
        self.param.truth.objects = list(dict.fromkeys([*ground_truths(), self._current_title]))
        self.truth = self._current_title
        self._data_controls = {}
        self._page = self._controls = self._truth_shown = self._editable_shown = None
        self._selection = []
        self._drawing = False
        self._streams = {}
        self._last_elements = {}
        self.diagnostics = DiagnosticsView(diagnostics=Diagnostics(model=self.model),
                                           on_error=self._on_error)

    @property
    def _current_title(self) -> str:
        return title(type(self.model.data))

    # ---- model wiring -----------------------------------------------------

    @param.depends("truth", watch=True)
    def _switch_truth(self):
        """Swap the model's generator; each ground truth keeps its own settings."""
        if self.truth == self._current_title:
            return
        current = self.model.data
        if self.truth not in self._generators:
            cls = ground_truths()[self.truth]
            self._generators[self.truth] = cls(
                n_samples=current.n_samples, random_state=current.random_state)
        self.model.data = self._generators[self.truth]

    @param.depends("model.estimator_", watch=True)
    def _clear_message(self):
        self.message = ""

    def _on_error(self, exception: BaseException):
        """Show why a change failed; the models kept their previous, valid state.

        A refused value is the user's and is only shown.  A failure of code (a
        subclass's ``ground_truth`` raising, a plot layer failing) is also logged,
        as one line naming the exception and where it was raised: the models rolled
        back and the plots kept their last state, so a traceback would only hide it.
        """
        if isinstance(exception, InvalidValue) and not isinstance(exception, UpdateFailed):
            self.message = str(exception)
            return
        if isinstance(exception, UpdateFailed):
            text = str(exception)
        else:
            text = (f"Unexpected error{where(exception)}: {type(exception).__name__}: "
                    f"{exception}. The plots show the last valid state.")
        log.error("%s", text)
        self.message = text
        if pn.state.notifications is not None:  # only where notifications are enabled
            pn.state.notifications.error(as_text(text), duration=8000)

    # ---- plot layers: each is a DynamicMap, so updates patch its data -----
    # Train and test are separate elements with fixed colours (a split column
    # would be sent as text with every refit), updated by one DynamicMap: each
    # DynamicMap that fires redraws its whole plot once.

    @property
    def large(self) -> bool:
        """Whether the data have more points than the browser is sent one by one."""
        return len(self.model.samples_) > plots.RASTER_THRESHOLD

    @param.depends("model.samples_")
    @_keeps_last
    def _samples(self):
        rows = (self.model.samples_["split"] == "excluded").to_numpy() & (not self.large)
        return self._by_split(plots.samples) * plots.excluded(
            self.model.samples_.loc[rows, ["x", "y"]])

    @param.depends("model.samples_")
    @_keeps_last
    def _samples_to_raster(self):
        return plots.raster_input(self.model.samples_)

    @param.depends("model.samples_")
    @_keeps_last
    def _editable(self):
        # The edit layer holds x, y and labels, not the split: a new split (test size,
        # seed, an exclusion) returns the same element, which is not sent again.
        # Above the raster threshold no points are sent, so none can be edited.
        frame = self.model.data.data
        if self._editable_shown is None or self._editable_shown[0] is not frame:
            shown = frame.iloc[:0] if self.large else frame
            points = pd.DataFrame({"x": shown["x"].to_numpy(), "y": shown["y"].to_numpy(),
                                   "label": shown.index.to_numpy(dtype=float)})
            self._editable_shown = (frame, plots.editable(points, drawing=self._drawing))
        return self._editable_shown[1]

    @param.depends("pinned")
    @_keeps_last
    def _pinned(self):
        frame = self.pinned if self.pinned is not None else pd.DataFrame(
            {"x": [np.nan], "y": [np.nan]})
        return plots.pinned(frame)

    # ---- editing by hand ----------------------------------------------------

    def _points_drawn(self, data: dict):
        """Apply the points the browser's draw tool added, moved or deleted."""
        frame = self.model.data.data
        if self.large:
            self.message = (f"Points can be edited by hand up to {plots.RASTER_THRESHOLD:,} "
                            "points; these data are drawn as an image.")
            return
        x, y = np.asarray(data.get("x", []), float), np.asarray(data.get("y", []), float)
        labels = np.asarray(data.get("label", []), float)
        unchanged = (len(x) == len(frame) and np.array_equal(x, frame["x"].to_numpy())
                     and np.array_equal(y, frame["y"].to_numpy()))
        if not unchanged:
            # Said here: HoloViews drops what a stream's subscriber raises, unlogged.
            try:
                self.model.data.set_points(x, y, labels)
            except InvalidValue as error:
                self._on_error(error)

    def _points_selected(self, index: list[int]):
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

    @param.depends("model.samples_")
    @_keeps_last
    def _truth(self):
        frame = self.model.data.truth()
        if self._truth_shown is None or not frame.equals(self._truth_shown[0]):
            self._truth_shown = (frame, plots.truth(frame))
        return self._truth_shown[1]

    @param.depends("model.estimator_")
    @_keeps_last
    def _fit(self):
        return plots.fit(self.model.fit_curve())

    @param.depends("model.estimator_")
    @_keeps_last
    def _predictions(self):
        return self._by_split(plots.predicted_vs_actual, predicted=True)

    @param.depends("model.samples_")
    @_keeps_last
    def _identity(self):
        y = self.model.samples_["y"]
        return plots.identity(y.min(), y.max())

    def _by_split(self, plot, predicted: bool = False) -> hv.Overlay:
        """Overlay ``plot`` of the train rows and of the test rows."""
        return reduce(mul, (plot(self._rows(split, predicted), split) for split in SPLITS))

    @param.depends("model.estimator_")
    @_keeps_last
    def _predictions_to_raster(self):
        frame = self.model.samples_
        return plots.raster_input(frame[["y", "split"]].assign(y_pred=self.model.y_pred_),
                                  predicted=True)

    def _rows(self, split: str, predicted: bool = False) -> pd.DataFrame:
        """Return the samples of one split (none if large), with predictions if ``predicted``."""
        frame = self.model.samples_
        rows = (frame["split"] == split).to_numpy() & (not self.large)
        if predicted:
            return pd.DataFrame({"y": frame["y"].to_numpy()[rows],
                                 "y_pred": self.model.y_pred_[rows]})
        return frame.loc[rows, ["x", "y"]]

    def _dynamic(self, layer) -> hv.DynamicMap:
        """Return a DynamicMap over a layer method, updated by patching its data.

        Layers that depend on the same outputs share one stream, so a change
        refreshes each plot once, not once per layer.
        """
        # A plain function, or HoloViews would add the method's own stream too.
        return hv.DynamicMap(lambda: layer(), streams=[self._stream(layer)])

    def _stream(self, layer) -> _Outputs:
        """Return the one stream of the outputs ``layer`` depends on."""
        watched = tuple((info.inst, info.name)
                        for info in self.param.method_dependencies(layer.__name__))
        if watched not in self._streams:
            (owner,) = {inst for inst, _ in watched}
            self._streams[watched] = _Outputs(owner, [name for _, name in watched])
        return self._streams[watched]

    def _raster(self, points) -> hv.DynamicMap:
        """Return the image of the layer method ``points``'s points, while the data are large.

        It follows the plot's ranges and size, so zooming aggregates again.
        Its legend would repeat the splits' own entries, which stay (with no points):
        the images hide theirs (see :func:`plots.no_image`).
        """
        def image(x_range=None, y_range=None, width=None, height=None, scale=1.0):
            if not self.large:
                return plots.no_image()
            return plots.rasterized(points(), x_range, y_range, width, height)

        streams = [self._stream(points), hv.streams.RangeXY(), hv.streams.PlotSize()]
        return hv.DynamicMap(image, streams=streams)

    def _data_plot(self):
        self._drawing = _dispatcher() is not None
        editable = self._dynamic(self._editable)
        # Click on empty space adds a point, drag moves one, Backspace deletes the
        # selected ones; box and lasso select, for "Exclude selected".  Only with an
        # event loop to send the edits back (a server or a notebook): HoloViews'
        # edit streams need one, and an offline render has nothing to edit with.
        if self._drawing:
            draw = hv.streams.PointDraw(source=editable, add=True, drag=True,
                                        empty_value=np.nan)
            draw.add_subscriber(self._points_drawn)
            selection = hv.streams.Selection1D(source=editable)
            selection.add_subscriber(self._points_selected)
        raster = self._raster(self._samples_to_raster)
        layers = map(self._dynamic, [self._samples, self._truth, self._pinned, self._fit])
        return reduce(mul, [raster, *layers, editable]).opts(
            title="Data, ground truth and fit: click to add a point, drag to move one",
            **PLOT_OPTIONS)

    def _edit_buttons(self) -> pn.Row:
        buttons = [
            ("Exclude selected", self.exclude_selected,
             "Leave the points selected with the box or lasso tool out of the fit."),
            ("Include all", self.include_all, "Use the excluded points again."),
            ("Reset to generated data", self.reset_points,
             "Discard added, moved, deleted and excluded points."),
            ("Pin this fit", self.pin, "Keep the current fit as a ghost curve."),
            ("Clear pin", self.unpin, "Remove the ghost curve."),
        ]
        return pn.Row(*(pmui.Button(label=label, on_click=action, description=tip,
                                    variant="outlined", size="small")
                        for label, action, tip in buttons),
                      pn.pane.Markdown(self._size_note, margin=(0, 10)),
                      sizing_mode="stretch_width")

    @param.depends("model.samples_")
    def _size_note(self) -> str:
        """Say when the scatters are images, and why the edit tools do nothing then."""
        if not self.large:
            return ""
        return (f"**{len(self.model.samples_):,} points** are drawn as images by Datashader "
                "(zoom in for detail); editing by hand works up to "
                f"{plots.RASTER_THRESHOLD:,} points.")

    def _prediction_plot(self):
        raster = self._raster(self._predictions_to_raster)
        layers = map(self._dynamic, [self._identity, self._predictions])
        return reduce(mul, [raster, *layers]).opts(
            title="Predicted against actual", **PLOT_OPTIONS)

    # ---- scores -------------------------------------------------------------

    @param.depends("model.estimator_")
    def scores_html(self) -> str:
        """Return the scores table, chosen alpha, hint and warnings as HTML."""
        m = self.model
        rows = "".join(
            f"<tr><th>{name}</th><td class='train-{key}'>{_number(train)}</td>"
            f"<td class='test-{key}'>{_number(test)}</td></tr>"
            for name, key, train, test in [
                ("R²", "r2", m.train_score_, m.test_score_),
                ("RMSE", "rmse", m.train_rmse_, m.test_rmse_),
                ("MAE", "mae", m.train_mae_, m.test_mae_),
                ("points", "n", m.n_train_, m.n_test_),
            ])
        warnings = "".join(f"<li>{as_text(text)}</li>" for text in m.messages_)
        return (
            "<table class='scores'><thead><tr><th></th>"
            f"<th style='color:{plots.COLORS['train']}'>train</th>"
            f"<th style='color:{plots.COLORS['test']}'>test</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            f"<p class='truth'>{self._truth_text()}</p>"
            f"<p class='alpha'>{self._alpha_text()}</p>"
            f"<p class='hint {m.verdict_}'>{as_text(m.hint_)}</p>"
            + (f"<ul class='fit-warnings'>{warnings}</ul>" if warnings else "")
        )

    def _truth_text(self) -> str:
        m = self.model
        return (f"True error (fit against the noiseless truth): RMSE "
                f"<span class='true-rmse'>{_number(m.true_rmse_)}</span> · noise floor "
                f"σ = <span class='noise-sd'>{_number(m.data.noise_floor())}</span> · effective "
                f"degrees of freedom <span class='edf'>{m.edf_:.3g}</span> "
                f"of {m.degree + 1} coefficients")

    def _alpha_text(self) -> str:
        m = self.model
        if m.alpha_ is None:
            return "α: none (no penalty)"
        if m.cv_points_ is None:
            how = "set by hand"
        else:
            how = f"chosen by {min(m.cv_folds, m.cv_points_)}-fold cross-validation"
            if m.cv_points_ < m.n_train_:
                how += f" on a random {m.cv_points_:,} of the {m.n_train_:,} training points"
        return f"α = {m.alpha_:.3g} ({how})"

    # ---- widgets ------------------------------------------------------------

    def _generator_controls(self, generator: DataGenerator):
        if generator not in self._data_controls and not getattr(generator, "has_truth", True):
            self._data_controls[generator] = self._upload_controls(generator)
        if generator not in self._data_controls:
            extra = [p for p in generator._inputs()
                     if p not in DATA_PARAMETERS + NOISE_PARAMETERS]
            typed = {**TYPED, **{name: NumberSlider for name in extra
                                 if isinstance(generator.param[name], param.Number)}}
            self._data_controls[generator] = pn.Column(
                pn.pane.Markdown(_first_paragraph(type(generator).__doc__), margin=(0, 10)),
                *controls(generator, DATA_PARAMETERS + extra, self._on_error, typed),
                pmui.Accordion(("Noise lab", param_widgets(generator, NOISE_PARAMETERS)),
                               sizing_mode="stretch_width"),
                sizing_mode="stretch_width")
            _responsive(self._data_controls[generator])
        return self._data_controls[generator]

    def _upload_controls(self, dataset) -> pn.Column:
        """Return a CSV upload and the choice of its x and y columns, for your own data."""
        upload = pmui.FileInput(
            label="Upload a CSV file", sizing_mode="stretch_width",
            # Excel's "Unicode text" is a tab-separated .txt file.
            accept=".csv,.tsv,.txt,text/csv,text/plain,text/tab-separated-values",
            # Files up to 4× the limit reach the server, which says why it refuses them.
            max_file_size=4 * MAX_BYTES)

        def load(content: bytes):
            # The upload widget catches what its callbacks raise and logs it as
            # an error with a traceback; a refused file is the user's, not a fault.
            try:
                dataset.load_csv(content)
            except InvalidValue as error:
                self._on_error(error)

        upload.param.watch(lambda event: event.new is not None and load(event.new), "value")
        workarounds.on_empty_upload(upload, lambda: load(b""))
        return pn.Column(
            pn.pane.Markdown(_first_paragraph(type(dataset).__doc__), margin=(0, 10)),
            upload, *controls(dataset, ["x_column", "y_column"]),
            # Plain text: column names and cell values are never read as HTML.
            pn.pane.Str(dataset.param.note, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    def _export_buttons(self) -> pn.Column:
        model = self.model
        downloads = [
            ("Data (CSV)", "polyfit_data.csv", lambda: io.StringIO(to_csv(model))),
            ("Script (Python)", "polyfit_fit.py", lambda: io.StringIO(to_script(model))),
            ("Model (skops)", "polyfit_model.skops", lambda: io.BytesIO(to_skops(model))),
        ]
        return pn.Column("### Export", *(
            pmui.FileDownload(label=label, filename=filename, callback=callback,
                              sizing_mode="stretch_width")
            for label, filename, callback in downloads), sizing_mode="stretch_width")

    def _link_to_url(self):
        """Keep the settings in the page's URL, and apply those of the URL it opened with."""
        location, doc = pn.state.location, pn.state.curdoc
        if location is None or doc is None or doc.session_context is None:
            return
        problems = apply_query(self, location.search) if location.search else []

        def update(*_):
            # At once, not later: a write timed after the change could reach a page
            # that had closed meanwhile, which Panel logs as an unretrieved error.
            location.search = "?" + query_of(self)

        self.model.param.watch(update, [*MODEL_SETTINGS, "estimator_"])
        self.param.watch(update, "truth")
        pn.state.onload(update)  # earlier, the page's own URL would overwrite it
        if problems:
            self.message = " ".join(problems)

    def _alpha_slider(self):
        """Return a slider over log10(alpha), kept in step with the model both ways."""
        slider = pmui.FloatSlider(
            label="Alpha (log₁₀)", start=LOG_ALPHA_RANGE[0], end=LOG_ALPHA_RANGE[1],
            step=0.25, value=float(np.log10(self.model.alpha)),
            description=self.model.param.alpha.doc, sizing_mode="stretch_width")

        def to_model(event):
            # Skip the echo of a model change, which would refit with a rounded alpha.
            if not np.isclose(np.log10(self.model.alpha), event.new, rtol=0, atol=1e-9):
                self.model.alpha = 10.0 ** event.new

        slider.param.watch(to_model, "value")
        self.model.param.watch(
            lambda e: setattr(slider, "value", float(np.log10(e.new))), "alpha")
        manual = pn.bind(lambda mode, penalty: mode == "manual" and penalty != "none",
                         self.model.param.alpha_mode, self.model.param.penalty)
        slider.disabled = pn.bind(lambda on: not on, manual)
        return slider

    def _sidebar(self) -> pn.Column:
        message = pmui.Alert(
            object=self.param.message.rx.pipe(as_text), severity="error",
            visible=self.param.message.rx.bool(), sizing_mode="stretch_width")
        data = pn.Column(
            "### Data",
            pn.widgets.Select.from_param(self.param.truth, sizing_mode="stretch_width"),
            pn.bind(self._generator_controls, self.model.param.data),
            sizing_mode="stretch_width")
        model = pn.Column(
            "### Model",
            *controls(self.model, MODEL_PARAMETERS[:4]),
            self._alpha_slider(),
            *controls(self.model, MODEL_PARAMETERS[4:], self._on_error, TYPED),
            sizing_mode="stretch_width")
        return _responsive(pn.Column(message, data, model, self._export_buttons(),
                                           sizing_mode="stretch_width"))

    def _main(self):
        # Unlinked: both plots have a dimension "y", but on different axes.
        plots_row = pn.Row(
            pn.Column(
                pn.pane.HoloViews(self._data_plot(), linked_axes=False,
                                  sizing_mode="stretch_width"),
                self._edit_buttons(), sizing_mode="stretch_width"),
            pn.pane.HoloViews(self._prediction_plot(), linked_axes=False,
                              sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
        scores = pn.pane.HTML(self.scores_html, stylesheets=[SCORES_CSS],
                              sizing_mode="stretch_width")
        return [plots_row, scores, "### Why does it fit like this?", self.diagnostics]

    def __panel__(self):
        """Return the app's page, built once per Explorer."""
        # Session-local in a server: refused values become a message, not a
        # traceback.  A notebook has one global config, so there the Explorer
        # displayed last shows the messages of all.  Held weakly: Panel keeps a
        # session's config while the session's document lives, and a handler
        # bound to the Explorer reaches that document, so neither was ever freed.
        pn.config.exception_handler = _weakly(self._on_error)
        _quiet_refused_values()
        workarounds.install()
        if self._page is None:
            self._link_to_url()
            self._controls = self._sidebar()
            self._page = pmui.Page(
                title="polyfit explorer: polynomial regression, live",
                sidebar=[self._controls], main=self._main(), sidebar_width=360,
                busy_indicator=None)
            # The Page follows Panel's busy state with a bar; each of the two
            # toggles per change walked every Bokeh model of the page (~50 ms
            # each at n = 1,000).  The diagnostics tabs show their own spinners.
            with edit_readonly(self._page):
                self._page.busy = False
            if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
                pn.state.on_session_destroyed(self._release)
        return self._page

    def _release(self, session_context):
        """Clean up every component of the page when its server session ends.

        Panel cleans up a material component's children by the names its Bokeh
        model lists, but Bokeh clears the models' properties before it runs
        the session-destroyed hooks (panel 1.9, panel-material-ui 0.16).  So
        nothing below the page, the tabs or the accordion was cleaned up, and
        HoloViews' class-level registry of plot callbacks (the draw, selection
        and tap streams) kept every closed session's Explorer, models and plots
        alive: about 6 MB per session, never returned.  Cleaning up a component
        twice is harmless; each cleanup first checks what it still holds.
        The material page also binds its ``busy`` to Panel's global
        ``pn.state.busy``, a watcher on an object every session shares that
        kept the page, and so the session, alive: it is removed too.
        And Panel's class-level registry of JavaScript callbacks is a
        WeakKeyDictionary whose values hold their keys: an editable slider's
        text field (the key) has a callback whose ``args`` hold the slider,
        which reaches the field again, so the entry, and through the slider's
        watchers the whole session, was never freed (about 3.4 MB each).  The
        entries of this page's components are dropped.
        """
        components = self._page.select()
        root = _root_model(self._page)
        if root is not None:
            for component in components:
                component._cleanup(root)
        # The controls of ground truths shown earlier are no longer on the page.
        components += [part for shown in self._data_controls.values()
                       for part in shown.select()]
        for component in components:
            pn.links.Callback.registry.pop(component, None)
        ours = {id(component) for component in components}
        for what in pn.state.param.watchers.values():
            for watchers in what.values():
                for watcher in list(watchers):
                    owner = getattr(watcher.fn, "__self__", None)
                    if id(getattr(owner, "self", owner)) in ours:
                        pn.state.param.unwatch(watcher)
        _trim_soon()


def _find_malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim
    except (OSError, TypeError, AttributeError):  # not glibc: nothing to call
        return None


#: glibc's ``malloc_trim``, or None where the C library has none (macOS, Windows, musl).
_MALLOC_TRIM = _find_malloc_trim()
_trim_pending = False


def _trim_soon():
    """Give the memory of closed sessions back to the system, once they are collected.

    Panel collects garbage a few seconds after a session closes; glibc keeps
    what was freed for reuse and returns it only when the top of its heap is
    free, which after a class leaves it rarely is.  ``malloc_trim`` returns the
    free pages inside the heap too.  Once per burst of closing sessions.
    """
    global _trim_pending
    if _trim_pending or _MALLOC_TRIM is None:
        return
    _trim_pending = True

    def trim():
        global _trim_pending
        _trim_pending = False
        gc.collect()
        _MALLOC_TRIM(0)

    IOLoop.current().call_later(GC_DEBOUNCE + 1, trim)


def _weakly(method):
    """Return a function that calls ``method`` while its object lives, without keeping it."""
    reference = weakref.WeakMethod(method)

    def call(*args, **kwargs):
        bound = reference()
        return None if bound is None else bound(*args, **kwargs)

    return call


def _root_model(page: pmui.Page):
    """Return the Bokeh model at the root of a served page: the page's own model.

    The page's direct children record it as their parent, in case the page's
    own cleanup ran first.
    """
    for model, _ in page._models.values():
        return model
    for child in (*page.sidebar, *page.main):
        for _, parent in child._models.values():
            return parent
    return None


#: Sliders that apply a value the moment it arrives (see _responsive).
IMMEDIATE = (pn.widgets.IntSlider, pn.widgets.FloatSlider, pmui.IntSlider, pmui.FloatSlider)


def _responsive(layout: pn.viewable.Viewable) -> pn.viewable.Viewable:
    """Apply the sliders' values as soon as they arrive, skipping Panel's 50 ms debounce.

    Panel delays every browser change by 50 ms in case more follow.  A slider
    here sends one value on release or per arrow key, so nothing follows.
    Panel 1.9 has no public setting for this; the class attribute
    ``_priority_changes``, which Panel's own Tabulator sets, names the
    properties it applies at once, and it is set here per slider.

    Only plain sliders: for the other widgets, and inside the editable sliders
    (whose field and slider sync each other), a refused value was rolled back
    before the message about it could show.
    """
    widgets = layout.select(pn.widgets.WidgetBase)
    inner = {id(part) for widget in widgets if isinstance(widget, pn.widgets.CompositeWidget)
             for part in widget._composite.select(pn.widgets.WidgetBase)}
    for widget in widgets:
        composite = isinstance(widget, pn.widgets.CompositeWidget) or id(widget) in inner
        if isinstance(widget, IMMEDIATE) and not composite:
            widget._priority_changes = ["value", "value_throttled"]
    return layout


class _RefusedValueFilter(logging.Filter):
    """Log a refused value as one warning line instead of an error with a traceback.

    Panel logs every exception raised while it applies a browser edit, before
    it hands the exception to ``pn.config.exception_handler``.  A user's
    out-of-range value is not a fault of the app, and tracebacks in the server
    log are reserved for faults.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, UpdateFailed):
            return False  # Explorer._on_error, which Panel calls next, logs it in one line
        if isinstance(error, InvalidValue):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args, record.exc_info = "Refused value: %s", (error,), None
            record.exc_text = None
        return True


def _quiet_refused_values():
    logger = logging.getLogger("panel.reactive")
    if not any(isinstance(f, _RefusedValueFilter) for f in logger.filters):
        logger.addFilter(_RefusedValueFilter())


class _Outputs(hv.streams.Params):
    """A stream of model outputs that passes no values and is memoized on a count of events.

    HoloViews keys its cache on a hash of the watched values, computed again
    at every level of an overlay on every update: for a 10,000-row sample and
    a fitted pipeline that cost 36 ms of a 60 ms degree change.  Every event
    of these outputs is a new value, so counting the events is an exact key.
    """

    def __init__(self, parameterized, parameters):
        super().__init__(parameterized, parameters, watch_only=True)

    def _on_trigger(self):
        self._memoize_counter += 1

    @property
    def hashkey(self):
        return {"_memoize_key": self._memoize_counter}


def _number(value) -> str:
    """Format a score; undefined ones show as a dash, never as NaN."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    return str(value) if isinstance(value, (int, np.integer)) else f"{value:.4g}"


def _first_paragraph(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")
