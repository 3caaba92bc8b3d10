"""Memory after a class leaves, and the speed of a change, under each allocator setting.

Run it with

    uv run python benchmarks/allocator.py                 # every candidate, once
    uv run python benchmarks/allocator.py --repeats 2 --cycles 200 --only malloc pymalloc

For each candidate (:data:`CANDIDATES`: ``PYTHONMALLOC``, ``MALLOC_ARENA_MAX``
and whether the app calls glibc's ``malloc_trim`` after sessions close) it

1. serves the app with ``python -m polyfit_explorer`` on one process, as
   benchmarks/load.py does, with the candidate's variables in the server's
   environment, and measures the server's RSS after a few warm-up sessions
   (the baseline), after ``--class-size`` sessions were open at once and
   closed (the high-water mark of a class), and after ``--cycles``
   open/change/close cycles, :data:`AT_ONCE` at a time; the ratio is the last over the
   baseline, and the median time of a cycle's change (sent until the new fit
   arrived) is the served speed;
2. times, in a fresh interpreter with the same variables, Degree changes of an
   Explorer rendered offline (benchmarks/changes.py's measure: from
   ``param.update`` until the Bokeh sources hold the new fit), at n = 200 and
   n = 10,000: the cost of the allocator to Python's small allocations.

The candidates run interleaved (each repeat runs them all in turn), because the
machine is shared and its load drifts.  :func:`run` is the ``allocator``
section of benchmarks/run.py (a slow one: 7 settings, 2 repeats, an estimated
6 minutes each on an idle 2-core machine, 12 to 15 on the loaded one of
2026-12-06); this script prints the same section.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import load
from _report import now

HEADING = "## Allocator settings: memory after a class leaves, and the speed cost"
HERE = Path(__file__).resolve().parent
#: The packaged app without malloc_trim: the control of the ``trim`` candidates.
UNTRIMMED_APP = HERE / "_untrimmed_app.py"


@dataclass(frozen=True)
class Candidate:
    """An allocator setting: the server's environment variables, and whether it trims."""

    name: str
    env: dict[str, str]
    trim: bool = True


#: ``as served`` sets nothing: what ``python -m polyfit_explorer`` chooses itself.
CANDIDATES = [
    Candidate("pymalloc + trim (the default until 2026-12)", {"PYTHONMALLOC": "pymalloc"}),
    Candidate("malloc + trim", {"PYTHONMALLOC": "malloc"}),
    Candidate("pymalloc + MALLOC_ARENA_MAX=2 + trim",
              {"PYTHONMALLOC": "pymalloc", "MALLOC_ARENA_MAX": "2"}),
    Candidate("malloc + MALLOC_ARENA_MAX=2 + trim",
              {"PYTHONMALLOC": "malloc", "MALLOC_ARENA_MAX": "2"}),
    Candidate("malloc, no trim", {"PYTHONMALLOC": "malloc"}, trim=False),
    Candidate("pymalloc, no trim", {"PYTHONMALLOC": "pymalloc"}, trim=False),
    Candidate("as served (no variable set)", {}),
]
#: Sessions opened (and cycles run) at a time: more time out on a shared 2-core machine.
AT_ONCE = 2
#: The variables a candidate may set; each run starts without any of them.
VARIABLES = ("PYTHONMALLOC", "MALLOC_ARENA_MAX")


@dataclass
class Run:
    """One candidate's measures in one repeat."""

    candidate: str
    baseline: float = 0.0
    after_class: float = 0.0
    after_cycles: float = 0.0
    cycle_ms: float = float("nan")
    errors: list[str] = field(default_factory=list)
    #: n -> median ms of a Degree change in process.
    change_ms: dict[int, float] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.after_cycles / self.baseline if self.baseline else float("nan")


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """Set ``env`` (and unset the other :data:`VARIABLES`) in os.environ for the block.

    Children started inside the block inherit it; this interpreter's allocator,
    chosen at its start, does not change.
    """
    saved = {name: os.environ.get(name) for name in VARIABLES}
    for name in VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def serve_memory(candidate: Candidate, run: Run, class_size: int, cycles: int,
                 timeout: float = 60.0) -> None:
    """Serve the app with the candidate's setting; record its RSS and cycle latency."""
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"polyfit-allocator-{os.getpid()}.log"
    script = None if candidate.trim else UNTRIMMED_APP
    with environment(candidate.env), load.serve(log, script=script) as server:
        warm = load.Load(sessions=0, duration=0, think=0)
        load.cycle(server, warm, 2, timeout, -100)
        load.settle()
        run.baseline = server.rss_mb()
        if class_size:
            for client in open_class(server.url, class_size, run):
                client.close()
            load.settle()
        run.after_class = server.rss_mb()
        measured = load.Load(sessions=0, duration=0, think=0)
        load.cycle(server, measured, cycles, timeout, 10_000, workers=AT_ONCE)
        load.settle()
        run.after_cycles = server.rss_mb()
        run.cycle_ms = statistics.median(measured.cycle_latencies) * 1e3
        run.errors += warm.cycle_errors + measured.cycle_errors
    run.errors += server.log_problems()


def open_class(url: str, count: int, run: Run) -> list[load.Client]:
    """Open ``count`` sessions, :data:`AT_ONCE` at a time; a session that fails is an error."""

    def open_one(_):
        try:
            return load.Client(url)
        except Exception as error:  # a timeout on a loaded machine: count it, go on
            run.errors.append(f"open: {type(error).__name__}: {error}")
            return None

    with ThreadPoolExecutor(AT_ONCE) as pool:
        return [client for client in pool.map(open_one, range(count)) if client]


def change_speed(candidate: Candidate, sizes: tuple[int, ...], changes: int) -> dict[int, float]:
    """Median ms of a Degree change in process, in a fresh interpreter with the setting."""
    command = [sys.executable, __file__, "--speed-child", *map(str, sizes),
               "--changes", str(changes)]
    with environment(candidate.env):
        out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=HERE)
    return {int(n): ms for n, ms in json.loads(out.stdout.splitlines()[-1]).items()}


def speed_child(sizes: list[int], changes: int) -> None:
    """Print the median ms of ``changes`` Degree changes at each size, as JSON."""
    import changes as bench

    row = bench.Row("OLS", dict(penalty="none"), "degree", "Linear regression")
    result = {}
    for n in sizes:
        model, _, root = bench.render(n)
        times = bench.time_changes(model, bench.Arrived(model, root), n, row, changes, 3)
        result[n] = statistics.median(times) * 1e3
    print(json.dumps(result))


def measure(candidates: list[Candidate], repeats: int, class_size: int, cycles: int,
            sizes: tuple[int, ...], changes: int, what: tuple[str, ...]) -> list[Run]:
    runs = []
    for repeat in range(repeats):
        for candidate in candidates:
            started = time.perf_counter()
            run = Run(candidate.name)
            if "memory" in what:
                serve_memory(candidate, run, class_size, cycles)
            if "speed" in what:
                run.change_ms = change_speed(candidate, sizes, changes)
            runs.append(run)
            load._progress(
                f"[{repeat + 1}/{repeats}] {candidate.name}: {run.baseline:.0f} → "
                f"{run.after_class:.0f} → {run.after_cycles:.0f} MB ({run.ratio:.2f}×), "
                f"cycle change {run.cycle_ms:.0f} ms, in process "
                f"{', '.join(f'{ms:.1f}' for ms in run.change_ms.values())} ms, "
                f"{len(run.errors)} errors ({time.perf_counter() - started:.0f} s)")
    return runs


def _spread(values: list[float], digits: int = 0) -> str:
    """The median, and the range when there are several values."""
    text = f"{statistics.median(values):,.{digits}f}"
    if len(values) > 1:
        text += f" ({min(values):,.{digits}f} to {max(values):,.{digits}f})"
    return text


def report(runs: list[Run], sizes: tuple[int, ...], class_size: int, cycles: int) -> str:
    lines = [
        f"| setting | baseline MB | after a class of {class_size} | after {cycles} cycles "
        "| ratio | cycle's change, ms | "
        + " | ".join(f"change in process, n = {n:,}, ms" for n in sizes) + " | errors |",
        "|--|--:|--:|--:|--:|--:|" + "--:|" * len(sizes) + "--:|",
    ]
    for name in dict.fromkeys(run.candidate for run in runs):
        mine = [run for run in runs if run.candidate == name]
        cells = [name]
        if mine[0].baseline:
            cells += [_spread([r.baseline for r in mine]), _spread([r.after_class for r in mine]),
                      _spread([r.after_cycles for r in mine]),
                      _spread([r.ratio for r in mine], 2), _spread([r.cycle_ms for r in mine])]
        else:
            cells += ["—"] * 5
        cells += [_spread([r.change_ms[n] for r in mine], 1) if mine[0].change_ms else "—"
                  for n in sizes]
        cells.append(str(sum(len(r.errors) for r in mine)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def section(runs: list[Run], sizes: tuple[int, ...], class_size: int, cycles: int,
            changes: int, seconds: float) -> str:
    """The Markdown section: what was measured, the table, the errors."""
    repeats = max(sum(r.candidate == runs[0].candidate for r in runs), 1)
    errors = [f"{r.candidate}: {e}" for r in runs for e in r.errors]
    return "\n".join([
        HEADING,
        "",
        f"Generated by `uv run python benchmarks/allocator.py`, {now()} (this run: "
        f"{seconds:.0f} s, {repeats} repeat{'s' if repeats > 1 else ''}, the settings "
        "interleaved; a cell is the median, with the range of the repeats in brackets). "
        "One server process (`python -m polyfit_explorer --warm`) per setting and repeat, "
        f"the setting in its environment; baseline after 2 warm-up sessions; then "
        f"{class_size} sessions open at once and closed (a class's high-water mark); then "
        f"{cycles} open/change/close cycles, {AT_ONCE} at a time. RSS in MB, "
        f"{load.CLEANUP_WAIT_S:g} s after the last session closed. **ratio**: after the "
        "cycles over the baseline (the target is at most 1.3). **cycle's change**: "
        "median time from a cycle's change sent until its new fit arrived. **change in "
        f"process**: median of {changes} Degree changes of an Explorer rendered offline "
        "(benchmarks/changes.py's measure) in a fresh interpreter with the setting.",
        "",
        report(runs, sizes, class_size, cycles),
        "",
        *([f"Errors ({len(errors)}): {'; '.join(errors[:5])}", ""] if errors else []),
    ])


def run(repeats: int = 2, class_size: int = 20, cycles: int = 200) -> str:
    """benchmarks/run.py's ``allocator`` section: every candidate, interleaved."""
    started, sizes = time.perf_counter(), (200, 10_000)
    runs = measure(CANDIDATES, repeats, class_size, cycles, sizes, 20, ("memory", "speed"))
    return section(runs, sizes, class_size, cycles, 20, time.perf_counter() - started)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--class-size", type=int, default=20,
                        help="sessions open at once before the cycles (default 20)")
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--changes", type=int, default=20, help="timed in-process changes")
    parser.add_argument("--only", nargs="+", metavar="WORD",
                        help="candidates whose name starts with one of these words")
    parser.add_argument("--what", nargs="+", choices=["memory", "speed"],
                        default=["memory", "speed"], help="what to measure (default both)")
    parser.add_argument("--speed-child", nargs="+", type=int, metavar="N", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.speed_child:
        speed_child(args.speed_child, args.changes)
        return ""
    candidates = [c for c in CANDIDATES
                  if not args.only or c.name.startswith(tuple(args.only))]
    sizes = (200, 10_000)
    started = time.perf_counter()
    runs = measure(candidates, args.repeats, args.class_size, args.cycles, sizes, args.changes,
                   tuple(args.what))
    text = section(runs, sizes, args.class_size, args.cycles, args.changes,
                   time.perf_counter() - started)
    print(text)
    return text


if __name__ == "__main__":
    main()
