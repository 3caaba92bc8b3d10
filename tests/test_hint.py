"""The hint under the scores: the verdict of the current state, computed off the event loop."""


import pytest

from polyfit_explorer import Explorer
from polyfit_explorer.diagnostics import Snapshot, verdict
from polyfit_explorer.views import live
from polyfit_explorer.views.diagnostics import MAX_POINTS
from polyfit_explorer.views.hint import CHECKING
from polyfit_explorer.views.text import as_text


def expected(explorer: Explorer) -> str:
    """The hint's text for the explorer's current state, as computed from scratch."""
    snap = Snapshot.of(explorer.model, max_points=MAX_POINTS)
    return as_text(verdict(snap, max_degree=explorer.diagnostics.diagnostics.max_degree).text)


def shows_verdict(explorer: Explorer, kind: str) -> bool:
    html = explorer.hint.pane.object
    return (f"<p class='hint {kind}' data-state='{as_text(explorer.state)}'>" in html
            and expected(explorer) in html)


@pytest.fixture
def in_place(monkeypatch):
    monkeypatch.setattr(live, "dispatcher", lambda: None)


def test_the_hint_shows_the_verdict_of_each_state(in_place):
    explorer = Explorer()
    explorer.model.degree = 1
    assert shows_verdict(explorer, "under")
    assert "cross&#45;validated RMSE" in explorer.hint.pane.object
    assert "Based on cross&#45;validation" in explorer.hint.pane.object
    explorer.model.degree = 9
    assert shows_verdict(explorer, "balanced")
    assert "hint" not in explorer.scores.pane.object  # its own pane: the table is not redrawn


def test_the_verdict_is_computed_whatever_tab_is_shown(in_place):
    explorer = Explorer()
    explorer.diagnostics.active = 1  # bias and variance
    explorer.model.degree = 1
    assert shows_verdict(explorer, "under")


def test_the_hint_waits_for_the_verdict_of_the_new_state(event_queue):
    queue = event_queue
    explorer = Explorer()
    assert as_text(CHECKING) in explorer.hint.pane.object
    queue.run()  # starts the worker
    queue.run()  # its result
    assert shows_verdict(explorer, "under")  # degree 3

    explorer.model.degree = 9
    assert "data-state=''" in explorer.hint.pane.object  # no verdict of degree 3 as current
    assert as_text(CHECKING) in explorer.hint.pane.object
    queue.run()
    queue.run()
    assert shows_verdict(explorer, "balanced")

    # Points edited by hand leave the link, and so the state's name, as it was.
    state, data = explorer.state, explorer.model.data.data
    explorer.model.data.set_points(data.x.to_numpy(), data.y.to_numpy() * 0 + 1.0,
                                   list(data.index))
    assert explorer.state == state
    assert as_text(CHECKING) in explorer.hint.pane.object
    queue.run()
    queue.run()
    assert "data-state=''" not in explorer.hint.pane.object
