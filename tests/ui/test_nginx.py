"""A class across processes: two app processes behind nginx, two browsers through it.

``deploy/serve_class.py`` starts the processes and nginx (Debian's package)
with the configuration of ``deploy/``, all on loopback ports and in a run
directory of the test's own.  Which process a request reached is read from
two places that do not depend on each other: nginx's access log (its
``upstream=`` field, per browser cookie) and each app process's log, where
Bokeh records every websocket session it creates.
"""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from polyfit_explorer.testing import LOG_FORMAT, VIEWPORT, free_ports, server_log_problems

from . import test_app
from ._bokeh import RENDERED, SETTLED, sources

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("serve_class", ROOT / "deploy" / "serve_class.py")
serve_class = sys.modules["serve_class"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serve_class)

#: What an app process logs when a page's websocket opens its session.
SESSION_OPENED = "bokeh.server.views.ws: ServerConnection created"
LOG_LINE = re.compile(r'"(?P<request>[^"]*)" (?P<status>\d+) \d+ '
                      r"upstream=(?P<upstream>.*?) route=(?P<route>\S+) time=")
COOKIE = "polyfit_route"


@pytest.fixture(scope="module")
def served_class(tmp_path_factory):
    """Two app processes and nginx in front of them, as ``serve_class.py start`` runs them."""
    if not serve_class.NGINX.exists():
        reason = f"the nginx test needs nginx at {serve_class.NGINX}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI must run it")
        pytest.skip(reason)
    listen, *app_ports = free_ports(3)
    running, processes = serve_class.start(
        tmp_path_factory.mktemp("nginx-class"), app_ports, listen=f"127.0.0.1:{listen}",
        options=["--log-format", LOG_FORMAT])
    yield running, processes
    serve_class.stop(running, processes)


# ---- where requests went ------------------------------------------------------------


def upstreams(running, route: str, request: str = "") -> list[str]:
    """The ``upstream=`` of every request nginx logged for the browser cookie ``route``.

    ``request`` keeps only lines whose request line starts with it.
    """
    lines = running.access_log.read_text().splitlines()
    return [m["upstream"] for m in map(LOG_LINE.search, lines)
            if m and m["route"] == route and m["request"].startswith(request)]


def sessions_opened(app) -> int:
    return Path(app.log).read_text().count(SESSION_OPENED)


def route_to(running, port: int) -> str:
    """A cookie value that nginx hashes to the app process on ``port``.

    Tried on /liveness (no session), one value after another: the hash is
    nginx's own, so asking it is the only honest way to know.
    """
    for attempt in range(64):
        route = f"student-{attempt}"
        request = urllib.request.Request(running.url.rsplit("/", 1)[0] + "/liveness",
                                         headers={"Cookie": f"{COOKIE}={route}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        if upstreams(running, route) == [f"127.0.0.1:{port}"]:
            return route
    raise AssertionError(f"no cookie of 64 reached port {port}")


# ---- the pages ------------------------------------------------------------------------


def open_page(context: BrowserContext, url: str, errors: list[str]) -> Page:
    """Open the app in ``context``, record its errors, check its headers, wait until settled."""
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error"
            else None)
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    response = page.goto(url)
    # The app's security headers pass nginx once each: nginx adds none of them.
    names = [h["name"].lower() for h in response.headers_array()]
    for header in ("content-security-policy", "x-content-type-options", "referrer-policy",
                   "x-frame-options"):
        assert names.count(header) == 1, f"{header}: {names.count(header)} times"
    assert "'nonce-" in response.headers["content-security-policy"]
    page.wait_for_function(RENDERED)
    page.wait_for_function(SETTLED, timeout=60_000)
    return page


def press_degree_up(page: Page) -> dict:
    """Press ArrowRight on Degree; return the layers once the fit is in and the page settled."""
    layers = test_app.press_degree_up(page)
    page.wait_for_function(SETTLED, timeout=60_000)
    return layers


def assert_fit_of_degree(layers: dict, degree: int):
    """The fit curve in the page is the least-squares polynomial of the training points."""
    train, fit = layers["train"], layers["fit"]
    expected = np.polynomial.Polynomial.fit(train["x"], train["y"], degree)(fit["x"])
    np.testing.assert_allclose(fit["fit"], expected, rtol=1e-6, atol=1e-6)


def problems(app, errors: list[str]) -> list[str]:
    return [*errors, *server_log_problems(Path(app.log).read_text())]


# ---- the test ---------------------------------------------------------------------------


def test_two_pages_through_nginx_reach_two_processes(browser: Browser, served_class):
    running, processes = served_class
    first, second = running.apps
    contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(2)]
    errors_a, errors_b = [], []
    try:
        # A browser without a cookie: nginx picks a process and sets the cookie.
        page_a = open_page(contexts[0], running.url, errors_a)
        (cookie,) = [c for c in contexts[0].cookies() if c["name"] == COOKIE]
        route_a = cookie["value"]
        (upstream_a,) = set(upstreams(running, route_a))
        app_a = first if upstream_a.endswith(f":{first.port}") else second
        app_b = second if app_a is first else first
        # The page load, its scripts and styles went to one process, and the page's
        # websocket opened its session there (its log), not on the other one.
        assert upstreams(running, route_a)[0] == upstream_a  # the page load itself
        assert (sessions_opened(app_a), sessions_opened(app_b)) == (1, 0)

        # A second browser whose cookie nginx hashes to the other process.
        route_b = route_to(running, app_b.port)
        contexts[1].add_cookies([{"name": COOKIE, "value": route_b, "url": running.url}])
        page_b = open_page(contexts[1], running.url, errors_b)
        assert set(upstreams(running, route_b)) == {f"127.0.0.1:{app_b.port}"}
        assert (sessions_opened(app_a), sessions_opened(app_b)) == (1, 1)

        # Each page works, and a change on one never shows on the other.
        b_before = sources(page_b)
        assert_fit_of_degree(b_before, 3)
        a_after = press_degree_up(page_a)
        assert_fit_of_degree(a_after, 4)
        assert sources(page_b) == b_before
        expect(page_b.get_by_role("slider", name="Degree", exact=True)).to_have_attribute(
            "aria-valuenow", "3")
        assert problems(app_a, errors_a) == []
        assert "[error]" not in running.error_log.read_text()

        # The process of page a dies; page b, on the other one, goes on working.
        os.killpg(app_a.pid, signal.SIGKILL)
        next(p for p in processes if p.pid == app_a.pid).wait(timeout=10)
        b_after = press_degree_up(page_b)
        assert_fit_of_degree(b_after, 4)
        b_after = press_degree_up(page_b)
        assert_fit_of_degree(b_after, 5)
        assert b_after["train"] == b_before["train"]
        # A reload with page a's cookie is served by the process that is left.
        request = urllib.request.Request(running.url, headers={"Cookie": f"{COOKIE}={route_a}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
        # Only the page loads: the line of page a's websocket, written when nginx
        # notices its process died, may come after the reload's.
        page_load = f"GET {urllib.parse.urlsplit(running.url).path} HTTP/"
        assert upstreams(running, route_a, page_load)[-1].endswith(f"127.0.0.1:{app_b.port}")
        assert problems(app_b, errors_b) == []
    finally:
        for context in contexts:
            context.close()
