"""The package serves its own app: ``python -m polyfit_explorer`` (and ``polyfit-explorer``)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from polyfit_explorer.testing import serve, server_log_problems

from ._bokeh import RENDERED, SETTLED, sources


def test_python_m_polyfit_explorer_serves_the_app(page: Page, tmp_path):
    log = tmp_path / "serve.log"
    with serve(["-m", "polyfit_explorer"], log) as served:
        page.goto(served.url("explorer"))
        page.wait_for_function(RENDERED)
        layers = sources(page)
        expect(page.locator("td.train-n")).to_have_text("160")
        # Leave before the server stops: the page would retry and log a console error.
        page.wait_for_function(SETTLED)
        page.goto("about:blank")
    assert len(layers["fit"]["fit"]) == 500
    assert len(layers["train"]["x"]) + len(layers["test"]["x"]) == 200
    assert server_log_problems(log.read_text()) == []
