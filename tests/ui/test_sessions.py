"""Many sessions on one server: isolation, a small load, and memory after sessions close.

The full-size load test (50 sessions, 200 open/close cycles) is a benchmark:
``uv run python benchmarks/load.py``.  Its client drives sessions here too.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from polyfit_explorer import DataGenerator, Explorer, RegressionModel
from polyfit_explorer.testing import server_log_problems

from ._bokeh import RENDERED, SETTLED, sources
from .test_app import wait_for_change
from .test_editing import LOADER_GONE, layers

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("load", ROOT / "benchmarks" / "load.py")
load = sys.modules["load"] = importlib.util.module_from_spec(_spec)  # dataclasses need it
_spec.loader.exec_module(load)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The benchmark's server (``--warm``, closed sessions discarded within 1.5 s).

    A server of its own: the memory test must not see other tests' sessions.
    """
    with load.serve(tmp_path_factory.mktemp("sessions") / "server.log") as server:
        yield server


# ---- isolation in the browser ---------------------------------------------------


def _widgets(page: Page) -> dict[str, str]:
    degree = page.get_by_role("slider", name="Degree", exact=True)
    return {"degree": degree.get_attribute("aria-valuenow"),
            "seed": page.get_by_label("Data seed").input_value(),
            "test_r2": page.locator("td.test-r2").inner_text()}


def _open(browser: Browser, url: str) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(30_000)
    page.goto(url)
    page.wait_for_function(RENDERED)
    page.wait_for_function(LOADER_GONE)
    page.wait_for_function(SETTLED, timeout=60_000)
    return page


def _change_everything(page: Page, truth: str):
    """The degree, noise σ, the seed and the ground truth, as a student would.

    (Hand edits are per session by construction, the points live in the
    session's own generator; tests/ui/test_editing.py drives them.)
    """
    degree = page.get_by_role("slider", name="Degree", exact=True)
    degree.focus()
    degree.press("ArrowRight")
    noise = page.get_by_role("slider", name="Noise σ", exact=True)
    noise.focus()
    noise.press("ArrowRight")
    page.get_by_role("button").filter(has_text="Resample").click()
    page.wait_for_function(SETTLED, timeout=60_000)
    page.get_by_label("Ground truth", exact=True).select_option(truth)
    page.wait_for_function(SETTLED, timeout=60_000)


def test_one_sessions_changes_never_reach_another(browser: Browser, server):
    offset = server.log.stat().st_size
    a, b = _open(browser, server.url), _open(browser, server.url)
    try:
        for changed, other, truth in [(a, b, "Sine"), (b, a, "Step")]:
            changed_before, other_before = sources(changed), sources(other)
            widgets_before, editable_before = _widgets(other), layers(other)["editable"]
            _change_everything(changed, truth)
            wait_for_change(changed, "truth", changed_before["truth"])
            after = sources(changed)
            assert after["fit"] != changed_before["fit"]
            assert after["truth"] != changed_before["truth"]
            assert _widgets(changed)["degree"] == "4"
            # The other page's data sources and widgets are exactly as they were.
            other.wait_for_timeout(500)
            assert sources(other) == other_before
            assert layers(other)["editable"] == editable_before
            assert _widgets(other) == widgets_before
        expect(a.get_by_label("Ground truth", exact=True)).to_have_value("Sine")
    finally:
        for page in (a, b):
            page.wait_for_function(SETTLED, timeout=60_000)
            page.close()
    time.sleep(0.3)
    with server.log.open("rb") as f:
        f.seek(offset)
        assert server_log_problems(f.read().decode()) == []


# ---- the same through bokeh.client: fast, no browser ------------------------------


def off_the_page_loop(test):
    """Run a bokeh.client test in a thread of its own.

    After a browser test, Playwright's sync API keeps an event loop running in
    the main thread, and bokeh.client cannot run its own loop there.
    """
    @functools.wraps(test)
    def run(*args, **kwargs):
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(test, *args, **kwargs).result()
    return run



@off_the_page_loop
def test_a_refused_value_is_reported_in_its_own_session_only(server):
    """``pn.config.exception_handler`` is set per session, not for the whole server."""
    url = server.url
    a, b = load.Client(url), load.Client(url)
    try:
        def alerts(client):
            return [m.data.object for m in client.document.models
                    if type(m).__name__ == "ReactComponent"
                    and type(m.data).__name__.startswith("Alert")
                    and "x_min" in str(getattr(m.data, "object", ""))]

        x_min = load._material_slider(a.document, "x min")
        x_min.value = 8.0
        x_min.set_from_json("value_throttled", 8.0)
        assert a.wait(lambda: bool(alerts(a)), 30), "no message in the session that erred"
        b.wait(lambda: False, 1.0)
        assert alerts(b) == []
        # And the refusal changed nothing in either session.
        assert load._material_slider(a.document, "x min").value == -5.0
        assert load._material_slider(b.document, "x min").value == -5.0
    finally:
        a.close()
        b.close()


@off_the_page_loop
def test_sessions_share_no_model_state(server):
    url = server.url
    a, b = load.Client(url), load.Client(url)
    try:
        fit_b = b.fit_values()
        a.change("degree", 9, 30)
        a.change("noise_sd", 0.5, 30)
        a.change("n_samples", 60, 30)
        b.wait(lambda: False, 1.0)
        assert (b.value("degree"), b.value("noise_sd"), b.value("n_samples")) == (3, 3.0, 200)
        assert (b.fit_values() == fit_b).all()
        # A session opened now starts from the defaults, not from a's settings.
        c = load.Client(url)
        assert (c.value("degree"), c.value("noise_sd"), c.value("n_samples")) == (3, 3.0, 200)
        c.close()
    finally:
        a.close()
        b.close()


def test_a_session_never_changes_class_defaults():
    defaults = {cls: {name: p.default for name, p in cls.param.objects().items()}
                for cls in (RegressionModel, DataGenerator, Explorer)}
    explorer = Explorer()
    explorer.model.param.update(degree=9, penalty="l2")
    explorer.model.data.param.update(noise_sd=0.5, n_samples=60)
    explorer.truth = next(t for t in explorer.param.truth.objects if t != explorer.truth)
    for cls, values in defaults.items():
        assert {name: p.default for name, p in cls.param.objects().items()} == values
    assert Explorer().model.degree == 3
    assert Explorer().model.data is not explorer.model.data


# ---- load ------------------------------------------------------------------------


@off_the_page_loop
def test_small_class_gets_every_update_and_memory_returns(server):
    """8 sessions changing parameters together, then open/close cycles.

    Values only: every change arrives, nothing errs, and the server's memory
    after the closed sessions are cleaned up stays within a generous bound of
    the baseline.  Speed is the benchmark's business.
    """
    offset = server.log.stat().st_size
    result = load.Load(sessions=8, duration=4.0, think=0.5, cycles=4)

    load.cycle(server, result, 2, 60, seed=1)  # fills the caches every session shares
    load.settle()
    result.rss_baseline = server.rss_mb()
    load.hammer(server, result, at_once=4, timeout=60, seed=2)
    load.cycle(server, result, result.cycles, 60, seed=3, workers=2)
    load.settle()
    result.rss_after_cycles = server.rss_mb()

    assert result.errors == []
    assert result.cycle_errors == []
    assert result.changes_sent >= 8
    assert len(result.latencies) == result.changes_sent
    # 12 sessions closed, and freed (tests/test_sessions_memory.py).  Generous:
    # Python's allocator keeps part of what 8 open sessions took (docs/serving.md).
    assert result.rss_after_cycles - result.rss_baseline < 90
    with server.log.open("rb") as f:
        f.seek(offset)
        assert server_log_problems(f.read().decode()) == []
