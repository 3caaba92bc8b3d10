"""Exports of a fitted model: its data as CSV, a runnable script, the estimator as skops.

No Panel here: the app's download buttons call these, and so can scripts.
"""

from __future__ import annotations

import json

import skops.io
from sklearn.model_selection import KFold

from .estimators import IntervalScaler, KFoldRidgeCV, OneSELassoCV, ScaledHuberRegressor
from .model import (
    HUBER_EPSILON,
    HUBER_MAX_ITER,
    LASSO_MAX_ITER,
    LEAST_SQUARES_RCOND,
    RegressionModel,
)

__all__ = ["SKOPS_TRUSTED", "load_skops", "to_csv", "to_script", "to_skops"]

#: Types ``skops.io.load`` must be told to trust: the project's own estimators, and the
#: scikit-learn splitter a cross-validated alpha keeps (skops lists no splitter as safe).
SKOPS_TRUSTED = [f"{cls.__module__}.{cls.__qualname__}"
                 for cls in (IntervalScaler, KFoldRidgeCV, OneSELassoCV, ScaledHuberRegressor,
                             KFold)]


def to_csv(model: RegressionModel) -> str:
    """Return the model's data as CSV: columns x, y and split (train, test or excluded)."""
    return model.samples_.to_csv(index=False, float_format="%.17g")


def to_skops(model: RegressionModel) -> bytes:
    """Return the fitted pipeline in the skops format, which loads without running code."""
    return skops.io.dumps(model.estimator_)


def load_skops(data: bytes):
    """Load a pipeline written by :func:`to_skops`, trusting only the types it needs."""
    trusted = sorted(set(skops.io.get_untrusted_types(data=data)) & set(SKOPS_TRUSTED))
    return skops.io.loads(data, trusted=trusted)


def to_script(model: RegressionModel) -> str:
    """Return a Python script that refits the model with numpy and scikit-learn only.

    It embeds the data and their split, rebuilds the pipeline with
    scikit-learn's own classes (the app's alpha, chosen by cross-validation
    or by hand, is fixed) and prints the same scores as the app.
    """
    frame = model.samples_
    data = {"x": frame["x"].tolist(), "y": frame["y"].tolist(),
            "split": frame["split"].astype(str).tolist()}
    return SCRIPT.format(
        title=type(model.data).__dict__.get("title", type(model.data).__name__),
        degree=model.degree, x_min=model.data.x_min, x_max=model.data.x_max,
        regressor=_regressor_code(model), data=json.dumps(data),
        n_train=model.n_train_, n_test=model.n_test_)


def _regressor_code(model: RegressionModel) -> str:
    if model.loss == "huber":
        return (f"HuberRegressor(epsilon={HUBER_EPSILON!r}, alpha=0.0, "
                f"max_iter={HUBER_MAX_ITER})")
    if model.alpha_ is None:
        return f"LinearRegression(tol={LEAST_SQUARES_RCOND!r})  # exact least squares"
    how = ("set by hand" if model.cv_points_ is None else
           "chosen by cross-validation in the app"
           + (" (one-standard-error rule)" if model.alpha_mode == "cv_1se" else ""))
    name = "Ridge" if model.penalty == "l2" else "Lasso"
    extra = f", max_iter={LASSO_MAX_ITER}, precompute=True" if name == "Lasso" else ""
    return f"{name}(alpha={float(model.alpha_)!r}{extra})  # alpha {how}"


SCRIPT = '''"""Refit a polyfit_explorer model with numpy and scikit-learn only.

Data: {title}; {n_train} training and {n_test} test points (excluded points
are kept in the data but not used).  Run it with `python this_file.py`.
"""

import json

import numpy as np
from sklearn.linear_model import HuberRegressor, Lasso, LinearRegression, Ridge
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

DATA = json.loads({data!r})
DEGREE = {degree}
X_MIN, X_MAX = {x_min!r}, {x_max!r}

x = np.array(DATA["x"])
y = np.array(DATA["y"])
split = np.array(DATA["split"])

# The app maps [x_min, x_max] onto [-1, 1] before taking powers: it keeps them well scaled.
t = ((x - (X_MIN + X_MAX) / 2) / ((X_MAX - X_MIN) / 2)).reshape(-1, 1)

model = make_pipeline(
    PolynomialFeatures(DEGREE, include_bias=DEGREE == 0),
    StandardScaler(),
    {regressor},
)
train, test = split == "train", split == "test"
model.fit(t[train], y[train])
y_pred = model.predict(t)

for name, rows in [("train", train), ("test", test)]:
    r2 = r2_score(y[rows], y_pred[rows]) if rows.sum() >= 2 else float("nan")
    rmse = root_mean_squared_error(y[rows], y_pred[rows])
    mae = mean_absolute_error(y[rows], y_pred[rows])
    print(f"{{name}}: R2 = {{r2:.10f}}  RMSE = {{rmse:.10f}}  MAE = {{mae:.10f}}")
'''
