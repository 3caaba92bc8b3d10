"""Benchmark polyfit_explorer.diagnostics against the issue's speed targets.

Run it alone with

    uv run python benchmarks/diagnostics.py

It prints a Markdown table and returns it from ``main()``;
``benchmarks/run.py`` runs it too and appends the table to docs/benchmarks.md.
It takes about two minutes, half of it the naive scikit-learn loops and the
U-curve at n = 1,000,000.

The issue's targets, on the default data (``DataGenerator()``, 200 samples,
160 of them training points):

* the bias-variance U-curve, ``bias_variance_by_degree(snap, 15, 200)``:
  16 degrees × 200 refits, at most 150 ms, for OLS and Ridge;
* the validation curve, ``validation_curve(snap, 15)`` with 5-fold CV: at
  most 50 ms, for OLS and Ridge.

Both are compared with the same work done naively with scikit-learn: a loop
of ``clone(pipeline).fit(...)`` for the U-curve, and
``sklearn.model_selection.validation_curve`` plus the train/test fits for the
validation curve.  The naive loops also check the numbers: the run fails
(exit status 1) if the naive U-curve's bias² or variance, or ours, differ from
the closed forms by more than a few Monte-Carlo standard errors, or if the
naive validation curve differs from ours.  Nothing here is asserted about
time: the targets are reported, not enforced.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import validation_curve as sklearn_validation_curve

from polyfit_explorer import DataGenerator, RegressionModel
from polyfit_explorer.diagnostics import (
    BIAS_VARIANCE_ALPHAS,
    MAX_NOISE_DRAWS,
    Snapshot,
    alpha_path,
    bias_variance,
    bias_variance_by_alpha,
    bias_variance_by_degree,
    learning_curve,
    validation_curve,
)

#: The report's heading; benchmarks/run.py finds this section by it.
HEADING = "## Diagnostics: bias-variance, validation curve, learning curve"
#: Model label: (penalty, alpha_mode).  A manual alpha is the default, 1.
MODELS = {
    "OLS": ("none", "cv"),
    "Ridge, α = 1": ("l2", "manual"),
    "Ridge CV": ("l2", "cv"),
    "LASSO CV": ("l1", "cv"),
}
MAX_DEGREE = 15
REPLICATES = 200
U_CURVE_TARGET_MS = 150
VALIDATION_TARGET_MS = 50
#: A naive bias² or variance further than this many standard errors from the
#: closed form fails the run.
MAX_Z = 5.0
#: The naive validation curve must equal ours to this relative tolerance.
RTOL = 1e-6
#: Seed of the naive U-curve's noise: not the module's, so the draws differ.
NAIVE_SEED = 12345


@dataclass
class Row:
    what: str
    model: str
    settings: str
    times: list[float]
    target_ms: float | None = None
    naive_times: list[float] = field(default_factory=list)


def snapshot(model: str, degree: int = 3, n_samples: int = 200) -> Snapshot:
    penalty, alpha_mode = MODELS[model]
    return Snapshot.of(
        RegressionModel(
            data=DataGenerator(n_samples=n_samples),
            penalty=penalty,
            alpha_mode=alpha_mode,
            degree=degree,
        )
    )


def timed(fn, repeats: int, warmup: int = 1) -> tuple[list[float], object]:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times; seconds and last result."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def progress(text: str, end: str = " ") -> None:
    print(text, end=end, flush=True, file=sys.stderr)


# ---- the U-curve, naively ----------------------------------------------------------


def naive_u_curve(snap: Snapshot, alphas, replicates: int, seed: int):
    """Refit a cloned pipeline to ``replicates`` fresh samples per degree.

    ``alphas[d]`` is the alpha the module uses at degree d (held fixed, as the
    module holds a cross-validated alpha fixed over the replicates).  Returns
    the grid predictions, one (R, grid) array per degree, and each degree's
    bias² and variance computed from them.
    """
    if not snap.noise.is_plain_gaussian:
        raise ValueError("the naive loop draws y = E[y|x] + σ·N(0, 1): plain Gaussian noise")
    rng = np.random.default_rng(seed)
    x, grid = snap.x_train[:, None], snap.grid[:, None]
    all_fits, stats = [], []
    for degree, alpha in enumerate(alphas):
        if snap.settings["penalty"] == "none":
            estimator = snap.make_estimator(degree=degree)
        else:
            estimator = snap.make_estimator(degree=degree, alpha=alpha, alpha_mode="manual")
        fits = np.empty((replicates, len(grid)))
        for r in range(replicates):
            y = snap.target_train + snap.noise.sd * rng.standard_normal(len(x))
            fits[r] = clone(estimator).fit(x, y).predict(grid)
        all_fits.append(fits)
        stats.append(decompose(fits, snap.target_grid, snap.average.weights))
    return all_fits, stats


def decompose(fits: np.ndarray, target: np.ndarray, weights) -> tuple[float, float]:
    """Mean-fit bias² and variance of the fits (R, grid), averaged over x with ``weights``."""
    return (
        float((fits.mean(axis=0) - target) ** 2 @ weights),
        float(fits.var(axis=0, ddof=1) @ weights),
    )


def z_scores(fits, target, weights, exact_bias2, exact_variance) -> tuple[float, float]:
    """How many Monte-Carlo standard errors bias² and variance lie from the closed forms.

    The variance is the mean over replicates of each one's mean squared
    deviation from the mean fit, so its standard error is theirs.  The
    estimated bias² is biased upwards by variance / R (the mean fit is itself
    noisy); its standard error is the delta method's, plus a bound on the
    spread of that variance / R term.
    """
    r = len(fits)
    mean = fits.mean(axis=0)
    deviation = fits - mean
    bias2, variance = decompose(fits, target, weights)
    per_replicate = (deviation**2) @ weights * r / (r - 1)
    se_variance = per_replicate.std(ddof=1) / np.sqrt(r)
    linear = (deviation * (mean - target)) @ weights
    se_bias2 = np.hypot(2 * linear.std(ddof=1) / np.sqrt(r), np.sqrt(2) * exact_variance / r)
    return (
        (bias2 - exact_bias2 - exact_variance / r) / se_bias2,
        (variance - exact_variance) / se_variance,
    )


def check_u_curve(model: str, snap: Snapshot, ours, naive_fits) -> tuple[list[str], float]:
    """Compare our and the naive bias² and variance with the closed forms, degree by degree."""
    failures, worst = [], 0.0
    for _, row in ours.iterrows():
        degree = int(row["degree"])
        exact = (row["exact_bias2"], row["exact_variance"])
        # Our refits at this degree: the same seed as the U-curve's, so the same fits.
        our_fits = bias_variance(
            snap, REPLICATES, seed=0, degree=degree, alpha=row["alpha"] or 0.0
        ).fits
        for who, fits in (("ours", our_fits), ("naive", naive_fits[degree])):
            scores = z_scores(fits, snap.target_grid, snap.average.weights, *exact)
            for name, z in zip(("bias²", "variance"), scores, strict=True):
                worst = max(worst, abs(z))
                if not abs(z) <= MAX_Z:
                    failures.append(
                        f"U-curve {model}, degree {degree}: {who} {name} is {z:+.1f} "
                        "standard errors from the closed form"
                    )
    return failures, worst


# ---- the validation curve, naively -------------------------------------------------


def rmse(y, prediction) -> float:
    return float(np.sqrt(np.mean((y - prediction) ** 2)))


def naive_validation_curve(snap: Snapshot) -> dict[str, np.ndarray]:
    """Degrees 1 … 15 with scikit-learn: validation_curve over the pipeline, then train/test.

    With a cross-validated alpha, alpha is chosen once per degree on the
    training split and held in the folds, as the module does; so each degree
    gets its own ``validation_curve`` call with that alpha.
    """
    x, y = snap.x_train[:, None], snap.y_train
    x_test = snap.x_test[:, None]
    folds = snap.folds(len(y))
    degrees = np.arange(1, MAX_DEGREE + 1)
    cv_alpha = snap.settings["penalty"] != "none" and snap.settings["alpha_mode"] == "cv"
    kw = dict(param_name="polynomialfeatures__degree", cv=folds)
    kw["scoring"] = "neg_mean_squared_error"  # the CV RMSE is √(mean fold MSE)
    train, test, cv = [], [], []
    for degree in degrees:
        fitted = snap.make_estimator(degree=degree).fit(x, y)
        train.append(rmse(y, fitted.predict(x)))
        test.append(rmse(snap.y_test, fitted.predict(x_test)))
        if cv_alpha:
            estimator = snap.make_estimator(
                degree=degree, alpha=fitted[-1].alpha_, alpha_mode="manual"
            )
            _, scores = sklearn_validation_curve(estimator, x, y, param_range=[degree], **kw)
            cv.append(-scores[0])
    if not cv_alpha:
        estimator = snap.make_estimator(degree=1)
        _, scores = sklearn_validation_curve(estimator, x, y, param_range=degrees, **kw)
        cv = list(-scores)
    cv = np.asarray(cv)
    return dict(
        degree=degrees,
        train_rmse=np.asarray(train),
        test_rmse=np.asarray(test),
        cv_rmse=np.sqrt(cv.mean(axis=1)),
        cv_se=cv.std(axis=1, ddof=1) / np.sqrt(cv.shape[1]) / (2 * np.sqrt(cv.mean(axis=1))),
    )


def check_validation_curve(model: str, ours, naive) -> tuple[list[str], float]:
    """Compare our validation curve with scikit-learn's; failures and the worst difference."""
    ours = ours.set_index("degree").loc[naive["degree"]]
    failures, worst = [], 0.0
    for column in ("train_rmse", "test_rmse", "cv_rmse", "cv_se"):
        mine, theirs = ours[column].to_numpy(), naive[column]
        difference = float(np.max(np.abs(mine - theirs) / np.abs(theirs)))
        worst = max(worst, difference)
        if not difference <= RTOL:
            failures.append(
                f"Validation curve {model}: {column} differs from scikit-learn's by up to "
                f"{difference:.1e} (relative)"
            )
    return failures, worst


# ---- the run ------------------------------------------------------------------------


def peak_rss_gb() -> float:
    """The process's peak resident memory so far (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def run(repeats: int, slow_repeats: int, large_sizes: list[int]) -> tuple[list[Row], dict]:
    rows: list[Row] = []
    failures: list[str] = []
    notes: dict = {"worst_z": 0.0, "vc_worst": 0.0}
    fast, slow = dict(repeats=repeats), dict(repeats=slow_repeats)
    u_settings = f"degrees 0-{MAX_DEGREE}, R = {REPLICATES}"

    # The targets: U-curve and validation curve, ours and naive.
    for model in ("OLS", "Ridge, α = 1", "Ridge CV"):
        snap = snapshot(model)
        progress(f"U-curve {model}: ours ...")
        times, ours = timed(
            lambda s=snap: bias_variance_by_degree(s, MAX_DEGREE, REPLICATES), **fast
        )
        progress("naive ...")
        alphas = ours["alpha"].to_numpy()
        # The naive loop takes seconds: one run, after a warm-up of a few refits.
        naive_u_curve(snap, alphas[:2], 5, NAIVE_SEED)
        naive_times, (naive_fits, _) = timed(
            lambda s=snap, a=alphas: naive_u_curve(s, a, REPLICATES, NAIVE_SEED),
            repeats=1,
            warmup=0,
        )
        found, worst = check_u_curve(model, snap, ours, naive_fits)
        failures += found
        notes["worst_z"] = max(notes["worst_z"], worst)
        rows.append(Row("U-curve", model, u_settings, times, U_CURVE_TARGET_MS, naive_times))
        progress("done", end="\n")

    for model in ("OLS", "Ridge, α = 1", "Ridge CV"):
        snap = snapshot(model)
        progress(f"Validation curve {model}: ours ...")
        times, ours = timed(lambda s=snap: validation_curve(s, MAX_DEGREE), **fast)
        progress("naive ...")
        naive_times, naive = timed(lambda s=snap: naive_validation_curve(s), repeats=5)
        found, worst = check_validation_curve(model, ours, naive)
        failures += found
        notes["vc_worst"] = max(notes["vc_worst"], worst)
        rows.append(
            Row(
                "Validation curve",
                model,
                f"degrees 0-{MAX_DEGREE}, 5-fold",
                times,
                VALIDATION_TARGET_MS,
                naive_times,
            )
        )
        progress("done", end="\n")

    # Informational.
    progress("bias_variance, alpha_path, learning_curve, bias_variance_by_alpha ...")
    for degree in (3, 15):
        for model in ("OLS", "Ridge CV", "LASSO CV"):
            snap = snapshot(model, degree=degree)
            opts = slow if (model, degree) == ("LASSO CV", 15) else fast
            times, _ = timed(lambda s=snap: bias_variance(s, REPLICATES), **opts)
            rows.append(Row("bias_variance", model, f"degree {degree}, R = {REPLICATES}", times))
    for model in ("Ridge CV", "LASSO CV"):
        snap = snapshot(model)
        times, _ = timed(lambda s=snap: alpha_path(s), **fast)
        rows.append(Row("alpha_path", model, "degree 3, 5-fold", times))
    for model in ("OLS", "Ridge CV", "LASSO CV"):
        snap = snapshot(model)
        opts = slow if model == "LASSO CV" else fast
        times, curve = timed(lambda s=snap: learning_curve(s), **opts)
        rows.append(Row("learning_curve", model, f"degree 3, {len(curve)} sizes", times))
    for model in ("Ridge CV", "LASSO CV"):
        snap = snapshot(model)
        opts = slow if model == "LASSO CV" else fast
        times, _ = timed(lambda s=snap: bias_variance_by_alpha(s, REPLICATES), **opts)
        settings = f"degree 3, {len(BIAS_VARIANCE_ALPHAS)} alphas, R = {REPLICATES}"
        rows.append(Row("bias_variance_by_alpha", model, settings, times))
    progress("done", end="\n")

    snap = snapshot("LASSO CV")
    progress("Validation curve LASSO CV ...")
    times, _ = timed(lambda: validation_curve(snap, MAX_DEGREE), **slow, warmup=0)
    rows.append(Row("Validation curve", "LASSO CV", f"degrees 0-{MAX_DEGREE}, 5-fold", times))
    progress("U-curve LASSO CV ...")
    # About 13 s a run: one run.
    times, _ = timed(
        lambda: bias_variance_by_degree(snap, MAX_DEGREE, REPLICATES), repeats=1, warmup=0
    )
    rows.append(Row("U-curve", "LASSO CV", u_settings, times))
    progress("done", end="\n")

    # Large n last, so that the rise of the peak memory is theirs.
    notes["rss"] = []
    for n in large_sizes:
        progress(f"U-curve OLS, n = {n:,} ...")
        snap = snapshot("OLS", n_samples=n)
        n_train = len(snap.y_train)
        before = peak_rss_gb()
        few = dict(repeats=3, warmup=1) if n <= 100_000 else dict(repeats=1, warmup=0)
        times, _ = timed(lambda s=snap: bias_variance_by_degree(s, MAX_DEGREE, REPLICATES), **few)
        notes["rss"].append((n, before, peak_rss_gb()))
        noise = "projected noise" if n_train * REPLICATES > MAX_NOISE_DRAWS else "full noise"
        rows.append(Row("U-curve", "OLS", f"{u_settings}, n = {n:,}, {noise}", times))
        progress("done", end="\n")
    notes["failures"] = failures
    return rows, notes


# ---- report -------------------------------------------------------------------------


def ms(seconds) -> str:
    value = float(seconds) * 1e3
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def table(headers: list[str], rows: list[list]) -> list[str]:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]

    def line(row):
        return "| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return [line(headers), rule, *map(line, cells)]


def result_table(rows: list[Row]) -> list[str]:
    cells = []
    for row in rows:
        median = np.median(row.times)
        p95 = ms(np.percentile(row.times, 95)) if len(row.times) >= 10 else ""
        target = ""
        if row.target_ms is not None:
            met = "met" if median * 1e3 <= row.target_ms else "missed"
            target = f"≤ {row.target_ms} ({met})"
        naive = ratio = ""
        if row.naive_times:
            naive_median = np.median(row.naive_times)
            naive, ratio = ms(naive_median), f"{naive_median / median:,.0f}×"
        timing = [len(row.times), ms(median), p95, target, naive, ratio]
        cells.append([row.what, row.model, row.settings, *timing])
    headers = ["what", "model", "settings", "runs", "median ms", "p95 ms", "target ms"]
    return table([*headers, "naive ms", "naive / ours"], cells)


def report(rows: list[Row], notes: dict, info: dict) -> str:
    rss = "; ".join(
        f"n = {n:,}: {after:.1f} GB (before it, {before:.1f} GB)"
        for n, before, after in notes["rss"]
    )
    lines = [
        HEADING,
        "",
        "Generated by `uv run python benchmarks/diagnostics.py` (also run by "
        "`benchmarks/run.py`), "
        f"{info['date']}, load average {info['load']} at the start and {info['load_end']} at "
        f"the end, numpy {version('numpy')}, scikit-learn {version('scikit-learn')}. "
        f"Whole run: {info['elapsed']:.0f} s.",
        "",
        "Each function of `polyfit_explorer.diagnostics` is called on a `Snapshot` of a "
        "`RegressionModel` of the default data (`DataGenerator()`: 200 samples, 160 of them "
        "training points; degree 3 unless the row says otherwise) and timed with "
        "`time.perf_counter` after one untimed warm-up call; median and 95th percentile over "
        "the runs (p95 only with 10 runs or more). The slow rows (several seconds) run fewer "
        "times, without warm-up. The targets are the issue's and are compared with the "
        "median; no test asserts them.",
        "",
        *result_table(rows),
        "",
        f"- **U-curve**: `bias_variance_by_degree(snap, max_degree={MAX_DEGREE}, "
        f"replicates={REPLICATES})`, 16 degrees × {REPLICATES} refits of fresh noise at the "
        "training x, bias², variance and their closed forms on a 200-point grid. With "
        "Ridge CV and LASSO CV it includes choosing alpha by 5-fold CV at each degree except "
        "the model's own (degree 3), whose alpha the snapshot carries.",
        "- **Naive U-curve**: the same work as a loop over scikit-learn: for each degree and "
        "each replicate, draw y = E[y|x] + σ·N(0, 1) at the training x, "
        "`clone(snap.make_estimator(degree=d, alpha=<the alpha ours used at d>, "
        "alpha_mode='manual')).fit(x, y).predict(grid)`, then bias² and variance from the "
        "predictions. One run (it takes seconds). It is given the alphas ours used, so for "
        "Ridge CV it does not include choosing them. Its bias² and variance, and ours, are "
        "checked against the closed forms `exact_bias2` and `exact_variance` (bias² allowing "
        "for its upward bias of variance / R): the run fails beyond "
        f"{MAX_Z:g} Monte-Carlo standard errors. The largest deviation in this run was "
        f"{notes['worst_z']:.1f} standard errors.",
        f"- **Validation curve**: `validation_curve(snap, max_degree={MAX_DEGREE})`: train and "
        "test RMSE of the current split and 5-fold CV RMSE of the training split, degrees "
        f"0-{MAX_DEGREE}. A CV alpha is chosen once per degree on the training split and held "
        "in the folds.",
        "- **Naive validation curve**: `sklearn.model_selection.validation_curve` over "
        f"`polynomialfeatures__degree` 1-{MAX_DEGREE} of the pipeline with the same folds, "
        "plus a fit on the training split per degree for train and test RMSE; for Ridge CV "
        "that fit chooses alpha (the pipeline's `KFoldRidgeCV`) and a `validation_curve` call "
        "per degree holds it. Its RMSEs must equal ours to a relative "
        f"{RTOL:g}, or the run fails; the largest difference in this run was "
        f"{notes['vc_worst']:.0e}. Five runs after a warm-up.",
        "- **Informational rows**: `bias_variance(snap, 200)` at the snapshot's degree (3 or "
        "15; a CV alpha is the model's, not chosen again), `alpha_path(snap)`, "
        "`learning_curve(snap)`, `bias_variance_by_alpha(snap, 200)` over "
        f"{len(BIAS_VARIANCE_ALPHAS)} alphas. LASSO is refitted with scikit-learn's coordinate "
        "descent and has no closed form.",
        "- **Large n**: the OLS U-curve at n = 10,000 and 1,000,000 samples (80% training "
        f"points). Above {MAX_NOISE_DRAWS:,} noise draws (training points × replicates) the "
        "module draws the noise already projected onto the design. Peak memory of the "
        f"process (ru_maxrss) after each: {rss or 'not measured'}.",
        "",
    ]
    return "\n".join(lines)


def load() -> str:
    return "{:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def main(argv=None) -> str:
    """Run the benchmark, print its table and return its Markdown section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=20, help="timed runs of the fast rows (default 20)"
    )
    parser.add_argument(
        "--slow-repeats", type=int, default=3, help="timed runs of the slow rows (default 3)"
    )
    parser.add_argument(
        "--large-sizes",
        default="10000,1000000",
        help="sample sizes n of the large-n U-curve rows (default 10000,1000000; '' for none)",
    )
    args = parser.parse_args(argv)
    large_sizes = [int(s) for s in args.large_sizes.split(",") if s]

    started = time.perf_counter()
    info = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "load": load()}
    rows, notes = run(args.repeats, args.slow_repeats, large_sizes)
    info["load_end"], info["elapsed"] = load(), time.perf_counter() - started
    markdown = report(rows, notes, info)
    print()
    print("\n".join(result_table(rows)))
    print(f"\nU-curves, largest deviation from the closed forms: {notes['worst_z']:.1f} SE.")
    print(f"Validation curves, largest relative difference: {notes['vc_worst']:.1e}.")
    print(f"Diagnostics benchmark: {info['elapsed']:.0f} s.")
    if notes["failures"]:
        print("\nFAILED checks:", *notes["failures"], sep="\n", file=sys.stderr)
        raise SystemExit(1)
    return markdown


if __name__ == "__main__":
    main()
