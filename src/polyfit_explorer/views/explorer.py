"""Explorer: the app's page over a RegressionModel, composed of the views of this package.

The Explorer owns what joins the views: the ground-truth choice, the
message shown for a refused value, the link in the page's URL, and the one
update that follows every change of the model (:meth:`Explorer._show`).
"""

from __future__ import annotations

import logging
import weakref
from urllib.parse import parse_qsl, urlencode

import panel as pn
import panel_material_ui as pmui
import param

from .. import lessons, workarounds
from ..data import ground_truths, title
from ..diagnostics import Diagnostics
from ..lessons import Lesson, LessonError, Step
from ..links import apply_query, query_of
from ..model import SETTINGS, RegressionModel
from ..parameters import InvalidValue, UpdateFailed, quoted, where
from .data_controls import DataControls
from .data_plot import DataPlot
from .diagnostics import DiagnosticsView
from .downloads import Downloads
from .hint import VerdictHint
from .lesson import LessonView
from .live import dispatcher
from .model_controls import ModelControls
from .prediction_plot import PredictionPlot
from .scores import ScoresCard
from .text import as_text

__all__ = ["Explorer"]

log = logging.getLogger(__name__)

#: The model's results whose change the plots and scores show.
OUTPUTS = ("samples_", "estimator_")
#: A link's keys that open a lesson at a step (``?lesson=overfitting&step=2``) and
#: the presenter view (``&present=1``): the page's, not the model's.
LESSON_KEYS = ("lesson", "step", "present")
#: How much larger the presenter view draws the plots' text, lines and markers.
PRESENTER_SCALE = 1.5
#: The font size of the page's text panes (headings, the lesson, the scores, the
#: hint) in the presenter view.  Set on each pane: a font size set on a layout
#: around them does not reach them, as each pane's own stylesheet sets its
#: host's size; and CSS zoom on the sidebar cut its text off at the sidebar's
#: edge (Panel sizes the panes in unzoomed pixels).
PRESENTER_FONT = "1.4em"


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

    present = param.Boolean(
        default=False, label="Presenter view",
        doc="For a projector: larger text, lines and plots, the data plot alone and "
            "taller, no downloads, and with a lesson only the step's controls.")

    message = param.String(
        default="", label="Message",
        doc="Why the last change was refused; empty once a later change succeeds.")

    def __init__(self, **params):
        if params.get("model") is None:
            params["model"] = RegressionModel()
        super().__init__(**params)
        generator = self.model.data
        self._generators = {title(type(generator)): generator}
        self.param.truth.objects = list(dict.fromkeys([*ground_truths(), self._current_title]))
        self.truth = self._current_title
        self._page = self._location = self.controls = None
        self._sidebar_column = self._texts = None  # the page's, built with it
        #: The open lesson's panel, or None; its slot heads the sidebar.
        self.lesson: LessonView | None = None
        self._lesson_slot = pn.Column(sizing_mode="stretch_width")
        self.state = self._query()
        # Edits by mouse need an event loop to come back on: a server or a notebook.
        self.data_plot = DataPlot(self._on_error, editing=dispatcher() is not None,
                                  model=self.model)
        self.prediction_plot = PredictionPlot(model=self.model)
        self.scores = ScoresCard(model=self.model)
        # What the first page shows is of these settings, until a change.
        self.data_plot.figure.tag("fit", self.state)
        self.scores.update(self.state)
        # Before the diagnostics' own watchers: they read the state this one writes.
        self.model.param.watch(self._show, [*OUTPUTS, *SETTINGS])
        self.param.watch(self._show, "truth")
        self.diagnostics = DiagnosticsView(diagnostics=Diagnostics(model=self.model),
                                           on_error=self._on_error,
                                           stamp=lambda: self.state)
        self.hint = VerdictHint(result=self.diagnostics.verdict)
        self.hint.update(self.state, refit=False)

    @property
    def _current_title(self) -> str:
        return title(type(self.model.data))

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

    # ---- the one update after a change ------------------------------------------

    def _show(self, *events):
        """Show the model's new results, then the settings they belong to.

        One hold, so the page gets one message; the fit's data come first,
        as the fit is what a moved slider is waited for, and the text that
        makes the browser lay out the page again (scores, message) last.
        A setting that changes no result (alpha while it is cross-validated)
        only updates the link.
        """
        names = {event.name for event in events}
        state = self._query()
        if not names & set(OUTPUTS) and state == self.state:
            return
        self.state = state
        if not names & set(OUTPUTS):  # nothing the diagnostics depend on changed
            self.diagnostics.restamp()
        with pn.io.hold():
            try:
                self._show_results(names)
            except Exception as error:  # a subclass's method failing in a view
                # The model is fine and keeps the change; the plots keep what they showed.
                self._on_error(error)
                return
            self.data_plot.figure.tag("fit", state)
            self.scores.update(state)
            self.hint.update(state, refit=bool(names & set(OUTPUTS)))
            if "estimator_" in names:
                self.message = ""
            if self._location is not None:
                # At once, not later: a write timed after the change could reach a page
                # that had closed meanwhile, which Panel logs as an unretrieved error.
                self._location.search = "?" + state

    def _show_results(self, names: set[str]):
        if not names & set(OUTPUTS):
            return
        self.data_plot.refit()
        if "samples_" in names:
            self.prediction_plot.resample()
        self.prediction_plot.refit()
        if "samples_" in names:
            self.data_plot.resample()

    def _on_error(self, exception: BaseException):
        """Show why a change failed; the models kept their previous, valid state.

        A refused value is the user's and is only shown.  A failure of code (a
        subclass's ``ground_truth`` raising) is also logged, as one line naming
        the exception and where it was raised: the models rolled back and the
        plots kept their last state, so a traceback would only hide it.
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

    # ---- lessons ------------------------------------------------------------------

    def _query(self) -> str:
        """Return the link of what is shown: the settings, then the open lesson's step."""
        query = query_of(self)
        if self.lesson is not None:
            query += f"&{self.lesson.link}"
        return query + "&present=1" if self.present else query

    def open_lesson(self, lesson: Lesson | str, step: int = 1):
        """Open a lesson (or a lesson's name) at ``step``, counted from 1, and enter it."""
        if isinstance(lesson, str):
            lesson = lessons.find(lesson)
        if not 1 <= step <= len(lesson.steps):
            raise ValueError(f"step must be from 1 to {len(lesson.steps)}; got {step}.")
        if self.lesson is not None:
            self.lesson.restore_controls()
        self.lesson = LessonView(lesson=lesson, step=step, on_step=self.enter_step)
        self._lesson_slot[:] = [self.lesson]
        if self.controls is not None:
            self._size_text()
        self.enter_step(self.lesson.current)

    def enter_step(self, step: Step):
        """Set the step's settings, as a link does, and show its controls and tab.

        The step's query holds every setting, so each step is one whole
        state whichever way it is entered; hand edits and excluded points go.
        A refused value (which checking the file rules out, but for an order
        the state before refuses, such as an x min above the old x max, so a
        refusal is applied again) becomes the message.
        """
        with pn.io.hold():
            if self.model.data.edited:
                self.model.data.param.trigger("reset")
            self.model.excluded = []
            problems = apply_query(self, step.query)
            if problems:
                problems = apply_query(self, step.query)
            self.message = " ".join(problems)
            if step.tab is not None:
                self.diagnostics.active = lessons.TAB_TITLES.index(step.tab)
            self._show_lesson_controls()
            self._show()  # the step is part of the link even when no setting changed

    def _show_lesson_controls(self):
        if self.lesson is not None and self.controls is not None:
            self.lesson.show_controls([c.__panel__() for c in self.controls[:2]], self.model,
                                      only_used=self.present)

    @param.depends("present", watch=True)
    def _presenting(self):
        """Switch the presenter view: sizes, the step's controls only, the link."""
        self._size_plots()
        if self.controls is not None:
            self._size_text()
            self.controls[2].__panel__().visible = not self.present  # the downloads
            # The data plot takes the whole width: its enlarged title fits at 1280 px.
            self.prediction_plot.__panel__().visible = not self.present
        self._show_lesson_controls()
        self._show()

    def _size_text(self):
        """Give the page's text panes the presenter view's font size, or their own."""
        panes = [pane for column in (self._sidebar_column, self._texts)
                 for pane in column.select(_is_text)]
        for pane in panes:
            # None, not a missing key: Bokeh's browser side never clears a style left out.
            font = PRESENTER_FONT if self.present else None
            if pane.styles.get("font-size") != font:
                pane.styles = {**pane.styles, "font-size": font}

    def _size_plots(self):
        scale = PRESENTER_SCALE if self.present else 1.0
        for figure in (self.data_plot.figure, self.prediction_plot.figure):
            figure.enlarge(scale)

    def _loaded(self, location):
        """Once the page is loaded: the link in its URL, and the presenter view's plot sizes."""
        location.search = "?" + self.state
        if self.present:
            self._size_plots()

    def _open_linked_lesson(self, values: dict[str, str]) -> list[str]:
        """Open the lesson a link names; return why not, if it is not opened."""
        try:
            lesson = lessons.find(values["lesson"])
        except LessonError as error:
            return [f"{error} The app opened without a lesson."]
        text, count = values.get("step", "1"), len(lesson.steps)
        step = int(text) if text.isdigit() and 1 <= int(text) <= count else None
        self.open_lesson(lesson, step or 1)
        if step is None:
            return [f"Ignored step {quoted(text)} from the link: the lesson's steps are "
                    f"1 to {count}. Opened step 1."]
        return []

    # ---- the page -----------------------------------------------------------------

    def _link_to_url(self):
        """Keep the settings in the page's URL, and apply those of the URL it opened with."""
        location, doc = pn.state.location, pn.state.curdoc
        if location is None or doc is None or doc.session_context is None:
            return
        pairs = parse_qsl(location.search.lstrip("?"), keep_blank_values=True)
        values = dict(pairs)
        problems = self._open_linked_lesson(values) if "lesson" in values else []
        present = values.get("present", "0")
        self.present = present == "1"
        if present not in ("0", "1"):
            problems.append(f"Ignored present {quoted(present)} from the link: 1 shows the "
                            "presenter view, 0 does not.")
        if self.lesson is None:  # a lesson's step sets every setting itself
            problems += apply_query(
                self, urlencode([(k, v) for k, v in pairs if k not in LESSON_KEYS]))
        self._location = location
        # Earlier, the page's own URL would overwrite it.
        pn.state.onload(lambda: self._loaded(location))
        if problems:
            self.message = " ".join(problems)

    def _sidebar(self) -> pn.Column:
        message = pmui.Alert(
            object=self.param.message.rx.pipe(as_text), severity="error",
            visible=self.param.message.rx.bool(), sizing_mode="stretch_width")
        self.controls = [
            DataControls(model=self.model, truth=self.param.truth, on_error=self._on_error),
            ModelControls(model=self.model, on_error=self._on_error),
            Downloads(model=self.model)]
        switch = pmui.Switch.from_param(self.param.present, description=self.param.present.doc)
        self._sidebar_column = pn.Column(switch, self._lesson_slot, message, *self.controls,
                                         sizing_mode="stretch_width")
        return self._sidebar_column

    def _main(self) -> list:
        plots = pn.Row(self.data_plot, self.prediction_plot, sizing_mode="stretch_width")
        self._texts = pn.Column(self.scores, self.hint, "### Why does it fit like this?",
                                sizing_mode="stretch_width")
        return [plots, self._texts, self.diagnostics]

    def __panel__(self):
        """Return the app's page, built once per Explorer."""
        # Session-local in a server: refused values become a message, not a
        # traceback.  A notebook has one global config, so there the Explorer
        # displayed last shows the messages of all.  Held weakly: Panel keeps a
        # session's config while the session's document lives, and a handler
        # bound to the Explorer reaches that document, so neither was ever freed.
        pn.config.exception_handler = _weakly(self._on_error)
        workarounds.install()
        if self._page is None:
            self._link_to_url()
            self._page = pmui.Page(
                title="polyfit explorer: polynomial regression, live",
                sidebar=[self._sidebar()], main=self._main(), sidebar_width=360,
                busy_indicator=None)
            workarounds.quiet_busy_bar(self._page)
            self._presenting()
            if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
                pn.state.on_session_destroyed(self._release)
        return self._page

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Return the page for a notebook, its comm able to apply changes sent before it drew."""
        workarounds.install(notebook=True)
        return workarounds.comm_before_render(super()._repr_mimebundle_(include, exclude))

    def _release(self, session_context):
        """Clean up the page when its server session ends (see ``workarounds.release``).

        The widgets of ground truths shown earlier are no longer on the page
        and are cleaned up too.
        """
        workarounds.release(self._page, also=list(self.controls[0].shown.values()))


def _is_text(viewable) -> bool:
    return isinstance(viewable, pn.pane.HTML | pn.pane.Markdown)


def _weakly(method):
    """Return a function that calls ``method`` while its object lives, without keeping it."""
    reference = weakref.WeakMethod(method)

    def call(*args, **kwargs):
        bound = reference()
        return None if bound is None else bound(*args, **kwargs)

    return call
