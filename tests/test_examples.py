"""Run examples/custom_truth.py as a user would and check the numbers it prints."""

from __future__ import annotations

import json
import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import r2_score, root_mean_squared_error

from polyfit_explorer import RegressionModel

SCRIPT = Path(__file__).parents[1] / "examples" / "custom_truth.py"
UI_PACKAGES = ("panel", "bokeh", "holoviews")
MARKER = "UI modules imported:"

# Runs the script as __main__ with its own arguments, then reports which UI modules
# it imported; the wrapper itself imports none.
WRAPPER = f"""
import json, runpy, sys
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
print({MARKER!r}, json.dumps(sorted(
    m for m in sys.modules if m.split(".")[0] in {set(UI_PACKAGES)!r})))
"""

ROW = re.compile(r"^\s*(none|l2|l1)\s+(\d+)\s+(\S+)" + r"\s+(-?\d+\.\d+)" * 4 + r"\s*$")


@pytest.fixture(scope="module")
def example():
    """The script's globals, loaded without running main()."""
    return runpy.run_path(str(SCRIPT))


def run_script(*args: str) -> tuple[str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    output, _, imported = result.stdout.partition(MARKER)
    return output, json.loads(imported)


def printed_rows(output: str) -> list[dict]:
    rows = []
    for match in filter(None, map(ROW.match, output.splitlines())):
        penalty, degree, alpha, *scores = match.groups()
        rows.append(
            dict(
                penalty=penalty,
                degree=int(degree),
                alpha=None if alpha == "-" else float(alpha),
                scores=[float(s) for s in scores],
            )
        )
    return rows


@pytest.mark.parametrize(
    ("args", "penalties"), [((), ["none", "l2"]), (("--penalty", "l1"), ["l1"])]
)
def test_prints_the_apis_scores_without_loading_the_ui(example, args, penalties):
    output, imported = run_script(*args)
    assert imported == []

    degrees = list(example["DEGREES"])
    rows = printed_rows(output)
    assert [(r["penalty"], r["degree"]) for r in rows] == [
        (p, d) for p in penalties for d in degrees
    ]

    data = example["DampedOscillation"](n_samples=200, random_state=0)
    for penalty in penalties:
        model = RegressionModel(data=data, penalty=penalty)
        for row in (r for r in rows if r["penalty"] == penalty):
            model.param.update(degree=row["degree"])
            frame = model.samples_
            y, y_pred = frame["y"].to_numpy(), model.y_pred_
            test = (frame["split"] == "test").to_numpy()
            expected = [
                r2_score(y[~test], y_pred[~test]),
                r2_score(y[test], y_pred[test]),
                root_mean_squared_error(y[~test], y_pred[~test]),
                root_mean_squared_error(y[test], y_pred[test]),
            ]
            where = (penalty, row["degree"])
            assert row["scores"] == pytest.approx(expected, abs=1e-6), where
            assert row["scores"][:2] == pytest.approx(
                [model.train_score_, model.test_score_], abs=1e-6
            ), where
            if penalty == "none":
                assert row["alpha"] is None, where
            else:
                assert row["alpha"] == pytest.approx(model.alpha_, rel=1e-3), where
            for message in model.messages_:
                assert f"  degree {row['degree']}: {message}\n" in output, where


def test_the_custom_truth_is_its_own_curve(example):
    data = example["DampedOscillation"](n_samples=50, noise_sd=0.0)
    x = data.data["x"].to_numpy()
    assert x.min() >= 0
    assert x.max() <= 10
    assert data.data["y"].to_numpy() == pytest.approx(np.exp(-x / 3) * np.cos(2 * x))


def test_the_wrapper_sees_ui_imports(tmp_path):
    # Guards the check above: a script that does import the UI is reported.
    script = tmp_path / "uses_ui.py"
    script.write_text("import holoviews\n")
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "holoviews" in json.loads(result.stdout.partition(MARKER)[2])


BIAS_VARIANCE_ROW = re.compile(r"^\s*(\d+)" + r"\s+(\S+)" * 4 + r"\s*$")


def test_diagnose_prints_the_bias_variance_curve(example):
    from polyfit_explorer.diagnostics import Diagnostics

    output, imported = run_script("--diagnose", "--penalty", "none")
    assert imported == []
    section = output.split("bias-variance by degree (none)")[1]
    printed = [[float(v) for v in m.groups()]
               for m in map(BIAS_VARIANCE_ROW.match, section.splitlines()) if m]
    model = RegressionModel(data=example["DampedOscillation"](n_samples=200, random_state=0),
                            degree=example["DEGREES"][-1])
    expected = Diagnostics(model=model, max_degree=model.degree, seed=0).bias_variance_by_degree()
    assert [row[0] for row in printed] == list(expected["degree"])
    np.testing.assert_allclose(
        [row[1:] for row in printed],
        expected[["bias2", "variance", "total", "expected_mse"]].to_numpy(), rtol=1e-5)
    best = int(expected.loc[expected["total"].idxmin(), "degree"])
    assert f"lowest expected test error at degree {best}" in section
