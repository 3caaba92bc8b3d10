"""RegressionModel: a polynomial fit of a DataGenerator's sample, with scores.

The estimator is a scikit-learn pipeline,
``IntervalScaler → PolynomialFeatures → StandardScaler → regressor``.
``PolynomialFeatures → StandardScaler`` is scikit-learn's replacement for the
removed ``normalize=True``.  Mapping the data's x interval onto [-1, 1] first
keeps the powers near 1 instead of 5²⁰ ≈ 10¹⁴ and keeps them far from
collinear wherever the interval lies (the powers of x on [0, 10] are nearly
collinear; a penalty then cannot tell them apart), so degree 20 stays well
conditioned.  For a symmetric interval the map only scales, so the monomials
are those of x and LASSO's zeros are zeros in x.
"""

from __future__ import annotations

import math
import threading
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import param
import sklearn
from numpy.polynomial import Polynomial as NumpyPolynomial
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LassoCV, LinearRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from .data import MAX_SEED, DataGenerator
from .estimators import (
    IntervalScaler,
    KFoldRidgeCV,
    OneSELassoCV,
    ScaledHuberRegressor,
    effective_dof,
)
from .parameters import Integer, InvalidValue, Number, rolled_back

__all__ = [
    "ALPHA_MODES",
    "LOSSES",
    "PENALTIES",
    "RIDGE_ALPHAS",
    "SETTINGS",
    "RegressionModel",
    "Scores",
    "polynomial_regression",
    "raw_coefficients",
    "scaled_coefficients",
]

#: The settings of a model that a user sets (the sidebar, in this order, and a
#: link); everything the fit depends on but the data and the excluded points.
SETTINGS = ["degree", "loss", "penalty", "alpha_mode", "alpha", "cv_folds", "test_size",
            "random_state"]

SPLITS = ("train", "test")
#: A row's role: in the training split, the test split, or excluded from both by hand.
ROLES = (*SPLITS, "excluded")

#: ``warnings.catch_warnings`` swaps process-wide state: a fit in a worker thread (the
#: diagnostics) and one on the event loop would record each other's warnings.  Every
#: fit that captures or silences warnings holds this lock.
WARNINGS_LOCK = threading.Lock()

PENALTIES = {"None (least squares)": "none", "L2 (Ridge)": "l2", "L1 (LASSO)": "l1"}

#: How alpha is chosen: cross-validation's lowest error, its one-standard-error rule
#: (the largest alpha within one SE of that lowest error), or by hand.
ALPHA_MODES = {"CV: lowest error": "cv", "CV: one-SE rule (simpler)": "cv_1se",
               "Manual": "manual"}
#: The alpha modes that cross-validate, and the rule each chooses by.
CV_RULES = {"cv": "min", "cv_1se": "one_se"}

LOSSES = {"Squared error": "squared_error", "Huber (robust to outliers)": "huber"}

#: HuberRegressor's own defaults, except more iterations: degree 10+ needs them.
HUBER_EPSILON = 1.35
HUBER_MAX_ITER = 1_000

#: Alphas the Ridge cross-validation searches: 4 per decade.  With standardized features an alpha
#: of 1e-6 is ordinary least squares and 1e6 flattens any fit.
RIDGE_ALPHAS = np.logspace(-6, 6, 49)

#: LassoCV searches this many alphas, from the smallest alpha that zeroes every
#: coefficient down to LASSO_EPS times it.  The original's eps=0.01 made the
#: bottom of the grid bind at every setting.
LASSO_N_ALPHAS = 40
LASSO_EPS = 1e-5
LASSO_MAX_ITER = 10_000

#: Singular values of the features below this share of the largest are dropped by
#: least squares.  scikit-learn 1.9's LinearRegression passes its ``tol`` (1e-6) to
#: ``lstsq`` as that cut-off, which at degree 15 on 20 points dropped a direction of
#: the fit: its training RMSE was 0.988 where least squares reaches 0.948.  Near
#: float64's rounding instead, and the same in the diagnostics' LinearDesign.
LEAST_SQUARES_RCOND = 1e-12

#: Coefficients in x are reported when they reproduce the fit to this, relative to its size.
RAW_TOLERANCE = 1e-6

#: Above this many training points alpha is cross-validated on a random subsample
#: of this size (drawn with ``random_state``); the fit then uses every training
#: point with that alpha.  With 800,000 training points, Ridge's CV took 2.9 s;
#: alpha barely moves with n once the sample is this large.
CV_MAX_POINTS = 20_000


#: y whose standard deviation is within this of its largest |y| (or the largest
#: error, if larger) is constant for R²: 2⁶ times float64's rounding error.
CONSTANT_SPREAD = 64 * np.finfo(float).eps


@dataclass(frozen=True)
class Scores:
    """R², RMSE and MAE on one split; ``r2`` is None with fewer than 2 points or constant y."""

    r2: float | None
    rmse: float | None
    mae: float | None

    @classmethod
    def of(cls, y_true: np.ndarray, y_pred: np.ndarray) -> Scores:
        """Score predictions as :mod:`sklearn.metrics` does (the tests compare, to 1e-12).

        Computed here with numpy: scikit-learn's metrics checked their inputs
        again each time, a tenth of a refit's time.
        """
        if len(y_true) == 0:
            return cls(None, None, None)
        residual = y_true - y_pred
        r2 = _r2(y_true, residual) if len(y_true) >= 2 else None
        return cls(r2, _rmse(residual), float(np.mean(np.abs(residual))))


def _rmse(residual: np.ndarray) -> float:
    return float(np.sqrt(np.mean(residual**2)))


def _r2(y_true: np.ndarray, residual: np.ndarray) -> float | None:
    """``r2_score``'s value; None where y has no spread, as R² is then 0/0.

    scikit-learn scores constant y 1.0 for a perfect fit and 0.0 otherwise,
    so a fit of constant y showed 0.00 with an error of 1e-16 and 1.0 with
    another constant.  "No spread" allows for rounding: a spread within
    CONSTANT_SPREAD of the larger of the largest |y| and the largest error.
    Both are divided by that first, so a tiny spread (1e-154) can neither
    underflow nor overflow.
    """
    scale = max(np.max(np.abs(y_true)), np.max(np.abs(residual)))
    spread = _scaled_spread(y_true, scale)
    if spread is None:
        return None
    residual = residual / scale
    return float(1.0 - (residual @ residual) / (spread @ spread))


def is_constant(y: np.ndarray) -> bool:
    """Whether y's spread is rounding: within CONSTANT_SPREAD of its largest |y|."""
    return _scaled_spread(y, np.max(np.abs(y), initial=0.0)) is None


def _scaled_spread(y: np.ndarray, scale: float) -> np.ndarray | None:
    """Return (y - mean) / scale, or None where that spread is within CONSTANT_SPREAD of 0."""
    if scale == 0 or not np.isfinite(scale):
        return None
    spread = (y - y.mean()) / scale
    return None if np.sqrt(np.mean(spread**2)) <= CONSTANT_SPREAD else spread


def _result(doc: str, **kw) -> param.Parameter:
    """Declare a fitted result: read-only to users, hidden from widgets."""
    kind = kw.pop("kind", param.Parameter)
    return kind(default=None, allow_None=True, constant=True, precedence=-1, doc=doc, **kw)


class RegressionModel(param.Parameterized):
    """A polynomial regression of a :class:`DataGenerator`'s sample, refit on change.

    Only inputs of the fit trigger a refit: the degree refits without
    resampling, and ``alpha`` matters only for a manual penalty.  Results end
    in ``_`` as in scikit-learn and are read-only.  Problems (no convergence,
    too few points) become entries of ``messages_``, never exceptions.

    Examples
    --------
    >>> model = RegressionModel(data=DataGenerator(noise_sd=0.0), degree=3)
    >>> model.n_train_, model.n_test_
    (160, 40)
    >>> model.degree = 12
    >>> bool(model.train_score_ > 0.99)
    True
    """

    data = param.ClassSelector(
        class_=DataGenerator, label="Data",
        doc="The generator whose sample is fitted; a default DataGenerator if none is given.")

    degree = Integer(
        default=3, bounds=(0, 50), step=1,
        label="Degree", doc="Highest power of x in the fitted polynomial.")

    penalty = param.Selector(
        default="none", objects=PENALTIES, label="Penalty",
        doc="None: ordinary least squares. L2: Ridge. L1: LASSO, which sets coefficients to 0.")

    loss = param.Selector(
        default="squared_error", objects=LOSSES, label="Loss",
        doc=("Squared error: least squares, with the penalty below. Huber: squared error "
             "for small residuals and absolute error for large ones, so outliers pull "
             "less (scikit-learn's HuberRegressor); the penalty settings do not apply."))

    alpha_mode = param.Selector(
        default="cv", objects=ALPHA_MODES, label="Choose alpha by",
        doc=("cv: the alpha of the lowest k-fold cross-validated error. cv_1se: the largest "
             "alpha whose cross-validated error is within one standard error of that lowest "
             "one, a simpler fit the data cannot tell from the best. manual: alpha below."))

    alpha = Number(
        default=1.0, bounds=(1e-8, 1e8), softbounds=(1e-6, 1e4), step=0.25,
        label="Alpha", doc="Penalty strength used when alpha is chosen manually.")

    cv_folds = Integer(
        default=5, bounds=(2, 20), softbounds=(2, 10), step=1, label="CV folds",
        doc="Number of folds k of the cross-validation that picks alpha.")

    test_size = Number(
        default=0.2, bounds=(0.05, 0.95), step=0.05, label="Test fraction",
        doc="Share of the sample held out to test the fit, rounded up to whole points.")

    excluded = param.List(
        default=[], item_type=int, label="Excluded points", precedence=-1,
        doc=("Index labels of the data's rows left out of training and testing, e.g. "
             "outliers selected in the plot; labels that are not in the data are ignored."))

    random_state = Integer(
        default=55, bounds=(0, MAX_SEED), label="Split seed",
        doc="Seed of the train/test split and of the cross-validation folds.")

    estimator_ = _result("The fitted scikit-learn pipeline.")
    alpha_ = _result("Penalty strength used by the fit; None without a penalty.")
    samples_ = _result(
        "The fitted data: columns x, y and split ('train', 'test' or 'excluded'), with the "
        "data's index. Replaced when the data or the split change, not on a refit.")
    y_pred_ = _result("Predictions of the fit at every row of the data.")
    coef_ = _result(
        "Polynomial coefficients, constant term first, in the variable coef_variable_ names: "
        "x when coefficients in x reproduce the fit to 1e-6, else the scaled t the fit uses "
        "(a high degree on an interval far from 0, such as [100, 110], needs coefficients "
        "in x beyond what floating point can cancel).")
    coef_variable_ = _result(
        "The variable of coef_: 'x', or 't = (x − c) / h', the data's interval mapped "
        "onto [-1, 1].", kind=param.String)
    train_score_ = _result("R² on the training split.")
    test_score_ = _result("R² on the test split; None with fewer than 2 test points.")
    train_rmse_ = _result("Root-mean-square error on the training split.")
    test_rmse_ = _result("Root-mean-square error on the test split.")
    train_mae_ = _result("Mean absolute error on the training split.")
    test_mae_ = _result("Mean absolute error on the test split.")
    true_rmse_ = _result(
        "RMSE of the fitted curve against E[y|x] = ground truth + noise mean, averaged over x "
        "uniform on the data's interval: the error test RMSE estimates, without the noise.")
    edf_ = _result(
        "Effective degrees of freedom: the trace of the hat matrix (degree + 1 without a "
        "penalty, less with Ridge); for LASSO 1 + the number of nonzero coefficients.")
    n_train_ = _result("Number of training points.")
    n_test_ = _result("Number of test points.")
    messages_ = _result("Warnings about the current fit, as sentences.", kind=param.List)
    cv_points_ = _result(
        "Number of training points the cross-validation of alpha used: all of them up to "
        f"{CV_MAX_POINTS:,}, a random subsample of that many above; None without CV.")

    def __init__(self, **params):
        if params.get("data") is None:
            params["data"] = DataGenerator()
        self._split_cache = self._fitted_frame = self._fitted_key = self._valid = None
        super().__init__(**params)

    # ---- public API -------------------------------------------------------

    def make_estimator(self, **overrides) -> Pipeline:
        """Return a fresh, unfitted pipeline for the current settings.

        It can be cloned, or tuned with ``GridSearchCV``; parameter names
        follow ``make_pipeline`` (``polynomialfeatures__degree`` …).  Keyword
        arguments replace settings of :func:`polynomial_regression`, e.g.
        ``make_estimator(degree=5)``.
        """
        return polynomial_regression(**{**self.estimator_settings(), **overrides})

    def estimator_settings(self) -> dict:
        """Return the keyword arguments of :func:`polynomial_regression` for this model."""
        return dict(
            degree=self.degree, x_min=self.data.x_min, x_max=self.data.x_max,
            penalty=self.penalty, alpha_mode=self.alpha_mode, alpha=self.alpha,
            cv_folds=self.cv_folds, random_state=self.random_state, loss=self.loss)

    def predict(self, x) -> np.ndarray:
        """Predict y at the values ``x`` with the fitted pipeline."""
        return self.estimator_.predict(np.asarray(x, dtype=float).reshape(-1, 1))

    def fit_curve(self, n_points: int = 500) -> pd.DataFrame:
        """Return the fitted curve on the data's grid as columns x and y."""
        x = self.data.grid(n_points)
        return pd.DataFrame({"x": x, "y": self.predict(x)})

    @property
    def scores(self) -> dict[str, Scores]:
        """Train and test :class:`Scores` of the current fit."""
        return {"train": Scores(self.train_score_, self.train_rmse_, self.train_mae_),
                "test": Scores(self.test_score_, self.test_rmse_, self.test_mae_)}

    # ---- fitting ------------------------------------------------------------

    def _fit_key(self) -> tuple:
        """Return the settings the fit depends on; equal keys give equal fits."""
        penalized = self.penalty != "none" and self.degree > 0 and self.loss == "squared_error"
        return (
            self.degree, self.test_size, self.random_state, self.loss, tuple(self.excluded),
            self.penalty if penalized else "none",
            self.alpha_mode if penalized else None,
            self.alpha if penalized and self.alpha_mode == "manual" else None,
            self.cv_folds if penalized and self.alpha_mode in CV_RULES else None,
        )

    @param.depends("data.data", *SETTINGS, "excluded", watch=True, on_init=True)
    def _fit(self):
        frame, key = self.data.data, self._fit_key()
        if self._fitted_frame is frame and self._fitted_key == key:
            return
        previous_split = self._split_cache
        try:
            role = self._split(frame)
            x, y = _finite(frame["x"].to_numpy(), "x"), _finite(frame["y"].to_numpy(), "y")
            # Finiteness is checked once here, not by each of the pipeline's steps.
            # The estimators' parameters are still validated: a subclass's
            # make_estimator may build any estimator.
            with sklearn.config_context(assume_finite=True):
                updates = self._fit_split(x, y, role)
        except Exception as error:
            self._split_cache = previous_split
            failure = self._roll_back(error)
            raise failure from failure.__cause__
        if frame is not self._fitted_frame or self._split_cache is not previous_split:
            updates["samples_"] = frame.assign(
                split=pd.Categorical.from_codes(role, ROLES))
        self._fitted_frame, self._fitted_key = frame, key
        with param.edit_constant(self):
            self.param.update(updates)
        self._valid = self._settings()

    def _settings(self) -> dict:
        """Return the settings, a subclass's own included: everything but data and results."""
        return {name: getattr(self, name) for name in self.param
                if name not in ("name", "data") and not name.endswith("_")}

    def _roll_back(self, error: Exception) -> Exception:
        """Restore the last settings that fitted; return the error to raise.

        The results were not touched yet, so they stay those of those settings.
        While the model is being created there is nothing to restore.
        """
        if self._valid is None:
            return error
        changed = {name: value for name, value in self._settings().items()
                   if value != self._valid[name]}
        with param.parameterized.discard_events(self):
            self.param.update({name: self._valid[name] for name in changed})
        return rolled_back(changed, {name: self._valid[name] for name in changed}, error)

    def _split(self, frame: pd.DataFrame) -> np.ndarray:
        """Return each row's role code (0 train, 1 test, 2 excluded), cached.

        A row's split follows its index label, not its position: each label
        gets a uniform draw from ``random_state`` and the test rows are those
        with the smallest draws.  So adding, moving or deleting a point, or
        excluding one, leaves the other points where they were.
        """
        labels = frame.index
        key = (self.test_size, self.random_state, tuple(self.excluded))
        cached = self._split_cache
        if cached is not None and cached[0] == key and cached[1].equals(labels):
            return cached[2]
        role = np.where(labels.isin(self.excluded), 2, 0).astype(np.int8)
        kept = np.flatnonzero(role == 0)
        if len(kept) == 0:
            raise InvalidValue(f"excluded (Excluded points) must leave at least 1 of the "
                               f"{len(labels)} points to fit; it excludes them all.")
        if len(kept) >= 2:
            # Round the test share up, but leave at least one point on each side.
            n_test = min(max(math.ceil(self.test_size * len(kept)), 1), len(kept) - 1)
            draws = _label_draws(labels, self.random_state)[kept]
            role[kept[np.argsort(draws, kind="stable")[:n_test]]] = 1
        self._split_cache = (key, labels, role)
        return role

    def _fit_split(self, x: np.ndarray, y: np.ndarray, role: np.ndarray) -> dict:
        is_train, is_test = role == 0, role == 1
        estimator = self.make_estimator()
        n_train, n_test = int(is_train.sum()), int(is_test.sum())
        messages = self._configure_cv(estimator, n_train)
        search = estimator[-1] if hasattr(estimator[-1], "cv") else None
        cv_points = None if search is None else min(n_train, CV_MAX_POINTS)
        with WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if search is not None and n_train > CV_MAX_POINTS:
                estimator, search = self._fit_subsampled_cv(estimator, x[is_train], y[is_train])
                messages.append(
                    f"Alpha was cross-validated on a random {CV_MAX_POINTS:,} of the "
                    f"{n_train:,} training points; the fit uses all of them.")
            estimator.fit(x[is_train, None], y[is_train])
            y_pred = estimator.predict(x[:, None])
        messages += _warning_messages(caught, self.loss)
        train = Scores.of(y[is_train], y_pred[is_train])
        test = Scores.of(y[is_test], y_pred[is_test])
        messages += self._size_messages(n_train, n_test)
        messages += self._constant_messages({"train": train, "test": test},
                                            {"train": n_train, "test": n_test})
        if (n_excluded := int((role == 2).sum())):
            messages.append(f"{n_excluded} excluded point{'s' * (n_excluded > 1)} "
                            "left out of training and testing.")
        alpha = (None if self.loss == "huber" else
                 getattr(estimator[-1], "alpha_", getattr(estimator[-1], "alpha", None)))
        messages += self._grid_messages(search)
        coef, variable, coef_messages = self._coefficients(estimator)
        return dict(
            true_rmse_=self._true_rmse(estimator),
            edf_=effective_dof(estimator, x[is_train, None]),
            estimator_=estimator, alpha_=alpha, y_pred_=y_pred, coef_=coef,
            coef_variable_=variable,
            train_score_=train.r2, test_score_=test.r2, train_rmse_=train.rmse,
            test_rmse_=test.rmse, train_mae_=train.mae, test_mae_=test.mae,
            n_train_=n_train, n_test_=n_test, messages_=messages + coef_messages,
            cv_points_=cv_points,
        )

    def _coefficients(self, estimator) -> tuple[np.ndarray, str, list[str]]:
        """Return the coefficients, their variable ('x' or the scaled t) and a message.

        The fit works on x mapped onto [-1, 1].  Its coefficients in x are
        kept when they reproduce its predictions on the interval to 1e-6;
        otherwise (at degree 20 on [100, 110] they reached 1e26 and missed the
        fit by a factor 4e8) the coefficients in t are reported, and said so.
        """
        in_t, (center, half_width) = scaled_coefficients(estimator)
        t = self.data.average().x
        fit = NumpyPolynomial(in_t)((t - center) / half_width)
        with np.errstate(over="ignore", invalid="ignore"):
            in_x = _in_x(in_t, center, half_width)
            miss = np.max(np.abs(NumpyPolynomial(in_x)(t) - fit), initial=0.0)
        if np.isfinite(in_x).all() and miss <= RAW_TOLERANCE * np.max(np.abs(fit), initial=0):
            return in_x, "x", []
        variable = f"t = (x − {center:.10g}) / {half_width:.10g}"
        return in_t, variable, [
            f"At degree {self.degree} on [{self.data.x_min:g}, {self.data.x_max:g}] the "
            "coefficients in x cannot reproduce the fit in floating point: the "
            f"coefficients shown are in {variable}, the variable the fit uses. The fit "
            "and its scores are unaffected."]

    def _true_rmse(self, estimator) -> float | None:
        """RMSE against E[y|x] averaged over x; None when the truth is unknown (your own data)."""
        average = self.data.average()
        target = self.data.expected_y(average.x)
        if not np.isfinite(target).all():
            return None
        return math.sqrt(average((target - estimator.predict(average.x[:, None])) ** 2))

    def _configure_cv(self, estimator: Pipeline, n_train: int) -> list[str]:
        """Use fewer folds when the training set cannot fill ``cv_folds``."""
        regressor = estimator[-1]
        folds = min(self.cv_folds, n_train)
        if not hasattr(regressor, "cv") or folds == self.cv_folds:
            return []
        if folds < 2:
            manual = Ridge if self.penalty == "l2" else Lasso
            estimator.steps[-1] = ("manual", manual(alpha=self.alpha))
            return [f"One training point cannot be cross-validated: alpha = {self.alpha:g} "
                    "(the manual value) is used."]
        regressor.cv = KFold(folds, shuffle=True, random_state=self.random_state)
        return [f"Only {n_train} training points: alpha is cross-validated "
                f"with {folds} folds instead of {self.cv_folds}."]

    def _fit_subsampled_cv(self, estimator: Pipeline, x: np.ndarray, y: np.ndarray):
        """Choose alpha by CV on CV_MAX_POINTS random rows of x, y.

        Return an unfitted pipeline with a plain Ridge or Lasso at that alpha,
        and the fitted search.
        """
        rows = np.random.default_rng(self.random_state).choice(
            len(x), CV_MAX_POINTS, replace=False)
        search = estimator.fit(x[rows, None], y[rows])[-1]
        manual = self.make_estimator(alpha_mode="manual", alpha=float(search.alpha_))
        return manual, search

    def _size_messages(self, n_train: int, n_test: int) -> list[str]:
        messages = []
        if self.loss == "huber" and self.penalty != "none" and self.degree > 0:
            messages.append("The Huber loss fits without the penalty: L1 and L2 apply to "
                            "squared error only.")
        if self.degree == 0 and self.penalty != "none":
            messages.append("Degree 0 fits the mean: there is no coefficient to penalize.")
        if self.degree + 1 >= n_train:
            messages.append(
                f"Degree {self.degree} has {self.degree + 1} coefficients and there are only "
                f"{n_train} training points: the fit interpolates them.")
        if n_test < 2:
            messages.append("Fewer than 2 test points: test R² is undefined.")
        if n_train < 2:
            messages.append("Fewer than 2 training points: train R² is undefined.")
        return messages

    @staticmethod
    def _constant_messages(scores: dict[str, Scores], sizes: dict[str, int]) -> list[str]:
        """Say where R² is undefined because y does not vary (0/0), not for lack of points."""
        constant = [split for split in SPLITS if scores[split].r2 is None and sizes[split] >= 2]
        if not constant:
            return []
        names = {"train": "training", "test": "test"}
        where = " and ".join(names[split] for split in constant)
        splits = "splits" if len(constant) > 1 else "split"
        return [f"y is constant on the {where} {splits}: R², the share of y's variance "
                "explained, is undefined (0/0); RMSE and MAE still apply."]

    def _grid_messages(self, regressor) -> list[str]:
        """Warn when cross-validation (``regressor``, None without) chose an end of its grid."""
        grid = getattr(regressor, "alphas_", None)
        if grid is None or not hasattr(regressor, "alpha_"):
            return []
        grid, chosen = np.asarray(grid), regressor.alpha_
        if chosen > grid.min() and chosen < grid.max():
            return []
        end = "smallest" if chosen <= grid.min() else "largest"
        said = f"Cross-validation chose the {end} alpha it tried ({chosen:.3g})"
        if end == "largest" and isinstance(regressor, LassoCV):
            # LassoCV's grid starts at the smallest alpha that zeroes every coefficient.
            return [f"{said}: at it LASSO sets every coefficient to 0 and fits the mean of y, "
                    "as any larger alpha would. Cross-validation found no power of x worth "
                    "keeping."]
        return [f"{said}; the best alpha may lie beyond the grid."]


def polynomial_regression(degree: int, x_min: float, x_max: float, penalty: str = "none",
                          alpha_mode: str = "cv", alpha: float = 1.0, cv_folds: int = 5,
                          random_state: int | None = None,
                          loss: str = "squared_error") -> Pipeline:
    """Return the unfitted pipeline a :class:`RegressionModel` with these settings fits.

    ``IntervalScaler(x_min, x_max) → PolynomialFeatures(degree) → StandardScaler →``
    ``LinearRegression`` for ``penalty="none"`` (or degree 0), else Ridge (``"l2"``)
    or LASSO (``"l1"``), with alpha fixed (``alpha_mode="manual"``) or chosen by
    ``cv_folds``-fold cross-validation shuffled with ``random_state``: the
    lowest error (``"cv"``) or the one-standard-error rule (``"cv_1se"``).
    ``loss="huber"`` fits ``HuberRegressor`` instead, with no penalty.
    """
    return make_pipeline(
        IntervalScaler(x_min, x_max),
        # Degree 0 keeps the bias column: PolynomialFeatures refuses zero columns.
        PolynomialFeatures(degree, include_bias=degree == 0),
        StandardScaler(),
        _regressor(degree, penalty, alpha_mode, alpha, cv_folds, random_state, loss),
    )


def _regressor(degree, penalty, alpha_mode, alpha, cv_folds, random_state, loss):
    if loss == "huber":
        # alpha=0: no penalty, as for least squares without one.
        return ScaledHuberRegressor(epsilon=HUBER_EPSILON, alpha=0.0, max_iter=HUBER_MAX_ITER)
    if penalty == "none" or degree == 0:
        return LinearRegression(tol=LEAST_SQUARES_RCOND)
    manual = alpha_mode == "manual"
    folds = KFold(cv_folds, shuffle=True, random_state=random_state)
    if penalty == "l2":
        return Ridge(alpha=alpha) if manual else KFoldRidgeCV(
            RIDGE_ALPHAS, cv=folds, rule=CV_RULES[alpha_mode])
    # Coordinate descent over the p×p Gram matrix: a pass costs p², not n·p.  At
    # 20,000 points and degree 5, LassoCV took 7.0 s with "auto" and 0.47 s with
    # True; a Lasso on 800,000 points took 69 s without it.
    if manual:
        return Lasso(alpha=alpha, max_iter=LASSO_MAX_ITER, precompute=True)
    search = OneSELassoCV if alpha_mode == "cv_1se" else LassoCV
    return search(alphas=LASSO_N_ALPHAS, eps=LASSO_EPS, max_iter=LASSO_MAX_ITER, cv=folds,
                  precompute=True)


def scaled_coefficients(estimator: Pipeline) -> tuple[np.ndarray, tuple[float, float]]:
    """Return the fitted pipeline's polynomial in t = (x - c) / h, and (c, h).

    Undoes the standardization of the powers of t: what the regressor's
    weights mean in the variable the pipeline maps x to.
    """
    to_unit, features, scaler, regressor = (step for _, step in estimator.steps)
    weights = np.ravel(regressor.coef_) / scaler.scale_
    in_t = np.zeros(features.degree + 1)
    in_t[features.powers_[:, 0]] = weights
    in_t[0] += regressor.intercept_ - weights @ scaler.mean_
    return in_t, (to_unit.center_, to_unit.half_width_)


def raw_coefficients(estimator: Pipeline) -> np.ndarray:
    """Return the fitted pipeline's polynomial in x, constant term first.

    Composes :func:`scaled_coefficients` with t = (x - c) / h.  Far from 0
    at a high degree these need not reproduce the fit (see
    ``RegressionModel.coef_``).
    """
    in_t, (center, half_width) = scaled_coefficients(estimator)
    return _in_x(in_t, center, half_width)


def _in_x(in_t: np.ndarray, center: float, half_width: float) -> np.ndarray:
    unit = NumpyPolynomial([-center, 1.0]) / half_width
    coef = NumpyPolynomial(in_t)(unit).coef
    return np.pad(coef, (0, len(in_t) - len(coef)))


def _finite(values: np.ndarray, name: str) -> np.ndarray:
    """Return ``values``, or raise as scikit-learn would if one is NaN or infinite.

    A subclass's ground truth may return NaN; the change is then refused.
    """
    if not np.isfinite(values).all():
        raise ValueError(f"Input {name} contains NaN or infinity.")
    return values


def _label_draws(labels: pd.Index, seed: int) -> np.ndarray:
    """One uniform draw per row, fixed by its index label when labels are small integers."""
    values = labels.to_numpy()
    positional = not np.issubdtype(values.dtype, np.integer) or len(values) == 0 or (
        values.min() < 0 or values.max() > 10 * len(values) + 1000)
    if positional:
        values = np.arange(len(labels))
    return np.random.default_rng(seed).random(int(values.max(initial=-1)) + 1)[values]


def _warning_messages(caught: list[warnings.WarningMessage], loss: str) -> list[str]:
    """Turn warnings raised during a fit into sentences, one per kind."""
    messages = []
    for kind in dict.fromkeys(w.category for w in caught):
        if issubclass(kind, ConvergenceWarning) and loss == "huber":
            messages.append(
                f"The Huber fit did not converge within {HUBER_MAX_ITER:,} iterations: it "
                "may be inexact. Lower the degree.")
        elif issubclass(kind, ConvergenceWarning):
            messages.append(
                f"LASSO did not converge within {LASSO_MAX_ITER:,} iterations: the fit "
                "may be inexact. Lower the degree or raise alpha.")
        else:
            first = next(w for w in caught if w.category is kind)
            messages.append(f"{kind.__name__}: {first.message}")
    return messages
