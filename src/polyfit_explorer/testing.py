"""What the test suite and the benchmarks share: a served app, Chromium, page states.

Nothing here is used by the app.  It starts a real ``panel serve`` on
127.0.0.1 and a free port, names the system Chromium and how to launch it,
and holds the JavaScript conditions that tell when a served page has drawn
(:data:`RENDERED`) and when nothing is pending any more (:data:`SETTLED`),
and finds the errors in a server's log (:func:`server_log_problems`).
Only the standard library is imported.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "LOG_FORMAT",
    "RENDERED",
    "SETTLED",
    "UNSETTLED",
    "VIEWPORT",
    "Served",
    "ServerFailed",
    "end_process_group",
    "free_port",
    "free_ports",
    "serve",
    "server_log_problems",
]

#: Debian's Chromium; Playwright's own browsers are not installed.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
#: The browser window the tests and benchmarks open pages in.
VIEWPORT = {"width": 1400, "height": 900}

#: Every server log record names its level and logger, so a check can find errors.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

STARTUP_TIMEOUT = 60.0

_RECORD = re.compile(r"^\d{4}-\d\d-\d\d [\d:,.]+ (?P<level>[A-Z]+) ")
_ALWAYS_BAD = ("Traceback", "Callable raised")
_BAD_LEVELS = {"ERROR", "CRITICAL"}


def server_log_problems(text: str, expected: tuple[str, ...] = ()) -> list[str]:
    """Return the lines of a server log excerpt that report an error.

    A record at WARNING or below is fine even if its message says "error": the
    app logs refused user input as ``WARNING ... Refused input: ...``.  Lines
    that are no record (a traceback's body, raw prints to stderr) count if
    they mention an error at all.  ``expected`` holds regular expressions for
    records a test provokes on purpose; they never excuse a traceback, a
    "Callable raised" or a line that is no record.
    """
    problems = []
    for line in text.splitlines():
        record = _RECORD.match(line)
        if any(marker in line for marker in _ALWAYS_BAD):
            problems.append(line)
        elif record and any(re.search(pattern, line) for pattern in expected):
            continue
        elif record:
            if record["level"] in _BAD_LEVELS:
                problems.append(line)
        elif re.search("error", line, re.IGNORECASE):
            problems.append(line)
    return problems


class ServerFailed(RuntimeError):
    """The server exited, or did not answer /liveness in time; the message holds its log."""


@dataclass(frozen=True)
class Served:
    """A running server: its port and its process id (the leader of its process group)."""

    port: int
    pid: int

    def url(self, path: str = "") -> str:
        """Return the URL of ``path`` (an app's name) on this server."""
        return f"http://127.0.0.1:{self.port}/{path}"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now (another process may take it later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(count: int) -> list[int]:
    """Return ``count`` different ports that :func:`free_port` found free, in ascending order."""
    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


@contextlib.contextmanager
def serve(arguments: list[str], log: Path, cwd: Path | None = None,
          timeout: float = STARTUP_TIMEOUT) -> Iterator[Served]:
    """Run ``python arguments`` as a local server on a free port until the block ends.

    The local-address, port, websocket-origin, ``--liveness`` and log-format
    options are appended, so ``arguments`` must end with something that takes
    ``panel serve``'s options.  Output goes to ``log``.  The server runs in a
    session of its own: ending its process group ends every worker it started.
    """
    port = free_port()
    command = [
        sys.executable, *arguments, "--address", "127.0.0.1", "--port", str(port),
        "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness",
        "--log-format", LOG_FORMAT,
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"}, start_new_session=True)  # fmt: skip
    try:
        _wait_until_live(process, f"http://127.0.0.1:{port}/liveness", log, timeout)
        yield Served(port, process.pid)
    finally:
        end_process_group(process)


def _wait_until_live(process: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise ServerFailed(f"the server did not answer {url} in {timeout} s:\n{log.read_text()}")


def end_process_group(process: subprocess.Popen) -> None:
    """End the process group ``process`` leads (started with ``start_new_session=True``)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


# ---- the state of a served page, as JavaScript for page.wait_for_function -----------

#: True once the document is synced and both figures have drawn.  At least two:
#: the diagnostics tab below adds its own once its first result arrives.
RENDERED = """() => {
  if (window.Bokeh === undefined || Bokeh.documents.length === 0) return false;
  if (!Bokeh.documents[0].is_idle) return false;
  const figures = Array.from(Bokeh.index.all_views())
    .filter(view => view.model.type === "Figure");
  return figures.length >= 2 && figures.every(view => view.has_finished());
}"""

#: A JavaScript function body: ``disagree`` lists what does not show the settings
#: the fit was computed for.  The Explorer tags the fit curve's data source with
#: its settings as a link query after every change (``views.explorer``), and
#: writes the same query into the scores table's ``data-state`` and the page's
#: URL; the Degree slider must show the degree in it, the diagnostics tab on
#: screen tags its first figure with the query its result is of, and the hint
#: (``views.hint``) writes it into its ``data-state`` once the verdict of that
#: state has arrived.  A page without a scores table with a ``data-state``
#: (another app, such as the benchmarks' floor) has nothing to agree.
SHOWN_STATE = """
  const models = Array.from(doc.all_models);
  // Panel's HTML panes hold their markup escaped: parse it twice.
  const parse = text => new DOMParser().parseFromString(text, "text/html");
  const panes = models.filter(m => typeof m.text === "string" && m.text.includes("data-state"))
    .map(m => parse(parse(m.text).documentElement.textContent));
  const find = selector => panes.map(p => p.querySelector(selector)).find(e => e !== null);
  const table = find("table.scores");
  const hint = find("p.hint");
  const fit = models.find(m => m.type === "ColumnDataSource" && "fit" in m.data
                          && Array.isArray(m.tags) && m.tags.length > 0);
  const disagree = [];
  if (table !== undefined && fit === undefined) disagree.push("fit (no settings tag)");
  if (fit !== undefined) {
    const state = fit.tags[0];
    const location = models.find(m => m.type === "Location");
    if (location !== undefined && location.search !== "?" + state) disagree.push("url");
    if (!table || table.dataset.state !== state) disagree.push("scores");
    if (hint !== undefined && hint.dataset.state !== state) disagree.push("hint");
    const degree = models.find(m => m.data !== undefined && m.data !== null
                               && m.data.label === "Degree" && "value_throttled" in m.data);
    if (degree && String(degree.data.value) !== new URLSearchParams(state).get("degree"))
      disagree.push("degree slider");
    // The diagnostics on screen tag their first figure with the state they are of.
    for (const view of Bokeh.index.all_views()) {
      // A hidden tab's figures keep the state they were drawn for until shown.
      if (view.model.type !== "Figure" || !view.el.checkVisibility()) continue;
      for (const renderer of view.model.renderers) {
        const tags = renderer.data_source === undefined ? [] : renderer.data_source.tags;
        const tag = tags.find(t => typeof t === "string" && t.startsWith("diagnostics "));
        if (tag !== undefined && tag !== "diagnostics " + state) disagree.push(view.model.id);
      }
    }
  }
"""

#: True once nothing is pending: the document is synced, no component shows
#: Panel's loading indicator (the ``pn-loading`` CSS class; the diagnostics
#: tabs keep it on until their result is drawn), every figure has drawn, and
#: the fit, the scores, the URL and the Degree slider show the same settings
#: (:data:`SHOWN_STATE`): after many quick presses the page is idle long
#: before the server has caught up.  Closing a page while the server still
#: pushes to it used to make Panel log "Task exception was never retrieved".
SETTLED = f"""() => {{
  if (window.Bokeh === undefined || Bokeh.documents.length === 0) return false;
  const doc = Bokeh.documents[0];
  if (!doc.is_idle) return false;
  {SHOWN_STATE}
  const loading = models.some(
    model => Array.isArray(model.css_classes) && model.css_classes.includes("pn-loading"));
  const figures = Array.from(Bokeh.index.all_views())
    .filter(view => view.model.type === "Figure");
  return disagree.length === 0 && !loading && figures.every(view => view.has_finished());
}}"""

#: What keeps SETTLED false, for a failure message: Bokeh busy, loading indicators,
#: unfinished figures, what does not show the fit's settings.
UNSETTLED = f"""() => {{
  const doc = Bokeh.documents[0];
  {SHOWN_STATE}
  const loading = models.filter(
    m => Array.isArray(m.css_classes) && m.css_classes.includes("pn-loading")).map(m => m.id);
  const unfinished = Array.from(Bokeh.index.all_views()).filter(
    v => v.model.type === "Figure" && !v.has_finished()).map(v => v.model.id);
  return {{idle: doc.is_idle, loading, unfinished, disagree}};
}}"""
