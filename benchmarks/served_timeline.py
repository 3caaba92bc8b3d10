"""Where a served change's time goes, stamped on the server (a tool, not part of the report).

    uv run python benchmarks/served_timeline.py [--changes 12]

Serves the app with benchmarks/_stamps.py imported, which stamps each widget's
event processing, each diagnostics computation and each websocket message the
server writes.  One ``bokeh.client`` session changes the degree; for each
change it prints the milliseconds from the start of processing the slider's
value to the end of processing, to the fit's patch being written (the first
PATCH-DOC with two buffers: the fit's x and y), and to the diagnostics worker's
start.  docs/development.md says what it found.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import load

APP = '''import sys
sys.path.insert(0, {folder!r})
import _stamps  # noqa: F401
from polyfit_explorer import Explorer
Explorer().servable()
'''


def timeline(stamps: Path) -> list[dict]:
    """Per change: ms from the model's value arriving to each later event."""
    events = [(float(t), what) for t, what in
              (line.split(" ", 1) for line in stamps.read_text().splitlines())]
    rows, start = [], None
    for t, what in events:
        if what == "process start":
            start, row = t, {}
        elif start is None:
            continue
        elif what == "process end":
            row.setdefault("processed", 1e3 * (t - start))
        elif what.startswith("sent") and '"num_buffers": 2' in what:
            row.setdefault("fit written", 1e3 * (t - start))
        elif what == "worker start" and "fit written" in row:
            row["worker started"] = 1e3 * (t - start)
            rows.append(row)
            start = None
    # Each change sends `value` (processed, no refit) and then `value_throttled`.
    return [row for row in rows if "fit written" in row]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=12)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "app.py").write_text(APP.format(folder=str(Path(__file__).parent)))
        stamps = folder / "stamps.txt"
        os.environ["POLYFIT_STAMPS"] = str(stamps)
        with load.serve(folder / "server.log", script=folder / "app.py") as server:
            client = load.Client(server.url)
            client.wait(lambda: False, 3.0)
            for i in range(args.changes):
                client.change("degree", 4 if i % 2 == 0 else 3, timeout=30)
                client.wait(lambda: False, 1.0)  # the diagnostics finish
            rows = timeline(stamps)
    print("| change | processed ms | fit written ms | worker started ms |")
    print("|--:|--:|--:|--:|")
    for i, row in enumerate(rows):
        print(f"| {i} | {row['processed']:.0f} | {row['fit written']:.0f} | "
              f"{row.get('worker started', float('nan')):.0f} |")
    if rows:
        print(f"\nmedian fit written: {statistics.median(r['fit written'] for r in rows):.0f} ms")


if __name__ == "__main__":
    main()
