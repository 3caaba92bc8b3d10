"""The package serves its own app: ``python -m polyfit_explorer`` (and ``polyfit-explorer``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from polyfit_explorer.testing import serve, server_log_problems

from ._bokeh import RENDERED, SETTLED, sources
from .test_app import wait_for_change

#: URL schemes that never leave the page: Bokeh's icons, Panel's ES module code.
IN_PAGE = ("data", "blob")


def test_python_m_polyfit_explorer_serves_everything_itself_with_two_processes(page: Page,
                                                                              tmp_path):
    # With --num-procs 2 the page's websocket usually reaches the other process,
    # which builds the session anew (workarounds._serve_own_stylesheets): Panel's
    # CSS came from cdn.holoviz.org, which the CSP blocks (a console error, which
    # the page fixture fails on).
    log = tmp_path / "serve.log"
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda socket: requests.append(socket.url))
    with serve(["-m", "polyfit_explorer", "--num-procs", "2"], log) as served:
        page.goto(served.url("explorer"))
        page.wait_for_function(RENDERED)
        before = sources(page)
        expect(page.locator("td.train-n")).to_have_text("160")
        degree = page.get_by_role("slider", name="Degree", exact=True)
        degree.focus()
        degree.press("ArrowRight")
        wait_for_change(page, "fit", before["fit"])
        after = sources(page)
        # Leave before the server stops: the page would retry and log a console error.
        page.wait_for_function(SETTLED)
        page.goto("about:blank")
    assert len(before["fit"]["fit"]) == len(after["fit"]["fit"]) == 500
    assert after["fit"]["fit"] != before["fit"]["fit"]
    assert after["train"] == before["train"]  # a refit, not new data
    assert len(before["train"]["x"]) + len(before["test"]["x"]) == 200
    assert any(url.endswith(".css") or ".css?" in url for url in requests)
    away = [url for url in requests if urlsplit(url).scheme not in IN_PAGE
            and urlsplit(url).hostname != "127.0.0.1" and url != "about:blank"]
    assert away == []
    assert server_log_problems(log.read_text()) == []
