"""Shareable links, exports, and the Explorer's editing actions, without a browser."""

import io
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score, root_mean_squared_error

from polyfit_explorer import DataGenerator, Explorer, RegressionModel
from polyfit_explorer.exports import load_skops, to_csv, to_script, to_skops
from polyfit_explorer.links import apply_query, query_of

SETTINGS = [
    {},
    {"penalty": "l2", "degree": 9},
    {"penalty": "l2", "alpha_mode": "manual", "alpha": 3.0, "degree": 12},
    {"penalty": "l1", "degree": 5},
    {"penalty": "l2", "alpha_mode": "cv_1se", "degree": 12},
    {"loss": "huber", "degree": 4},
]


@pytest.fixture(autouse=True)
def _no_global_handler():
    yield
    import panel as pn

    pn.config.exception_handler = None


# ---- links ----------------------------------------------------------------------


def test_a_link_reproduces_the_settings_and_the_scores():
    explorer = Explorer()
    explorer.truth = "Sine"
    explorer.model.data.param.update(noise_sd=0.7, frequency=2.0, noise_kind="laplace")
    explorer.model.param.update(degree=8, penalty="l2", test_size=0.3, random_state=7)
    copy = Explorer()
    assert apply_query(copy, query_of(explorer)) == []
    assert copy.truth == "Sine"
    assert copy.model.data.frequency == 2.0
    assert copy.model.data.noise_kind == "laplace"
    assert copy.model.data.data.equals(explorer.model.data.data)
    assert (copy.model.test_score_, copy.model.alpha_) == (
        explorer.model.test_score_, explorer.model.alpha_)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("degree=999", ["degree", "[0, 50]", "Kept 3"]),
        ("degree=three", ["degree", "three", "Kept 3"]),
        ("data.noise_sd=-1", ["noise_sd", "Kept 3.0"]),
        ("data.noise_sd=nan", ["noise_sd", "'nan' is not a number", "Kept 3.0"]),
        ("data.noise_sd=3,5", ["noise_sd", "comma", "Kept 3.0"]),
        ("data.n_samples=2000000", ["n_samples", "[2, 1000000]", "Kept 200"]),
        ("data.n_samples=0x10", ["n_samples", "not a number", "Kept 200"]),
        ("penalty=l3", ["penalty", "'none', 'l2', 'l1'"]),
        ("truth=Nope", ["Unknown ground truth 'Nope'"]),
        ("colour=red", ["unknown setting 'colour'"]),
        ("data.x_min=9", ["x_min must be less than x_max", "Kept x_min=-5, x_max=5."]),
    ],
)
def test_a_bad_value_in_a_link_is_skipped_with_a_reason(query, words):
    explorer = Explorer()
    before = (explorer.model.degree, explorer.model.test_score_)
    (problem,) = apply_query(explorer, query + "&test_size=0.3")
    for word in words:
        assert word in problem
    assert explorer.model.test_size == 0.3  # the good value still applies
    assert explorer.model.degree == before[0]


# ---- exports ----------------------------------------------------------------


def run_script(text: str) -> dict[str, tuple[float, float]]:
    result = subprocess.run([sys.executable, "-c", text], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stderr == ""
    found = re.findall(r"^(train|test): R2 = (\S+)  RMSE = (\S+)", result.stdout, re.M)
    return {split: (float(r2), float(rmse)) for split, r2, rmse in found}


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_exported_script_prints_the_models_scores(settings):
    model = RegressionModel(**settings)
    model.excluded = [int(model.samples_.index[0]), int(model.samples_.index[5])]
    printed = run_script(to_script(model))
    assert printed["train"] == pytest.approx((model.train_score_, model.train_rmse_), abs=1e-6)
    assert printed["test"] == pytest.approx((model.test_score_, model.test_rmse_), abs=1e-6)


def test_the_exported_csv_holds_the_data_and_their_split():
    model = RegressionModel(data=DataGenerator(n_samples=50))
    model.excluded = [3]
    frame = pd.read_csv(io.StringIO(to_csv(model)))
    assert list(frame.columns) == ["x", "y", "split"]
    np.testing.assert_array_equal(frame[["x", "y"]].to_numpy(), model.data.data.to_numpy())
    assert frame["split"].tolist() == model.samples_["split"].astype(str).tolist()
    assert frame["split"].value_counts().to_dict() == {"train": 39, "test": 10, "excluded": 1}
    train = frame[frame.split == "train"]
    fitted = model.predict(train.x)
    assert r2_score(train.y, fitted) == pytest.approx(model.train_score_, abs=1e-12)
    assert root_mean_squared_error(train.y, fitted) == pytest.approx(model.train_rmse_)


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_skops_model_predicts_like_the_fit(settings):
    model = RegressionModel(**settings)
    loaded = load_skops(to_skops(model))
    x = model.data.grid(50)
    np.testing.assert_array_equal(loaded.predict(x[:, None]), model.predict(x))


# ---- the Explorer's editing actions ----------------------------------------------


def test_drawn_points_reach_the_model():
    explorer = Explorer(model=RegressionModel(data=DataGenerator(n_samples=30)))
    frame = explorer.model.data.data
    x, y = frame["x"].to_numpy().copy(), frame["y"].to_numpy().copy()
    labels = frame.index.to_numpy(dtype=float)
    y[4] += 10.0  # dragged
    explorer.data_plot.points_drawn({"x": [*x, 0.5], "y": [*y, 2.0], "label": [*labels, np.nan]})
    data = explorer.model.data
    assert data.edited
    assert len(data.data) == 31
    assert data.data.loc[4, "y"] == y[4]
    assert data.data.index[-1] == 30  # a new label
    assert explorer.model.n_train_ + explorer.model.n_test_ == 31
    before = data.data
    explorer.data_plot.points_drawn({"x": list(before.x), "y": list(before.y),
                            "label": list(before.index)})  # an echo of the same points
    assert data.data is before


def test_exclude_include_reset_and_pin():
    explorer = Explorer(model=RegressionModel(data=DataGenerator(n_samples=30)))
    model = explorer.model
    score = model.test_score_
    explorer.data_plot.points_selected([0, 2])
    explorer.data_plot.exclude_selected()
    assert model.excluded == sorted(map(int, model.samples_.index[[0, 2]]))
    assert (model.samples_.split == "excluded").sum() == 2
    assert model.n_train_ + model.n_test_ == 28
    explorer.data_plot.include_all()
    assert model.test_score_ == score
    model.data.set_points([0.0, 1.0, 2.0], [0.0, 1.0, 4.0])
    explorer.data_plot.points_selected([1])
    explorer.data_plot.exclude_selected()
    explorer.data_plot.reset_points()
    assert (len(model.data.data), model.excluded, model.data.edited) == (30, [], False)
    assert model.test_score_ == score

    explorer.data_plot.pin()
    pinned = explorer.data_plot.pinned
    model.degree = 7
    np.testing.assert_array_equal(pinned["y"], RegressionModel(
        data=DataGenerator(n_samples=30)).fit_curve()["y"])
    assert not np.allclose(pinned["y"], model.fit_curve()["y"])
    explorer.data_plot.unpin()
    assert explorer.data_plot.pinned is None


def test_a_link_refits_the_model_once_for_all_its_settings(monkeypatch):
    explorer = Explorer()
    fits = []
    fit_split = RegressionModel._fit_split
    monkeypatch.setattr(RegressionModel, "_fit_split",
                        lambda self, *args: fits.append(self.degree) or fit_split(self, *args))
    query = "degree=7&penalty=l2&alpha_mode=manual&alpha=0.5&test_size=0.3"
    assert apply_query(explorer, query) == []
    assert fits == [7]
    one_by_one = RegressionModel(degree=7, penalty="l2", alpha_mode="manual", alpha=0.5,
                                 test_size=0.3)
    assert explorer.model.fit_curve().equals(one_by_one.fit_curve())
    assert explorer.model.test_score_ == one_by_one.test_score_


class _NoRidgeAtSeven(RegressionModel):
    """Refuses one combination of settings that neither setting breaks alone."""

    def make_estimator(self, **overrides):
        if self.degree == 7 and self.penalty == "l2":
            raise ValueError("degree 7 with an L2 penalty is refused here.")
        return super().make_estimator(**overrides)


def test_settings_refused_together_are_applied_one_at_a_time():
    explorer = Explorer(model=_NoRidgeAtSeven())
    (problem,) = apply_query(explorer, "degree=7&penalty=l2&test_size=0.3")
    # One at a time, the second setting is the one refused, and says so.
    assert problem.startswith("Ignored penalty from the link: ")
    assert "degree 7 with an L2 penalty is refused here" in problem
    assert (explorer.model.degree, explorer.model.penalty) == (7, "none")
    assert explorer.model.test_size == 0.3
    reference = RegressionModel(degree=7, test_size=0.3)
    assert explorer.model.test_score_ == reference.test_score_
