"""The Explorer's diagnostics tabs, each declared once in :data:`TABS`.

A tab is a title, an introduction, what it computes (in a worker thread,
see :mod:`.live`), the diagnostics settings it depends on (and shows), its
figures and an optional table.  Its figures are built from its first result
and then updated by writing their data sources (:class:`.figure.Figure`):
a result costs what it computes, not a rebuilt plot.  Adding a tab is one
entry of :data:`TABS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import holoviews as hv
import numpy as np
import panel as pn
import panel_material_ui as pmui
import param

from .. import diagnostic_plots as plots
from .. import diagnostics
from ..diagnostics import Diagnostics, Snapshot, sample_sizes
from ..model import CV_MAX_POINTS, PENALTIES
from .controls import TYPED, controls
from .figure import Figure
from .live import LiveResult
from .text import as_text

__all__ = ["TABS", "VERDICT_TAB", "DiagnosticsView", "Tab", "bias_variance_html"]

PENALTY_NAMES = {value: name for name, value in PENALTIES.items()}
#: The tabs diagnose at most this many training points, a random subsample of
#: larger data: the OLS U-curve took 28 s at 800,000 training points.
MAX_POINTS = CV_MAX_POINTS


@dataclass(frozen=True)
class Tab:
    """One diagnostics tab: what it says, computes, depends on and shows.

    ``compute`` takes ``(snapshot, settings)`` and runs in a worker thread, so
    it must not touch the models; ``figures`` and ``table`` take its result.
    """

    title: str
    intro: str
    compute: Callable[[tuple], dict]
    settings: tuple[str, ...]
    figures: tuple[Callable[[dict], plots.Shown], ...]
    table: Callable[[dict], str] | None = None
    #: Computed after every change whatever tab is shown, not only while shown.
    always_live: bool = False


# ---- what each tab computes (in a worker thread) ------------------------------


def _validation(inputs) -> dict:
    snap, settings = inputs
    top = settings["max_degree"]
    # The verdict needs the curve at the fit's degree too, which may lie beyond the figure's.
    curve = diagnostics.validation_curve(snap, max(top, snap.degree))
    return {"curve": curve[curve["degree"] <= top], "verdict": diagnostics.verdict(snap, curve),
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


# ---- the bias-variance table ---------------------------------------------------

BIAS_VARIANCE_CSS = """
table.bias-variance { border-collapse: collapse; font-size: 1.02em; }
table.bias-variance th, table.bias-variance td { padding: 0.2em 1em 0.2em 0; text-align: right; }
table.bias-variance th { text-align: left; font-weight: normal; }
table.bias-variance td { font-variant-numeric: tabular-nums; }
table.bias-variance tr.total td, table.bias-variance tr.total th { border-top: 1px solid #999; }
"""


def bias_variance_html(result) -> str:
    """Return the decomposition as an HTML table: the refits' numbers, and closed forms.

    The refits' bias² is bias-corrected (:attr:`~.diagnostics.BiasVariance.refit_bias2`);
    the closed forms exist for least squares and Ridge only.
    """
    if result is None:
        return "<p>Computing…</p>"
    here = result["here"]
    if here is None:
        return ("<p class='bv-setting'>Bias and variance need a known ground truth to draw "
                "fresh samples from: your own data have none. Choose a generated truth to "
                "see them.</p>")
    exact = here.exact_bias2 is not None
    rows = [
        ("bias²", "bias2", here.refit_bias2, here.exact_bias2),
        ("variance", "variance", here.refit_variance, here.exact_variance),
        ("noise σ²", "noise", here.noise, here.noise),
        ("bias² + variance + σ²", "total", here.refit_bias2 + here.refit_variance + here.noise,
         here.exact_bias2 + here.exact_variance + here.noise if exact else None),
        ("expected MSE on new data (refits)", "measured", here.expected_mse, None),
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
            f"R = {here.replicates} refits, averaged over x in the data's interval. "
            "The refits' bias² is their mean fit's squared distance from E[y|x] less "
            "variance / R, by which the mean of R fits still scatters.</p>")


#: The tab whose result holds the verdict (see ``_validation``).
VERDICT_TAB = "Validation curve"

#: The tabs, in their order on the page.
TABS = (
    Tab("Validation curve",
        "Train, test and 5-fold cross-validated error at every degree, for the current data "
        "and penalty. Training error only falls as the degree grows; the test and "
        "cross-validated errors fall, then rise once the fit follows the noise. "
        "**Click a degree** to fit it. With a penalty, the second plot shows the errors "
        "against alpha: dashed, the alpha of the lowest CV error; dotted, the one-SE "
        "choice (the largest alpha within one standard error of it).",
        _validation, ("max_degree",),
        (lambda r: plots.validation_curve(r["curve"], r["degree"]),
         lambda r: plots.alpha_errors(r["path"], r["penalty"])),
        # Its result holds the verdict the scores card shows after every change.
        always_live=True),
    Tab("Bias & variance",
        "The truth is known, so the model is refitted to R fresh samples: the same x, fresh "
        "noise. **Bias²** is how far their mean fit is from E[y|x]; **variance** is how much "
        "they scatter around it. Together with the noise σ² they add up to the **expected "
        "error on new data**, measured here too: the refits' error on fresh noisy y, averaged "
        "over x and over the refits. It is not the score table's test MSE, which is the "
        "error on this one test split. A cross-validated alpha is held at the model's "
        "choice for every refit.",
        _bias_variance, ("replicates", "seed", "max_degree"),
        (lambda r: plots.replicate_fits(r["here"]),
         lambda r: plots.bias_variance_curve(r["by_degree"], "degree", r["degree"]),
         lambda r: plots.bias_variance_curve(r["by_alpha"], "alpha", r["alpha"])),
        bias_variance_html),
    Tab("Learning curve",
        "The current model fitted to the first m training points, for growing m. A gap "
        "between train and test error that closes with more data is variance; errors that "
        "level off above the noise σ are bias.",
        _learning, (),
        (lambda r: plots.learning_curve(r["curve"], r["noise_sd"]),)),
    Tab("Coefficients",
        "Left: the fitted polynomial's coefficients of xᵏ (of the scaled tᵏ, as the title "
        "says, where those of x cannot reproduce the fit), next to the truth's when the "
        "truth is a polynomial; hollow circles are powers LASSO set to exactly 0. Right: "
        "the coefficients of the standardized powers, which the penalty shrinks, against "
        "alpha; the dashed line is the model's alpha.",
        _coefficients, (),
        (lambda r: plots.coefficients(r["table"]),
         lambda r: plots.regularization_path(r["path"]))),
    Tab("Residuals",
        "Residuals y − ŷ. Structure in them (a curve, a funnel) is signal the model missed; "
        "noise looks like an even band around 0.",
        _residuals, (),
        (lambda r: plots.residuals(r["table"], "x"),
         lambda r: plots.residuals(r["table"], "y_pred"))),
)


class TabView(pn.viewable.Viewer):
    """One tab: its introduction, error, figures, table and settings, shown from a LiveResult."""

    on_screen = param.Boolean(
        default=True, label="On screen",
        doc="Whether the tab is shown. A hidden tab's result (the validation curve's is "
            "computed after every change, for the verdict) is drawn once it is shown, so "
            "a hidden tab sends the browser nothing.")

    def __init__(self, tab: Tab, result: LiveResult, settings: pn.viewable.Viewable,
                 on_tap=None, **params):
        super().__init__(**params)
        self.tab, self.result, self._settings, self._on_tap = tab, result, settings, on_tap
        self.figures: list[Figure] = []
        self._table = self._drawn = None
        #: Says what a figure with nothing to show (no penalty, no alpha) would show.
        self._note = pn.pane.Markdown("", visible=False, sizing_mode="stretch_width",
                                      margin=(0, 10))
        alert = pmui.Alert(object=result.param.error.rx.pipe(as_text), severity="error",
                           visible=result.param.error.rx.bool(), sizing_mode="stretch_width")
        intro = pn.pane.Markdown(tab.intro, sizing_mode="stretch_width", margin=(0, 10))
        # The spinner covers the figures only, from when the worker starts (after the
        # change that started it has been sent) until its result is drawn.
        self._body = pn.Column(pn.pane.Markdown("Computing…"), loading=result.param.busy,
                               sizing_mode="stretch_width")
        self._view = pn.Column(intro, alert, self._body, name=tab.title,
                               sizing_mode="stretch_width")
        result.param.watch(self._show, "result")
        # A new stamp alone (a change no diagnostic depends on) only re-tags.
        result.param.watch(lambda event: self.figures and self._stamp(), "shown")
        self.param.watch(self._show, "on_screen")
        self._show()

    def _show(self, *events):
        result = self.result.result
        if result is None or not self.on_screen or result is self._drawn:
            return
        self._drawn = result
        shown = [figure(result) for figure in self.tab.figures]
        if self.figures:
            for figure, part in zip(self.figures, shown, strict=True):
                figure.update(part.layers, part.ranges, part.title)
            if self._table is not None:
                self._table.object = self.tab.table(result)
            self._show_notes(shown)
            self._stamp()
            return
        # Built from the first result: Bokeh fails to measure a log axis drawn
        # without data ("Cannot read properties of undefined (reading 'top_panel')").
        self.figures = [Figure(part.layers, part.ranges, title=part.title,
                               **{**plots.OPTIONS, "legend_cols": plots.LEGEND_COLUMNS,
                                  **part.options})
                        for part in shown]
        # Hidden by their holders: a HoloViews pane's own visible is synced onto
        # the Bokeh figure with Panel's design, which Bokeh refuses (Panel 1.9).
        self._holders = [pn.Column(figure, sizing_mode="stretch_width")
                         for figure in self.figures]
        if self._on_tap is not None:
            tap = hv.streams.Tap(source=self.figures[0].layers["cv"], x=None, y=None)
            tap.add_subscriber(self._on_tap)
        self._body[:] = self._layout(result)
        self._show_notes(shown)
        self._stamp()

    def _show_notes(self, shown: list[plots.Shown]):
        """Hide the figures with nothing to show; one line of text says why.

        Hidden, not removed: the figure keeps its Bokeh models and is patched
        like the others, so showing it again draws no new plot (a log-axis plot
        rebuilt in the browser failed, see ``DiagnosticsView.__panel__``).
        """
        for holder, part in zip(self._holders, shown, strict=True):
            holder.visible = not part.note
        notes = " ".join(part.note for part in shown if part.note)
        self._note.param.update(object=notes, visible=bool(notes))

    def _stamp(self):
        """Tag the first figure's first layer with the state its result was computed for.

        The browser tests compare it with the fit's (``testing.SETTLED``).
        """
        figure = self.figures[0]
        figure.tag(next(iter(figure.layers)), f"diagnostics {self.result.shown}")

    def _layout(self, result) -> list:
        """Figures in pairs; the table and the settings beside an odd one out, or below."""
        holders = self._holders
        rows = [pn.Row(*holders[i:i + 2], sizing_mode="stretch_width")
                for i in range(0, len(holders) - len(holders) % 2, 2)]

        side = [self._settings]
        if self.tab.table is not None:
            self._table = pn.pane.HTML(self.tab.table(result), stylesheets=[BIAS_VARIANCE_CSS],
                                       sizing_mode="stretch_width")
            side.insert(0, self._table)
        if len(self.figures) % 2:
            rows += [pn.Row(pn.Column(*side, width=420), holders[-1],
                            sizing_mode="stretch_width"), self._note]
        else:
            rows += [self._note, *side]
        return rows

    def __panel__(self):
        """Return the tab's column."""
        return self._view


class DiagnosticsView(pn.viewable.Viewer):
    """Tabs of diagnostics of a :class:`Diagnostics`' model, each live while shown.

    The validation curve is live whatever tab is shown: its result holds the
    verdict (:attr:`verdict`).

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
        doc="Index of the tab on screen; only its diagnostic is computed, and the "
            "validation curve's, which holds the verdict on the fit.")

    on_error = param.Callable(
        default=None, label="On error",
        doc="Called with the InvalidValue of a refused setting (a seed typed wrong); "
            "None raises it.")

    stamp = param.Callable(
        default=str, label="Stamp",
        doc="Returns the name of the state a result is computed for (the Explorer's link "
            "query); its figures are tagged with it.")

    def __init__(self, **params):
        if params.get("diagnostics") is None:
            params["diagnostics"] = Diagnostics()
        super().__init__(**params)
        self.results = {tab.title: LiveResult(tab.compute, self._read, self._stamp)
                        for tab in TABS}
        self.diagnostics.model.param.watch(self._model_changed, "estimator_")
        for tab in TABS:
            if tab.settings:
                self.diagnostics.param.watch(self.results[tab.title].invalidate,
                                             list(tab.settings))
        self.tabs = {tab.title: TabView(
            tab, self.results[tab.title], self._settings(tab.settings),
            on_tap=self.set_degree if tab.title == "Validation curve" else None)
            for tab in TABS}
        self._view = None
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

    def _stamp(self) -> str:
        return self.stamp()

    def restamp(self):
        """Name the results after the current state: a change none of them depends on."""
        for result in self.results.values():
            result.restamp()

    def _model_changed(self, *events):
        for result in self.results.values():
            result.invalidate()

    @property
    def verdict(self) -> LiveResult:
        """The live result whose ``result["verdict"]`` is the fit's :class:`~.verdict.Verdict`."""
        return self.results[VERDICT_TAB]

    @param.depends("active", watch=True)
    def _show(self):
        for index, tab in enumerate(TABS):
            self.tabs[tab.title].on_screen = index == self.active
            self.results[tab.title].active = index == self.active or tab.always_live

    def set_degree(self, x=None, **_):
        """Fit the degree nearest to ``x``: the validation curve's tap handler."""
        if x is None or not np.isfinite(x):
            return
        self.model.degree = int(np.clip(round(x), 0, self.diagnostics.max_degree))

    def _settings(self, names) -> pn.Column:
        return pn.Column(*controls(self.diagnostics, list(names), self.on_error, TYPED),
                         sizing_mode="stretch_width")

    def __panel__(self):
        """Return the sample note and the tabs, built once per view."""
        if self._view is None:
            # Not dynamic: a dynamic tab is rendered again each time it is shown, and
            # Bokeh then failed to lay out its figures ("Cannot read properties of
            # undefined (reading 'top_panel')").  A hidden tab costs little anyway: it
            # computes nothing (but the validation curve, for the verdict), and its
            # figures are built when its first result comes.
            tabs = pmui.Tabs(*((title, view) for title, view in self.tabs.items()),
                             dynamic=False, active=self.param.active,
                             sizing_mode="stretch_width")
            tabs.param.watch(lambda event: setattr(self, "active", event.new), "active")
            self._view = pn.Column(pn.pane.Markdown(self._sample_note, margin=(0, 10)),
                                   tabs, sizing_mode="stretch_width")
        return self._view

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
