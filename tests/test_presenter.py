"""The presenter view in process: its place in the link, the controls it shows, its sizes."""

from __future__ import annotations

import panel as pn

from polyfit_explorer import Explorer
from polyfit_explorer.links import query_of
from polyfit_explorer.views.explorer import PRESENTER_FONT
from polyfit_explorer.views.lesson import setting_widgets


def _page():
    explorer = Explorer()
    explorer.__panel__()
    sections = [control.__panel__() for control in explorer.controls[:2]]
    return explorer, sections


def _visible(explorer, sections) -> set[str]:
    widgets = setting_widgets(sections, explorer.model)
    return {name for name, group in widgets.items()
            if all(w.visible for w in group)
            and all(section.visible for section in sections if _holds(section, group))}


def _holds(section, widgets) -> bool:
    inside = {id(o) for o in section.select(lambda o: hasattr(o, "disabled"))}
    return any(id(w) in inside for w in widgets)


def test_the_presenter_view_is_part_of_the_link():
    explorer, _ = _page()
    explorer.present = True
    assert explorer.state == f"{query_of(explorer)}&present=1"
    explorer.open_lesson("overfitting", 2)
    assert explorer.state.endswith("&lesson=overfitting&step=2&present=1")
    explorer.present = False
    assert explorer.state.endswith("&lesson=overfitting&step=2")


def test_presenting_a_step_shows_the_controls_it_uses_and_no_downloads():
    explorer, sections = _page()
    everything = _visible(explorer, sections)
    downloads = explorer.controls[2].__panel__()
    explorer.open_lesson("overfitting", 4)  # the validation curve: no ``show``, sets degree
    assert _visible(explorer, sections) == everything  # a step without show shows all
    explorer.present = True
    assert _visible(explorer, sections) == {"degree"}
    assert not downloads.visible
    step_text = explorer.lesson._text
    assert step_text.styles["font-size"] == PRESENTER_FONT
    assert all(pane.styles["font-size"] == PRESENTER_FONT
               for pane in explorer._texts.select(pn.pane.Markdown))
    explorer.lesson.next.clicks += 1  # "More data": show [degree, data.n_samples]
    assert _visible(explorer, sections) == {"degree", "data.n_samples"}
    explorer.present = False
    assert _visible(explorer, sections) == {"degree", "data.n_samples"}  # the step's show
    assert downloads.visible
    assert step_text.styles["font-size"] is None  # which the browser clears


def test_presenting_without_a_lesson_keeps_every_control():
    explorer, sections = _page()
    everything = _visible(explorer, sections)
    explorer.present = True
    assert _visible(explorer, sections) == everything
    assert {"degree", "data.noise_sd"} <= everything
    assert not explorer.controls[2].__panel__().visible
