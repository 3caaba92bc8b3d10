"""End-to-end latency in Chromium against the stack's floor: key press on a slider to new data.

Run by ``benchmarks/run.py`` (section ``e2e``); alone with
``uv run python benchmarks/e2e.py [--quick]``.

Three servers run side by side on 127.0.0.1 (``polyfit_explorer.testing.serve``):

* the **floor**, ``panel serve ../shared/bench/floor_app.py``: one material
  Degree slider, two raw Bokeh figures of 1,000 points, a numpy refit, both
  data sources assigned in one hold; about the least work Panel and Bokeh can
  do for a slider change.  The speed targets are ratios to it;
* the **app** twice, ``python -m polyfit_explorer`` (its own entry point, with
  the security headers) with ``POLYFIT_EXPLORER_OUTPUT_BACKEND=canvas`` and
  with ``=webgl``, opened at ``/explorer?data.n_samples=N``.

The system Chromium opens one page per server (each in a browser context of
its own) and keeps them open; the key presses then go in blocks, floor, canvas,
webgl, then webgl, canvas, floor, and so on, so that a drift in the machine's
load hits all three alike.  All timing happens in the page, with
``performance.now()``, so Playwright's round trips are not counted:

* a capturing ``keydown`` listener stamps each key press;
* the page's ``WebSocket`` is wrapped to stamp every frame sent and received;
* a ``Bokeh.documents[0].on_change`` listener stamps the moment the fit
  curve's data source (found by its legend label ``fit``, the same in the app
  and the floor) holds new data (**key → data**), and from there a
  ``requestAnimationFrame`` callback and, nested in it, a second one: the
  start of the frame after the one that drew the new data;
* BokehJS's paint of the figure that holds the fit is stamped too (a wrapper
  around ``PlotView._actual_paint``), with an animation-frame callback
  requested from inside it; **key → painted** is the later of the two
  callbacks, which are the same frame when BokehJS painted in the frame after
  the data (see :data:`ARM`);
* a ``PerformanceObserver`` records long tasks (over 50 ms on the page's main
  thread); each press counts the part of them between the key and the
  painted time.

Bytes per change are counted with Playwright's ``websocket`` events.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from _report import load as load_average
from _report import measured, ms, now, progress, table
from polyfit_explorer.testing import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RENDERED,
    SETTLED,
    VIEWPORT,
    ServerFailed,
    serve,
    server_log_problems,
)

ROOT = Path(__file__).resolve().parents[1]
#: The stack's floor (see its docstring); the targets are ratios to it.
FLOOR = ROOT.parent / "shared" / "bench" / "floor_app.py"
#: Where ``python -m polyfit_explorer`` serves the packaged app.
APP_PATH = "explorer"
BACKENDS = ("canvas", "webgl")
BACKEND_VARIABLE = "POLYFIT_EXPLORER_OUTPUT_BACKEND"
HEADING = "## End to end in Chromium: key press to new data in the browser, against the floor"
#: The speed targets, reported, never asserted.  Ratios are to the floor's median
#: in the same run, for Degree presses at n = 1,000 (the floor's size).
DATA_RATIO, DATA_P95_RATIO, PAINTED_RATIO = 1.5, 2.5, 2.0
#: Key -> new fit data at n = 1,000,000 (Degree), in ms.
LARGE_TARGET_MS = 250
#: Server main-thread CPU per Degree change at n = 1,000, the shown diagnostic included, ms.
CPU_TARGET_MS = 40
FLOOR_N = 1_000
#: At the end of a block, how long the page may take to settle before the next block.
BLOCK_END_MS = 120_000

#: Installed before the page's scripts: stamps every websocket frame.
WRAP_WEBSOCKET = """
window.__frames = [];
const PageWebSocket = window.WebSocket;
const size = data => typeof data === "string" ? data.length : (data.byteLength ?? data.size ?? 0);
window.WebSocket = class extends PageWebSocket {
  constructor(...args) {
    super(...args);
    // Added before Bokeh sets onmessage, so it runs first.
    this.addEventListener("message", event =>
      window.__frames.push(["r", performance.now(), size(event.data)]));
  }
  send(data) {
    window.__frames.push(["s", performance.now(), size(data)]);
    return super.send(data);
  }
};
"""

#: Start recording key presses, arrivals of new fit data, paints and long tasks.
#:
#: Per press: ``key`` (keydown); ``arrival``: the first document change after
#: it that leaves new data in the fit's source (a new source, a new ``data``
#: object or a new ``fit`` column); ``raf``: the first animation-frame callback
#: after that; ``raf2``: a second animation-frame callback requested from the
#: first, i.e. the start of the frame after the one in which the data were
#: drawn (BokehJS paints a changed plot in an animation-frame callback of its
#: own, requested when the data changed, so normally in the same frame as
#: ``raf``); ``paint_start``, ``paint_end``: BokehJS's first paint of the fit's
#: figure after the arrival; ``after_paint``: an animation-frame callback
#: requested from inside that paint, i.e. the start of the frame after the one
#: that drew it (the same frame as ``raf2`` when the paint ran in ``raf``'s
#: frame, later when BokehJS painted later); ``changes``: document changes that
#: brought new fit data (1 if all is well); ``checksum``: the sum of the new
#: fit column, to check that the values changed, not only the objects.
ARM = """() => {
  const doc = Bokeh.documents[0];
  const findFitSource = () => {
    for (const item of doc.all_models) {
      if (item.type !== "LegendItem" || item.label.value !== "fit") continue;
      for (const renderer of item.renderers)
        if ("fit" in renderer.data_source.data) return renderer.data_source;
    }
    return null;
  };
  const record = window.__e2e = {presses: [], longtasks: []};
  new PerformanceObserver(list => {
    for (const task of list.getEntries()) record.longtasks.push([task.startTime, task.duration]);
  }).observe({type: "longtask"});
  let source = findFitSource(), waiting = null;
  if (source === null) throw new Error("no fit curve: no legend item 'fit' with a 'fit' column");
  let data = source.data, fit = source.data.fit;
  document.addEventListener("keydown", () => record.presses.push(
    {key: performance.now(), changes: 0}), true);
  // BokehJS's paint of a plot (defined on PlotView, shared by every figure).
  const figure = Array.from(Bokeh.index.all_views()).find(view => view.model.type === "Figure");
  let proto = Object.getPrototypeOf(figure);
  while (proto !== null && !Object.prototype.hasOwnProperty.call(proto, "_actual_paint"))
    proto = Object.getPrototypeOf(proto);
  if (proto === null) throw new Error("BokehJS's PlotView has no _actual_paint any more");
  const paint = proto._actual_paint;
  proto._actual_paint = function (...args) {
    const press = waiting !== null && this.model.renderers.some(r => r.data_source === source)
      ? waiting : null;
    const start = performance.now();
    const result = paint.apply(this, args);
    if (press !== null) {
      press.paint_start = start;
      press.paint_end = performance.now();
      waiting = null;
      requestAnimationFrame(() => { press.after_paint = performance.now(); });
    }
    return result;
  };
  doc.on_change(() => {
    // Cheap, as it runs on every change: look the source up again only when it
    // left the document.
    if (doc.get_model_by_id(source.id) !== source) source = findFitSource() ?? source;
    if (source.data === data && source.data.fit === fit) return;
    data = source.data; fit = source.data.fit;
    const press = record.presses[record.presses.length - 1];
    if (press === undefined) return;
    press.changes += 1;
    if (press.arrival !== undefined) return;
    press.arrival = performance.now();
    press.checksum = Array.from(fit).reduce((a, b) => a + b, 0);
    waiting = press;
    requestAnimationFrame(() => {
      press.raf = performance.now();
      requestAnimationFrame(() => { press.raf2 = performance.now(); });
    });
  }, true);
}"""

#: The output backend of every Bokeh Plot model in the document, and for each
#: drawn plot whether its canvas got a WebGL context (Bokeh falls back to the
#: 2D canvas, silently, when the browser has no WebGL).
BACKENDS_SEEN = """() => {
  const doc = Bokeh.documents[0];
  const backends = {};
  for (const model of doc.all_models)
    if (model.properties !== undefined && "output_backend" in model.properties
        && "renderers" in model.properties)
      backends[model.output_backend] = (backends[model.output_backend] ?? 0) + 1;
  const drawn = Array.from(Bokeh.index.all_views()).filter(view => view.canvas_view !== undefined
                                                && view.model.output_backend !== undefined);
  let renderer = "no WebGL";
  try {
    const gl = document.createElement("canvas").getContext("webgl");
    const info = gl === null ? null : gl.getExtension("WEBGL_debug_renderer_info");
    if (gl !== null)
      renderer = gl.getParameter(info === null ? gl.RENDERER : info.UNMASKED_RENDERER_WEBGL);
  } catch (error) {
    renderer = String(error);
  }
  return {backends, drawn: drawn.length, renderer,
          webgl: drawn.filter(view => view.canvas_view.webgl != null).length};
}"""


def plan(quick: bool) -> list[dict]:
    """Sizes, sliders, blocks and presses per block; at n = 1,000,000 a change takes longer."""
    if quick:
        return [dict(n=1_000, slider="Degree", blocks=2, presses=5, warmup=1, settle_ms=5_000)]
    return [
        dict(n=1_000, slider="Degree", blocks=2, presses=15, warmup=2, settle_ms=5_000),
        dict(n=1_000, slider="Noise σ", blocks=2, presses=10, warmup=1, settle_ms=5_000),
        dict(n=1_000_000, slider="Degree", blocks=2, presses=5, warmup=1, settle_ms=3_000),
    ]


@dataclass
class Variant:
    """One server measured in the run: the floor, or the app with one output backend."""

    name: str
    url: str = ""
    backend: str | None = None  # the app's; None for the floor
    log: Path | None = None
    pid: int = 0  # the server's process; its main thread runs the event loop
    failed: str = ""
    problems: list[str] = field(default_factory=list)  # error lines in its log

    @property
    def floor(self) -> bool:
        return self.backend is None


@dataclass
class Probe:
    """One open page of one variant, and what its presses measured."""

    variant: Variant
    slider: str
    page: object = None
    context: object = None
    armed: bool = False
    count: int = 0  # presses so far, timed or not
    timed: list[int] = field(default_factory=list)  # indices of the timed presses
    bytes: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)  # server main thread, per timed press
    settled: int = 0
    settle_s: list[float] = field(default_factory=list)  # per timed press; nan: not in time
    opened_settled: bool = False
    block_end_s: list[float] = field(default_factory=list)  # waits at the ends of blocks
    errors: list[str] = field(default_factory=list)
    loaded: float = np.nan
    load_bytes: int = 0
    received_frames: int = 0
    received_bytes: int = 0
    failed: str = ""

    def _received(self, payload) -> None:
        self.received_frames += 1
        self.received_bytes += len(payload.encode() if isinstance(payload, str) else payload)


def open_probe(browser, variant: Variant, case: dict) -> Probe:
    """Open the variant's page, wait until it has drawn and settled, arm the recording."""
    slider = "Degree" if variant.floor else case["slider"]
    probe = Probe(variant, slider)
    if variant.failed:
        probe.failed = variant.failed
        return probe
    n = FLOOR_N if variant.floor else case["n"]
    long = 600_000 if n > 100_000 else 60_000
    try:
        probe.context = browser.new_context(viewport=VIEWPORT)
        page = probe.page = probe.context.new_page()
        page.on("pageerror", lambda error: probe.errors.append(str(error)))
        page.on("console", lambda m: probe.errors.append(m.text) if m.type == "error" else None)
        page.on("websocket", lambda ws: ws.on("framereceived", probe._received))
        page.add_init_script(WRAP_WEBSOCKET)
        page.set_default_timeout(long)
        start = time.perf_counter()
        page.goto(variant.url if variant.floor else f"{variant.url}?data.n_samples={n}")
        page.wait_for_function(RENDERED, timeout=long)
        probe.loaded = time.perf_counter() - start
        probe.load_bytes = probe.received_bytes
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(SETTLED, timeout=long)
            probe.opened_settled = True
        handle(probe).focus()
        page.evaluate(ARM)
        probe.armed = True
    except PlaywrightError as error:
        probe.failed = f"page: {first_line(error)}"
    return probe


def main_thread_cpu(pid: int) -> float:
    """CPU seconds the server's main thread (Tornado's event loop) has used so far.

    On Linux the main thread's id is the process id.  The kernel counts in
    clock ticks (10 ms), so only a sum over many presses is meaningful.
    """
    try:
        threads = psutil.Process(pid).threads()
    except psutil.Error:
        return np.nan
    return next((t.user_time + t.system_time for t in threads if t.id == pid), np.nan)


def handle(probe: Probe):
    """The slider's handle, by its accessible name (strict: exactly one must match)."""
    return probe.page.get_by_role("slider", name=probe.slider, exact=True)


def press_block(probe: Probe, case: dict, warmup: int) -> None:
    """``warmup`` untimed presses, then ``case['presses']`` timed ones, on one page."""
    page = probe.page
    page.bring_to_front()
    long = 120_000 if case["n"] > 100_000 else 30_000
    for j in range(warmup + case["presses"]):
        i, timed = probe.count, j >= warmup
        frames_before, bytes_before = probe.received_frames, probe.received_bytes
        cpu_before = main_thread_cpu(probe.variant.pid)
        handle(probe).press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        probe.count += 1
        try:
            page.wait_for_function(
                "i => window.__e2e.presses[i] !== undefined"
                " && window.__e2e.presses[i].raf2 !== undefined"
                " && window.__e2e.presses[i].after_paint !== undefined",
                arg=i, timeout=long)
        except PlaywrightTimeout as error:
            state = page.evaluate("i => window.__e2e.presses[i] ?? null", i)
            raise RuntimeError(f"press {i + 1}: no new fit data drawn within {long / 1e3:g} s "
                               f"({state})") from error
        # Let the diagnostics tab finish, up to a cap: beyond it the next press
        # competes with their worker thread, as a user's would.
        start, settle_s = time.perf_counter(), np.nan
        try:
            page.wait_for_function(SETTLED, timeout=case["settle_ms"])
            settle_s = time.perf_counter() - start
            probe.settled += timed
        except PlaywrightTimeout:
            pass
        page.wait_for_timeout(200)
        if timed:
            probe.timed.append(i)
            probe.settle_s.append(settle_s)
            probe.bytes.append(probe.received_bytes - bytes_before)
            probe.frames.append(probe.received_frames - frames_before)
            probe.cpu_s.append(main_thread_cpu(probe.variant.pid) - cpu_before)
    # Work left over from the last press (the diagnostics, beyond the cap) must
    # not run into the next page's block, on another server of this machine.
    start = time.perf_counter()
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function(SETTLED, timeout=BLOCK_END_MS)
    probe.block_end_s.append(time.perf_counter() - start)


def close_probe(probe: Probe) -> dict:
    """Read the page's records, close it, and return the variant's result for one case."""
    result = dict(variant=probe.variant, slider=probe.slider, loaded=probe.loaded,
                  load_bytes=probe.load_bytes, settled=probe.settled, errors=probe.errors,
                  settle_s=probe.settle_s, opened_settled=probe.opened_settled,
                  block_end_s=probe.block_end_s)
    if probe.page is not None:
        try:
            if probe.armed:
                record = probe.page.evaluate("() => window.__e2e")
                frames = probe.page.evaluate("() => window.__frames")
                result["seen"] = probe.page.evaluate(BACKENDS_SEEN)
                result["rows"] = rows_of(record, frames, probe.timed)
                result.update(bytes=probe.bytes, frames=probe.frames, cpu_s=probe.cpu_s)
            with contextlib.suppress(PlaywrightError):
                probe.page.wait_for_function(SETTLED, timeout=10_000)
        except PlaywrightError as error:
            probe.failed = probe.failed or f"reading the page: {first_line(error)}"
        with contextlib.suppress(PlaywrightError):
            probe.context.close()
    if probe.failed:
        result["failed"] = probe.failed
    return result


def rows_of(record: dict, frames: list, timed: list[int]) -> list[dict]:
    """Per timed press: the times, split at the websocket frames around them, and long tasks."""
    sent = [t for kind, t, _ in frames if kind == "s"]
    received = [(t, size) for kind, t, size in frames if kind == "r"]
    presses = record["presses"]
    rows = []
    for i in timed:
        press = presses[i]
        key, arrival = press["key"], press["arrival"]
        # The frame after the one that drew the new fit: normally raf2 and
        # after_paint are the same frame; if BokehJS painted later, the later.
        painted = max(press["raf2"], press["after_paint"])
        first_send = next((t for t in sent if t >= key), np.nan)
        # The fit's patch is the last frame received before the data changed.
        last_received = max((t for t, _ in received if key <= t <= arrival), default=np.nan)
        first_received = min((t for t, _ in received if first_send <= t <= arrival),
                             default=np.nan)
        long_ms = sum(max(0.0, min(start + duration, painted) - max(start, key))
                      for start, duration in record["longtasks"])
        previous = presses[i - 1].get("checksum") if i > 0 else None
        rows.append(dict(
            data=arrival - key, painted=painted - key, key_to_send=first_send - key,
            send_to_first=first_received - first_send, send_to_patch=last_received - first_send,
            apply=arrival - last_received, to_raf=press["raf"] - arrival,
            to_paint_start=press["paint_start"] - arrival,
            to_paint_end=press["paint_end"] - arrival, to_raf2=press["raf2"] - arrival,
            paint_by_raf2=press["paint_end"] <= press["raf2"],
            to_painted=painted - arrival, long_ms=long_ms, changes=press["changes"],
            new_values=previous is None or press["checksum"] != previous,
            fit_bytes=sum(size for t, size in received if key <= t <= arrival)))
    return rows


def first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


@contextlib.contextmanager
def servers(log_folder: Path, app: Path | None, backends: tuple[str, ...]):
    """Serve the floor and the app once per backend; a server that fails is marked failed."""
    variants = [Variant("floor")] + [Variant(f"app ({b})", backend=b) for b in backends]
    with contextlib.ExitStack() as stack:
        for variant in variants:
            variant.log = log_folder / f"{variant.name.replace(' ', '_')}.log"
            if variant.floor:
                arguments, path = ["-m", "panel", "serve", str(FLOOR)], FLOOR.stem
            else:
                script = [] if app is None else [str(app)]
                arguments = ["-m", "polyfit_explorer", *script]
                path = APP_PATH if app is None else app.stem
            progress(f"serving {variant.name} ...")
            saved = os.environ.get(BACKEND_VARIABLE)
            if variant.backend is not None:
                os.environ[BACKEND_VARIABLE] = variant.backend
            try:
                served = stack.enter_context(serve(arguments, variant.log, cwd=ROOT))
                variant.url, variant.pid = served.url(path), served.pid
                progress("up", end="\n")
            except ServerFailed as error:
                variant.failed = f"server: {first_line(error)}"
                tail = " / ".join(variant.log.read_text().strip().splitlines()[-3:])
                progress(f"failed: {variant.failed} ({tail})", end="\n")
            finally:
                if saved is None:
                    os.environ.pop(BACKEND_VARIABLE, None)
                else:
                    os.environ[BACKEND_VARIABLE] = saved
        yield variants


def measure_case(browser, variants: list[Variant], case: dict) -> list[dict]:
    """Open a page per variant, press in alternating blocks, return a result per variant."""
    probes = []
    for variant in variants:
        progress(f"  open {variant.name} ...")
        probe = open_probe(browser, variant, case)
        progress(f"failed: {probe.failed}" if probe.failed else f"{probe.loaded:.1f} s",
                 end="\n")
        probes.append(probe)
    for block in range(case["blocks"]):
        # Floor, canvas, webgl, then webgl, canvas, floor: a steady drift in the
        # machine's load costs all three alike.
        for probe in probes if block % 2 == 0 else probes[::-1]:
            if probe.failed:
                continue
            progress(f"  block {block + 1}: {probe.variant.name} ...")
            try:
                # Each block starts with untimed presses: the page was idle.
                press_block(probe, case, case["warmup"] if block == 0 else 1)
                progress("done", end="\n")
            except (PlaywrightError, RuntimeError) as error:
                probe.failed = f"block {block + 1}: {first_line(error)}"
                progress(f"failed: {probe.failed}", end="\n")
    return [dict(close_probe(probe), case=case) for probe in probes]


def measure(cases: list[dict], log_folder: Path, app: Path | None = None,
            backends: tuple[str, ...] = BACKENDS) -> tuple[list[dict], list[Variant]]:
    results = []
    with (servers(log_folder, app, backends) as variants, sync_playwright() as playwright):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for case in cases:
                progress(f"n={case['n']:,} {case['slider']}: {case['blocks']} blocks of "
                         f"{case['presses']} presses", end="\n")
                results += measure_case(browser, variants, case)
        finally:
            browser.close()
    for variant in variants:
        if variant.log is not None and variant.log.exists():
            variant.problems = server_log_problems(variant.log.read_text())
    return results, variants


# ---- the report ----------------------------------------------------------------------


def stats(rows: list[dict], key: str) -> tuple[float, float]:
    values = np.array([r[key] for r in rows], dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return np.nan, np.nan
    return float(np.median(values)), float(np.percentile(values, 95))


def med(rows: list[dict], key: str) -> str:
    median, _ = stats(rows, key)
    return ms(median) if np.isfinite(median) else "n/a"


def floor_of(results: list[dict], case: dict) -> dict | None:
    return next((r for r in results if r["case"] is case and r["variant"].floor
                 and "rows" in r), None)


def ratio(value: float, floor: float) -> float:
    return value / floor if np.isfinite(floor) and floor > 0 else np.nan


def times(value: float) -> str:
    return f"{value:.2f}×" if np.isfinite(value) else ""


def verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def cpu_ms(result: dict) -> float:
    """The server main thread's CPU per timed press, ms: the mean (ticks are 10 ms)."""
    values = np.array(result.get("cpu_s", []), dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean() * 1e3) if len(values) else np.nan


def targets(result: dict, floor: dict | None) -> str:
    """The targets that apply to this row and whether it meets them (reported only)."""
    case, rows = result["case"], result.get("rows")
    if result["variant"].floor or case["slider"] != "Degree" or not rows:
        return "reference" if result["variant"].floor and rows else ""
    data, data_p95 = stats(rows, "data")
    if case["n"] >= 1_000_000:
        return f"data ≤ {LARGE_TARGET_MS} ms: {verdict(data <= LARGE_TARGET_MS)}"
    if case["n"] != FLOOR_N or floor is None:
        return ""
    floor_data, _ = stats(floor["rows"], "data")
    floor_painted, _ = stats(floor["rows"], "painted")
    painted, _ = stats(rows, "painted")
    data_ok = (ratio(data, floor_data) <= DATA_RATIO
               and ratio(data_p95, floor_data) <= DATA_P95_RATIO)
    return (f"data ≤ {DATA_RATIO}× (p95 ≤ {DATA_P95_RATIO}×): {verdict(data_ok)}; "
            f"painted ≤ {PAINTED_RATIO}×: "
            f"{verdict(ratio(painted, floor_painted) <= PAINTED_RATIO)}; "
            f"server CPU ≤ {CPU_TARGET_MS} ms: {verdict(cpu_ms(result) <= CPU_TARGET_MS)}")


def seen_text(result: dict) -> str:
    seen = result.get("seen")
    if not seen:
        return ""
    backends = ", ".join(f"{name} ×{count}" for name, count in sorted(seen["backends"].items()))
    text = f"{backends}; GL {seen['webgl']}/{seen['drawn']} drawn"
    expected = result["variant"].backend
    if expected is not None and set(seen["backends"]) != {expected}:
        text += f"; NOT {expected} only!"
    return text


def head_cells(result: dict) -> list[str]:
    """n, slider (the group's), and what was served; the floor always has Degree at 1,000."""
    case = result["case"]
    name = result["variant"].name
    if result["variant"].floor and (case["slider"], case["n"]) != ("Degree", FLOOR_N):
        name += f" (Degree, n = {FLOOR_N:,})"
    return [f"{case['n']:,}", case["slider"], name]


def result_table(results: list[dict]) -> list[str]:
    cells = []
    for result in results:
        head = head_cells(result)
        rows = result.get("rows")
        if not rows:
            cells.append([*head, 0, "failed", *[""] * 11])
            continue
        floor = floor_of(results, result["case"])
        floor_data = stats(floor["rows"], "data")[0] if floor else np.nan
        floor_painted = stats(floor["rows"], "painted")[0] if floor else np.nan
        data, data_p95 = stats(rows, "data")
        painted, painted_p95 = stats(rows, "painted")
        presses = f"{len(rows)} ({result['settled']} settled)"
        cells.append([
            *head, presses, ms(data), ms(data_p95),
            f"{times(ratio(data, floor_data))} / {times(ratio(data_p95, floor_data))}",
            ms(painted), ms(painted_p95),
            f"{times(ratio(painted, floor_painted))} / {times(ratio(painted_p95, floor_painted))}",
            med(rows, "long_ms"), ms(cpu_ms(result)),
            f"{np.median([r['fit_bytes'] for r in rows]) / 1e3:,.1f}",
            seen_text(result), targets(result, floor),
        ])
    return table(["n", "slider", "served", "presses", "key → data ms", "p95 ms",
                  "÷ floor (median / p95)", "key → painted ms", "p95 ms",
                  "÷ floor (median / p95)", "long tasks ms/press", "server CPU ms/press",
                  "KB until fit",
                  "backend seen", "targets"], cells)


def breakdown_table(results: list[dict]) -> list[str]:
    cells = []
    for result in results:
        rows = result.get("rows")
        if not rows:
            continue
        paint_first = sum(r["paint_by_raf2"] for r in rows)
        changed = sum(r["new_values"] for r in rows)
        cells.append([
            *head_cells(result), med(rows, "key_to_send"), med(rows, "send_to_first"),
            med(rows, "send_to_patch"), med(rows, "apply"), med(rows, "to_raf"),
            med(rows, "to_paint_start"), med(rows, "to_paint_end"),
            med(rows, "to_raf2"), med(rows, "to_painted"), f"{paint_first}/{len(rows)}",
            f"{changed}/{len(rows)}", f"{np.median([r['changes'] for r in rows]):g}",
            f"{np.median(result['bytes']) / 1e3:,.1f}", f"{np.median(result['frames']):g}",
            f"{result['loaded']:.1f}",
        ])
    return table(["n", "slider", "served", "key → sent", "sent → ack", "sent → fit patch",
                  "apply patch", "data → 1st frame", "Bokeh paint from", "to",
                  "data → 2nd frame", "data → painted", "painted by 2nd frame",
                  "new values", "fit updates", "KB per change", "frames per change",
                  "page drawn s"], cells or [[""] * 18])


def notes(results: list[dict], variants: list[Variant]) -> list[str]:
    lines = []
    for result in results:
        case = result["case"]
        name = f"n = {case['n']:,}, {case['slider']}, {result['variant'].name}"
        if "failed" in result:
            lines.append(f"- {name}: failed ({result['failed']}).")
        if "rows" not in result:
            continue
        settle = np.array(result["settle_s"], dtype=float)
        settle_text = (f", in a median {np.median(settle[np.isfinite(settle)]):.1f} s after the "
                       "new fit was drawn" if np.isfinite(settle).any() else "")
        lines.append(
            f"- {name}: page drawn {result['loaded']:.1f} s after it was opened, "
            f"{result['load_bytes'] / 1e6:,.1f} MB received by then"
            + ("" if result["opened_settled"] else ", and did not settle before the presses")
            + f"; {result['settled']} of {len(result['rows'])} timed presses let the page "
            f"settle within {case['settle_ms'] / 1e3:g} s{settle_text}; at the ends of the "
            f"blocks it took up to {max(result['block_end_s'], default=0):.1f} s more to settle; "
            f"{len(result['errors'])} browser errors"
            + (f" (first: {result['errors'][0][:120]})" if result["errors"] else "") + ".")
    renderers = {r["seen"]["renderer"] for r in results if r.get("seen")}
    if renderers:
        lines.append(f"- WebGL in this Chromium (`--disable-gpu`, headless): "
                     f"{'; '.join(sorted(renderers))}.")
    for variant in variants:
        problems = variant.problems
        if variant.failed or problems:
            lines.append(f"- Server {variant.name}: {variant.failed or 'ran'}; "
                         f"{len(problems)} error lines in its log"
                         + (f" (first: {problems[0][:160]})" if problems else "") + ".")
    return lines


def report(results: list[dict], variants: list[Variant], info: str,
           app: Path | None = None) -> str:
    cases = list({id(r["case"]): r["case"] for r in results}.values())
    blocks = "; ".join(
        f"n = {c['n']:,} {c['slider']}: {c['blocks']} blocks of {c['presses']} presses "
        f"({c['warmup']} untimed in the first block, 1 in each later one)" for c in cases)
    return "\n".join([
        HEADING,
        "",
        info,
        "",
        "Three servers on 127.0.0.1, side by side: the **floor**, `panel serve "
        "../shared/bench/floor_app.py` (one material Degree slider, two raw Bokeh figures "
        "of 1,000 points, numpy refit, both data sources assigned in one hold: about the "
        "least work Panel and Bokeh can do for one slider change), and the **app** served "
        f"twice by `python -m polyfit_explorer{'' if app is None else ' ' + str(app)}` (at "
        f"`/{APP_PATH if app is None else app.stem}?data.n_samples=n`) with "
        f"`{BACKEND_VARIABLE}=canvas` and `=webgl`. The system Chromium (headless, "
        "`polyfit_explorer.testing.CHROMIUM_ARGS`) opens one page per server, each in a "
        "browser context of its own, and keeps the three open. After a page has drawn and "
        "settled, its slider's handle (found by its accessible name, `Degree` or `Noise σ`) "
        "gets ArrowRight and ArrowLeft alternately (Degree 3 ↔ 4). The presses go in "
        "blocks, floor, canvas, webgl, then webgl, canvas, floor, so that a drift in the "
        f"machine's load hits all three alike: {blocks}. The floor's row in every group is "
        "its Degree presses at n = 1,000, measured in the same blocks. After each press the "
        "run waits for the new fit to be drawn, then for the page to settle (`SETTLED` of "
        "`polyfit_explorer.testing`; the app's diagnostics tab computes after every change "
        "in a worker thread), up to a cap given in the notes, then 200 ms; at the end of a "
        f"block it waits for the page to settle (up to {BLOCK_END_MS / 1e3:g} s), so that "
        "left-over work does not run into the next block.",
        "",
        "All times are measured in the page with `performance.now()`, from the `keydown`. "
        "**key → data**: until a `Bokeh.documents[0].on_change` listener sees new data in "
        "the fit curve's `ColumnDataSource` (found by its legend label `fit`, the same in "
        "both apps). **key → painted**: the start of the frame after the one that drew the "
        "new fit. At the data's arrival the listener requests a `requestAnimationFrame` "
        "callback, and that callback a second one. BokehJS paints a changed plot in an "
        "animation-frame callback it requested when the data changed, so the first callback "
        "runs in the frame that draws the new fit, just before BokehJS's paint, and the "
        "second at the start of the next frame, which Chromium begins only once the frame "
        "with the new fit has been produced (rastered and handed to the compositor). To "
        "check that, BokehJS's own paint of the fit's figure is stamped as well (a wrapper "
        "around `PlotView._actual_paint`), and from inside it one more animation-frame "
        "callback is requested: the painted time is the later of that callback and the "
        "second one, which are the same frame whenever BokehJS painted in the first frame "
        "(*painted by 2nd frame* below). Not measured: the compositor and the display after "
        "that (headless Chromium, software rendering with `--disable-gpu`). **Long tasks**: "
        "the part of the page's long tasks (`PerformanceObserver`, type `longtask`: "
        "main-thread tasks over 50 ms) between the key and the painted time, summed per "
        "press; the median over presses.",
        "",
        *result_table(results),
        "",
        "- **Ratios** (÷ floor): the row's median and its p95, each divided by the floor's "
        "median in the same group of blocks. **Targets** (reported, never asserted): key → "
        f"data ≤ {DATA_RATIO}× the floor (p95 ≤ {DATA_P95_RATIO}×) and key → painted ≤ "
        f"{PAINTED_RATIO}× the floor, for Degree at n = 1,000; key → data ≤ "
        f"{LARGE_TARGET_MS} ms for Degree at n = 1,000,000; the server's main-thread CPU "
        f"≤ {CPU_TARGET_MS} ms per Degree change at n = 1,000. With few presses (`--quick`) "
        "the p95 is nearly the maximum.",
        "- **server CPU ms/press**: the CPU time of the server's main thread (the thread "
        "of Tornado's event loop, which applies the change, updates the figures, applies "
        "the shown diagnostic's result and writes the messages) from just before the key "
        "press until 200 ms after the page settled, the mean over the timed presses (the "
        "kernel counts in 10 ms ticks). Worker threads (the diagnostics' computation) are "
        "not counted.",
        "- **backend seen**: the `output_backend` of every Bokeh `Plot` model in the page's "
        "document at the end (× how many plots), and of the plots drawn, how many got a "
        "WebGL context (BokehJS falls back to the 2D canvas, without a word, when the "
        "browser has no WebGL).",
        "- **KB until fit**: websocket payload the page received between the key press and "
        "the new fit (from the page's own frame log).",
        "",
        "Where the time goes (medians, in ms, so they need not add up):",
        "",
        *breakdown_table(results),
        "",
        "- *key → sent*: keydown until the page sends the first websocket frame (the slider "
        "widget); *sent → ack*: until the first frame comes back, Bokeh's reply once the "
        "server has applied the browser's change to its document; *sent → fit patch*: "
        "until the frame after which the fit's data changed: Panel's event debounce, the "
        "refit and the HoloViews and Bokeh updates on the server, sending the patch "
        "(several messages, some before the fit's); *apply patch*: from that frame until "
        "the fit's data source holds the data (BokehJS decoding and applying it). Key → "
        "data is the sum of the first, third and fourth.",
        "- From the new data: *data → 1st frame*: until the first animation-frame callback; "
        "*Bokeh paint from*, *to*: the start and end of BokehJS's first paint of the fit's "
        "figure (with WebGL, drawing the glyphs and copying them onto the 2D canvas); "
        "*data → 2nd frame*: until the nested callback; *data → painted*: until the later "
        "of that and the frame after BokehJS's paint; *painted by 2nd frame*: presses whose "
        "BokehJS paint had ended by the nested callback; *new values*: presses whose fit "
        "column's sum differed from the previous press's (the probe sees new values, not "
        "only a reassignment); *fit updates*: document changes per press that brought new "
        "fit data (median; 1 if the fit is sent once).",
        "- **KB per change**: all websocket payload received from one press until the next "
        "(Playwright's `framereceived`; **frames per change** counts its websocket frames: "
        "a Bokeh message is a header, metadata, content and one frame per binary buffer), "
        "which includes the diagnostics tab's new plots when they finished in time.",
        *notes(results, variants),
        "",
    ])


def run(quick: bool = False, app: Path | None = None, sizes=None,
        backends: tuple[str, ...] = BACKENDS) -> str:
    started, load_start, start = now(), load_average(), time.perf_counter()
    if not FLOOR.exists():
        raise FileNotFoundError(f"the floor app is not at {FLOOR}")
    cases = [case for case in plan(quick) if sizes is None or case["n"] in sizes]
    with tempfile.TemporaryDirectory() as folder:
        results, variants = measure(cases, Path(folder), app, backends)
    info = measured(started, load_start, time.perf_counter() - start)
    print(info, "", *result_table(results), "", *breakdown_table(results), sep="\n")
    return report(results, variants, info, app)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="n = 1,000, Degree, 2 blocks of 5 presses (floor and both backends)")
    parser.add_argument("--app", type=Path, default=None,
                        help="a script to serve with `python -m polyfit_explorer SCRIPT`, "
                             "for experiments (default: the packaged app)")
    parser.add_argument("--sizes", help="only these of the plan's sizes, e.g. 1000")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="the app's output backends to measure (default canvas,webgl)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    backends = tuple(b for b in args.backends.split(",") if b)
    return run(args.quick, args.app, sizes, backends)


if __name__ == "__main__":
    main()
