"""What the benchmark sections share: statistics, tables, the machine, progress."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from diagnostics import table

__all__ = [
    "cpu_model", "load", "machine", "measured", "ms", "now", "progress", "sized_main", "summary",
    "table",
]  # fmt: skip

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
