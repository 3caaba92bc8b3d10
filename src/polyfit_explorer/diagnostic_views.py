"""The Explorer's diagnostics tabs: computed in a worker thread, and only while shown.

Each tab owns a :class:`LiveResult`.  A change of the model or of the
diagnostics' settings invalidates it; if its tab is shown it recomputes in a
worker thread while the event loop stays free for the sliders, else it waits
until the tab is opened.  A result that is stale on arrival (the inputs
changed meanwhile) is dropped, and only the newest inputs are computed next:
a slider drag never queues up computations.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import holoviews as hv
import numpy as np
import panel as pn
import panel_material_ui as pmui
import param
from panel.io.state import set_curdoc

from . import diagnostic_plots as plots
from . import diagnostics
from .diagnostics import Diagnostics, Snapshot, sample_sizes
from .model import CV_MAX_POINTS, PENALTIES
from .views.controls import TYPED, controls
from .views.text import as_text

__all__ = ["DiagnosticsView", "LiveResult"]

log = logging.getLogger(__name__)

#: Shared by all sessions, so a class full of students cannot start more
#: computations at once than the machine has cores.
EXECUTOR = ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                              thread_name_prefix="polyfit-diagnostics")

PENALTY_NAMES = {value: name for name, value in PENALTIES.items()}
#: After a change, the worker starts this much later (see LiveResult._submit).
WORKER_DELAY_S = 0.1
#: Stands for a computation that is about to start.
_QUEUED = object()
#: The tabs diagnose at most this many training points, a random subsample of
#: larger data: the OLS U-curve took 28 s at 800,000 training points.
MAX_POINTS = CV_MAX_POINTS


class LiveResult(param.Parameterized):
    """One diagnostic of a model's current state, recomputed off the event loop.

    Parameters
    ----------
    compute : callable
        Takes the inputs ``read()`` returns and returns the result; runs in a
        worker thread, so it must not touch the models.
    read : callable
        Returns the inputs (a frozen snapshot); runs on the event loop.
    """

    result = param.Parameter(default=None, doc="The latest result; None until computed.")

    busy = param.Boolean(default=False, doc="True while a computation runs.")

    error = param.String(default="", doc="Why the last computation failed; empty otherwise.")

    active = param.Boolean(
        default=False, doc="Whether the result is on screen; a hidden one computes nothing.")

    def __init__(self, compute, read, **params):
        super().__init__(**params)
        self._compute, self._read = compute, read
        self._latest = self._future = None
        self._stale = True
        #: Computations started so far; tests count them.
        self.computations = 0
        self._shown()

    def invalidate(self, *events):
        """Mark the result out of date; recompute at once if it is shown."""
        self._stale = True
        if self.active:
            self.refresh()

    @param.depends("active", watch=True)
    def _shown(self):
        if self.active and self._stale:
            self.refresh()

    def refresh(self):
        """Compute from the current inputs: in a worker thread when an event loop runs."""
        self._stale = False
        inputs = self._latest = self._read()
        dispatch = _dispatcher()
        if dispatch is None:  # a script or an offline render: nothing to keep responsive
            self._apply(self._call(inputs))
        elif self._future is None:
            self._submit(dispatch)

    def _submit(self, dispatch):
        self.busy = True
        self._future = _QUEUED
        # Started while Panel sends the change that invalidated the result to
        # the browser, not during it.  A worker started at once competed with
        # the change's serialization and writes for the GIL and the cores: the
        # new fit reached the browser 100-300 ms later (docs/development.md).
        _after_this_task(dispatch, partial(self._start, dispatch), WORKER_DELAY_S)

    def _start(self, dispatch):
        inputs = self._latest
        self._future = future = EXECUTOR.submit(self._call, inputs)
        future.add_done_callback(
            lambda future: dispatch(partial(self._done, inputs, future, dispatch)))

    def _done(self, inputs, future, dispatch):
        self._future = None
        if self._latest is not inputs:  # stale: the inputs changed while it ran
            self._submit(dispatch)
            return
        # Busy until the result is drawn: the plots' patch goes out before the indicator's.
        self._apply(future.result())
        self.busy = False

    def _call(self, inputs) -> tuple[bool, object]:
        self.computations += 1
        try:
            return True, self._compute(inputs)
        except Exception as error:  # shown in the tab; the app keeps running
            log.error("A diagnostic failed", exc_info=error)
            return False, error

    def _apply(self, outcome):
        ok, value = outcome
        if ok:
            self.param.update(result=value, error="")
        else:
            self.error = f"Could not compute this diagnostic: {value}"


def _dispatcher():
    """Return how to run a callback on this session's event loop, or None without one.

    The returned function takes the callback and an optional delay in
    seconds, and may be called from any thread.
    """
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        return partial(_to_document, doc)
    try:
        loop = asyncio.get_running_loop()  # a notebook's kernel
    except RuntimeError:
        return None
    return partial(_to_loop, loop)


def _after_this_task(dispatch, callback, delay: float):
    """Run ``callback`` ``delay`` seconds after the event loop's current task ends.

    A delay given straight to ``dispatch`` would count from now, in the middle
    of processing a change; dispatching first makes it count from the end.
    """
    dispatch(partial(dispatch, callback, delay))


def _to_loop(loop, callback, delay: float = 0.0):
    """Run ``callback`` on ``loop`` (thread-safe), unless the loop has closed."""
    try:
        loop.call_soon_threadsafe(loop.call_later, delay, callback)
    except RuntimeError:
        # A result that outlived its loop (a kernel shut down, a test's loop):
        # nobody is left to show it to.
        if not loop.is_closed():
            raise


def _to_document(doc, callback, delay: float = 0.0):
    """Run ``callback`` on ``doc``'s event loop, unless its session has ended.

    Thread-safe; the callback runs holding the document lock, and with Panel's
    current document set, without which Panel cannot tell which plot to patch.
    A computation can outlive its session: a tab closed while it ran, or the
    throwaway session ``panel serve --warm`` builds and destroys at startup.
    Nobody is left to show that result to, and a destroyed document raises
    on new callbacks (an error with a traceback in the server log).
    """
    if doc.session_context is None:  # Panel clears it when it destroys the document
        return
    callback = partial(_in_document, doc, callback)
    try:
        if delay:
            doc.add_timeout_callback(callback, delay * 1e3)
        else:
            doc.add_next_tick_callback(callback)
    except AttributeError:
        # Destroyed on the event loop between the check above and this call.
        if doc.session_context is not None:
            raise


def _in_document(doc, callback):
    # Not inside doc.models.freeze(): a tab's first result builds new models,
    # and patches written while the document is frozen define them again (the
    # load benchmark's client warned "reference already known").
    with set_curdoc(doc):
        callback()


# ---- what each tab computes (in a worker thread) ------------------------------


def _validation(inputs) -> dict:
    snap, settings = inputs
    return {"curve": diagnostics.validation_curve(snap, settings["max_degree"]),
            "path": diagnostics.alpha_path(snap), "degree": snap.degree,
            "penalty": PENALTY_NAMES[snap.penalty_at(snap.degree)]}


def _bias_variance(inputs) -> dict:
    snap, settings = inputs
    replicates, seed = settings["replicates"], settings["seed"]
    if not snap.has_truth:
        return {"here": None, "by_degree": None, "by_alpha": None, "degree": snap.degree,
                "alpha": snap.alpha_}
    return {
        "here": diagnostics.bias_variance(snap, replicates, seed),
        "by_degree": diagnostics.bias_variance_by_degree(
            snap, settings["max_degree"], replicates, seed),
        "by_alpha": diagnostics.bias_variance_by_alpha(snap, replicates, seed),
        "degree": snap.degree, "alpha": snap.alpha_,
    }


def _learning(inputs) -> dict:
    snap, _ = inputs
    return {"curve": diagnostics.learning_curve(snap), "noise_sd": snap.noise_floor}


def _coefficients(inputs) -> dict:
    snap, _ = inputs
    return {"table": diagnostics.coefficients(snap), "path": diagnostics.alpha_path(snap)}


def _residuals(inputs) -> dict:
    snap, _ = inputs
    return {"table": diagnostics.residuals(snap)}


#: Tab title, what it computes, and which diagnostics settings it depends on.
TABS = {
    "Validation curve": (_validation, ["max_degree"]),
    "Bias & variance": (_bias_variance, ["max_degree", "replicates", "seed"]),
    "Learning curve": (_learning, []),
    "Coefficients": (_coefficients, []),
    "Residuals": (_residuals, []),
}

INTRODUCTIONS = {
    "Validation curve": (
        "Train, test and 5-fold cross-validated error at every degree, for the current data "
        "and penalty. Training error only falls as the degree grows; the test and "
        "cross-validated errors fall, then rise once the fit follows the noise. "
        "**Click a degree** to fit it."),
    "Bias & variance": (
        "The truth is known, so the model is refitted to R fresh samples: the same x, fresh "
        "noise. **Bias²** is how far their mean fit is from E[y|x]; **variance** is how much "
        "they scatter around it. Together with the noise σ² they add up to the expected test "
        "error, measured here on fresh data. A cross-validated alpha is held at the model's "
        "choice for every refit."),
    "Learning curve": (
        "The current model fitted to the first m training points, for growing m. A gap "
        "between train and test error that closes with more data is variance; errors that "
        "level off above the noise σ are bias."),
    "Coefficients": (
        "Left: the fitted polynomial's coefficients of xᵏ, next to the truth's when the "
        "truth is a polynomial; hollow circles are powers LASSO set to exactly 0. Right: "
        "the coefficients of the standardized powers, which the penalty shrinks, against "
        "alpha; the dashed line is the model's alpha."),
    "Residuals": (
        "Residuals y − ŷ. Structure in them (a curve, a funnel) is signal the model missed; "
        "noise looks like an even band around 0."),
}

BIAS_VARIANCE_CSS = """
table.bias-variance { border-collapse: collapse; font-size: 1.02em; }
table.bias-variance th, table.bias-variance td { padding: 0.2em 1em 0.2em 0; text-align: right; }
table.bias-variance th { text-align: left; font-weight: normal; }
table.bias-variance td { font-variant-numeric: tabular-nums; }
table.bias-variance tr.total td, table.bias-variance tr.total th { border-top: 1px solid #999; }
"""


class DiagnosticsView(pn.viewable.Viewer):
    """Tabs of diagnostics of a :class:`Diagnostics`' model, each live while shown.

    Examples
    --------
    >>> view = DiagnosticsView()
    >>> list(view.results)[:2]
    ['Validation curve', 'Bias & variance']
    """

    diagnostics = param.ClassSelector(
        class_=Diagnostics, label="Diagnostics",
        doc="The model and the diagnostics' settings (highest degree, replicates, seed).")

    active = param.Integer(
        default=0, bounds=(0, len(TABS) - 1), label="Shown tab",
        doc="Index of the tab on screen; only its diagnostic is computed.")

    on_error = param.Callable(
        default=None, label="On error",
        doc="Called with the InvalidValue of a refused setting (a seed typed wrong); "
            "None raises it.")

    def __init__(self, **params):
        if params.get("diagnostics") is None:
            params["diagnostics"] = Diagnostics()
        super().__init__(**params)
        self.results = {title: LiveResult(compute, self._read)
                        for title, (compute, _) in TABS.items()}
        self.diagnostics.model.param.watch(self._model_changed, "estimator_")
        for title, (_, settings) in TABS.items():
            if settings:
                self.diagnostics.param.watch(self.results[title].invalidate, settings)
        self._tabs = None
        # In a server, after the page has connected: a result that arrived while the
        # page was being sent would never reach it.
        pn.state.onload(self._show)

    @property
    def model(self):
        """The model diagnosed."""
        return self.diagnostics.model

    def _read(self):
        d = self.diagnostics
        snap = Snapshot.of(d.model, max_points=MAX_POINTS)
        return snap, {"max_degree": d.max_degree, "replicates": d.replicates, "seed": d.seed}

    def _model_changed(self, *events):
        for result in self.results.values():
            result.invalidate()

    @param.depends("active", watch=True)
    def _show(self):
        for index, result in enumerate(self.results.values()):
            result.active = index == self.active

    def set_degree(self, x=None, **_):
        """Fit the degree nearest to ``x``: the validation curve's tap handler."""
        if x is None or not np.isfinite(x):
            return
        self.model.degree = int(np.clip(round(x), 0, self.diagnostics.max_degree))

    # ---- tabs -------------------------------------------------------------

    def _validation_tab(self):
        result = self.results["Validation curve"]
        # The tap stream must be one of the DynamicMap's own streams: attached to it
        # with source= only, HoloViews never subscribes the figure to taps.
        tap = hv.streams.Tap(x=None, y=None)
        tap.add_subscriber(self.set_degree)
        curve = hv.DynamicMap(lambda result, x, y: _validation_plot(result),
                              streams=[tap, result.param.result])
        alpha = hv.DynamicMap(pn.bind(_alpha_plot, result.param.result))
        return [_plots(curve, alpha), self._settings(["max_degree"])]

    def _bias_variance_tab(self):
        result = self.results["Bias & variance"]
        fits = hv.DynamicMap(pn.bind(_replicates_plot, result.param.result))
        by_degree = hv.DynamicMap(pn.bind(_u_curve_plot, result.param.result))
        by_alpha = hv.DynamicMap(pn.bind(_alpha_u_curve_plot, result.param.result))
        numbers = pn.pane.HTML(pn.bind(bias_variance_html, result.param.result),
                               stylesheets=[BIAS_VARIANCE_CSS], sizing_mode="stretch_width")
        return [_plots(fits, by_degree),
                pn.Row(pn.Column(numbers, self._settings(["replicates", "seed", "max_degree"]),
                                 width=420),
                       pn.pane.HoloViews(by_alpha, linked_axes=False,
                                         sizing_mode="stretch_width"),
                       sizing_mode="stretch_width")]

    def _learning_tab(self):
        result = self.results["Learning curve"]
        return [pn.pane.HoloViews(hv.DynamicMap(pn.bind(_learning_plot, result.param.result)),
                                  linked_axes=False, sizing_mode="stretch_width")]

    def _coefficients_tab(self):
        result = self.results["Coefficients"]
        return [_plots(hv.DynamicMap(pn.bind(_coefficient_plot, result.param.result)),
                       hv.DynamicMap(pn.bind(_path_plot, result.param.result)))]

    def _residuals_tab(self):
        result = self.results["Residuals"]
        return [_plots(*(hv.DynamicMap(pn.bind(_residual_plot, result.param.result, against))
                         for against in ("x", "y_pred")))]

    def _settings(self, names):
        return pn.Column(*controls(self.diagnostics, names, self.on_error, TYPED),
                         sizing_mode="stretch_width")

    def _tab(self, title, build):
        result = self.results[title]
        alert = pmui.Alert(object=result.param.error.rx.pipe(as_text), severity="error",
                           visible=result.param.error.rx.bool(), sizing_mode="stretch_width")
        intro = pn.pane.Markdown(INTRODUCTIONS[title], sizing_mode="stretch_width",
                                 margin=(0, 10))
        body = pn.Column(pn.pane.Markdown("Computing…"), sizing_mode="stretch_width")

        # The plots are built from the first result: Bokeh fails to re-measure a log
        # axis that was first drawn without data.
        def fill(*events):
            if result.result is not None and not isinstance(body[0], pn.Column):
                body[:] = [pn.Column(*build(), sizing_mode="stretch_width")]

        result.param.watch(fill, "result")
        fill()
        return pn.Column(intro, alert, body, loading=result.param.busy, name=title,
                         sizing_mode="stretch_width")

    def __panel__(self):
        """Return the tabs, built once per view."""
        if self._tabs is None:
            builders = [self._validation_tab, self._bias_variance_tab, self._learning_tab,
                        self._coefficients_tab, self._residuals_tab]
            # Dynamic: a hidden tab is not even rendered, so its plots cost nothing.
            self._tabs = pmui.Tabs(
                *((title, self._tab(title, build)) for title, build in zip(
                    TABS, builders, strict=True)),
                dynamic=True, active=self.param.active, sizing_mode="stretch_width")
            self._tabs.param.watch(lambda event: setattr(self, "active", event.new), "active")
            self._page = pn.Column(pn.pane.Markdown(self._sample_note, margin=(0, 10)),
                                   self._tabs, sizing_mode="stretch_width")
        return self._page

    @param.depends("diagnostics.model.samples_")
    def _sample_note(self) -> str:
        """Say when the diagnostics use a subsample of large data."""
        m = self.model
        n_train, n_test = sample_sizes(m.n_train_, m.n_test_, MAX_POINTS)
        if n_train == m.n_train_:
            return ""
        return (f"With {m.n_train_ + m.n_test_:,} points, the diagnostics below use a random "
                f"{n_train:,} of the {m.n_train_:,} training points and {n_test:,} of the "
                f"{m.n_test_:,} test points, so each takes a second, not minutes.")


def _plots(left, right) -> pn.Row:
    # Unlinked: the two plots share dimension names (RMSE, y) but not their axes.
    return pn.Row(*(pn.pane.HoloViews(p, linked_axes=False, sizing_mode="stretch_width")
                    for p in (left, right)), sizing_mode="stretch_width")


# ---- plot callbacks: unpack a tab's result for diagnostic_plots ---------------


def _get(result, key):
    return None if result is None else result[key]


def _validation_plot(result):
    return plots.validation_curve(_get(result, "curve"), _get(result, "degree"))


def _alpha_plot(result):
    return plots.alpha_errors(_get(result, "path"), _get(result, "penalty") or "")


def _replicates_plot(result):
    return plots.replicate_fits(_get(result, "here"))


def _u_curve_plot(result):
    return plots.bias_variance_curve(_get(result, "by_degree"), "degree", _get(result, "degree"))


def _alpha_u_curve_plot(result):
    return plots.bias_variance_curve(_get(result, "by_alpha"), "alpha", _get(result, "alpha"))


def _learning_plot(result):
    return plots.learning_curve(_get(result, "curve"), _get(result, "noise_sd"))


def _coefficient_plot(result):
    return plots.coefficients(_get(result, "table"))


def _path_plot(result):
    return plots.regularization_path(_get(result, "path"))


def _residual_plot(result, against):
    return plots.residuals(_get(result, "table"), against)


def bias_variance_html(result) -> str:
    """Return the decomposition as an HTML table; closed forms beside a linear fit's."""
    if result is None:
        return "<p>Computing…</p>"
    here = result["here"]
    if here is None:
        return ("<p class='bv-setting'>Bias and variance need a known ground truth to draw "
                "fresh samples from: your own data have none. Choose a generated truth to "
                "see them.</p>")
    exact = here.exact_bias2 is not None
    rows = [
        ("bias²", "bias2", here.bias2, here.exact_bias2),
        ("variance", "variance", here.variance, here.exact_variance),
        ("noise σ²", "noise", here.noise, here.noise),
        ("bias² + variance + σ²", "total", here.total,
         here.exact_bias2 + here.exact_variance + here.noise if exact else None),
        ("measured test MSE", "measured", here.expected_mse, None),
    ]
    body = "".join(
        f"<tr class='{key}'><th>{as_text(name)}</th><td class='bv-{key}'>{value:.4g}</td>"
        + (f"<td class='bv-exact-{key}'>{'' if closed is None else f'{closed:.4g}'}</td>"
           if exact else "") + "</tr>"
        for name, key, value, closed in rows)
    head = "<th>from refits</th>" + ("<th>closed form</th>" if exact else "")
    alpha = "" if here.alpha is None else f", α = {here.alpha:.3g}"
    return (f"<table class='bias-variance'><thead><tr><th></th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
            f"<p class='bv-setting'>Degree {result['degree']}{alpha}, "
            f"R = {here.replicates} refits, averaged over x in the data's interval.</p>")
