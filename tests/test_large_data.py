"""Large data: cross-validation on a subsample, cheap EDF, rasterized scatters."""

import tracemalloc

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, GlyphRenderer, ImageRGBA, Plot
from pyviz_comms import Comm
from sklearn.linear_model import LassoCV, LinearRegression, Ridge
from sklearn.metrics import r2_score

from polyfit_explorer import DataGenerator, Explorer, RegressionModel
from polyfit_explorer.diagnostics import Diagnostics, Snapshot
from polyfit_explorer.estimators import KFoldRidgeCV, effective_dof
from polyfit_explorer.model import CV_MAX_POINTS, RIDGE_ALPHAS, polynomial_regression
from polyfit_explorer.plots import RASTER_THRESHOLD
from polyfit_explorer.views.diagnostics import DiagnosticsView

#: Large enough that the training split (80%) exceeds CV_MAX_POINTS.
N_LARGE = 30_000


@pytest.fixture(scope="module")
def large_ridge():
    return RegressionModel(data=DataGenerator(n_samples=N_LARGE), penalty="l2", degree=6)


def train_arrays(model):
    train = (model.samples_["split"] == "train").to_numpy()
    return model.samples_["x"].to_numpy()[train], model.samples_["y"].to_numpy()[train]


def test_cv_above_the_limit_uses_a_seeded_subsample_and_says_so(large_ridge):
    model = large_ridge
    x, y = train_arrays(model)
    assert model.n_train_ == 24_000 > CV_MAX_POINTS
    assert model.cv_points_ == CV_MAX_POINTS
    assert any(f"random {CV_MAX_POINTS:,} of the 24,000" in m for m in model.messages_)
    # An independent search on the same rows chooses the same alpha ...
    rows = np.random.default_rng(model.random_state).choice(len(x), CV_MAX_POINTS,
                                                            replace=False)
    search = polynomial_regression(6, model.data.x_min, model.data.x_max, penalty="l2",
                                   random_state=model.random_state)
    search.fit(x[rows, None], y[rows])
    assert isinstance(search[-1], KFoldRidgeCV)
    assert model.alpha_ == search[-1].alpha_
    assert model.alpha_ in RIDGE_ALPHAS
    # ... and the fit is a plain Ridge at that alpha on every training point.
    ridge = polynomial_regression(6, model.data.x_min, model.data.x_max, penalty="l2",
                                  alpha_mode="manual", alpha=model.alpha_).fit(x[:, None], y)
    assert isinstance(model.estimator_[-1], Ridge)
    np.testing.assert_allclose(model.y_pred_, ridge.predict(model.samples_[["x"]].to_numpy()),
                               rtol=1e-9, atol=1e-9)
    assert model.train_score_ == pytest.approx(r2_score(y, ridge.predict(x[:, None])), abs=1e-12)


def test_cv_below_the_limit_uses_every_training_point():
    model = RegressionModel(data=DataGenerator(n_samples=2_000), penalty="l2")
    assert model.cv_points_ == model.n_train_ == 1_600
    assert isinstance(model.estimator_[-1], KFoldRidgeCV)
    assert not any("random" in m for m in model.messages_)
    assert RegressionModel().cv_points_ is None  # no penalty, no CV


def test_lasso_cv_on_a_large_sample_matches_sklearn_on_the_subsample():
    model = RegressionModel(data=DataGenerator(n_samples=N_LARGE), penalty="l1", degree=3)
    x, y = train_arrays(model)
    rows = np.random.default_rng(model.random_state).choice(len(x), CV_MAX_POINTS,
                                                            replace=False)
    search = polynomial_regression(3, model.data.x_min, model.data.x_max, penalty="l1",
                                   random_state=model.random_state).fit(x[rows, None], y[rows])
    assert isinstance(search[-1], LassoCV)
    assert model.alpha_ == pytest.approx(search[-1].alpha_, rel=1e-12)
    assert model.cv_points_ == CV_MAX_POINTS


@pytest.mark.parametrize("penalty", ["none", "l2"])
def test_edf_from_the_fits_singular_values_equals_the_qr_route(penalty):
    model = RegressionModel(data=DataGenerator(n_samples=500), penalty=penalty, degree=9)
    x, _ = train_arrays(model)
    assert hasattr(model.estimator_[-1], "singular_")
    features = model.estimator_[:-1].transform(x[:, None])
    s = np.linalg.svd(features - features.mean(axis=0), compute_uv=False)
    np.testing.assert_allclose(np.sort(model.estimator_[-1].singular_), np.sort(s), rtol=1e-8)
    alpha = model.alpha_ or 0.0
    expected = 10.0 if penalty == "none" else 1 + np.sum(s**2 / (s**2 + alpha))
    assert model.edf_ == pytest.approx(expected, rel=1e-9)


def test_edf_rank_rule_matches_linear_regression_on_a_rank_deficient_design():
    # Degree 5 on 4 distinct x: the centered features have rank 3.
    x = np.repeat([-1.0, -0.3, 0.4, 1.0], 5)[:, None]
    pipe = polynomial_regression(5, -1.0, 1.0).fit(x, x[:, 0] ** 2)
    assert isinstance(pipe[-1], LinearRegression)
    assert pipe[-1].rank_ == 3
    assert effective_dof(pipe, x) == 1 + pipe[-1].rank_


# ---- the view ---------------------------------------------------------------------


def rendered(explorer):
    # Not added to the document: a held document drops the events (and so the model
    # callbacks) it would send to a notebook's comm, and these tests watch the models.
    doc = Document()
    root = pn.panel(explorer).get_root(doc, comm=Comm())
    for result in explorer.diagnostics.results.values():
        result.active = False
    return doc, root


def images(root) -> dict:
    """The RGBA image of each plot, as a uint32 array, by the first word of its title."""
    return {plot.title.text.split()[0]: np.asarray(r.data_source.data["image"][0])
            for plot in root.references() if isinstance(plot, Plot) for r in plot.renderers
            if isinstance(r, GlyphRenderer) and isinstance(r.glyph, ImageRGBA)}


@pytest.fixture
def large_explorer():
    explorer = Explorer(model=RegressionModel(data=DataGenerator(n_samples=N_LARGE)))
    yield explorer
    pn.config.exception_handler = None


def test_large_data_are_drawn_as_images_and_no_point_is_sent(large_explorer):
    _, root = rendered(large_explorer)
    assert len(large_explorer.model.samples_) > RASTER_THRESHOLD
    pictures = images(root)
    assert sorted(pictures) == ["Data,", "Predicted"]
    for picture in pictures.values():
        alpha = (picture.view(np.uint8).reshape(*picture.shape, 4))[..., 3]
        assert (alpha > 0).sum() > 1_000  # thousands of pixels hold points
    sources = [m for m in root.references() if isinstance(m, ColumnDataSource)]
    largest = max(len(next(iter(m.data.values()), [])) for m in sources if "image" not in m.data)
    assert largest <= 500  # the curves, not the 30,000 points
    assert "**30,000 points** are drawn as images" in large_explorer.data_plot._size_note()
    assert Explorer().data_plot._size_note() == ""


def test_a_degree_change_on_large_data_leaves_the_data_image_alone(large_explorer):
    _, root = rendered(large_explorer)
    before = images(root)
    replaced = []
    for source in root.references():  # a model's own callbacks run even while held
        if isinstance(source, ColumnDataSource):
            source.on_change("data", lambda attr, old, new, s=source: replaced.append(s))
    large_explorer.model.degree = 7
    changed = [",".join(sorted(s.data)) for s in {id(s): s for s in replaced}.values()]
    after = images(root)
    assert "fit,x" in changed
    # Only the predictions' image was re-sent: one image source changed, not two.
    assert sum("image" in columns for columns in changed) == 1
    assert np.array_equal(before["Data,"], after["Data,"])
    assert not np.array_equal(before["Predicted"], after["Predicted"])
    large_explorer.model.data.noise_sd = 1.0
    assert not np.array_equal(after["Data,"], images(root)["Data,"])


def test_hand_edits_are_refused_on_large_data(large_explorer):
    rendered(large_explorer)
    frame = large_explorer.model.data.data
    large_explorer.data_plot.points_drawn({"x": [0.0], "y": [0.0], "label": [np.nan]})
    assert large_explorer.model.data.data is frame
    assert f"up to {RASTER_THRESHOLD:,} points" in large_explorer.message


def test_the_apps_diagnostics_of_large_data_use_a_seeded_subsample(large_ridge):
    snap = Snapshot.of(large_ridge, max_points=CV_MAX_POINTS)
    assert (len(snap.x_train), len(snap.x_test)) == (20_000, 5_000)
    x_train, _ = train_arrays(large_ridge)
    assert np.isin(snap.x_train, x_train).all()
    assert len(np.unique(snap.x_train)) == 20_000  # drawn without replacement
    again = Snapshot.of(large_ridge, max_points=CV_MAX_POINTS)
    np.testing.assert_array_equal(snap.x_train, again.x_train)
    assert len(Snapshot.of(large_ridge).x_train) == 24_000  # scripts get every point
    view = DiagnosticsView(diagnostics=Diagnostics(model=large_ridge))
    assert ("a random 20,000 of the 24,000 training points and 5,000 of the 6,000 test"
            in view._sample_note())
    assert DiagnosticsView(diagnostics=Diagnostics())._sample_note() == ""


def peak_bytes(action) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("penalty", ["none", "l2"])
def test_fit_memory_grows_linearly_with_n(penalty):
    # numpy reports its buffers to tracemalloc.  An n × n matrix would make the
    # ratio 4 (and the bigger fit 128 GB); an n × p design keeps it near 2.
    generators = {n: DataGenerator(n_samples=n) for n in (50_000, 100_000)}
    peaks = {n: peak_bytes(lambda g=g: RegressionModel(data=g, penalty=penalty, degree=12))
             for n, g in generators.items()}
    assert peaks[100_000] / peaks[50_000] < 2.3
    design = 100_000 * 13 * 8  # n × (degree + 1) float64
    assert peaks[100_000] < 6 * design  # measured: 2.6 (OLS) and 2.0 (Ridge CV)
