"""Run every benchmark and write docs/benchmarks.md.

    uv run python benchmarks/run.py [--quick] [--only SECTION ...] [--output PATH]

Sections, in order (each module also runs alone):

* ``changes``: in-process latency of each kind of change (degree, penalty,
  alpha, noise, n_samples, test_size) at n = 200, 10,000, 100,000 and
  1,000,000, the model's recomputation alone, and the original notebook's
  approach (fit plus matplotlib PNG) at the same sizes as the ratio baseline
  (benchmarks/changes.py);
* ``bytes``: the Bokeh patch each kind of change sends, by data source and
  column (benchmarks/patches.py);
* ``e2e``: a key press in Chromium until the new fit is in the browser's Bokeh
  document, and the websocket bytes per change (benchmarks/e2e.py);
* ``rapid``: 40 key presses in a row, and how soon after the last result the
  page agrees with itself (benchmarks/rapid.py);
* ``page_load``: a first page in Chromium, until it has settled: the
  session's build, the pull, building the views, the first verdict
  (benchmarks/page_load.py);
* ``diagnostics``: the diagnostics' speed targets (benchmarks/diagnostics.py);
* ``load``: concurrent sessions and server memory (benchmarks/load.py, when
  that file exists);
* ``nginx``: 50 sessions on two app processes behind nginx (benchmarks/load.py
  ``--through-nginx``, when nginx is installed);
* ``allocator``: server memory after a class leaves, and the speed of a
  change, under each allocator setting (benchmarks/allocator.py; an hour or
  more, so only with ``--only allocator``).

The report keeps, for every section not run, its text from the existing file,
so ``--only e2e`` refreshes one section.  ``--quick`` runs small sizes and few
changes (about two minutes) and skips ``diagnostics`` and ``nginx`` unless it is named with
``--only``; the default run takes about fifteen minutes.  ``--output -``
writes nothing.  Speed is measured here and only here: no test asserts it.
"""

from __future__ import annotations

import argparse
import importlib
import re
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
SECTIONS = ["changes", "bytes", "e2e", "rapid", "page_load", "diagnostics", "load", "nginx",
            "allocator"]
#: Sections --quick leaves out unless named: diagnostics has no quick mode; nginx
#: starts two processes and nginx even in its quick mode.
SLOW = {"diagnostics", "nginx"}
#: Sections only ``--only`` runs: they take an hour or more.
ON_REQUEST = {"allocator"}
MARKER = "<!-- benchmarks/run.py section: {} -->"
MARKER_PATTERN = re.compile(r"^<!-- benchmarks/run\.py section: (\w+) -->$", re.MULTILINE)


def has_load() -> bool:
    """Whether benchmarks/load.py (written separately) is here and imports."""
    if not (HERE / "load.py").exists():
        return False
    try:
        importlib.import_module("load")
    except ImportError as error:
        print(f"benchmarks/load.py does not import: {error}")
        return False
    return True


def run_section(name: str, quick: bool) -> str | None:
    """Run one section and return its Markdown, or None if it cannot run here."""
    if name == "changes":
        import changes

        return changes.run(quick)
    if name == "bytes":
        import patches

        return patches.run(quick)
    if name == "e2e":
        import e2e

        return e2e.run(quick)
    if name == "rapid":
        import rapid

        return rapid.run(quick)
    if name == "page_load":
        import page_load

        return page_load.run(quick)
    if name == "diagnostics":
        import diagnostics

        quick_args = ["--repeats", "3", "--slow-repeats", "1", "--large-sizes", ""]
        return diagnostics.main(quick_args if quick else [])
    if name == "load":
        if not has_load():
            return None
        import load

        return load.run(quick=quick)
    if name == "nginx":
        if not has_load():
            return None
        import load

        if not load.serve_class_module().NGINX.exists():
            print(f"no nginx at {load.serve_class_module().NGINX}: section nginx kept as it was")
            return None
        return load.run_nginx(quick=quick)
    if name == "allocator":
        import allocator

        return allocator.run()
    raise ValueError(name)


def old_sections(text: str) -> dict[str, str]:
    """The sections of an existing report, by name."""
    found = list(MARKER_PATTERN.finditer(text))
    if not found:
        # A report from before the markers: only its diagnostics section still fits.
        import diagnostics

        start = text.find("\n" + diagnostics.HEADING)
        return {"diagnostics": text[start + 1:]} if start >= 0 else {}
    return {match[1]: text[match.end():end].strip("\n") + "\n"
            for match, end in zip(found, [m.start() for m in found[1:]] + [len(text)],
                                  strict=True)}


def header(info: dict, ran: list[str], quick: bool, elapsed: float) -> str:
    import _report

    return "\n".join([
        "# Benchmarks",
        "",
        "Generated by `uv run python benchmarks/run.py`; run it again to refresh this page "
        "(`--only SECTION` refreshes one section and keeps the others as they are here; "
        "each section says when it was measured). Speed is measured here and only here: "
        "no test asserts anything about time, and the targets are reported next to the "
        "numbers.",
        "",
        "## Machine",
        "",
        f"- Date: {info['date']}",
        f"- CPU: {info['cpu']}; {info['cores']}; memory {info['memory']}",
        f"- OS: {info['os']}",
        f"- Python: {info['python']}",
        f"- Libraries: {info['libraries']}",
        f"- Load average (1, 5, 15 min): {info['load']} at the start, {_report.load()} at "
        "the end. The machine may be shared with other work: compare rows of one run, not "
        "runs of different days.",
        f"- This run: {', '.join(ran) or 'no section'}"
        + (" (`--quick`: small sizes, few changes)" if quick else "")
        + f", {elapsed:.0f} s.",
        "",
    ])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes and few changes, about two minutes")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"),
                        help="the Markdown report to write; '-' for none")
    args = parser.parse_args(argv)
    import _report

    chosen = args.only or [s for s in SECTIONS
                           if s not in ON_REQUEST and not (args.quick and s in SLOW)]
    started, info = time.perf_counter(), _report.machine()
    output = None if args.output == "-" else Path(args.output)
    sections = old_sections(output.read_text()) if output and output.exists() else {}
    ran = []
    for name in SECTIONS:
        if name not in chosen:
            continue
        _report.progress(f"== {name}", end="\n")
        markdown = run_section(name, args.quick)
        if markdown is None:
            _report.progress(f"{name}: benchmarks/{name}.py not found, skipped", end="\n")
            continue
        sections[name] = markdown
        ran.append(name)
        # After every section, so that an interrupted run keeps what it measured.
        if output is not None:
            write(output, header(info, ran, args.quick, time.perf_counter() - started),
                  sections)
    elapsed = time.perf_counter() - started
    print(f"Benchmarks run: {', '.join(ran)} in {elapsed:.0f} s.")
    if output is not None:
        write(output, header(info, ran, args.quick, elapsed), sections)
        print(f"Wrote {output}")


def write(output: Path, head: str, sections: dict[str, str]) -> None:
    parts = [head] + [f"{MARKER.format(name)}\n{sections[name].strip()}\n"
                      for name in SECTIONS if name in sections]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join(parts))


if __name__ == "__main__":
    main()
