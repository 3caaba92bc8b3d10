"""What keeps a change quick on the server: one model walk per change, diagnostics after it."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import panel_material_ui as pmui
import pytest
import pyviz_comms
from bokeh.document import Document
from bokeh.document.models import DocumentModelManager
from bokeh.models import ColumnDataSource
from panel.io.model import add_to_doc
from panel.io.state import set_curdoc

from polyfit_explorer import DataGenerator, RegressionModel, diagnostic_views
from polyfit_explorer.app import Explorer, _frozen
from polyfit_explorer.diagnostic_views import WORKER_DELAY_S, LiveResult


@pytest.fixture
def page(monkeypatch):
    """The whole page in a Bokeh document, as a server holds it, with no diagnostics."""
    monkeypatch.setattr(LiveResult, "refresh", lambda self: None)
    explorer = Explorer(model=RegressionModel(data=DataGenerator(n_samples=300)))
    doc = Document()
    with set_curdoc(doc):
        root = explorer.__panel__().get_root(doc, comm=pyviz_comms.Comm())
    add_to_doc(root, doc)
    return explorer, doc, root


def test_a_slider_change_walks_the_pages_models_once(page, monkeypatch):
    explorer, doc, root = page
    walks = []
    recompute = DocumentModelManager.recompute
    monkeypatch.setattr(DocumentModelManager, "recompute",
                        lambda self: walks.append(1) or recompute(self))
    (degree,) = [w for w in explorer._controls.select(pmui.IntSlider) if w.label == "Degree"]
    (fit,) = [m for m in root.references()
              if isinstance(m, ColumnDataSource) and "fit" in m.data]
    before = list(fit.data["fit"])
    with set_curdoc(doc):
        # What Panel runs when the browser sends the handle's new value.
        degree._process_events({"value": 5, "value_throttled": 5})
    assert explorer.model.degree == 5
    assert list(fit.data["fit"]) != before  # both plots were updated ...
    assert len(walks) == 1  # ... and Bokeh walked the page's models once, not once per plot


def test_a_change_that_fails_leaves_the_document_unfrozen():
    doc = Document()

    def refused(events):
        raise ValueError("refused")

    with set_curdoc(doc), pytest.raises(ValueError, match="refused"):
        _frozen(refused)({"value": 1})
    added = ColumnDataSource()
    doc.add_root(added)
    # A document left frozen defers this walk forever: the browser's next
    # message about a new model then fails with UnknownReferenceError.
    assert doc.get_model_by_id(added.id) is added


def test_a_diagnostic_starts_after_the_change_that_invalidated_it(monkeypatch):
    monkeypatch.setattr(diagnostic_views, "_dispatcher", _running_loop_dispatcher)
    started = []

    async def change():
        loop = asyncio.get_running_loop()
        changed = loop.time()
        result = LiveResult(lambda value: started.append(loop.time()) or value,
                            lambda: 7, active=True)
        assert result.busy
        assert not started  # not while the change is processed
        await asyncio.sleep(0)
        assert not started  # nor as soon as the event loop is free
        while result.busy:
            await asyncio.sleep(0.01)
        return result.result, started[0] - changed

    # In a thread of its own: after a Playwright test, this thread's loop is running.
    with ThreadPoolExecutor(1) as thread:
        value, waited = thread.submit(asyncio.run, change()).result(timeout=30)
    assert value == 7
    assert waited >= WORKER_DELAY_S * 0.9  # the event loop's timer resolution


_running_loop_dispatcher = diagnostic_views._dispatcher


def test_a_result_that_outlives_its_event_loop_is_dropped_quietly():
    loop = asyncio.new_event_loop()
    loop.close()
    # What a worker's done-callback does after a notebook kernel's loop has gone.
    diagnostic_views._to_loop(loop, lambda: None)
