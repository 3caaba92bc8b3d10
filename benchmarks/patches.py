"""What ours sends per change: the Bokeh patch, which data sources and columns, and bytes.

Run by ``benchmarks/run.py`` (section ``bytes``); alone with
``uv run python benchmarks/patches.py [--quick]``.

Offline, as a notebook would: the Explorer's root is added to its Document,
the document's change events are collected with ``doc.on_change`` and
serialized with Panel's own ``panel.io.model.diff`` into the binary PATCH-DOC
message a comm or websocket carries.  Each event is also serialized alone to
attribute the bytes to data sources.  The end-to-end section counts the real
websocket frames of the served app.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
from bokeh.document.events import ColumnDataChangedEvent, ModelChangedEvent
from bokeh.models import ColumnDataSource, LegendItem
from panel.io.model import diff

from _report import load as load_average
from _report import measured, now, progress, sized_main, table
from changes import KINDS, MODEL_BASE, Arrived, render, reset

HEADING = "## What ours sends per change"
SIZES = (200, 10_000, 100_000)
QUICK_SIZES = (200, 10_000)
#: (kind, the row's model settings): the OLS app defaults, or Ridge with a manual alpha.
ROWS = [
    ("degree", {}), ("noise", {}), ("n_samples", {}), ("test_size", {}),
    ("penalty → L2", {}), ("alpha", dict(penalty="l2", alpha_mode="manual")),
]  # fmt: skip
#: What a degree change may send: the refitted layers.
DEGREE_MAY_SEND = {"fit", "train predictions", "test predictions"}


def message_bytes(doc, events) -> tuple[int, int]:
    """JSON and binary bytes of the PATCH-DOC message of ``events``."""
    message = diff(doc, binary=True, events=list(events))
    if message is None:
        return 0, 0
    text = sum(len(part.encode()) for part in (
        message.header_json, message.metadata_json, message.content_json))
    return text, sum(len(b.to_bytes()) for b in message.buffers)


def source_names(root) -> dict[str, str]:
    """Each data source's layer name, by id: its legend label, or its columns."""
    names = {}
    for item in root.references():
        if isinstance(item, LegendItem):
            label = item.label.get("value") if isinstance(item.label, dict) else item.label
            label = getattr(label, "value", label)
            for renderer in item.renderers:
                source = renderer.data_source
                split = label in ("train", "test")
                suffix = " predictions" if split and "y_pred" in source.data else ""
                names[source.id] = f"{label}{suffix}"
    for item in root.references():
        if isinstance(item, ColumnDataSource) and item.id not in names:
            columns = set(item.data)
            names[item.id] = ("edit layer" if columns == {"x", "y", "label"}
                              else "image" if "image" in columns
                              else "unlabelled " + ",".join(sorted(columns)))
    return names


def describe(doc, root, events) -> dict:
    """Bytes of the whole patch, and per data source (columns, bytes) and other events."""
    names = source_names(root)
    text, binary = message_bytes(doc, events)
    sources = defaultdict(lambda: [set(), 0])
    others = defaultdict(int)
    for event in events:
        model = getattr(event, "model", None)
        if isinstance(model, ColumnDataSource) and isinstance(
                event, (ColumnDataChangedEvent, ModelChangedEvent)):
            name = names.get(model.id, "unlabelled")
            columns = getattr(event, "cols", None) or list(model.data)
            entry = sources[name]
            entry[0].update(columns)
            entry[1] += sum(message_bytes(doc, [event]))
        else:
            attr = getattr(event, "attr", "")
            others[f"{type(model).__name__}.{attr}" if model is not None
                   else type(event).__name__] += 1
    return dict(text=text, binary=binary, events=len(events), sources=dict(sources),
                others=dict(others))


def measure(sizes, changes: int) -> list[dict]:
    rows = []
    for n in sizes:
        progress(f"n={n:,}: rendering the Explorer in its Document ...")
        start = time.perf_counter()
        model, doc, root = render(n, attach=True)
        progress(f"{time.perf_counter() - start:.1f} s", end="\n")
        events = []
        doc.on_change(events.append)
        checker = Arrived(model, root)
        for kind_name, settings in ROWS:
            progress(f"n={n:,} {kind_name} ...")
            kind = KINDS[kind_name]
            target = model if kind.on == "model" else model.data
            reset(model, n, settings)
            values = kind.cycle(n)
            # Serialize the warm-up patch too: Bokeh sends a new model in full only once.
            target.param.update({kind.name: next(values)})
            diff(doc, binary=True, events=list(events))
            patches, timings = [], []
            for _ in range(changes):
                events.clear()
                before = checker.before()
                target.param.update({kind.name: next(values)})
                checker.check(before, f"n={n:,} {kind_name}")
                start = time.perf_counter()
                patches.append(describe(doc, root, events))
                timings.append(time.perf_counter() - start)
            events.clear()
            reset(model, n, MODEL_BASE)
            events.clear()
            rows.append(dict(n=n, kind=kind_name, settings=settings, patches=patches))
            progress("done", end="\n")
        del model, doc, root
    return rows


def kb(value: float) -> str:
    return f"{value / 1e3:,.1f}"


def sent(patch: dict) -> str:
    return "; ".join(f"{name} [{', '.join(sorted(cols))}] {kb(size)}"
                     for name, (cols, size) in sorted(patch["sources"].items()))


def degree_target(rows: list[dict]) -> list[str]:
    lines = []
    for row in rows:
        if row["kind"] != "degree":
            continue
        names = set().union(*(p["sources"] for p in row["patches"]))
        extra = sorted(names - DEGREE_MAY_SEND)
        verdict = "met" if not extra else f"missed (also sends {', '.join(extra)})"
        lines.append(f"n = {row['n']:,}: {verdict}")
    return lines


def report_table(rows: list[dict]) -> list[str]:
    cells = []
    for row in rows:
        patches = row["patches"]
        text = np.median([p["text"] for p in patches])
        binary = np.median([p["binary"] for p in patches])
        model = "Ridge, manual α" if row["settings"] else "OLS"
        # The last patch's data sources: every change of a row sends the same ones.
        cells.append([f"{row['n']:,}", model, row["kind"], len(patches), kb(text + binary),
                      kb(text), kb(binary), f"{np.median([p['events'] for p in patches]):g}",
                      sent(patches[-1])])
    return table(["n", "model", "change", "changes", "patch KB", "JSON KB", "binary KB",
                  "events", "data sources sent [columns] KB"], cells)


def others_text(rows: list[dict]) -> str:
    counts = defaultdict(int)
    for row in rows:
        for name, count in row["patches"][-1]["others"].items():
            counts[name] = max(counts[name], count)
    return ", ".join(f"{name} (up to {count})" for name, count in sorted(counts.items()))


def report(rows, changes: int, info: str) -> str:
    return "\n".join([
        HEADING,
        "",
        info,
        "",
        "Measured offline with the `Explorer`'s root added to its `Document`, as Panel does "
        "when it shows an object in a notebook or a server session. The document's change "
        "events are collected with `doc.on_change` and serialized with Panel's own "
        "`panel.io.model.diff` into the binary PATCH-DOC message a websocket or comm carries: "
        "header, metadata and content as JSON, arrays as binary buffers. Each row starts from "
        "the app's defaults (OLS, or Ridge with α set by hand for the α row), makes one "
        f"untimed change whose patch is serialized too (Bokeh sends a new model in full only "
        f"once), then {changes} changes; sizes are medians. Each data source's share is "
        "its events serialized alone (so they include a message header each).",
        "",
        *report_table(rows),
        "",
        "- **Target** (issue 5): a degree change sends only what changed, the fitted curve "
        "and the predictions, not the unchanged scatter: " + "; ".join(degree_target(rows))
        + ". Note the columns: the fit curve's `x` (the grid, unchanged by a refit) and the "
        "predictions' `y` (the actual values, unchanged by a refit) go along with the "
        "changed `fit` and `y_pred`, because HoloViews sends a changed element's columns "
        "together.",
        "- Besides the data sources every patch carries small property changes: "
        + others_text(rows) + ". Here the change comes from Python, so the patch also "
        "carries the widget's new value, which a browser edit would not echo back.",
        "- The end-to-end section below counts the websocket frames the served app really "
        "sends, including the diagnostics tab's update.",
        "",
    ])


def run(quick: bool = False, sizes=None) -> str:
    started, load_start, start = now(), load_average(), time.perf_counter()
    changes = 2 if quick else 3
    rows = measure(sizes or (QUICK_SIZES if quick else SIZES), changes)
    print("\n".join(report_table(rows)))
    return report(rows, changes, measured(started, load_start, time.perf_counter() - start))


def main(argv=None) -> str:
    return sized_main(__doc__, run, "n = 200 and 10,000 only", argv)


if __name__ == "__main__":
    main()
