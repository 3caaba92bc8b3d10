"""Property-based checks: any valid settings give a usable fit."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyfit_explorer import DataGenerator, RegressionModel

data_settings = st.fixed_dictionaries({
    "n_samples": st.integers(2, 400),
    "x_min": st.floats(-50, 0, allow_nan=False),
    "width": st.floats(1e-3, 100, allow_nan=False),
    "noise_sd": st.floats(0, 50, allow_nan=False),
    "noise_mean": st.floats(-20, 20, allow_nan=False),
    "random_state": st.integers(0, 2**32 - 1),
})
model_settings = st.fixed_dictionaries({
    "degree": st.integers(0, 20),
    "penalty": st.sampled_from(["none", "l2", "l1"]),
    "alpha_mode": st.sampled_from(["cv", "cv_1se", "manual"]),
    "alpha": st.floats(1e-8, 1e8),
    "cv_folds": st.integers(2, 10),
    "test_size": st.floats(0.05, 0.95),
    "random_state": st.integers(0, 2**32 - 1),
})


def defined_or_none(value):
    return value is None or math.isfinite(value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=data_settings, fit=model_settings)
def test_any_valid_settings_give_finite_scores(data, fit):
    width = data.pop("width")
    gen = DataGenerator(**data, x_max=data["x_min"] + width)
    model = RegressionModel(data=gen, **fit)
    assert model.n_train_ + model.n_test_ == data["n_samples"]
    assert min(model.n_train_, model.n_test_) >= 1
    for value in (model.train_score_, model.test_score_, model.train_rmse_,
                  model.test_rmse_, model.train_mae_, model.test_mae_):
        assert defined_or_none(value)
    assert None not in (model.train_rmse_, model.test_rmse_)
    assert np.isfinite(model.y_pred_).all()
    assert np.isfinite(model.coef_).all()
    assert all(isinstance(m, str) and "nan" not in m.lower() for m in model.messages_)


@settings(max_examples=25, deadline=None)
@given(data=data_settings, degree=st.integers(0, 12), split_seed=st.integers(0, 2**32 - 1))
def test_same_seeds_give_identical_data_and_scores(data, degree, split_seed):
    width = data.pop("width")
    kwargs = dict(data, x_max=data["x_min"] + width)
    a = RegressionModel(data=DataGenerator(**kwargs), degree=degree, random_state=split_seed)
    b = RegressionModel(data=DataGenerator(**kwargs), degree=degree, random_state=split_seed)
    assert a.samples_.equals(b.samples_)
    assert a.scores == b.scores
