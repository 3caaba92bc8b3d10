"""The lesson panel: a lesson's title, the step's text, Back and Next.

Entering a step (by Next, Back or a link) is the Explorer's: it applies the
step's settings as a link's and selects its tab (``Explorer.enter_step``).
This view shows the step and shows, hides or locks the sidebar's controls
(:func:`setting_widgets` finds them by their parameters' labels).  The
step's text is the teacher's Markdown, rendered with raw HTML off: a lesson
file cannot put markup, let alone script, into the page.
"""

from __future__ import annotations

from urllib.parse import urlencode

import panel as pn
import panel_material_ui as pmui
import param
from markdown_it import MarkdownIt

from ..lessons import Lesson, Step
from ..links import MODEL_SETTINGS
from .text import as_text

__all__ = ["LessonView", "markdown_html", "setting_widgets"]

#: CommonMark with tables; raw HTML is shown as text, and links to javascript:,
#: vbscript: or data: are refused (markdown-it's own link check).
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table")
#: Widgets that are no parameter's own, by their label, and the setting they change.
EXTRA_LABELS = {"Ground truth": "truth", "Alpha (log₁₀)": "alpha",
                "Resample": "data.random_state"}

LESSON_CSS = """
:host { border-left: 4px solid #1976d2; padding-left: 10px; }
.step-count { color: #555; font-size: 0.9em; margin: 0; }
"""


def markdown_html(text: str) -> str:
    r"""Return a teacher's Markdown as HTML, with any raw HTML in it shown as text.

    Examples
    --------
    >>> markdown_html("**Why?** <script>alert(1)</script>")
    '<p><strong>Why?</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\n'
    """
    return _MARKDOWN.render(text)


def _label(widget) -> str:
    # A field beside its slider shows the label as its placeholder only.
    return (getattr(widget, "label", None) or getattr(widget, "placeholder", None)
            or widget.name or "")


def setting_widgets(sections: list[pn.viewable.Viewable], model) -> dict[str, list]:
    """Return the widgets in ``sections`` by the setting each changes (link names)."""
    generator = model.data
    labels = {**EXTRA_LABELS,
              **{model.param[name].label: name for name in MODEL_SETTINGS},
              **{generator.param[name].label: f"data.{name}" for name in generator._inputs()}}
    found: dict[str, list] = {}
    for section in sections:
        for widget in section.select(lambda o: hasattr(o, "disabled") and hasattr(o, "visible")):
            name = labels.get(_label(widget))
            if name is not None:
                found.setdefault(name, []).append(widget)
    return found


class LessonView(pn.viewable.Viewer):
    """A lesson's current step, with Back and Next; ``on_step`` enters a step."""

    lesson = param.Parameter(allow_refs=False, doc="The lesson shown (a Lesson).")

    step = param.Integer(default=1, bounds=(1, None), label="Step",
                         doc="The step shown, counted from 1.")

    on_step = param.Callable(doc="Called with the Step to enter, after ``step`` changed.")

    def __init__(self, **params):
        super().__init__(**params)
        lesson: Lesson = self.lesson
        self.param.step.bounds = (1, len(lesson.steps))
        self._count = pn.pane.HTML("", stylesheets=[LESSON_CSS], margin=(0, 10))
        self._title = pn.pane.Markdown("", margin=(0, 10))
        self._text = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 10))
        self.back = pmui.Button(label="Back", description="The step before",
                                variant="outlined", on_click=lambda _: self._move(-1))
        self.next = pmui.Button(label="Next", description="The next step",
                                on_click=lambda _: self._move(1))
        heading = pn.pane.Markdown(f"### {as_text(lesson.title)}", margin=(0, 10))
        about = pn.pane.Markdown(as_text(lesson.description), margin=(0, 10),
                                 visible=bool(lesson.description))
        self._view = pn.Column(heading, about, self._count, self._title, self._text,
                               pn.Row(self.back, self.next), stylesheets=[LESSON_CSS],
                               sizing_mode="stretch_width")
        self._hidden: dict = {}
        self._locked: dict = {}
        self._show_step()

    @property
    def current(self) -> Step:
        """The step shown."""
        return self.lesson.steps[self.step - 1]

    @property
    def link(self) -> str:
        """The lesson and step as a link's query: ``lesson=…&step=k``."""
        return urlencode([("lesson", self.lesson.name), ("step", self.step)])

    def _move(self, by: int):
        self.step = min(max(self.step + by, 1), len(self.lesson.steps))

    @param.depends("step", watch=True)
    def _entered(self):
        self._show_step()
        if self.on_step is not None:
            self.on_step(self.current)

    def _show_step(self):
        step, count = self.current, len(self.lesson.steps)
        self._count.object = f"<p class='step-count'>Step {self.step} of {count}</p>"
        self._title.object = f"#### {as_text(step.title)}"
        self._text.object = markdown_html(step.text)
        self.back.disabled = self.step == 1
        self.next.disabled = self.step == count

    def show_controls(self, sections: list, model, only_used: bool = False):
        """Show only the step's controls (all without ``show``) and lock its ``lock`` ones.

        With ``only_used`` (the presenter view) a step without ``show`` shows
        the controls of the settings it names.

        What an earlier step hid or locked is restored first.  A section with
        no control left (the data's, when only the degree is shown) is hidden
        whole, and so is a collapsible group such as the noise lab.
        """
        self.restore_controls()
        step, widgets = self.current, setting_widgets(sections, model)
        show = step.show
        if show is None and only_used:
            show = tuple(step.settings)
        for name, group in widgets.items():
            for widget in group:
                if show is not None and name not in show:
                    self._hide(widget)
                if name in step.lock:
                    self._locked[widget] = widget.disabled
                    widget.disabled = True
        if show is not None:
            shown = {w for name, group in widgets.items() if name in show for w in group}
            for section in sections:
                for group in [section, *section.select(pmui.Accordion)]:
                    if not shown & set(_settings_in(group, widgets)):
                        self._hide(group)

    def restore_controls(self):
        """Show and unlock what this view hid or locked."""
        for widget, visible in self._hidden.items():
            widget.visible = visible
        for widget, disabled in self._locked.items():
            widget.disabled = disabled
        self._hidden, self._locked = {}, {}

    def _hide(self, viewable):
        self._hidden.setdefault(viewable, viewable.visible)
        viewable.visible = False

    def __panel__(self):
        """Return the lesson's panel."""
        return self._view


def _settings_in(layout, widgets: dict[str, list]) -> list:
    """Return the setting widgets found inside ``layout``."""
    inside = {id(o) for o in layout.select(lambda o: hasattr(o, "disabled"))}
    return [w for group in widgets.values() for w in group if id(w) in inside]
