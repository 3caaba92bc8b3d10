"""Fit polynomials to a ground truth of your own: no app, no plots, only numbers.

Run it with

    uv run python examples/custom_truth.py                 # penalties none and l2
    uv run python examples/custom_truth.py --penalty l1    # LASSO only
    uv run python examples/custom_truth.py --diagnose      # and bias² / variance by degree

A new ground truth is a subclass of DataGenerator that overrides
``ground_truth(self, x)``; here it also changes three defaults.  The script
imports only the models, never Panel, Bokeh or HoloViews, so it starts fast.

What to notice: three waves need a high degree, so R² climbs slowly with it.
The Ridge rows list the model's own notes where cross-validation chose an
alpha at an end of its grid: the number to distrust is then alpha itself.
"""

import argparse

import numpy as np

from polyfit_explorer import DataGenerator, RegressionModel, ground_truths
from polyfit_explorer.diagnostics import Diagnostics
from polyfit_explorer.parameters import Number

DEGREES = (1, 2, 3, 5, 8, 12, 16, 20)


class DampedOscillation(DataGenerator):
    """A damped oscillation, exp(-x/3)·cos(2x): waves that fade out to the right."""

    title = "Damped oscillation exp(−x/3)·cos 2x"

    # Only the defaults change; bounds, labels, docs and range errors are inherited.
    x_min = Number(default=0.0)
    x_max = Number(default=10.0)
    noise_sd = Number(default=0.1)

    def ground_truth(self, x):
        """Evaluate exp(-x/3)·cos(2x)."""
        return np.exp(-x / 3) * np.cos(2 * x)


def score_table(model: RegressionModel, degrees=DEGREES) -> list[dict]:
    """Refit ``model`` at each degree (the data stay the same) and collect its scores."""
    rows = []
    for degree in degrees:
        model.param.update(degree=degree)
        rows.append(
            dict(
                penalty=model.penalty,
                degree=degree,
                alpha=model.alpha_,
                train_r2=model.train_score_,
                test_r2=model.test_score_,
                train_rmse=model.train_rmse_,
                test_rmse=model.test_rmse_,
                messages=list(model.messages_),
            )
        )
    return rows


def print_table(rows: list[dict]) -> None:
    print(
        f"{'penalty':>7} {'degree':>6} {'alpha':>10} {'train R²':>10} {'test R²':>10} "
        f"{'train RMSE':>10} {'test RMSE':>10}"
    )
    for row in rows:
        alpha = "-" if row["alpha"] is None else f"{row['alpha']:.4g}"
        print(
            f"{row['penalty']:>7} {row['degree']:>6} {alpha:>10} {row['train_r2']:10.6f} "
            f"{row['test_r2']:10.6f} {row['train_rmse']:10.6f} {row['test_rmse']:10.6f}"
        )
    # The model reports problems (no convergence, alpha at the end of its grid) as sentences.
    for row in rows:
        for message in row["messages"]:
            print(f"  degree {row['degree']}: {message}")


def print_bias_variance(model: RegressionModel, replicates: int = 200) -> None:
    """Print bias², variance and the expected test error against degree, from refits."""
    curve = Diagnostics(model=model, max_degree=DEGREES[-1], replicates=replicates,
                        seed=0).bias_variance_by_degree()
    print(f"bias-variance by degree ({model.penalty}), {replicates} refits on fresh noise:")
    print(f"{'degree':>6} {'bias²':>12} {'variance':>12} {'total':>12} {'measured':>12}")
    for row in curve.itertuples():
        print(f"{row.degree:>6} {row.bias2:12.6g} {row.variance:12.6g} {row.total:12.6g} "
              f"{row.expected_mse:12.6g}")
    best = curve.loc[curve["total"].idxmin()]
    print(f"lowest expected test error at degree {int(best.degree)}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--penalty",
        action="append",
        choices=["none", "l2", "l1"],
        help="penalty to fit with; repeat for several (default: none and l2)",
    )
    parser.add_argument("--n-samples", type=int, default=200, help="number of samples")
    parser.add_argument("--diagnose", action="store_true",
                        help="also print bias², variance and their total against degree")
    args = parser.parse_args(argv)

    data = DampedOscillation(n_samples=args.n_samples, random_state=0)
    print(
        f"{data.title}: {data.n_samples} samples on [{data.x_min:g}, {data.x_max:g}], "
        f"noise σ = {data.noise_sd:g}"
    )
    print("In the app's ground-truth menu:", data.title in ground_truths())
    print()
    for penalty in args.penalty or ["none", "l2"]:
        model = RegressionModel(data=data, penalty=penalty)
        print_table(score_table(model))
        print()
        if args.diagnose:
            print_bias_variance(model)
            print()


if __name__ == "__main__":
    main()
