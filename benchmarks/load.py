"""A whole class at once: many concurrent sessions of the served app, its speed and memory.

Run it with

    uv run python benchmarks/load.py            # the three scenarios below (about 10 min)
    uv run python benchmarks/load.py --quick    # a small variant of each
    uv run python benchmarks/load.py --sessions 8 --duration 5 --cycles 30 --num-procs 2
    uv run python benchmarks/load.py --through-nginx   # 50 sessions, 2 processes, nginx

It serves the app with its own entry point, ``python -m polyfit_explorer``
(the security headers; the app at ``/explorer``), on 127.0.0.1 (a free port,
``--warm``, unused sessions discarded after a second, ``--num-procs N``), then:

1. opens a few sessions, makes one change in each and closes them, so that
   every process has filled the caches later sessions share;
2. opens ``--sessions`` sessions with ``bokeh.client.pull_session`` (a few at a
   time, as a class arrives) and keeps them all open.  With ``--num-procs``
   above 1 the kernel hands each websocket to whichever process accepts it
   first; a ``bokeh.client`` session keeps its websocket, so it stays on one
   process;
3. in every session, in a thread of its own, changes the degree, the noise σ
   and the number of samples for ``--duration`` seconds, the way the browser
   does: the slider's Bokeh model gets ``value`` and ``value_throttled`` (the
   sliders are throttled, so only ``value_throttled`` reaches the model);
   0.5 to 1.5 times ``--think`` seconds pass between one change's arrival and
   the next change (none with ``--think 0``);
4. times each change from sending it until that session's fit curve (the
   ``ColumnDataSource`` with column ``fit``) holds new values; the throughput
   is the changes that arrived per second of the busy window, from the first
   change sent to the last one arrived;
5. closes the sessions and, once the server has discarded them, runs
   ``--cycles`` open/change/close cycles (``--at-once`` at a time).

Every session first sends Bokeh's ``DocumentReady`` event, as a page does once
it has rendered, so Panel runs its ``onload`` callbacks and the shown
diagnostics tab (the validation curve) is recomputed after every change, as
it is in a browser.  Server memory is the RSS summed over the server's process
group (the process started and the workers it forks).  Errors are exceptions
in a client, changes that did not arrive within ``--timeout`` seconds, and
ERROR/CRITICAL records or tracebacks in the server's log.

:func:`run` (the ``load`` section of benchmarks/run.py, and this script
without scenario options) measures the issue's targets, which are reported,
never asserted:

(a) 10 sessions, no think time, one process, 20 s: at least 30 changes/s and
    a 95th-percentile latency of at most 500 ms;
(b) 50 sessions, think time 1 s, ``--num-procs 2``, 30 s: p95 at most 1 s;
(c) 200 open/change/close cycles on one process (the server of (a), after its
    sessions closed), as before: no target; the memory's drift is reported.

``--through-nginx`` (:func:`run_nginx`, the ``nginx`` section of
benchmarks/run.py) runs the class of (b) on app processes of ports of their
own behind nginx, as ``deploy/serve_class.py`` starts them; the clients
connect to nginx, so each session's websocket goes through it.

``run(quick=True)`` (``--quick``) is the small variant: 4 sessions for 5 s,
8 sessions on 2 processes for 5 s, 20 cycles.  tests/ui/test_sessions.py
drives sessions with :class:`Client` and runs a small load with
:func:`hammer` and :func:`cycle`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import random
import re
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
#: ``python -m polyfit_explorer`` serves the packaged app at this path.
APP_PATH = "explorer"
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
    """A running ``python -m polyfit_explorer``: its URL, processes, memory and log."""

    pid: int
    url: str
    log: Path
    port: int = 0
    num_procs: int = 1

    def processes(self) -> list[psutil.Process]:
        """The process started and every process it forked (``--num-procs``)."""
        leader = psutil.Process(self.pid)
        return [leader, *leader.children(recursive=True)]

    def workers(self) -> list[psutil.Process]:
        """The processes that serve sessions: the forked ones, if any, else the leader."""
        processes = self.processes()
        return processes[1:] or processes

    def _sum(self, measure: Callable[[psutil.Process], float]) -> float:
        total = 0.0
        for process in self.processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += measure(process)
        return total

    def rss_mb(self) -> float:
        """Resident memory summed over the process group, MB.

        Forked workers share the leader's pages until they write to them, so
        with ``--num-procs`` above 1 the sum counts shared pages more than once.
        """
        return self._sum(lambda p: p.memory_info().rss) / 2**20

    def pss_mb(self) -> float:
        """Proportional set size summed over the process group (shared pages once), MB."""
        return self._sum(lambda p: p.memory_full_info().pss) / 2**20

    def cpu_seconds(self) -> float:
        """User and system CPU time the process group has used so far."""
        return self._sum(lambda p: sum(p.cpu_times()[:2]))

    def sessions_per_process(self) -> list[int]:
        """Established connections to the server's port held by each worker process."""
        counts = []
        for process in self.workers():
            with contextlib.suppress(psutil.NoSuchProcess):
                counts.append(_established(process, self.port))
        return counts

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_problems(self, offset: int = 0, end: int | None = None) -> list[str]:
        """Lines of the log (from byte ``offset`` to ``end``) that report an error."""
        return testing.server_log_problems(_read(self.log, offset, end))


def _established(process: psutil.Process, port: int) -> int:
    """The established TCP connections of ``process`` on its local ``port``."""
    return sum(1 for c in process.net_connections(kind="tcp")
               if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port)


def _read(log: Path, offset: int = 0, end: int | None = None) -> str:
    with log.open("rb") as f:
        f.seek(offset)
        text = f.read() if end is None else f.read(max(0, end - offset))
    return text.decode(errors="replace")


#: ``python -m polyfit_explorer`` options besides the local address and
#: ``--num-procs``: warm, and closed sessions discarded within 1.5 s.
SERVER_OPTIONS = [
    "--warm",
    "--check-unused-sessions", str(CHECK_MS), "--unused-session-lifetime", str(UNUSED_MS),
]  # fmt: skip


@contextlib.contextmanager
def serve(log: Path, num_procs: int = 1, startup_timeout: float = 120.0,
          script: Path | None = None) -> Iterator[Server]:
    """Serve the app with its own entry point and the load's options until the block ends.

    ``script`` serves an app script of one's own instead of the packaged app.
    With ``num_procs`` above 1 the block starts once every worker has been forked.
    """
    app = [str(script)] if script else []
    arguments = ["-m", "polyfit_explorer", *app, *SERVER_OPTIONS, "--num-procs", str(num_procs)]
    with testing.serve(arguments, log, cwd=ROOT, timeout=startup_timeout) as served:
        path = script.stem if script else APP_PATH
        server = Server(served.pid, served.url(path), log, served.port, num_procs)
        deadline = time.monotonic() + startup_timeout
        while num_procs > 1 and len(server.processes()) <= num_procs:
            if time.monotonic() > deadline:
                raise testing.ServerFailed(
                    f"{len(server.processes()) - 1} of {num_procs} workers started:\n"
                    f"{log.read_text()}")
            time.sleep(0.1)
        yield server


# ---- the same behind nginx ------------------------------------------------------


def serve_class_module():
    """deploy/serve_class.py, which starts app processes behind nginx."""
    if "serve_class" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "serve_class", ROOT / "deploy" / "serve_class.py")
        sys.modules["serve_class"] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules["serve_class"]


@dataclass
class ClassServer(Server):
    """App processes on ports of their own behind nginx: one URL, a log per process.

    ``pid``, ``log`` and ``port`` are nginx's (its error log, its port); the
    measures (memory, CPU, sessions, log errors) are the app processes'.
    Log offsets are tuples: one per app log, then nginx's error log.
    """

    apps: list = field(default_factory=list)

    def processes(self) -> list[psutil.Process]:
        found = []
        for app in self.apps:
            with contextlib.suppress(psutil.NoSuchProcess):
                leader = psutil.Process(app.pid)
                found += [leader, *leader.children(recursive=True)]
        return found

    def sessions_per_process(self) -> list[int]:
        """Established connections (from nginx: the sessions' websockets) per app process."""
        counts = []
        for app in self.apps:
            with contextlib.suppress(psutil.NoSuchProcess):
                counts.append(_established(psutil.Process(app.pid), app.port))
        return counts

    def _logs(self) -> list[Path]:
        return [*(Path(app.log) for app in self.apps), self.log]

    def log_size(self) -> tuple[int, ...]:
        return tuple(log.stat().st_size for log in self._logs())

    def log_problems(self, offset=0, end=None) -> list[str]:
        """The app logs' errors and nginx's (``[error]`` and worse), from ``offset`` on."""
        logs = self._logs()
        offsets, ends = offset or (0,) * len(logs), end or (None,) * len(logs)
        problems = []
        for app, start, stop in zip(self.apps, offsets, ends, strict=False):
            text = _read(Path(app.log), start, stop)
            problems += [f"port {app.port}: {line}" for line in testing.server_log_problems(text)]
        nginx = _read(self.log, offsets[-1], ends[-1]).splitlines()
        return problems + [f"nginx: {line}" for line in nginx if NGINX_PROBLEM.search(line)]


NGINX_PROBLEM = re.compile(r"\[(error|crit|alert|emerg)\]")


@contextlib.contextmanager
def serve_behind_nginx(run_dir: Path, num_procs: int) -> Iterator[ClassServer]:
    """Serve the app on ``num_procs`` processes behind nginx, as deploy/serve_class.py does."""
    serve_class = serve_class_module()
    listen, *ports = testing.free_ports(num_procs + 1)
    running, processes = serve_class.start(
        run_dir, ports, listen=f"127.0.0.1:{listen}",
        options=[*SERVER_OPTIONS, "--log-format", testing.LOG_FORMAT])
    try:
        yield ClassServer(running.nginx_pid, running.url, running.error_log, listen,
                          num_procs, apps=running.apps)
    finally:
        serve_class.stop(running, processes)


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
    """What one server's run measured: a class of sessions, then open/close cycles."""

    sessions: int
    duration: float
    think: float
    cycles: int = 0
    num_procs: int = 1
    #: The processes are of ports of their own behind nginx, not ``--num-procs``.
    through_nginx: bool = False
    open_seconds: list[float] = field(default_factory=list)
    sessions_per_process: list[int] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    #: (sent, arrived) of every change that arrived, ``time.perf_counter`` seconds.
    arrivals: list[tuple[float, float]] = field(default_factory=list)
    changes_sent: int = 0
    errors: list[str] = field(default_factory=list)
    #: CPU seconds of the server's process group and of this (the clients') process
    #: while the sessions changed parameters, and how long that took.
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    drive_seconds: float = 0.0
    rss_start: float = 0.0
    rss_baseline: float = 0.0
    rss_open: float = 0.0
    pss_open: float = 0.0
    rss_peak: float = 0.0
    rss_closed: float = 0.0
    cycle_latencies: list[float] = field(default_factory=list)
    cycle_errors: list[str] = field(default_factory=list)
    rss_before_cycles: float = 0.0
    rss_after_cycles: float = 0.0
    #: Load averages (1, 5, 15 min) at the start, after the sessions, at the end.
    loadavg: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    sessions_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def mb_per_session(self) -> float:
        return (self.rss_open - self.rss_baseline) / self.sessions

    def latency_ms(self, q: float) -> float:
        return _percentile_ms(self.latencies, q)

    @property
    def busy_seconds(self) -> float:
        """From the first change sent to the last change arrived."""
        if not self.arrivals:
            return float("nan")
        return max(a for _, a in self.arrivals) - min(s for s, _ in self.arrivals)

    @property
    def throughput(self) -> float:
        """Changes that arrived per second of the busy window."""
        busy = self.busy_seconds
        return len(self.arrivals) / busy if busy > 0 else float("nan")

    @property
    def lost(self) -> int:
        return self.changes_sent - len(self.latencies)


def _percentile_ms(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(seconds) * 1e3, q)) if seconds else float("nan")


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
        arrived = time.perf_counter()
        with lock:
            load.latencies.append(latency)
            load.arrivals.append((arrived - latency, arrived))
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


def _own_cpu() -> float:
    return sum(psutil.Process().cpu_times()[:2])


def hammer(server: Server, load: Load, at_once: int, timeout: float, seed: int):
    """Open ``load.sessions`` sessions, drive them all at once, then close them."""
    clients = open_sessions(server.url, load.sessions, at_once, load)
    load.sessions_per_process = server.sessions_per_process()
    load.rss_open = load.rss_peak = server.rss_mb()
    load.pss_open = server.pss_mb()
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
    threads = [threading.Thread(target=run, args=(i,)) for i in range(load.sessions)]
    server_cpu, client_cpu, started = server.cpu_seconds(), _own_cpu(), time.perf_counter()
    sampler.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.drive_seconds = time.perf_counter() - started
    load.server_cpu = server.cpu_seconds() - server_cpu
    load.client_cpu = _own_cpu() - client_cpu
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
            load.cycle_latencies.append(client.change(name, value, timeout))
            client.close()
        except Exception as error:
            load.cycle_errors.append(f"cycle {index}: {type(error).__name__}: {error}")

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one, range(count)))


def settle():
    """Wait until the server has discarded closed sessions and collected garbage."""
    time.sleep(CLEANUP_WAIT_S)


def measure(sessions: int = 50, duration: float = 30.0, think: float = 1.0, cycles: int = 200,
            at_once: int = 4, timeout: float = 60.0, seed: int = 0, num_procs: int = 1,
            log: Path | None = None, progress=print, through_nginx: bool = False) -> Load:
    """Serve the app on ``num_procs`` processes, load it, cycle sessions; return the measures.

    ``sessions=0`` skips the class, ``cycles=0`` the open/close cycles.
    ``through_nginx``: ``num_procs`` processes on ports of their own behind
    nginx (deploy/), which the clients connect to, instead of ``--num-procs``.
    """
    load = Load(sessions=sessions, duration=duration, think=think, cycles=cycles,
                num_procs=num_procs, through_nginx=through_nginx)
    started = time.perf_counter()
    load.loadavg["start"] = os.getloadavg()
    log = log or Path(os.environ.get("TMPDIR", "/tmp")) / \
        f"polyfit-load-{os.getpid()}-{num_procs}p-{seed}.log"
    served = (serve_behind_nginx(log.with_suffix(".nginx"), num_procs) if through_nginx
              else serve(log, num_procs))
    with served as server:
        load.rss_start = server.rss_mb()
        progress(f"server up ({num_procs} process{'es' if num_procs > 1 else ''}), "
                 f"{load.rss_start:.0f} MB; warm-up sessions ...")
        # The first sessions fill caches that every later session of a process shares;
        # with several processes, opened at once so that each is likely to get some.
        warm = Load(sessions=0, duration=0, think=0)
        cycle(server, warm, 2 * num_procs, timeout, seed - 100, workers=num_procs)
        load.errors += [f"warm-up {error}" for error in warm.cycle_errors]
        settle()
        load.rss_baseline = load.rss_closed = load.rss_before_cycles = server.rss_mb()
        if sessions:
            progress(f"baseline {load.rss_baseline:.0f} MB; opening {sessions} sessions ...")
            hammer(server, load, at_once, timeout, seed)
            progress(f"{len(load.latencies)} changes at {load.throughput:.1f}/s, "
                     f"p95 {load.latency_ms(95):.0f} ms; closing, waiting for cleanup ...")
            settle()
            load.rss_closed = load.rss_before_cycles = server.rss_mb()
        load.sessions_seconds = time.perf_counter() - started
        load.loadavg["sessions"] = os.getloadavg()
        offset = server.log_size()
        load.errors += [f"server log: {line}" for line in server.log_problems(0, offset)]
        if cycles:
            progress(f"{load.rss_before_cycles:.0f} MB; {cycles} open/close cycles ...")
            cycle(server, load, cycles, timeout, seed + 10_000, at_once)
            settle()
            load.rss_after_cycles = server.rss_mb()
    # What the log holds from the cycles to the server's end (its shutdown included).
    late = [f"server log: {line}" for line in server.log_problems(offset)]
    (load.cycle_errors if cycles else load.errors).extend(late)
    load.loadavg["end"] = os.getloadavg()
    load.seconds = time.perf_counter() - started
    return load


# ---- targets ------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A speed target of the issue: a least throughput and a largest p95 latency."""

    text: str
    min_rate: float | None = None
    max_p95_ms: float | None = None

    def verdict(self, load: Load) -> str:
        misses = []
        if self.min_rate is not None and not load.throughput >= self.min_rate:
            misses.append("throughput")
        if self.max_p95_ms is not None and not load.latency_ms(95) <= self.max_p95_ms:
            misses.append("p95")
        if load.lost:
            misses.append(f"{load.lost} change{'s' if load.lost > 1 else ''} lost")
        return f"missed ({', '.join(misses)})" if misses else "met"


#: (a): one process, no think time.  (b): 50 sessions on two processes, think time 1 s.
TARGET_A = Target("≥ 30 changes/s, p95 ≤ 500 ms", min_rate=30, max_p95_ms=500)
TARGET_B = Target("p95 ≤ 1 s", max_p95_ms=1000)
#: run()'s scenarios: (a) and (c) share one one-process server, (b) has its own.
FULL = {"a": dict(sessions=10, duration=20.0, think=0.0, num_procs=1),
        "b": dict(sessions=50, duration=30.0, think=1.0, num_procs=2),
        "cycles": 200}
QUICK = {"a": dict(sessions=4, duration=5.0, think=0.0, num_procs=1),
         "b": dict(sessions=8, duration=5.0, think=1.0, num_procs=2),
         "cycles": 20}


# ---- report ------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "—" if value != value else f"{value:,.0f}"


def _mb(value: float) -> str:
    return f"{value:,.0f}"


def _loadavg(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


def _server(load: Load) -> str:
    text = (f"{load.num_procs} processes behind nginx" if load.through_nginx
            else f"`--num-procs {load.num_procs}`")
    if load.num_procs > 1 and load.sessions_per_process:
        text += f" (sessions per process: {' + '.join(map(str, load.sessions_per_process))})"
    return text


def _think(load: Load) -> str:
    if not load.think:
        return "no think time"
    return f"think {0.5 * load.think:g} to {1.5 * load.think:g} s"


def scenario_rows(label: str, load: Load, target: Target | None) -> list[str]:
    """The speed table's row of ``load``'s class of sessions."""
    errors = len(load.errors)
    return [
        f"| {label}: {load.sessions} sessions, {_think(load)}, {load.duration:g} s "
        f"| {_server(load)} | {load.changes_sent} / {len(load.latencies)} | {errors} "
        f"| {load.throughput:.1f} | {_ms(load.latency_ms(50))} | {_ms(load.latency_ms(95))} "
        f"| {target.text if target else '—'} | {target.verdict(load) if target else ''} |"
    ]


def cycle_row(label: str, load: Load, at_once: int) -> str:
    """The speed table's row of ``load``'s cycles: no target, the memory's drift."""
    arrived = len(load.cycle_latencies)
    grown = load.rss_after_cycles - load.rss_before_cycles
    return (
        f"| {label}: {load.cycles} open/change/close cycles, {at_once} at a time "
        f"| `--num-procs {load.num_procs}` | {load.cycles} / {arrived} "
        f"| {len(load.cycle_errors)} | — "
        f"| {_ms(_percentile_ms(load.cycle_latencies, 50))} "
        f"| {_ms(_percentile_ms(load.cycle_latencies, 95))} "
        f"| none (memory) | drift {grown:+,.0f} MB ({grown / load.cycles:+.2f} per cycle) |"
    )


def memory_row(label: str, load: Load, sessions: bool = True, cycles: bool = True) -> str:
    """The memory table's row: the class of sessions' columns, the cycles' or both."""
    dash = ["—"]
    cells = [label, f"{load.num_procs}"]
    cells += ([_mb(load.rss_start), _mb(load.rss_baseline), _mb(load.rss_open),
               f"{load.mb_per_session:.1f}", _mb(load.rss_peak), _mb(load.rss_closed)]
              if sessions and load.sessions else dash * 6)
    cells += ([_mb(load.rss_before_cycles), _mb(load.rss_after_cycles),
               f"{load.rss_after_cycles - load.rss_before_cycles:+,.0f}"]
              if cycles and load.cycles else dash * 3)
    return "| " + " | ".join(cells) + " |"


def details(label: str, load: Load, at_once: int, loadavg: tuple[str, str]) -> str:
    """A bullet on what ``load``'s class of sessions did besides its row."""
    text = (f"- {label}: sessions opened in {statistics.median(load.open_seconds):.2f} s "
            f"median ({max(load.open_seconds):.2f} s max), {at_once} at a time")
    if load.num_procs > 1:
        text += (f"; established websockets per worker process: "
                 f"{', '.join(map(str, load.sessions_per_process))}")
    if load.latencies:
        per_change = load.server_cpu / len(load.latencies) * 1e3
        text += (f"; server CPU {per_change:,.0f} ms per arrived change "
                 f"({load.server_cpu / load.drive_seconds:.2f} cores busy on average), "
                 f"clients' CPU {load.client_cpu / load.drive_seconds:.2f} cores; busy window "
                 f"{load.busy_seconds:.1f} s")
    text += (f"; PSS of the server's processes with the sessions open {_mb(load.pss_open)} MB "
             f"(RSS sum {_mb(load.rss_open)} MB); load average {loadavg[0]} at its start, "
             f"{loadavg[1]} at its end.")
    return text


@dataclass
class Section:
    """What one report shows: the runs, and which rows compare with which target."""

    sessions: list[tuple[str, Load, Target | None]]
    cycles: tuple[str, Load] | None
    at_once: int
    quick: bool = False
    custom: bool = False


def report(section: Section, seconds: float) -> str:
    loads = [load for _, load, _ in section.sessions]
    if section.cycles:
        loads.append(section.cycles[1])
    cores = os.cpu_count()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    command = ("`uv run python benchmarks/load.py` (a custom run)" if section.custom else
               f"`uv run python benchmarks/load.py{' --quick' if section.quick else ''}` (also "
               "the `load` section of `benchmarks/run.py`)")
    speed = [
        "| scenario | server | changes sent / arrived | errors | changes/s | median ms "
        "| p95 ms | target | result |",
        "|--|--|--:|--:|--:|--:|--:|--|--|",
    ]
    for label, load, target in section.sessions:
        speed += scenario_rows(label, load, target)
    if section.cycles:
        label, load = section.cycles
        speed.append(cycle_row(label, load, section.at_once))
    memory = [
        "| scenario | processes | at start (warm) | baseline | with the sessions open "
        "| per open session | peak while changing | after they closed | before the cycles "
        "| after the cycles | drift over the cycles |",
        "|--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for label, load, _ in section.sessions:
        shared = bool(section.cycles) and section.cycles[1] is load
        memory.append(memory_row(label, load, cycles=not shared))
    if section.cycles:
        label, load = section.cycles
        shared = any(load is other for _, other, _ in section.sessions)
        memory.append(memory_row(label, load, sessions=not shared))
    bullets = []
    for label, load, _ in section.sessions:
        bullets.append(details(label, load, section.at_once,
                               (_loadavg(load.loadavg["start"]),
                                _loadavg(load.loadavg["sessions"]))))
    if section.cycles:
        label, load = section.cycles
        bullets.append(f"- {label}: load average {_loadavg(load.loadavg['sessions'])} at its "
                       f"start, {_loadavg(load.loadavg['end'])} at its end.")
    errors = [e for load in loads for e in load.errors + load.cycle_errors]
    return "\n".join([
        HEADING,
        "",
        f"Generated by {command}, {datetime.now(UTC):%Y-%m-%d %H:%M UTC} (this run: "
        f"{seconds:.0f} s) on this {cores}-core machine ({usable} usable); the clients run "
        "on the same machine, in one process. The server is the app's own entry point, "
        "`python -m polyfit_explorer --warm` (security headers, the app at `/explorer`), "
        "with `--num-procs` as the row says; with several processes the kernel hands each "
        "session's websocket to whichever process accepts it, and the session stays "
        "there. Sessions are opened with `bokeh.client.pull_session` "
        f"({section.at_once} at a time), each sending `DocumentReady` as a drawn page "
        "does, so its diagnostics tab is live. Then every session, in a thread of its own, "
        "changes the degree, the noise σ or the number of samples through the slider's "
        "Bokeh model (`value` and `value_throttled`, as a released slider does), waiting "
        "for each change's new fit before the think time and the next change. "
        "**Latency**: from sending a change until that session's fit curve holds new "
        "values. **changes/s**: the changes that arrived, over the busy window from the "
        "first change sent to the last one arrived. The cycles open a session, make one "
        "change and close it, on the server of "
        + ("the sessions above" if section.custom else "(a)")
        + " once its sessions were discarded. "
        "**Memory** is the RSS summed over the server's process group (the process "
        "started and the workers it forks, which share pages with it, so the sum "
        "counts those more than once; the PSS below counts them once), MB; closed "
        f"sessions are discarded after {UNUSED_MS} ms (`--unused-session-lifetime`) and "
        f"measured {CLEANUP_WAIT_S:g} s after closing, once Panel has collected garbage. "
        "**Errors** count client exceptions, changes that did not arrive within the "
        "timeout, and errors or tracebacks in the server log. The targets are the "
        "issue's (it sets none for the cycles), reported, never asserted"
        + ("; `--quick` runs smaller scenarios than the targets', so its results only "
           "hint at them." if section.quick else "."),
        "",
        *speed,
        "",
        "Server memory, MB (RSS summed over the process group):",
        "",
        *memory,
        "",
        *bullets,
        "",
        *([f"Errors ({len(errors)}): {'; '.join(errors[:5])}", ""] if errors else []),
    ])


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(quick: bool = False, at_once: int = 4, timeout: float = 60.0, seed: int = 0) -> str:
    """Measure the three scenarios and return the markdown section.

    (a) and (c) on one one-process server, (b) on a two-process one; ``quick``:
    each smaller (:data:`QUICK`).
    """
    sizes = QUICK if quick else FULL
    started = time.perf_counter()
    _progress("(a) and (c): one process")
    one = measure(**sizes["a"], cycles=sizes["cycles"], at_once=at_once, timeout=timeout,
                  seed=seed, progress=_progress)
    _progress("(b): two processes")
    two = measure(**sizes["b"], cycles=0, at_once=at_once, timeout=timeout,
                  seed=seed + 1000, progress=_progress)
    section = Section(sessions=[("(a)", one, TARGET_A), ("(b)", two, TARGET_B)],
                      cycles=("(c)", one), at_once=at_once, quick=quick)
    return report(section, time.perf_counter() - started)


# ---- through nginx -----------------------------------------------------------------

HEADING_NGINX = "## A class through nginx: processes of their own ports behind a balancer"
#: The class of (b), 50 sessions on two processes, with nginx in front of them.
THROUGH_NGINX = dict(sessions=50, duration=30.0, think=1.0, num_procs=2)
THROUGH_NGINX_QUICK = dict(sessions=8, duration=5.0, think=1.0, num_procs=2)


def nginx_report(load: Load, at_once: int, quick: bool = False) -> str:
    """The Markdown section of a class of sessions served through nginx."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    errors = load.errors + load.cycle_errors
    return "\n".join([
        HEADING_NGINX,
        "",
        f"Generated by `uv run python benchmarks/load.py --through-nginx"
        f"{' --quick' if quick else ''}`, {datetime.now(UTC):%Y-%m-%d %H:%M UTC} (this run: "
        f"{load.seconds:.0f} s) on this {os.cpu_count()}-core machine ({usable} usable), "
        "the clients on the same machine, in one process: compare it with (b) above (the "
        "same 50 sessions on `--num-procs 2`) only as far as their load averages agree. "
        f"`deploy/serve_class.py` starts {load.num_procs} app processes, each "
        "`python -m polyfit_explorer --warm --use-xheaders` on a loopback port of its own, "
        "and Debian's nginx in front of them with `deploy/polyfit-explorer.conf.in` (sticky "
        "by a cookie hash, websocket upgrade). The clients are `bokeh.client` sessions, "
        "opened at nginx's address: each is a websocket through nginx (upgraded by it, "
        "then passed on both ways), which nginx hashes to a process by the `$request_id` "
        "it draws for a request without the cookie, and the session stays on that "
        "process. Otherwise as above: "
        f"{at_once} sessions opened at a time, each sending `DocumentReady`, then changing "
        "the degree, noise σ or number of samples with think time; **latency** from "
        "sending a change until that session's fit curve holds new values; **errors** "
        "count client exceptions, changes that did not arrive within the timeout, errors "
        "or tracebacks in the app processes' logs and `[error]` or worse in nginx's error "
        "log. Memory sums the app processes (nginx not counted).",
        "",
        "| scenario | server | changes sent / arrived | errors | changes/s | median ms "
        "| p95 ms | target | result |",
        "|--|--|--:|--:|--:|--:|--:|--|--|",
        *scenario_rows("through nginx", load, TARGET_B),
        "",
        "| scenario | processes | at start (warm) | baseline | with the sessions open "
        "| per open session | peak while changing | after they closed | before the cycles "
        "| after the cycles | drift over the cycles |",
        "|--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        memory_row("through nginx", load, cycles=False),
        "",
        details("through nginx", load, at_once,
                (_loadavg(load.loadavg["start"]), _loadavg(load.loadavg["end"]))),
        "",
        *([f"Errors ({len(errors)}): {'; '.join(errors[:5])}", ""] if errors else []),
    ])


def run_nginx(quick: bool = False, at_once: int = 4, timeout: float = 60.0,
              seed: int = 0) -> str:
    """Measure 50 sessions on two processes behind nginx; return the Markdown section."""
    sizes = THROUGH_NGINX_QUICK if quick else THROUGH_NGINX
    load = measure(**sizes, cycles=0, at_once=at_once, timeout=timeout, seed=seed + 2000,
                   progress=_progress, through_nginx=True)
    return nginx_report(load, at_once, quick)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Without --sessions, --duration, --think, --cycles or --num-procs it measures "
               "run()'s three scenarios; with any of them, one custom run (the others at "
               "their defaults) on one server.")
    parser.add_argument("--quick", action="store_true",
                        help="run()'s small variant: 4 sessions, 8 on 2 processes, 20 cycles")
    parser.add_argument("--sessions", type=int, help="sessions open at once (default 50)")
    parser.add_argument("--duration", type=float, help="seconds of changes (default 30)")
    parser.add_argument("--think", type=float,
                        help="mean pause between an update and the next change, s (default 1)")
    parser.add_argument("--cycles", type=int, help="open/change/close cycles (default 200)")
    parser.add_argument("--num-procs", type=int, help="server processes (default 1)")
    parser.add_argument("--at-once", type=int, default=4,
                        help="sessions opened (and cycles run) at a time")
    parser.add_argument("--timeout", type=float, default=60.0, help="per change, s")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--through-nginx", action="store_true",
                        help="50 sessions on --num-procs (default 2) processes of their own "
                             "ports behind nginx (deploy/serve_class.py); with --quick 8")
    args = parser.parse_args(argv)
    custom = {name: getattr(args, name)
              for name in ("sessions", "duration", "think", "cycles", "num_procs")
              if getattr(args, name) is not None}
    if args.through_nginx:
        sizes = {**(THROUGH_NGINX_QUICK if args.quick else THROUGH_NGINX), **custom}
        load = measure(**{"cycles": 0, **sizes}, at_once=args.at_once, timeout=args.timeout,
                       seed=args.seed + 2000, progress=_progress, through_nginx=True)
        text = nginx_report(load, args.at_once, args.quick)
    elif not custom:
        text = run(args.quick, args.at_once, args.timeout, args.seed)
    else:
        if args.quick:
            parser.error("--quick runs run()'s scenarios; it takes no scenario options")
        options = {"sessions": 50, "duration": 30.0, "think": 1.0, "cycles": 200,
                   "num_procs": 1, **custom}
        load = measure(**options, at_once=args.at_once, timeout=args.timeout, seed=args.seed,
                       progress=_progress)
        section = Section(
            sessions=[("custom", load, None)] if load.sessions else [],
            cycles=("cycles", load) if load.cycles else None,
            at_once=args.at_once, custom=True)
        text = report(section, load.seconds)
    print(text)
    return text


if __name__ == "__main__":
    main()
