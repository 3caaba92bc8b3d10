"""A whole class at once: many concurrent sessions of the served app, and its memory.

Run it with

    uv run python benchmarks/load.py            # 50 sessions for 30 s, 200 open/close cycles
    uv run python benchmarks/load.py --sessions 8 --duration 5 --cycles 30

It serves examples/app.py with ``panel serve`` on 127.0.0.1 (a free port,
``--warm``, unused sessions discarded after a second), then:

1. opens ``--sessions`` sessions with ``bokeh.client.pull_session`` (a few at a
   time, as a class arrives) and keeps them all open;
2. in every session, in a thread of its own, changes the degree, the noise σ
   and the number of samples for ``--duration`` seconds, the way the browser
   does: the slider's Bokeh model gets ``value`` and ``value_throttled`` (the
   sliders are throttled, so only ``value_throttled`` reaches the model);
   ``--think`` seconds pass between one change's arrival and the next change;
3. times each change from sending it until that session's fit curve (the
   ``ColumnDataSource`` with column ``fit``) holds new values;
4. closes the sessions and, once the server has discarded them, runs
   ``--cycles`` open/change/close cycles one after the other.

Every session first sends Bokeh's ``DocumentReady`` event, as a page does once
it has rendered, so Panel runs its ``onload`` callbacks and the shown
diagnostics tab (the validation curve) is recomputed after every change, as
it is in a browser.  Server memory is the RSS of the ``panel serve`` process.
Errors are exceptions in a client, changes that did not arrive within
``--timeout`` seconds, and ERROR/CRITICAL records or tracebacks in the server's
log.  ``run(quick=True)`` is the small variant; the CI test runs one like it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Registers the Bokeh model types of Panel's and the material widgets, which the
# pulled documents are made of.
import panel_material_ui  # noqa: F401
import psutil
from bokeh.client import pull_session
from bokeh.document import Document
from bokeh.document.events import MessageSentEvent
from bokeh.events import DocumentReady
from bokeh.models import ColumnDataSource

from polyfit_explorer import testing

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "app.py"
HEADING = "## A class at once: concurrent sessions"

#: Closed sessions are discarded after UNUSED_MS (checked every CHECK_MS); Panel
#: then collects garbage GC_DEBOUNCE_S later.  The wait for cleanup covers all three.
CHECK_MS, UNUSED_MS, GC_DEBOUNCE_S = 500, 1000, 5
CLEANUP_WAIT_S = (CHECK_MS + UNUSED_MS) / 1e3 + GC_DEBOUNCE_S + 4

#: What a student moves, and the values it takes: each change differs from the last.
CHANGES = {
    "degree": list(range(1, 11)),
    "noise_sd": [round(0.5 + 0.25 * i, 2) for i in range(19)],
    "n_samples": list(range(50, 410, 10)),
}


# ---- the server ----------------------------------------------------------------


@dataclass
class Server:
    """A running ``panel serve`` process: its URL, memory and log."""

    pid: int
    url: str
    log: Path

    def rss_mb(self) -> float:
        return psutil.Process(self.pid).memory_info().rss / 2**20

    def log_problems(self, offset: int = 0) -> list[str]:
        """Lines of the log (from byte ``offset``) that report an error."""
        with self.log.open("rb") as f:
            f.seek(offset)
            return testing.server_log_problems(f.read().decode(errors="replace"))


#: ``panel serve`` options besides the local address: warm, and closed sessions
#: discarded within 1.5 s.
SERVER_OPTIONS = [
    "--warm",
    "--check-unused-sessions", str(CHECK_MS), "--unused-session-lifetime", str(UNUSED_MS),
]  # fmt: skip


@contextlib.contextmanager
def serve(log: Path, app: Path = APP, startup_timeout: float = 60.0) -> Iterator[Server]:
    """Serve ``app`` (examples/app.py) with the load's options until the block ends."""
    arguments = ["-m", "panel", "serve", str(app), *SERVER_OPTIONS]
    with testing.serve(arguments, log, cwd=ROOT, timeout=startup_timeout) as served:
        yield Server(served.pid, served.url(app.stem), log)


# ---- one session, driven as a browser would -----------------------------------


class ChangeLost(Exception):
    """A change whose new fit did not arrive in time."""


class Client:
    """One app session pulled with ``bokeh.client``, driven through its widgets' models.

    Parameters
    ----------
    url : str
        The app's URL.
    ready : bool
        Send ``DocumentReady`` as a page does once drawn: Panel then runs the
        session's ``onload`` callbacks, which start the diagnostics tab.
    """

    def __init__(self, url: str, ready: bool = True):
        # Each session has its own Tornado loop, run only while this client waits.
        self.session = pull_session(url=url)
        self.document: Document = self.session.document
        self.widgets = {
            "degree": _material_slider(self.document, "Degree"),
            "noise_sd": _material_slider(self.document, "Noise σ"),
            "n_samples": _material_slider(self.document, "Samples"),
        }
        (self.fit,) = [m for m in self.document.models
                       if isinstance(m, ColumnDataSource) and "fit" in m.data]
        if ready:
            self.document.callbacks.trigger_on_change(
                MessageSentEvent(self.document, "bokeh_event", DocumentReady()))
            self.wait(lambda: False, 0.2)  # sends it

    def value(self, name: str):
        return self.widgets[name].value

    def fit_values(self) -> np.ndarray:
        return np.array(self.fit.data["fit"], dtype=float)

    def set(self, name: str, value):
        """Set a widget's value as the browser does on release (or an arrow key)."""
        model = self.widgets[name]
        model.value = value
        # Read-only in Python (only the browser sets it); the change is sent all the same.
        model.set_from_json("value_throttled", value)

    def change(self, name: str, value, timeout: float) -> float:
        """Set a widget and return the seconds until this session's fit curve changed."""
        before = self.fit_values()
        started = time.perf_counter()
        self.set(name, value)
        if not self.wait(lambda: not np.array_equal(self.fit_values(), before), timeout):
            raise ChangeLost(f"{name}={value}: no new fit within {timeout:g} s")
        return time.perf_counter() - started

    def wait(self, predicate, timeout: float) -> bool:
        """Apply what the server sends until ``predicate()`` or ``timeout`` s; return which.

        Bokeh's client reads messages only while its loop runs, and runs it
        until a predicate holds, checked after each message.  So at the
        timeout a server-info request goes out: its reply is a message, which
        ends the wait.  Should even that not come, the connection is closed.
        """
        connection = self.session._connection
        loop, expired = connection.io_loop, []

        def expire():
            expired.append(True)
            ping = connection._protocol.create("SERVER-INFO-REQ")
            loop.add_callback(connection.send_message, ping)

        timers = [loop.call_later(timeout, expire),
                  loop.call_later(timeout + 30, lambda: connection.close("no reply"))]
        try:
            connection._loop_until(
                lambda: predicate() or bool(expired) or not self.session.connected)
        finally:
            for timer in timers:
                loop.remove_timeout(timer)
        if not self.session.connected:
            raise ChangeLost("disconnected")
        return predicate()

    def close(self):
        """Close the connection, as a closed tab does, and drop this client's loop."""
        connection = self.session._connection
        # Closed from inside the session's own loop: Tornado binds the close's futures
        # to the loop running, and another client's loop may be this thread's default.
        connection.io_loop.add_callback(self.session.close)
        connection._loop_until(lambda: not self.session.connected)
        connection.io_loop.close(all_fds=True)


def _material_slider(document: Document, label: str):
    """The data model of the material slider captioned ``label`` (its value lives there)."""
    found = [m.data for m in document.models
             if type(m).__name__ == "ReactComponent" and getattr(m.data, "label", None) == label
             and hasattr(m.data, "value_throttled")]
    (model,) = {id(m): m for m in found}.values()
    return model


# ---- the load -------------------------------------------------------------------


@dataclass
class Load:
    """What one run measured."""

    sessions: int
    duration: float
    think: float
    open_seconds: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    changes_sent: int = 0
    errors: list[str] = field(default_factory=list)
    rss_start: float = 0.0
    rss_baseline: float = 0.0
    rss_open: float = 0.0
    rss_peak: float = 0.0
    rss_closed: float = 0.0
    cycles: int = 0
    cycle_errors: list[str] = field(default_factory=list)
    rss_before_cycles: float = 0.0
    rss_after_cycles: float = 0.0
    seconds: float = 0.0

    @property
    def mb_per_session(self) -> float:
        return (self.rss_open - self.rss_baseline) / self.sessions

    def latency_ms(self, q: float) -> float:
        return float(np.percentile(np.asarray(self.latencies) * 1e3, q)) if self.latencies \
            else float("nan")


def drive(client: Client, seconds: float, think: float, timeout: float, rng: random.Random,
          load: Load, lock: threading.Lock):
    """Change parameters in one session until ``seconds`` have passed."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        name = rng.choice(list(CHANGES))
        value = rng.choice([v for v in CHANGES[name] if v != client.value(name)])
        with lock:
            load.changes_sent += 1
        latency = client.change(name, value, timeout)
        with lock:
            load.latencies.append(latency)
        if think:
            # A page applies what the server sends (the diagnostics) while its user thinks.
            client.wait(lambda: False, rng.uniform(0.5 * think, 1.5 * think))


def open_sessions(url: str, count: int, at_once: int, load: Load) -> list[Client]:
    """Open ``count`` sessions, ``at_once`` at a time, as a class arrives."""

    def open_one(_):
        started = time.perf_counter()
        client = Client(url)
        return client, time.perf_counter() - started

    with ThreadPoolExecutor(at_once) as pool:
        opened = list(pool.map(open_one, range(count)))
    load.open_seconds = [seconds for _, seconds in opened]
    return [client for client, _ in opened]


def hammer(server: Server, load: Load, at_once: int, timeout: float, seed: int):
    """Open ``load.sessions`` sessions, drive them all at once, then close them."""
    clients = open_sessions(server.url, load.sessions, at_once, load)
    load.rss_open = load.rss_peak = server.rss_mb()
    lock, stop = threading.Lock(), threading.Event()

    def sample():
        while not stop.wait(0.5):
            load.rss_peak = max(load.rss_peak, server.rss_mb())

    def run(index):
        try:
            drive(clients[index], load.duration, load.think, timeout,
                  random.Random(seed + index), load, lock)
        except Exception as error:
            with lock:
                load.errors.append(f"session {index}: {type(error).__name__}: {error}")

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(load.sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    sampler.join()
    load.rss_peak = max(load.rss_peak, server.rss_mb())
    for client in clients:
        client.close()


def cycle(server: Server, load: Load, count: int, timeout: float, seed: int, workers: int = 1):
    """Open a session, make one change, close it; ``count`` times, ``workers`` at once."""

    def one(index):
        rng = random.Random(seed + index)
        try:
            client = Client(server.url)
            name = rng.choice(list(CHANGES))
            value = rng.choice([v for v in CHANGES[name] if v != client.value(name)])
            client.change(name, value, timeout)
            client.close()
        except Exception as error:
            load.cycle_errors.append(f"cycle {index}: {type(error).__name__}: {error}")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(count)))


def settle():
    """Wait until the server has discarded closed sessions and collected garbage."""
    time.sleep(CLEANUP_WAIT_S)


def measure(sessions: int = 50, duration: float = 30.0, think: float = 1.0, cycles: int = 200,
            at_once: int = 4, timeout: float = 60.0, seed: int = 0,
            log: Path | None = None, progress=print) -> Load:
    """Serve the app, load it, cycle sessions; return what was measured."""
    load = Load(sessions=sessions, duration=duration, think=think, cycles=cycles)
    started = time.perf_counter()
    log = log or Path(os.environ.get("TMPDIR", "/tmp")) / f"polyfit-load-{os.getpid()}.log"
    with serve(log) as server:
        load.rss_start = server.rss_mb()
        progress(f"server up, {load.rss_start:.0f} MB; warm-up session ...")
        # The first sessions fill caches that every later session shares.
        cycle(server, load, 2, timeout, seed - 1)
        settle()
        load.rss_baseline = server.rss_mb()
        progress(f"baseline {load.rss_baseline:.0f} MB; opening {sessions} sessions ...")
        hammer(server, load, at_once, timeout, seed)
        progress(f"{len(load.latencies)} changes; closing, waiting for cleanup ...")
        settle()
        load.rss_closed = load.rss_before_cycles = server.rss_mb()
        progress(f"{load.rss_closed:.0f} MB after closing; {cycles} open/close cycles ...")
        cycle(server, load, cycles, timeout, seed + 10_000, at_once)
        settle()
        load.rss_after_cycles = server.rss_mb()
        load.errors += [f"server log: {line}" for line in server.log_problems()]
    load.seconds = time.perf_counter() - started
    return load


# ---- report ------------------------------------------------------------------------


def table(load: Load) -> list[str]:
    rows = [
        ("sessions open at once", f"{load.sessions}"),
        ("session open time, median (max) s",
         f"{statistics.median(load.open_seconds):.2f} ({max(load.open_seconds):.2f})"),
        ("changes sent / arrived", f"{load.changes_sent} / {len(load.latencies)}"),
        ("errors", f"{len(load.errors) + len(load.cycle_errors)}"),
        ("update latency, median ms", f"{load.latency_ms(50):.0f}"),
        ("update latency, p95 ms", f"{load.latency_ms(95):.0f}"),
        ("server RSS at start (warm), MB", f"{load.rss_start:.0f}"),
        ("server RSS baseline (after 2 sessions, cleaned up), MB", f"{load.rss_baseline:.0f}"),
        (f"server RSS with {load.sessions} sessions open, MB", f"{load.rss_open:.0f}"),
        ("server RSS peak while changing, MB", f"{load.rss_peak:.0f}"),
        ("server RSS after they closed, MB", f"{load.rss_closed:.0f}"),
        ("memory per open session, MB", f"{load.mb_per_session:.1f}"),
        (f"server RSS after {load.cycles} more open/change/close cycles, MB",
         f"{load.rss_after_cycles:.0f}"),
        ("drift over the cycles, MB", f"{load.rss_after_cycles - load.rss_before_cycles:+.0f}"),
    ]
    return ["| measure | value |", "|--|--:|", *(f"| {a} | {b} |" for a, b in rows)]


def report(load: Load) -> str:
    cores = os.cpu_count()
    return "\n".join([
        HEADING,
        "",
        f"Generated by `uv run python benchmarks/load.py` (this run: {load.seconds:.0f} s, "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} at the end). One "
        f"`panel serve examples/app.py --warm` process on this {cores}-core machine; "
        f"{load.sessions} sessions opened with `bokeh.client.pull_session` (4 at a time), "
        "each sending `DocumentReady` as a drawn page does, so its diagnostics tab is "
        "live. Then, for "
        f"{load.duration:g} s, every session in a thread of its own changes the degree, the "
        "noise σ or the number of samples through the slider's Bokeh model (`value` and "
        "`value_throttled`, as a released slider does) and waits "
        f"{0.5 * load.think:g} to {1.5 * load.think:g} s after each update. Latency: from "
        "sending a change until that session's fit curve holds new values; the clients "
        "run on the same machine. Memory is the server process's RSS; closed sessions "
        f"are discarded after {UNUSED_MS} ms (`--unused-session-lifetime`) and measured "
        f"{CLEANUP_WAIT_S:g} s after closing, once Panel has collected garbage. Errors "
        "count client exceptions, changes that did not arrive, and errors or tracebacks "
        "in the server log.",
        "",
        *table(load),
        "",
        *([f"Errors: {'; '.join((load.errors + load.cycle_errors)[:5])}", ""]
          if load.errors or load.cycle_errors else []),
    ])


def run(quick: bool = False) -> str:
    """Measure and return the markdown section (``quick``: 8 sessions, 5 s, 30 cycles)."""
    options = dict(sessions=8, duration=5.0, cycles=30) if quick else {}
    load = measure(**options, progress=lambda text: print(text, file=sys.stderr, flush=True))
    return report(load)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of changes")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean pause between an update and the next change, s")
    parser.add_argument("--cycles", type=int, default=200, help="open/change/close cycles")
    parser.add_argument("--at-once", type=int, default=4, help="sessions opened at a time")
    parser.add_argument("--timeout", type=float, default=60.0, help="per change, s")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    load = measure(args.sessions, args.duration, args.think, args.cycles, args.at_once,
                   args.timeout, args.seed,
                   progress=lambda text: print(text, file=sys.stderr, flush=True))
    text = report(load)
    print(text)
    return text


if __name__ == "__main__":
    main()
