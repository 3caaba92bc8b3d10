"""What the benchmark sections share: statistics, tables, the machine, progress."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from diagnostics import table

__all__ = [
    "app_in_chromium", "cpu_model", "load", "machine", "measured", "ms", "now", "progress",
    "section", "sized_main", "summary", "table",
]  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]

LIBRARIES = [
    "numpy", "scipy", "pandas", "scikit-learn", "param", "panel", "bokeh", "holoviews",
    "panel-material-ui", "datashader", "matplotlib", "playwright",
]  # fmt: skip


def summary(seconds: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in milliseconds."""
    values = np.asarray(seconds) * 1e3
    return float(np.median(values)), float(np.percentile(values, 95))


def ms(value: float) -> str:
    """A time in milliseconds, with one decimal below 100."""
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def progress(text: str, end: str = " ") -> None:
    print(text, end=end, flush=True, file=sys.stderr)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def load() -> str:
    return "{:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine() -> dict:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        memory_text = f"{memory:.1f} GiB"
    except (ValueError, OSError):
        memory_text = "unknown"
    versions = ((name, _version(name)) for name in LIBRARIES)
    return {
        "date": now(),
        "cpu": cpu_model(),
        "cores": f"{os.cpu_count()} logical cores, {usable} usable by this process",
        "memory": memory_text,
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "libraries": ", ".join(f"{name} {v}" for name, v in versions if v),
        "load": load(),
    }


def measured(started: str, load_start: str, elapsed: float) -> str:
    """The line that dates a section, so that a section kept from an older run says so."""
    return (f"Measured {started}; load average {load_start} at the start of this section, "
            f"{load()} at its end; it took {elapsed:.0f} s.")


def sized_main(doc: str, run, quick_help: str, argv=None) -> str:
    """The command line of a section measured at several sample sizes.

    ``--quick`` and ``--sizes 200,10000`` are passed on as ``run(quick, sizes)``;
    ``doc``'s first line describes the command.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--sizes", help="comma-separated sample sizes, e.g. 200,10000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    return run(args.quick, sizes)


def section(measure, report) -> str:
    """Run ``measure()``, dated; return and print ``report(results, dated)``, its Markdown."""
    started, load_start, start = now(), load(), time.perf_counter()
    results = measure()
    text = report(results, measured(started, load_start, time.perf_counter() - start))
    print(text)
    return text


@contextlib.contextmanager
def app_in_chromium() -> Iterator[tuple]:
    """``python -m polyfit_explorer`` on a free port and the system Chromium, headless.

    Yields ``(served, browser)``.  When the block ends, fails if the server
    logged an error: a measurement of a failing app measures nothing.
    """
    from playwright.sync_api import sync_playwright

    from polyfit_explorer.testing import CHROMIUM, CHROMIUM_ARGS, serve, server_log_problems

    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "server.log"
        with (serve(["-m", "polyfit_explorer"], log, cwd=ROOT) as served,
              sync_playwright() as playwright):
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                                 args=CHROMIUM_ARGS)
            yield served, browser
            browser.close()
        problems = server_log_problems(log.read_text())
    if problems:
        raise RuntimeError(f"the server logged errors: {problems[:3]}")
