"""Fixtures for the browser tier: a served app, Chromium, and a clean-run check.

Each test gets a fresh browser page (a fresh app session) on one
``panel serve`` process shared by the session.  After every test it fails if
the browser reported an error or if the server logged one while the test ran:
an exception inside a plot callback never reaches the browser, so the server
log is the only place to see it.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from polyfit_explorer.testing import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RENDERED,
    SETTLED,
    UNSETTLED,
    VIEWPORT,
    serve,
    server_log_problems,
)

ROOT = Path(__file__).resolve().parents[2]
#: Errors cannot be awaited, so give late console messages and log lines this long.
QUIET_MS = 300
#: How long a page may take to finish what it shows before it is closed (a
#: LASSO diagnostic takes seconds).
SETTLE_TIMEOUT = 60_000

_WATCH = pytest.StashKey["_Watch"]()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "expected_server_log(*patterns): regular expressions for the server log records "
        "this test provokes on purpose; each must match a record, never a traceback")


def pytest_collection_modifyitems(items):
    """Mark every test in this directory ``ui``, so ``-m "not ui"`` skips the tier."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.ui)


# ---- browser ------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch the system Chromium; Playwright's own browsers are not installed."""
    if not CHROMIUM.exists():
        reason = f"the UI tier needs Chromium at {CHROMIUM}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI must run it")
        pytest.skip(reason)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="session")
def base_url():
    """Replace pytest-playwright's fallback ``base_url``, which these tests do not use.

    pytest-playwright 0.10 defines it as a session fixture on a plugin instance,
    which pytest 9.2 deprecates with a PytestRemovedIn10Warning: an error here.
    """
    return None


# ---- server -------------------------------------------------------------------


@pytest.fixture(scope="session")
def server_log(tmp_path_factory) -> Path:
    """The file that receives the served app's stdout and stderr."""
    return tmp_path_factory.mktemp("panel-serve") / "server.log"


@pytest.fixture(scope="session")
def app_url(server_log):
    """Serve the packaged app as ``python -m polyfit_explorer`` does and yield its URL.

    That entry point sends the security headers and the Content-Security-Policy
    (``polyfit_explorer.server``), so every browser test runs under them.
    """
    with serve(["-m", "polyfit_explorer"], server_log, cwd=ROOT) as served:
        yield served.url("explorer")


@pytest.fixture(scope="session")
def _plain_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("plain-panel-serve") / "server.log"
    with serve(["-m", "panel", "serve", str(ROOT / "examples" / "app.py")], log,
               cwd=ROOT) as served:
        yield served.url("app"), log


@pytest.fixture
def plain_app_url(_plain_server, page, request):
    """The app served by plain ``panel serve examples/app.py``: no security headers.

    For tests that show a defense works without the Content-Security-Policy.
    Its server log is checked like the shared server's, after the test.
    """
    url, log = _plain_server
    request.node.stash[_WATCH].logs[log] = log.stat().st_size
    return url


# ---- clean-run check ----------------------------------------------------------


@dataclass
class _Watch:
    """What one test's page and servers reported; each log is read from its offset on.

    ``expected`` are the test's ``expected_server_log`` patterns.
    """

    logs: dict[Path, int]
    expected: tuple[str, ...] = ()
    browser_errors: list[str] = field(default_factory=list)

    def server_log(self) -> str:
        texts = []
        for log, offset in self.logs.items():
            with log.open("rb") as f:
                f.seek(offset)
                texts.append(f.read().decode(errors="replace"))
        return "\n".join(texts)

    def problems(self) -> list[str]:
        log_problems = server_log_problems(self.server_log(), self.expected)
        return [*self.browser_errors, *(f"server log: {line}" for line in log_problems)]


@pytest.fixture
def page(page, app_url, server_log, request):
    """Playwright's page, recording browser errors and where the server log stood."""
    marker = request.node.get_closest_marker("expected_server_log")
    watch = _Watch(logs={server_log: server_log.stat().st_size},
                   expected=tuple(marker.args) if marker else ())
    page.on(
        "console",
        lambda message: (
            watch.browser_errors.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: watch.browser_errors.append(f"page error: {error}"))
    page.set_default_timeout(15_000)
    # A page load builds a session on a server that shares 2 cores with another
    # test worker (pytest -n auto) and its browser: it may take longer than a step.
    page.set_default_navigation_timeout(45_000)
    request.node.stash[_WATCH] = watch
    yield page
    # Close the page only once the app is idle: the diagnostics land in the page
    # at any time, and a page closed while the server sends to it makes Panel
    # log "Task exception was never retrieved" (WebSocketClosedError).
    with contextlib.suppress(PlaywrightError):
        if page.evaluate("() => window.Bokeh !== undefined"):
            page.wait_for_function(SETTLED, timeout=SETTLE_TIMEOUT)


@pytest.fixture
def settled_app(page, app_url):
    """The app in a fresh browser session, drawn and settled: the first verdict has arrived."""
    page.goto(app_url)
    page.wait_for_function(RENDERED)
    page.wait_for_function(SETTLED)
    return page


@pytest.fixture
def serve_script(page, request, tmp_path):
    """Return a function that serves a script of the test's own and gives its URL.

    It is served by ``python -m polyfit_explorer SCRIPT``, with the same headers
    as the app; its server log is checked like the shared server's, after the test.
    """
    with contextlib.ExitStack() as servers:

        def start(script: Path) -> str:
            log = tmp_path / f"{script.stem}.log"
            served = servers.enter_context(
                serve(["-m", "polyfit_explorer", str(script)], log, cwd=ROOT))
            request.node.stash[_WATCH].logs[log] = 0
            return served.url(script.stem)

        yield start
        # Leave before the server stops: the page would retry and log a console error.
        with contextlib.suppress(PlaywrightError):
            page.wait_for_function(SETTLED, timeout=SETTLE_TIMEOUT)
            page.goto("about:blank")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After a passing UI test, fail it if the browser or the server reported an error."""
    result = yield
    watch = item.stash.get(_WATCH, None)
    if watch is not None:
        item.funcargs["page"].wait_for_timeout(QUIET_MS)
        problems = watch.problems()
        if problems:
            pytest.fail("the run was not clean:\n" + "\n".join(problems), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Show the server's log and the page's state of a failed UI test next to its failure."""
    report = yield
    watch = item.stash.get(_WATCH, None)
    if watch is not None and report.failed:
        report.sections.append(("Captured server log", watch.server_log()))
        report.sections.append(("Page state", _page_state(item.funcargs.get("page"))))
    return report


def _page_state(page) -> str:
    """The page's URL and what keeps it from SETTLED (``UNSETTLED``); the errors are above."""
    if page is None:
        return "no page"
    try:
        if not page.evaluate("() => window.Bokeh !== undefined && Bokeh.documents.length > 0"):
            return f"{page.url}: no Bokeh document"
        return f"{page.url}\n{page.evaluate(UNSETTLED)}"
    except PlaywrightError as error:
        return f"could not read the page: {error}"
