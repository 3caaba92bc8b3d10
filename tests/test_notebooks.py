"""Execute examples/explore.ipynb in a real Jupyter kernel and check what it shows.

The notebook runs once per module (about 15 s: kernel start, Panel import and
rendering).  The values it prints are checked against the same API run here,
and against :mod:`sklearn.metrics` computed from the fitted pipeline.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from sklearn.metrics import r2_score, root_mean_squared_error

from polyfit_explorer import DataGenerator, RegressionModel

pytestmark = pytest.mark.notebook

NOTEBOOK = Path(__file__).parents[1] / "examples" / "explore.ipynb"
EXEC_MIME = "application/vnd.holoviews_exec.v0+json"
LOAD_MIME = "application/vnd.holoviews_load.v0+json"
CDN_HOSTS = ("cdn.holoviz.org", "cdn.bokeh.org")

#: The notebook's generator settings; its printed numbers are recomputed from them.
NOTEBOOK_DATA = dict(n_samples=40, noise_sd=3.0, random_state=0)

SCORE_LINE = re.compile(r"^\s*(train|test):\s+R² =\s*(\S+)\s+RMSE =\s*(\S+)\s*$", re.MULTILINE)
ALPHA_LINE = re.compile(r"alpha chosen by (\d+)-fold cross-validation: (\S+)")


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # "python3" resolves to this venv's ipykernel: jupyter_client starts it with
    # sys.executable, so the kernel imports the same polyfit_explorer as this test.
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        startup_timeout=120,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    return notebook


def cell(notebook, tag: str):
    (found,) = [c for c in notebook.cells if tag in c.metadata.get("tags", [])]
    return found


def stdout(code_cell) -> str:
    return "".join(
        o.text for o in code_cell.outputs if o.output_type == "stream" and o.name == "stdout"
    )


def printed_scores(text: str) -> dict[str, tuple[float, float]]:
    scores = {split: (float(r2), float(rmse)) for split, r2, rmse in SCORE_LINE.findall(text)}
    assert set(scores) == {"train", "test"}, text
    return scores


def model_like_notebook(**settings) -> RegressionModel:
    return RegressionModel(data=DataGenerator(**NOTEBOOK_DATA), **settings)


def assert_scores_match(text: str, model: RegressionModel):
    """Printed scores equal the model's, and sklearn.metrics on its fitted pipeline."""
    frame = model.samples_
    y_pred = model.estimator_.predict(frame[["x"]].to_numpy())
    for split, (r2, rmse) in printed_scores(text).items():
        rows = (frame["split"] == split).to_numpy()
        y = frame["y"].to_numpy()[rows]
        assert r2 == pytest.approx(r2_score(y, y_pred[rows]), abs=1e-6), split
        assert rmse == pytest.approx(root_mean_squared_error(y, y_pred[rows]), abs=1e-6), split
        assert r2 == pytest.approx(model.scores[split].r2, abs=1e-6), split
    assert model.hint_ in text


# ---- the file as committed ---------------------------------------------------------


def test_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_first_code_cell_loads_panel_inline():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    first = next(c for c in notebook.cells if c.cell_type == "code")
    assert "pn.extension(inline=True)" in first.source


# ---- the executed notebook ---------------------------------------------------------


def test_no_errors_and_no_warnings(executed):
    for code_cell in executed.cells:
        for output in code_cell.get("outputs", []):
            assert output.output_type != "error", (code_cell.source, output.get("evalue"))
            # Warnings land on stderr; a learner should not see any.
            assert not (output.output_type == "stream" and output.name == "stderr"), (
                code_cell.source,
                output.text,
            )


def test_data_head_is_the_generators_sample(executed):
    (result,) = [
        o for o in cell(executed, "data-head").outputs if o.output_type == "execute_result"
    ]
    expected = DataGenerator(**NOTEBOOK_DATA).data.head()
    assert result.data["text/plain"] == repr(expected)


def test_same_seed_gives_same_data(executed):
    assert stdout(cell(executed, "same-seed")).strip() == "Same data with the same seed: True"


def test_scores_at_degree_3(executed):
    text = stdout(cell(executed, "scores-degree-3"))
    assert text.startswith("degree 3, penalty 'none'\n")
    assert_scores_match(text, model_like_notebook(degree=3))


def test_degree_change_refits_without_resampling(executed):
    text = stdout(cell(executed, "degree-15"))
    assert "Data drawn again: False\n" in text
    assert "Split drawn again: False\n" in text
    assert "degree 15, penalty 'none'\n" in text
    model = model_like_notebook(degree=3)
    model.param.update(degree=15)
    assert_scores_match(text, model)


def test_degree_table(executed):
    (result,) = [
        o for o in cell(executed, "degree-table").outputs if o.output_type == "execute_result"
    ]
    lines = result.data["text/plain"].splitlines()[2:]
    model = model_like_notebook()
    assert len(lines) == 15
    for degree, line in enumerate(lines, start=1):
        model.param.update(degree=degree)
        shown = [float(v) for v in line.split()]
        assert shown == pytest.approx(
            [degree, round(model.train_score_, 3), round(model.test_score_, 3)], abs=1e-9
        )


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_penalty_with_cross_validated_alpha(executed, penalty):
    text = stdout(cell(executed, penalty))
    model = model_like_notebook(degree=15, penalty=penalty)
    ((folds, alpha),) = ALPHA_LINE.findall(text)
    assert int(folds) == model.cv_folds
    assert float(alpha) == pytest.approx(model.alpha_, rel=1e-5)
    assert f"degree 15, penalty '{penalty}'\n" in text
    assert_scores_match(text, model)


def test_lasso_zeros_and_messages(executed):
    text = stdout(cell(executed, "l1"))
    model = model_like_notebook(degree=15, penalty="l1")
    nonzero = np.count_nonzero(model.coef_)
    assert f"coefficients that are not zero: {nonzero} of 16\n" in text
    assert nonzero < 16, "LASSO zeroed no coefficient: the notebook's text no longer fits"
    shown = re.findall(r"^- (.*)$", text.split("Messages:\n", 1)[1], re.MULTILINE)
    assert shown == model.messages_


def test_explorer_renders_as_a_panel_bundle(executed):
    (result,) = [
        o for o in cell(executed, "explorer").outputs if o.output_type == "execute_result"
    ]
    assert EXEC_MIME in result.data
    root_id = result.metadata[EXEC_MIME]["id"]
    assert root_id
    html = result.data["text/html"]
    assert f'data-root-id="{root_id}"' in html
    assert "docs_json" in html


def test_model_change_after_the_app_still_refits(executed):
    text = stdout(cell(executed, "back-to-5"))
    assert_scores_match(text, model_like_notebook(degree=5))


def test_javascript_is_inline_not_from_a_cdn(executed):
    setup_outputs = cell(executed, "setup").outputs
    # The extension did emit its loader, so the CDN check below is not vacuous.
    assert any(LOAD_MIME in o.get("data", {}) for o in setup_outputs)
    for code_cell in executed.cells:
        text = json.dumps(code_cell.get("outputs", []))
        for host in CDN_HOSTS:
            assert host not in text, (host, code_cell.source)


def numbers_after(label: str, text: str) -> float:
    match = re.search(rf"{re.escape(label)} = (\S+)", text)
    assert match, (label, text)
    return float(match.group(1))


def test_bias_variance_section_prints_the_decomposition(executed):
    from polyfit_explorer.diagnostics import Snapshot, bias_variance

    text = stdout(cell(executed, "bias-variance"))
    expected = bias_variance(Snapshot.of(model_like_notebook(degree=5)), 500, 1)
    assert text.startswith("degree 5:")
    for label, value in [("bias²", expected.bias2), ("variance", expected.variance),
                         ("noise σ²", expected.noise), ("sum", expected.total),
                         ("measured test MSE", expected.expected_mse)]:
        assert numbers_after(label, text) == pytest.approx(value, abs=1e-6), label
    closed_form = text.split("closed form:")[1]
    assert numbers_after("bias²", closed_form) == pytest.approx(expected.exact_bias2, abs=1e-6)
    assert numbers_after("variance", closed_form) == pytest.approx(
        expected.exact_variance, abs=1e-6)


@pytest.mark.parametrize(
    ("tag", "column", "compute"),
    [("u-curve", "total", "bias_variance_by_degree"),
     ("validation-curve", "cv_rmse", "validation_curve")],
)
def test_best_degree_sections(executed, tag, column, compute):
    from polyfit_explorer.diagnostics import Diagnostics

    diagnostics = Diagnostics(model=model_like_notebook(degree=5), replicates=500, seed=1)
    frame = getattr(diagnostics, compute)()
    best = int(frame.loc[frame[column].idxmin(), "degree"])
    text = stdout(cell(executed, tag))
    assert text.strip().endswith(f": {best}")
    assert 2 <= best <= 12  # the table is not a degenerate one
