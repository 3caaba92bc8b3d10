"""A change whose recomputation raises is rolled back: settings and results stay as they were.

The faults come from user code, as in the app: a ground truth that raises for
some settings, and a model whose estimator cannot be built for some degree.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.polynomial import Polynomial
from sklearn.metrics import r2_score

from polyfit_explorer import DataGenerator, RegressionModel
from polyfit_explorer.parameters import InvalidValue, Number, UpdateFailed


class FailingTruth(DataGenerator):
    """A line whose ground truth raises for more than 300 samples or a negative slope."""

    slope = Number(default=1.0, bounds=(-5.0, 5.0), label="Slope", doc="Slope of the line.")

    def ground_truth(self, x):
        """Return slope · x; refuse big samples and negative slopes, as a buggy truth would."""
        if len(x) > 300 and len(x) != 500:  # the grid of 500 points is fine
            raise RuntimeError("too many samples for this truth")
        if self.slope < 0:
            raise ZeroDivisionError("negative slope")
        return self.slope * x


class FailingModel(RegressionModel):
    """A model whose estimator cannot be built above degree 5 or for over 100 points."""

    def make_estimator(self, **overrides):
        """Refuse degrees above 5 and big samples, as a buggy subclass would."""
        if self.degree > 5:
            raise RuntimeError("no estimator above degree 5")
        if len(self.data.data) > 100:
            raise RuntimeError("no estimator for over 100 points")
        return super().make_estimator(**overrides)


def state(model: RegressionModel) -> tuple:
    return (model.data.n_samples, model.data.slope, model.degree, model.estimator_,
            model.samples_, model.data.data, model.scores, model.true_rmse_)


def test_a_failing_ground_truth_keeps_the_old_sample_and_fit():
    model = RegressionModel(data=FailingTruth(n_samples=200, noise_sd=0.5), degree=1)
    before = state(model)

    with pytest.raises(UpdateFailed, match=r"n_samples=400 .*ground_truth.*RuntimeError: too "
                                           r"many samples.*Kept n_samples=200") as caught:
        model.data.n_samples = 400

    assert isinstance(caught.value.__cause__, RuntimeError)
    assert state(model) == before
    # Still live: a valid change resamples and refits.
    model.data.n_samples = 250
    assert len(model.samples_) == 250
    train = model.samples_[model.samples_["split"] == "train"]
    line = Polynomial.fit(train["x"], train["y"], 1)
    assert model.train_score_ == pytest.approx(r2_score(train["y"], line(train["x"])))


def test_a_failing_custom_parameter_is_rolled_back_too():
    model = RegressionModel(data=FailingTruth(n_samples=50), degree=2)
    before = state(model)
    with pytest.raises(UpdateFailed, match=r"slope=-1\.0.*ZeroDivisionError"):
        model.data.slope = -1.0
    assert state(model) == before


def test_a_failing_estimator_keeps_the_old_degree_and_fit():
    model = FailingModel(data=DataGenerator(n_samples=60), degree=3)
    before = (model.degree, model.estimator_, model.scores, model.coef_)
    with pytest.raises(UpdateFailed, match=r"degree=8 failed in make_estimator.*Kept degree=3"):
        model.degree = 8
    assert (model.degree, model.estimator_, model.scores) == before[:3]
    np.testing.assert_array_equal(model.coef_, before[3])
    model.degree = 4
    assert len(model.coef_) == 5


def test_a_model_failure_on_new_data_restores_the_data():
    # The sample changes first, then the model's fit of it fails: both stay as they were.
    model = FailingModel(data=DataGenerator(n_samples=60), degree=5)
    before = (model.data.data, model.estimator_, model.samples_, model.scores)
    with pytest.raises(UpdateFailed, match=r"n_samples=120 failed in make_estimator.*"
                                           "Kept n_samples=60") as caught:
        model.data.n_samples = 120
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert model.data.n_samples == 60
    assert (model.data.data, model.estimator_, model.samples_, model.scores) == before


def test_a_refused_value_is_not_reported_as_a_fault():
    model = RegressionModel(data=DataGenerator(n_samples=20))
    with pytest.raises(InvalidValue) as caught:
        model.data.x_min = 9.0
    assert not isinstance(caught.value, UpdateFailed)


def test_a_failing_plot_layer_keeps_its_last_data_and_says_why(caplog):
    import panel as pn
    from bokeh.document import Document
    from bokeh.models import ColumnDataSource
    from pyviz_comms import Comm

    from polyfit_explorer import Explorer

    class Flaky(RegressionModel):
        broken = False

        def fit_curve(self, n_points=500):
            if self.broken:
                raise RuntimeError("no curve today")
            return super().fit_curve(n_points)

    explorer = Explorer(model=Flaky(data=DataGenerator(n_samples=30)))
    root = pn.panel(explorer).get_root(Document(), comm=Comm())
    (fit,) = [m for m in root.references() if isinstance(m, ColumnDataSource) and "fit" in m.data]
    first = list(fit.data["fit"])
    explorer.model.broken = True
    try:
        with caplog.at_level("ERROR", logger="polyfit_explorer.views.explorer"):
            explorer.model.degree = 5
    finally:
        pn.config.exception_handler = None
    assert list(fit.data["fit"]) == first
    assert "RuntimeError: no curve today" in explorer.message
    assert explorer.model.degree == 5  # the model is fine: only a view failed
    assert [r.exc_info for r in caplog.records] == [None]  # one line, no traceback
