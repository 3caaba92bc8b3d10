"""Where the time of one kind of change goes: cProfile of an offline Explorer.

    uv run python benchmarks/profile_update.py --n 10000 [--kind degree] [--changes 10]

Renders an Explorer as benchmarks/changes.py does, makes the changes under
cProfile and prints (1) self time by package (numpy, scikit-learn, pandas,
HoloViews, Bokeh, Panel, param, ...) and (2) the cumulative time of the
functions that matter (the model's refit and its parts, the HoloViews and
Bokeh updates), per change.  Not part of the report: a tool for finding what
to make faster.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from collections import defaultdict

from changes import KINDS, Arrived, render, reset

#: Functions whose cumulative time is shown: (file name part, function name).
FUNCTIONS = [
    ("polyfit_explorer/model.py", "_fit"),
    ("polyfit_explorer/model.py", "_fit_split"),
    ("sklearn/pipeline.py", "fit"),
    ("polyfit_explorer/model.py", "_true_rmse"),
    ("polyfit_explorer/estimators.py", "effective_dof"),
    ("polyfit_explorer/model.py", "of"),
    ("polyfit_explorer/data.py", "_sample"),
    ("polyfit_explorer/views/explorer.py", "_show"),
    ("polyfit_explorer/views/data_plot.py", "refit"),
    ("polyfit_explorer/views/data_plot.py", "resample"),
    ("polyfit_explorer/views/prediction_plot.py", "refit"),
    ("polyfit_explorer/views/figure.py", "update"),
    ("polyfit_explorer/views/figure.py", "_patch"),
    ("polyfit_explorer/views/scores.py", "scores_html"),
    ("polyfit_explorer/links.py", "query_of"),
    ("holoviews/core/spaces.py", "event"),
    ("holoviews/plotting/bokeh/element.py", "update_frame"),
    ("holoviews/plotting/bokeh/element.py", "_update_datasource"),
    ("holoviews/plotting/bokeh/element.py", "_update_ranges"),
    ("holoviews/plotting/bokeh/element.py", "_postprocess_hover"),
    ("holoviews/plotting/bokeh/element.py", "_update_plot"),
    ("holoviews/plotting/bokeh/element.py", "_init_glyphs"),
    ("holoviews/plotting/bokeh/element.py", "_process_legend"),
    ("holoviews/core/util.py", "get_overlay_spec"),
    ("bokeh/core/property/wrappers.py", "_notify_owners"),
    ("panel/reactive.py", "_update_model"),
]
PACKAGES = ["polyfit_explorer", "sklearn", "scipy", "numpy", "pandas", "holoviews", "bokeh",
            "panel", "param", "pyviz_comms"]


def package(filename: str) -> str:
    for name in PACKAGES:
        if f"/{name}/" in filename:
            return name
    return "python / other"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--kind", default="degree", choices=list(KINDS))
    parser.add_argument("--penalty", default="none")
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--save", help="also write the profile here, for pstats or snakeviz")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    model, _, root = render(args.n)
    print(f"render: {time.perf_counter() - start:.1f} s")
    kind = KINDS[args.kind]
    target = model if kind.on == "model" else model.data
    reset(model, args.n, dict(penalty=args.penalty))
    values = kind.cycle(args.n)
    target.param.update({kind.name: next(values)})
    checker = Arrived(model, root)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    for _ in range(args.changes):
        before = checker.before()
        profiler.enable()
        target.param.update({kind.name: next(values)})
        profiler.disable()
        checker.check(before, args.kind)
    per_change = (time.perf_counter() - start) / args.changes * 1e3
    stats = pstats.Stats(profiler)
    if args.save:
        stats.dump_stats(args.save)
    print(f"n={args.n:,} {args.kind} ({args.penalty}): {per_change:.0f} ms a change "
          "(with the checks; under the profiler)")
    own = defaultdict(float)
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
        own[package(filename)] += tottime
    total = sum(own.values())
    print("\nself time by package, ms per change:")
    for name, seconds in sorted(own.items(), key=lambda item: -item[1]):
        print(f"  {name:20s} {seconds / args.changes * 1e3:8.1f}  {100 * seconds / total:4.0f}%")
    print("\ncumulative time, ms per change (calls per change):")
    for part, function in FUNCTIONS:
        found = [(key, value) for key, value in stats.stats.items()
                 if part in key[0] and key[2] == function]
        for (_, line, _), (_, calls, _, cumtime, _) in found:
            print(f"  {part}:{line} {function:22s} {cumtime / args.changes * 1e3:8.1f}"
                  f"  ({calls / args.changes:g})")


if __name__ == "__main__":
    main()
