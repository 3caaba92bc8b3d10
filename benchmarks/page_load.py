"""A first page of the app in Chromium: where the seconds until it has settled go.

Run by ``benchmarks/run.py`` (section ``page_load``); alone with
``uv run python benchmarks/page_load.py [--quick]``.

Serves the app with its own entry point (``python -m polyfit_explorer``, the
app at ``/explorer``, default settings) and opens it in a new page of the
system Chromium again and again (the first page, which warms the server's
caches, is not counted).  Times in seconds from the navigation's start, taken
in the test process:

* **HTML**: the page's answer has arrived (the server built the session);
* **scripts run, document pulled**: the page ran its scripts, and the
  reply to its websocket's request for the document began to arrive;
* **views built**: the page sent ``document_ready`` (BokehJS and Panel
  built and laid out every view);
* **rendered**: ``testing.RENDERED`` (the figures have drawn);
* **settled**: ``testing.SETTLED`` (the worker's first verdict and tab
  result have arrived, and everything agrees).

Also the bytes the websocket brought until settled, and the CPU the page's
JavaScript took until rendered (Chromium's sampling profiler, summed by the
slowest functions).  Nothing here is a target of an issue: it says where a
page load's time goes (docs/development.md, Open problems).
"""

from __future__ import annotations

import argparse
import collections
import time

import numpy as np

from _report import app_in_chromium, progress, section, table
from polyfit_explorer.testing import RENDERED, SETTLED, VIEWPORT

APP_PATH = "explorer"
HEADING = "## A first page load: until the page has settled"
TIMEOUT_MS = 120_000
PHASES = ["html", "reply", "ready", "rendered", "settled"]


def one_load(browser, url: str, profile: bool) -> dict:
    """Open ``url`` in a new page; return the phases' times (s), the bytes and the JS CPU."""
    page = browser.new_page(viewport=VIEWPORT)
    marks, received = {}, [0]
    start = time.monotonic()

    def frame_received(frame):
        received[0] += len(frame)
        if isinstance(frame, str) and "PULL-DOC-REPLY" in frame:
            marks.setdefault("reply", time.monotonic() - start)

    def frame_sent(frame):
        if isinstance(frame, str) and "document_ready" in frame:
            marks.setdefault("ready", time.monotonic() - start)

    def websocket(socket):
        socket.on("framereceived", frame_received)
        socket.on("framesent", frame_sent)

    page.on("websocket", websocket)
    cdp = page.context.new_cdp_session(page) if profile else None
    if cdp is not None:
        cdp.send("Profiler.enable")
        cdp.send("Profiler.start")
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    marks["html"] = time.monotonic() - start
    page.wait_for_function(RENDERED, timeout=TIMEOUT_MS)
    marks["rendered"] = time.monotonic() - start
    javascript = _javascript_cpu(cdp.send("Profiler.stop")["profile"]) if cdp else None
    page.wait_for_function(SETTLED, timeout=TIMEOUT_MS)
    marks["settled"] = time.monotonic() - start
    page.close()
    return dict(marks, bytes=received[0], javascript=javascript)


def _javascript_cpu(profile: dict) -> dict[str, float]:
    """Seconds of JavaScript in the profile: in all, and inclusive for a few functions."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}
    spent = collections.Counter()
    for node, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        spent[node] += delta / 1e6
    inclusive = collections.Counter()
    for node, seconds in spent.items():
        names = set()
        while node is not None:
            names.add(nodes[node]["callFrame"]["functionName"])
            node = parent.get(node)
        for name in names:
            inclusive[name] += seconds
    idle = sum(s for n, s in spent.items()
               if nodes[n]["callFrame"]["functionName"] in ("(idle)", "(program)"))
    return {"busy": sum(spent.values()) - idle, "compute_layout": inclusive["compute_layout"],
            "componentDidMount": inclusive["componentDidMount"],
            "after_resize": inclusive["after_resize"]}


def measure(loads: int) -> list[dict]:
    with app_in_chromium() as (served, browser):
        url = served.url(APP_PATH)
        one_load(browser, url, profile=False)  # warms the server's caches
        results = []
        for i in range(loads):
            progress(f"load {i + 1} ...")
            # Every other load profiled: the profiler slows the page it watches.
            results.append(one_load(browser, url, profile=i % 2 == 1))
            progress(f"settled after {results[-1]['settled']:.1f} s", end="\n")
    return results


def report(results: list[dict], info: str) -> str:
    plain = [r for r in results if r["javascript"] is None]
    profiled = [r["javascript"] for r in results if r["javascript"] is not None]
    median = {phase: float(np.median([r[phase] for r in plain])) for phase in PHASES}
    rows = [["HTML (the session built)", f"{median['html']:.2f}", f"{median['html']:.2f}"]]
    labels = {"reply": "scripts run, document pulled", "ready": "views built (document_ready)",
              "rendered": "figures drawn (RENDERED)",
              "settled": "verdict and tab arrived (SETTLED)"}
    for phase, label in labels.items():
        before = PHASES[PHASES.index(phase) - 1]
        rows.append([label, f"{median[phase]:.2f}", f"{median[phase] - median[before]:.2f}"])
    cpu = {key: float(np.median([p[key] for p in profiled])) for key in profiled[0]}
    return "\n".join([
        HEADING,
        "",
        info,
        "",
        f"`python -m polyfit_explorer` on 127.0.0.1, the app's first page with its default "
        f"settings in a new page of the system Chromium (headless, {VIEWPORT['width']}×"
        f"{VIEWPORT['height']}), {len(plain)} loads timed (medians, seconds from the "
        "navigation's start) and as many profiled, after one that warms the server.",
        "",
        *table(["phase", "at (s)", "took (s)"], rows),
        "",
        f"Websocket bytes until settled: {np.median([r['bytes'] for r in plain]) / 1e3:,.0f} "
        f"KB. JavaScript CPU until rendered (profiled loads, median): "
        f"{cpu['busy']:.2f} s busy, of which Panel's `compute_layout` "
        f"{cpu['compute_layout']:.2f} s, Bokeh's and Panel's `after_resize` "
        f"{cpu['after_resize']:.2f} s and panel-material-ui's `componentDidMount` "
        f"{cpu['componentDidMount']:.2f} s (inclusive; they overlap).",
        "",
    ])


def run(quick: bool = False) -> str:
    return section(lambda: measure(4 if quick else 10), report)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="four loads instead of ten")
    return run(parser.parse_args(argv).quick)


if __name__ == "__main__":
    main()
