"""Diagnostics: why a fit over- or under-fits, computed for a model's current settings.

Every function takes a :class:`Snapshot`, a frozen copy of a
:class:`RegressionModel`'s data and settings, so it can run in a worker
thread while the model moves on.  :class:`Diagnostics` wraps them for scripts.

Ordinary least squares and Ridge are linear in y, so most of the work here
is linear algebra instead of refitting scikit-learn estimators: one SVD per
design matrix gives the fit for every alpha and for every replicate of y at
once (:class:`LinearDesign`).  LASSO has no closed form and is refitted with
scikit-learn.  The tests check both against scikit-learn's own fits.

Bias and variance use a **fixed design**: each of the R replicates keeps the
current training x and draws fresh noise, ``y_r = E[y|x] + σ·ε_r``.  Then the
decomposition is exact in expectation, the closed forms of a linear smoother
apply, and all replicates share one factorization.  Bias², variance and the
expected test error are averaged over x uniform on ``[x_min, x_max]``, which
is where x is drawn from (:class:`~.average.Average`, the same average as the
model's true error).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import param
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso, LassoCV, lasso_path
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline

from .average import NODES, Average
from .data import Noise
from .estimators import KFoldRidgeCV, chosen_alpha
from .model import (
    CV_RULES,
    LASSO_EPS,
    LASSO_MAX_ITER,
    LASSO_N_ALPHAS,
    LEAST_SQUARES_RCOND,
    RIDGE_ALPHAS,
    WARNINGS_LOCK,
    RegressionModel,
    is_constant,
    polynomial_regression,
)
from .parameters import Integer
from .verdict import Verdict, judge

__all__ = [
    "AlphaPath",
    "BiasVariance",
    "Diagnostics",
    "LinearDesign",
    "Snapshot",
    "alpha_path",
    "bias_variance",
    "bias_variance_by_alpha",
    "bias_variance_by_degree",
    "coefficients",
    "cv_rmse",
    "learning_curve",
    "residuals",
    "validation_curve",
    "verdict",
]

#: Bias², variance and the true error are averaged over x with this many quadrature nodes.
GRID_POINTS = NODES

#: Alphas of the bias-variance curve against alpha: every other Ridge alpha.
BIAS_VARIANCE_ALPHAS = RIDGE_ALPHAS[::2]

#: Above this many noise draws (training points × replicates) a linear fit's
#: replicates draw their noise already projected onto the design (see
#: :meth:`LinearDesign.replicate_noise`) instead of holding it all in memory.
MAX_NOISE_DRAWS = 4_000_000


def sample_sizes(n_train: int, n_test: int, max_points: int) -> tuple[int, int]:
    """Return the training and test sizes :meth:`Snapshot.of` keeps with ``max_points``."""
    if n_train <= max_points:
        return n_train, n_test
    return max_points, min(n_test, math.ceil(n_test * max_points / n_train))


def _subsample(is_train: np.ndarray, is_test: np.ndarray, max_points: int, seed: int):
    rng = np.random.default_rng(seed)
    n_train, n_test = sample_sizes(int(is_train.sum()), int(is_test.sum()), max_points)
    keep = np.zeros_like(is_train), np.zeros_like(is_test)
    for kept, rows, size in zip(keep, (is_train, is_test), (n_train, n_test), strict=True):
        kept[rng.choice(np.flatnonzero(rows), size, replace=False)] = True
    return keep


@dataclass(frozen=True, eq=False)
class Snapshot:
    """A frozen copy of what the diagnostics need from a :class:`RegressionModel`.

    ``target_*`` are E[y|x] = ground truth + noise mean: what a regression
    estimates.  ``grid`` holds the nodes of ``average``, the average over x
    uniform on the interval.  ``estimator`` is the model's fitted pipeline,
    shared read-only (the model replaces it on a refit, never mutates it).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    settings: dict
    noise: Noise
    average: Average
    target_grid: np.ndarray
    target_train: np.ndarray
    alpha_: float | None = None
    coef_: np.ndarray | None = None
    coef_variable: str = "x"
    true_coef: np.ndarray | None = field(default=None)
    estimator: Pipeline | None = field(default=None, compare=False)
    has_truth: bool = True
    #: The model's ``true_rmse_``: its fit's error against E[y|x]; None without a truth.
    true_rmse: float | None = None

    @classmethod
    def of(cls, model: RegressionModel, grid_points: int = GRID_POINTS,
           max_points: int | None = None) -> Snapshot:
        """Copy ``model``'s current sample, split, settings and ground truth.

        With ``max_points``, a larger training split is replaced by a random
        ``max_points`` of its rows and the test split is cut by the same
        share, drawn with the model's split seed: see :func:`sample_sizes`.
        """
        data, frame = model.data, model.samples_
        is_test = (frame["split"] == "test").to_numpy()
        is_train = (frame["split"] == "train").to_numpy()
        if max_points is not None and is_train.sum() > max_points:
            is_train, is_test = _subsample(is_train, is_test, max_points, model.random_state)
        x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
        average = data.average(grid_points)
        true_coef = getattr(data, "coefficients", None)
        if true_coef is not None:
            true_coef = np.asarray(true_coef, dtype=float).copy()
            true_coef[0] += data.noise_mean  # the intercept absorbs the noise's mean
        return cls(
            x_train=x[is_train], y_train=y[is_train], x_test=x[is_test], y_test=y[is_test],
            settings=model.estimator_settings(), noise=data.noise(), average=average,
            target_grid=data.expected_y(average.x),
            target_train=data.expected_y(x[is_train]),
            alpha_=model.alpha_, coef_=model.coef_, coef_variable=model.coef_variable_,
            true_coef=true_coef,
            estimator=model.estimator_, has_truth=getattr(type(data), "has_truth", True),
            true_rmse=model.true_rmse_)

    @property
    def grid(self) -> np.ndarray:
        """The x at which fits are compared with E[y|x]: the nodes of :attr:`average`."""
        return self.average.x

    @property
    def noise_variance(self) -> float:
        """The noise's variance averaged over the interval: the error no fit removes."""
        return self.average(self.noise.variance(self.grid))

    @property
    def noise_floor(self) -> float:
        """The RMSE a perfect fit would have: the square root of :attr:`noise_variance`."""
        return math.sqrt(self.noise_variance)

    @property
    def degree(self) -> int:
        """The model's degree."""
        return self.settings["degree"]

    def method_at(self, degree: int) -> str:
        """Return how the pipeline fits at ``degree``: 'none', 'l2', 'l1' or 'huber'.

        'none' and 'l2' are linear in y (closed forms apply); the others are refitted.
        """
        return "huber" if self.settings.get("loss") == "huber" else self.penalty_at(degree)

    def penalty_at(self, degree: int) -> str:
        """Return the penalty the pipeline applies at ``degree``: degree 0 has none."""
        return self.settings["penalty"] if degree > 0 else "none"

    def make_estimator(self, **overrides) -> Pipeline:
        """Return a fresh pipeline with these settings, as ``RegressionModel.make_estimator``."""
        return polynomial_regression(**{**self.settings, **overrides})

    def cross_validates(self, n: int) -> bool:
        """Whether alpha is cross-validated on ``n`` points; with 1 the manual alpha is used."""
        return self.settings["alpha_mode"] in CV_RULES and n >= 2

    def preset_alpha(self, degree: int, n: int) -> float | None:
        """Return the alpha the pipeline fixes at ``degree`` on ``n`` points, None if it is chosen.

        0 without a penalty (least squares, whatever ``alpha_mode`` says: a
        manual alpha left over from Ridge does not apply), None when it is
        cross-validated, else the manual alpha.  Every alpha read goes
        through here.
        """
        if self.penalty_at(degree) == "none":
            return 0.0
        return None if self.cross_validates(n) else self.settings["alpha"]

    def folds(self, n: int) -> KFold:
        """Return the k-fold split the model's cross-validation uses, for ``n`` points."""
        return KFold(min(self.settings["cv_folds"], n), shuffle=True,
                     random_state=self.settings["random_state"])



class LinearDesign:
    """One polynomial design matrix, factorized once, solved for many y and alphas.

    Builds the features the pipeline builds (x mapped onto [-1, 1], powers
    1 … degree, standardized on this x), centres them and takes one SVD
    ``Z = U S Vᵀ``.  The Ridge fit with intercept is then, for any alpha,
    ``ȳ + Z V diag(s / (s² + α)) Uᵀ y``; alpha 0 is least squares (the
    minimum-norm solution, as ``LinearRegression``'s).

    Parameters
    ----------
    x : ndarray of shape (n,)
        Training x.
    degree : int
    x_min, x_max : float
        The interval mapped onto [-1, 1], as ``IntervalScaler``.
    """

    def __init__(self, x: np.ndarray, degree: int, x_min: float, x_max: float):
        self.degree, self.n = degree, len(x)
        self._center, self._half_width = (x_min + x_max) / 2, (x_max - x_min) / 2
        powers = self._powers(x)
        self._mean = powers.mean(axis=0)
        scale = powers.std(axis=0)
        scale[scale < 10 * np.finfo(float).eps] = 1.0  # as StandardScaler: constants stay 0
        self._scale = scale
        z = (powers - self._mean) / scale
        self.features_train = z
        self._z_mean = z.mean(axis=0)
        u, s, vt = np.linalg.svd(z - self._z_mean, full_matrices=False)
        keep = s > s.max(initial=0) * LEAST_SQUARES_RCOND  # as the pipeline's lstsq
        self.u, self.s, self._vt = u[:, keep], s[keep], vt[keep]

    def _powers(self, x: np.ndarray) -> np.ndarray:
        t = (np.asarray(x, dtype=float) - self._center) / self._half_width
        return t[:, None] ** np.arange(1, self.degree + 1)

    def features(self, x: np.ndarray) -> np.ndarray:
        """Return the standardized features at ``x``: what the pipeline's regressor sees."""
        return (self._powers(x) - self._mean) / self._scale

    def gains(self, alphas) -> np.ndarray:
        """Return ``s / (s² + α)`` for each alpha: shape (n_alphas, rank)."""
        alphas = np.asarray(alphas, dtype=float)[:, None]
        return self.s / (self.s**2 + alphas)

    def predict(self, x_new: np.ndarray, y: np.ndarray, alphas) -> np.ndarray:
        """Fit every column of ``y`` (n, R) at every alpha; predict at ``x_new``.

        Returns an array of shape (n_alphas, len(x_new), R).
        """
        y_mean = y.mean(axis=0)
        return self.predict_projected(x_new, self.u.T @ (y - y_mean), y_mean, alphas)

    def predict_projected(self, x_new, projected, y_mean, alphas) -> np.ndarray:
        """As :meth:`predict`, from ``Uᵀ(y - ȳ)`` (rank, R) and ȳ (R,)."""
        return self.basis(x_new) @ (self.gains(alphas)[:, :, None] * projected) + y_mean

    def coef(self, y: np.ndarray, alphas) -> np.ndarray:
        """Return standardized coefficients for ``y`` (n,) at each alpha: (n_alphas, degree)."""
        return (self.gains(alphas) * (self.u.T @ (y - y.mean()))) @ self._vt

    def basis(self, x_new: np.ndarray) -> np.ndarray:
        """Return the centered features at ``x_new`` in the SVD's basis: (len(x_new), rank)."""
        return (self.features(x_new) - self._z_mean) @ self._vt.T

    def effective_dof(self, alphas) -> np.ndarray:
        """Return the hat matrix's trace, ``1 + Σ s²/(s² + α)``, for each alpha."""
        return 1.0 + (self.s * self.gains(alphas)).sum(axis=1)

    def cv_alpha(self, y: np.ndarray, cv: KFold, rule: str = "min") -> float:
        """Return the alpha ``KFoldRidgeCV`` chooses for ``y`` on these features by ``rule``."""
        return KFoldRidgeCV(RIDGE_ALPHAS, cv=cv, rule=rule).fit(self.features_train, y).alpha_

    def replicate_noise(self, rng: np.random.Generator, replicates: int):
        """Draw standard-normal noise of ``replicates`` fresh samples, as the fit sees it.

        A fit depends on the noise ε only through Uᵀε and its mean; for
        Gaussian ε these are independent Gaussians of known variance (U is
        orthonormal and orthogonal to the constant), so drawing them directly
        costs rank × R numbers instead of n × R.
        """
        return (rng.standard_normal((len(self.s), replicates)),
                rng.standard_normal(replicates) / math.sqrt(self.n))


# ---- fitting one setting ----------------------------------------------------


def _alpha(snap: Snapshot, degree: int, design: LinearDesign, y: np.ndarray) -> float:
    """Return the alpha the pipeline uses at ``degree`` when fitted to ``y``."""
    alpha = snap.preset_alpha(degree, len(y))
    if alpha is not None:
        return alpha
    return design.cv_alpha(y, snap.folds(len(y)), CV_RULES[snap.settings["alpha_mode"]])


def fit_predict(snap: Snapshot, degree: int, x, y, *x_new, alpha: float | None = None,
                ) -> list[np.ndarray]:
    """Fit the snapshot's pipeline at ``degree`` to (x, y); predict at each ``x_new``.

    Equal to ``snap.make_estimator(degree=degree).fit(x, y).predict(x_new)``:
    linear algebra for least squares and Ridge, scikit-learn for LASSO.  A
    given ``alpha`` replaces a cross-validated one.
    """
    if alpha is None:
        alpha = snap.preset_alpha(degree, len(y))
    if snap.method_at(degree) in ("l1", "huber"):
        alpha_setting = ({"cv_folds": snap.folds(len(y)).n_splits} if alpha is None
                         else {"alpha": alpha, "alpha_mode": "manual"})
        estimator = snap.make_estimator(degree=degree, **alpha_setting)
        _fit_quietly(estimator, x[:, None], y)
        return [estimator.predict(xn[:, None]) for xn in x_new]
    design = LinearDesign(x, degree, snap.settings["x_min"], snap.settings["x_max"])
    if alpha is None:
        alpha = _alpha(snap, degree, design, y)
    return [design.predict(xn, y[:, None], [alpha])[0, :, 0] for xn in x_new]


def _fit_quietly(estimator, X, y):
    """Fit; LASSO's convergence warnings are the model's to report, not each refit's."""
    with WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def _rmse(y_true, y_pred) -> float:
    # sklearn.metrics' checks cost more than the fits here; the tests compare with it.
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2))) if len(y_true) else np.nan


# ---- validation curve -------------------------------------------------------


def validation_curve(snap: Snapshot, max_degree: int = 15) -> pd.DataFrame:
    """Train, test and k-fold cross-validated RMSE for degrees 0 … ``max_degree``.

    ``train_rmse`` and ``test_rmse`` are the current split's, as the model's
    scores at that degree.  ``cv_rmse`` is the square root of the mean over
    the model's folds of the training split of each fold's mean squared
    error (:func:`cv_rmse`), the quantity ``RidgeCV`` and ``LassoCV`` minimize
    and the alpha tab shows, and ``cv_se`` its standard error.  A
    cross-validated alpha is chosen once per degree, on the whole training
    split, and held in the folds: nesting the search in every fold would cost
    6× as much (minutes for LASSO) and make the curve only slightly less
    optimistic.

    Returns
    -------
    DataFrame with columns degree, alpha, train_rmse, test_rmse, cv_rmse, cv_se.
    """
    x, y = snap.x_train, snap.y_train
    folds = list(snap.folds(len(y)).split(x)) if len(y) >= 2 else []
    rows = []
    for degree in range(max_degree + 1):
        alpha = _fixed_alpha(snap, degree)
        train, test = fit_predict(snap, degree, x, y, x, snap.x_test, alpha=alpha)
        fold_mse = np.array([_rmse(y[val], fit_predict(snap, degree, x[fit], y[fit], x[val],
                                                       alpha=alpha)[0]) ** 2
                             for fit, val in folds])
        rows.append((degree, alpha, _rmse(y, train), _rmse(snap.y_test, test),
                     *(float(v[0]) for v in cv_rmse(fold_mse[:, None]))))
    return pd.DataFrame(
        rows, columns=["degree", "alpha", "train_rmse", "test_rmse", "cv_rmse", "cv_se"])


def cv_rmse(fold_mse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the CV RMSE and its standard error from each fold's MSE, shape (folds, k).

    The CV RMSE is √(mean fold MSE), what scikit-learn's ``RidgeCV`` and
    ``LassoCV`` choose alpha by; its standard error follows from the MSE's
    (the delta method: se(√m) = se(m) / 2√m).  One result per column; NaN
    without folds, and no standard error from one fold.
    """
    folds = len(fold_mse)
    if folds == 0:
        return np.full(fold_mse.shape[1], np.nan), np.full(fold_mse.shape[1], np.nan)
    mean = fold_mse.mean(axis=0)
    se = (fold_mse.std(axis=0, ddof=1) / math.sqrt(folds) if folds > 1
          else np.full_like(mean, np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(mean), np.where(mean > 0, se / (2 * np.sqrt(mean)), 0.0)


# ---- error and coefficients against alpha -----------------------------------


@dataclass(frozen=True)
class AlphaPath:
    """Errors and standardized coefficients along the alpha grid at one degree.

    ``cv_rmse`` is the square root of the mean over folds of each fold's
    mean squared error: the quantity the cross-validation minimizes, so its
    minimum is at ``best_alpha``.  ``one_se_alpha`` is the largest alpha
    whose mean CV error is within one standard error of that minimum: the
    simplest model the data cannot tell from the best.
    """

    alphas: np.ndarray
    train_rmse: np.ndarray
    test_rmse: np.ndarray
    cv_rmse: np.ndarray
    cv_se: np.ndarray
    coef: np.ndarray
    best_alpha: float
    one_se_alpha: float
    alpha: float | None

    def frame(self) -> pd.DataFrame:
        """Return the errors as a DataFrame: alpha, train_rmse, test_rmse, cv_rmse, cv_se."""
        return pd.DataFrame({"alpha": self.alphas, "train_rmse": self.train_rmse,
                             "test_rmse": self.test_rmse, "cv_rmse": self.cv_rmse,
                             "cv_se": self.cv_se})


def alpha_path(snap: Snapshot) -> AlphaPath | None:
    """Errors and coefficients against alpha at the current degree; None without a penalty.

    Ridge searches ``RIDGE_ALPHAS``; LASSO the grid ``LassoCV`` builds.  The
    coefficients are those of the standardized powers, which the penalty
    shrinks; LASSO's leave the path at exactly 0.
    """
    penalty, degree = snap.method_at(snap.degree), snap.degree
    if penalty in ("none", "huber") or len(snap.y_train) < 2:
        return None
    design = LinearDesign(snap.x_train, degree, snap.settings["x_min"], snap.settings["x_max"])
    z, y, folds = design.features_train, snap.y_train, snap.folds(len(snap.y_train))
    z_test = design.features(snap.x_test)
    if penalty == "l2":
        search = KFoldRidgeCV(RIDGE_ALPHAS, cv=folds).fit(z, y)
        coef = design.coef(y, search.alphas_)
        intercept = y.mean() - coef @ z.mean(axis=0)
    else:
        search = _fit_quietly(LassoCV(alphas=LASSO_N_ALPHAS, eps=LASSO_EPS, precompute=True,
                                      max_iter=LASSO_MAX_ITER, cv=folds), z, y)
        coef, intercept = _lasso_path(z, y, search.alphas_)
    order = np.argsort(search.alphas_)
    alphas, coef, intercept = search.alphas_[order], coef[order], intercept[order]
    mse = search.mse_path_[order]
    rmse, rmse_se = cv_rmse(mse.T)
    return AlphaPath(
        alphas=alphas,
        train_rmse=_rmse_columns(y, z @ coef.T + intercept),
        test_rmse=_rmse_columns(snap.y_test, z_test @ coef.T + intercept),
        cv_rmse=rmse, cv_se=rmse_se,
        coef=coef, best_alpha=chosen_alpha(alphas, mse, "min"),
        # The rule the model's "cv_1se" fits by, so the marker is the alpha it chooses.
        one_se_alpha=chosen_alpha(alphas, mse, "one_se"),
        alpha=snap.alpha_)


def _lasso_path(z, y, alphas) -> tuple[np.ndarray, np.ndarray]:
    """LASSO coefficients (n_alphas, n_features) and intercepts along ``alphas``."""
    z_mean, y_mean = z.mean(axis=0), y.mean()
    with WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, coef, _ = lasso_path(z - z_mean, y - y_mean, alphas=alphas, max_iter=LASSO_MAX_ITER)
    coef = coef.T
    return coef, y_mean - coef @ z_mean


def _rmse_columns(y, predictions) -> np.ndarray:
    """RMSE of each column of ``predictions`` (n, k) against ``y``; NaN without rows."""
    if len(y) == 0:
        return np.full(predictions.shape[1], np.nan)
    return np.sqrt(((predictions - y[:, None]) ** 2).mean(axis=0))


# ---- bias and variance ------------------------------------------------------


@dataclass(frozen=True)
class BiasVariance:
    """The bias-variance decomposition of the expected error on new data at one setting.

    ``fits`` holds the R refits at the quadrature nodes ``x``.  From them,
    averaged over x: ``mean_fit_bias2``, the squared distance of their mean
    fit from E[y|x], which overstates bias² by variance / R (the mean of R
    fits still scatters); ``refit_variance`` (unbiased, ddof 1); and
    ``expected_mse``, the mean squared error of the refits on fresh noisy y:
    the error expected on new data, not the score table's test MSE, which
    is that of one test split.  For least squares and Ridge,
    ``exact_bias2`` and ``exact_variance`` are the closed forms from the hat
    matrix H: the average of (H·E[y|x] - E[y|x])² and of Var(noise)·‖Hᵢ‖².

    ``bias2`` and ``variance`` are the values to show: the closed forms
    where they exist, else the refits' (bias² corrected, see
    :attr:`refit_bias2`); ``method`` says which.
    """

    x: np.ndarray
    target: np.ndarray
    fits: np.ndarray
    mean_fit_bias2: float
    refit_variance: float
    noise: float
    expected_mse: float
    alpha: float | None
    exact_bias2: float | None = None
    exact_variance: float | None = None

    @property
    def mean_fit(self) -> np.ndarray:
        """The replicates' mean fit on the grid."""
        return self.fits.mean(axis=0)

    @property
    def refit_bias2(self) -> float:
        """Bias² from the refits, unbiased: mean-fit bias² - variance / R, floored at 0.

        The mean of R fits has variance Var / R around the mean of all fits,
        which adds that much to its squared distance from E[y|x]: at degree 15
        the uncorrected value was 0.004 where the closed form is 1e-13.
        """
        if self.replicates < 2:
            return self.mean_fit_bias2
        return max(self.mean_fit_bias2 - self.refit_variance / self.replicates, 0.0)

    @property
    def method(self) -> str:
        """'closed form' when :attr:`bias2` and :attr:`variance` are exact, else 'refits'."""
        return "closed form" if self.exact_bias2 is not None else "refits"

    @property
    def bias2(self) -> float:
        """Bias²: the closed form where it exists, else :attr:`refit_bias2`."""
        return self.exact_bias2 if self.exact_bias2 is not None else self.refit_bias2

    @property
    def variance(self) -> float:
        """Variance: the closed form where it exists, else :attr:`refit_variance`."""
        return self.exact_variance if self.exact_variance is not None else self.refit_variance

    @property
    def total(self) -> float:
        """bias² + variance + σ²: what ``expected_mse`` measures."""
        return self.bias2 + self.variance + self.noise

    @property
    def replicates(self) -> int:
        """R, the number of refits."""
        return len(self.fits)


def bias_variance(snap: Snapshot, replicates: int = 200, seed: int = 0,
                  degree: int | None = None, alpha: float | None = None) -> BiasVariance:
    """Refit ``replicates`` fresh samples at the current settings and decompose the error.

    Every replicate keeps the training x and draws fresh noise (a fixed
    design, see the module's notes).  A cross-validated alpha is held at the
    model's choice for every replicate, so the variance is that of the fit
    at that alpha, not of the alpha's choice as well.
    """
    _need_truth(snap)
    degree = snap.degree if degree is None else degree
    rng = np.random.default_rng(seed)
    if alpha is None:
        alpha = _fixed_alpha(snap, degree)
    if snap.method_at(degree) == "l1":
        fits = _lasso_replicates(snap, degree, alpha, rng, replicates)
        exact = (None, None)
    elif snap.method_at(degree) == "huber":
        fits = _refit_replicates(snap, degree, rng, replicates)
        exact = (None, None)
    else:
        design = LinearDesign(snap.x_train, degree, snap.settings["x_min"],
                              snap.settings["x_max"])
        fits = _linear_replicates(snap, design, [alpha], rng, replicates)[0].T
        exact = _exact(snap, design, alpha)
    return _decompose(snap, degree, fits, rng, alpha, *exact)


def _need_truth(snap: Snapshot):
    if not snap.has_truth:
        raise ValueError("Bias and variance need a known ground truth to draw fresh samples "
                         "from; your own data have none.")


def _fixed_alpha(snap: Snapshot, degree: int) -> float:
    """Return the alpha of the fit at ``degree`` on the training split."""
    if snap.method_at(degree) == "huber":
        return None
    if (alpha := snap.preset_alpha(degree, len(snap.y_train))) is not None:
        return alpha
    if degree == snap.degree and snap.alpha_ is not None:
        return snap.alpha_
    x, y = snap.x_train, snap.y_train
    if snap.penalty_at(degree) == "l2":
        design = LinearDesign(x, degree, snap.settings["x_min"], snap.settings["x_max"])
        return _alpha(snap, degree, design, y)
    estimator = snap.make_estimator(degree=degree, cv_folds=snap.folds(len(y)).n_splits)
    return float(_fit_quietly(estimator, x[:, None], y)[-1].alpha_)


def _linear_replicates(snap, design: LinearDesign, alphas, rng, replicates) -> np.ndarray:
    """Grid predictions of every replicate at every alpha: (n_alphas, grid, R)."""
    target = snap.target_train
    if design.n * replicates <= MAX_NOISE_DRAWS or not snap.noise.is_plain_gaussian:
        y = target[:, None] + snap.noise.draw(snap.x_train, rng, replicates)
        return design.predict(snap.grid, y, alphas)
    sigma = snap.noise.sd
    projected, mean = design.replicate_noise(rng, replicates)
    centered = target - target.mean()
    projected = (design.u.T @ centered)[:, None] + sigma * projected
    return design.predict_projected(snap.grid, projected, target.mean() + sigma * mean, alphas)


def _lasso_replicates(snap, degree, alpha, rng, replicates) -> np.ndarray:
    design = LinearDesign(snap.x_train, degree, snap.settings["x_min"], snap.settings["x_max"])
    y = snap.target_train[:, None] + snap.noise.draw(snap.x_train, rng, replicates)
    # The Gram matrix makes each coordinate-descent sweep O(p²) instead of O(n·p): 3× faster.
    # One fit per replicate, so the warnings lock is never held long.
    lasso = Lasso(alpha=alpha, max_iter=LASSO_MAX_ITER, precompute=True)
    grid = design.features(snap.grid)
    return np.array([_fit_quietly(lasso, design.features_train, y[:, r]).predict(grid)
                     for r in range(replicates)])


def _refit_replicates(snap, degree, rng, replicates) -> np.ndarray:
    """Grid predictions (R, grid) of the pipeline refitted to each replicate: no shortcut."""
    y = snap.target_train[:, None] + snap.noise.draw(snap.x_train, rng, replicates)
    estimator = snap.make_estimator(degree=degree)
    return np.array([_fit_quietly(estimator, snap.x_train[:, None], y[:, r])
                     .predict(snap.grid[:, None]) for r in range(replicates)])


def _exact(snap: Snapshot, design: LinearDesign, alpha: float) -> tuple[float, float]:
    """Closed-form bias² and variance on the grid, from the hat matrix's factors.

    H = 1/n + C Uᵀ with C = basis · diag(gain) (grid × rank) and U ⟂ 1, so
    H·t = mean(t) + C (Uᵀt) and Σᵢ H²ᵍᵢ vᵢ = Σv/n² + 2/n C(Uᵀv) + C (Uᵀ diag(v) U) Cᵀ
    on the diagonal: no grid × n matrix, so it scales to a million points.
    """
    coef = design.basis(snap.grid) * design.gains([alpha])[0]
    target, var = snap.target_train, snap.noise.variance(snap.x_train)
    u, n = design.u, design.n
    mean_fit = target.mean() + coef @ (u.T @ (target - target.mean()))
    bias2 = snap.average((mean_fit - snap.target_grid) ** 2)
    weighted = (u * var[:, None]).T @ u
    variance = (var.sum() / n**2 + 2 / n * coef @ (u.T @ var)
                + np.einsum("gi,ij,gj->g", coef, weighted, coef))
    return bias2, snap.average(variance)


def _decompose(snap, degree, fits, rng, alpha, exact_bias2=None,
               exact_variance=None) -> BiasVariance:
    """Monte-Carlo bias², variance and error on new data of ``fits`` (R, grid)."""
    mean = fits.mean(axis=0)
    fresh = snap.target_grid + snap.noise.draw(snap.grid, rng, len(fits)).T
    return BiasVariance(
        x=snap.grid, target=snap.target_grid, fits=fits,
        mean_fit_bias2=snap.average((mean - snap.target_grid) ** 2),
        refit_variance=snap.average(fits.var(axis=0, ddof=1)) if len(fits) > 1 else np.nan,
        noise=snap.noise_variance, expected_mse=snap.average(((fresh - fits) ** 2).mean(axis=0)),
        alpha=None if snap.method_at(degree) in ("none", "huber") else alpha,
        exact_bias2=exact_bias2, exact_variance=exact_variance)


def _summary(key: str, value, result: BiasVariance) -> dict:
    return {key: value, "bias2": result.bias2, "variance": result.variance,
            "noise": result.noise, "total": result.total, "expected_mse": result.expected_mse,
            "method": result.method, "refit_bias2": result.refit_bias2,
            "refit_variance": result.refit_variance, "mean_fit_bias2": result.mean_fit_bias2,
            "exact_bias2": result.exact_bias2, "exact_variance": result.exact_variance,
            "alpha": result.alpha}


def bias_variance_by_degree(snap: Snapshot, max_degree: int = 15, replicates: int = 200,
                            seed: int = 0) -> pd.DataFrame:
    """Bias², variance, σ² and their total against degree: the U-curve.

    Every degree refits the same R noise draws (unless there are so many that
    each degree draws its own projected noise, see :data:`MAX_NOISE_DRAWS`),
    so the curve's wiggles are the settings', not the sampling's.  A
    cross-validated alpha is chosen on the model's sample at each degree.

    Returns
    -------
    DataFrame with columns degree, bias2, variance, noise, total, expected_mse,
    method, refit_bias2, refit_variance, mean_fit_bias2, exact_bias2,
    exact_variance, alpha (see :class:`BiasVariance`).
    """
    rows = [_summary("degree", degree, bias_variance(snap, replicates, seed, degree=degree))
            for degree in range(max_degree + 1)]
    return pd.DataFrame(rows)


def bias_variance_by_alpha(snap: Snapshot, replicates: int = 200, seed: int = 0,
                           alphas=BIAS_VARIANCE_ALPHAS) -> pd.DataFrame | None:
    """Bias², variance and total against alpha at the current degree; None without a penalty.

    Ridge solves every alpha and replicate from one SVD; LASSO follows one
    coordinate-descent path per replicate.
    """
    degree = snap.degree
    penalty = snap.method_at(degree)
    if penalty in ("none", "huber"):
        return None
    alphas = np.sort(np.asarray(alphas, dtype=float))
    rng = np.random.default_rng(seed)
    design = LinearDesign(snap.x_train, degree, snap.settings["x_min"], snap.settings["x_max"])
    if penalty == "l2":
        fits = np.moveaxis(_linear_replicates(snap, design, alphas, rng, replicates), 2, 1)
        exact = [_exact(snap, design, a) for a in alphas]
    else:
        fits = _lasso_path_replicates(snap, design, alphas, rng, replicates)
        exact = [(None, None)] * len(alphas)
    noise = np.random.default_rng([seed, 1])
    rows = [_summary("alpha", a, _decompose(snap, degree, f, noise, a, *e))
            for a, f, e in zip(alphas, fits, exact, strict=True)]
    return pd.DataFrame(rows)


def _lasso_path_replicates(snap, design, alphas, rng, replicates) -> np.ndarray:
    """Grid predictions (n_alphas, R, grid) of LASSO paths, one path per replicate."""
    z, grid = design.features_train, design.features(snap.grid)
    y = snap.target_train[:, None] + snap.noise.draw(snap.x_train, rng, replicates)
    fits = np.empty((len(alphas), replicates, len(snap.grid)))
    for r in range(replicates):
        coef, intercept = _lasso_path(z, y[:, r], alphas[::-1])
        fits[:, r] = (grid @ coef.T + intercept)[:, ::-1].T
    return fits


# ---- learning curve ---------------------------------------------------------


def learning_sizes(snap: Snapshot, n_sizes: int = 12) -> np.ndarray:
    """Training sizes of the learning curve: geometric from the fewest a fit accepts."""
    n = len(snap.y_train)
    cv = snap.method_at(snap.degree) in ("l1", "l2") and snap.settings["alpha_mode"] in CV_RULES
    low = min(max(2, snap.settings["cv_folds"] if cv else 2), n)
    return np.unique(np.geomspace(low, n, n_sizes).round().astype(int))


def learning_curve(snap: Snapshot, n_sizes: int = 12) -> pd.DataFrame:
    """Train, test and true RMSE against the number of training points.

    Fits the first m training points for each size m, as
    ``sklearn.model_selection.learning_curve`` does with the current split as
    its one fold.  ``true_rmse`` is the error against E[y|x] averaged over x,
    as the model's ``true_rmse_``.

    Returns
    -------
    DataFrame with columns n_train, train_rmse, test_rmse, true_rmse.
    """
    x, y = snap.x_train, snap.y_train
    rows = []
    for m in learning_sizes(snap, n_sizes):
        train, test, grid = fit_predict(snap, snap.degree, x[:m], y[:m], x[:m], snap.x_test,
                                        snap.grid)
        rows.append((m, _rmse(y[:m], train),
                     _rmse(snap.y_test, test) if len(test) else np.nan,
                     math.sqrt(snap.average((snap.target_grid - grid) ** 2))))
    return pd.DataFrame(rows, columns=["n_train", "train_rmse", "test_rmse", "true_rmse"])


# ---- coefficients -----------------------------------------------------------


def coefficients(snap: Snapshot) -> pd.DataFrame | None:
    """Return the fit's coefficients, next to the truth's when it is a polynomial.

    The coefficients are in x, or in the scaled t = (x - c) / h where those in
    x cannot reproduce the fit (``RegressionModel.coef_variable_``); the
    truth's are then in t as well.  The frame's ``attrs["variable"]`` names
    it.  ``dropped`` marks the powers whose standardized coefficient is
    exactly 0 (LASSO's zeros).  Their coefficient in t is exactly 0; in x
    too for an interval symmetric about 0, otherwise mapping mixes powers.

    Returns
    -------
    DataFrame with columns power, fitted, true (NaN where unknown), dropped;
    None without a fit.
    """
    if snap.coef_ is None:
        return None
    fitted = np.asarray(snap.coef_, dtype=float)
    power = np.arange(len(fitted))
    true = np.full(len(fitted), np.nan)
    if snap.true_coef is not None:  # a polynomial: its higher powers are known zeros
        known = _in_variable(snap, snap.true_coef)[: len(fitted)]
        true[:] = 0.0
        true[: len(known)] = known
    dropped = np.zeros(len(fitted), dtype=bool)
    regressor = snap.estimator[-1] if snap.estimator is not None else None
    if snap.degree > 0 and regressor is not None:
        dropped[1:] = np.ravel(regressor.coef_) == 0
    frame = pd.DataFrame({"power": power, "fitted": fitted, "true": true, "dropped": dropped})
    frame.attrs["variable"] = snap.coef_variable
    return frame


def _in_variable(snap: Snapshot, coef_in_x: np.ndarray) -> np.ndarray:
    """Return a polynomial in x as one in the snapshot's coefficient variable."""
    if snap.coef_variable == "x":
        return coef_in_x
    to_unit = snap.estimator[0]  # x = c + h·t
    x_of_t = np.polynomial.Polynomial([to_unit.center_, to_unit.half_width_])
    return np.polynomial.Polynomial(coef_in_x)(x_of_t).coef


def residuals(snap: Snapshot) -> pd.DataFrame:
    """Return residuals y - ŷ of the current fit, training rows first.

    Returns
    -------
    DataFrame with columns x, y_pred, residual, split ('train' or 'test').
    """
    x, y = np.r_[snap.x_train, snap.x_test], np.r_[snap.y_train, snap.y_test]
    y_pred = snap.estimator.predict(x[:, None])
    split = np.repeat(["train", "test"], [len(snap.x_train), len(snap.x_test)])
    return pd.DataFrame({"x": x, "y_pred": y_pred, "residual": y - y_pred, "split": split})


# ---- for scripts ------------------------------------------------------------


class Diagnostics(param.Parameterized):
    """The diagnostics of a :class:`RegressionModel` at its current settings.

    Each method snapshots the model and computes one diagnostic; the app
    runs the same functions in a worker thread.

    Examples
    --------
    >>> diagnostics = Diagnostics(model=RegressionModel(degree=3), replicates=50)
    >>> curve = diagnostics.validation_curve()
    >>> list(curve.degree) == list(range(16))
    True
    >>> result = diagnostics.bias_variance()
    >>> bool(abs(result.variance - result.exact_variance) < 0.5 * result.exact_variance)
    True
    """

    model = param.ClassSelector(
        class_=RegressionModel, label="Model",
        doc="The model diagnosed; a default RegressionModel if none is given.")

    max_degree = Integer(
        default=15, bounds=(1, 30), step=1, label="Highest degree",
        doc="The validation curve and the bias-variance curve run from degree 0 to this.")

    replicates = Integer(
        default=200, bounds=(10, 2000), softbounds=(20, 500), step=10, label="Replicates R",
        doc="Fresh noisy samples refitted to measure bias and variance.")

    seed = Integer(
        default=0, bounds=(0, 2**32 - 1), label="Replicate seed",
        doc="Seed of the replicates' noise: the same seed gives the same refits.")

    def __init__(self, **params):
        if params.get("model") is None:
            params["model"] = RegressionModel()
        super().__init__(**params)

    def snapshot(self) -> Snapshot:
        """Copy the model's current state: see :class:`Snapshot`."""
        return Snapshot.of(self.model)

    def validation_curve(self) -> pd.DataFrame:
        """Return :func:`validation_curve` up to ``max_degree``."""
        return validation_curve(self.snapshot(), self.max_degree)

    def alpha_path(self) -> AlphaPath | None:
        """Return :func:`alpha_path` at the model's degree."""
        return alpha_path(self.snapshot())

    def bias_variance(self) -> BiasVariance:
        """Return :func:`bias_variance` with ``replicates`` refits."""
        return bias_variance(self.snapshot(), self.replicates, self.seed)

    def bias_variance_by_degree(self) -> pd.DataFrame:
        """Return :func:`bias_variance_by_degree` up to ``max_degree``."""
        return bias_variance_by_degree(self.snapshot(), self.max_degree, self.replicates,
                                       self.seed)

    def bias_variance_by_alpha(self) -> pd.DataFrame | None:
        """Return :func:`bias_variance_by_alpha` at the model's degree."""
        return bias_variance_by_alpha(self.snapshot(), self.replicates, self.seed)

    def learning_curve(self) -> pd.DataFrame:
        """Return :func:`learning_curve`."""
        return learning_curve(self.snapshot())

    def residuals(self) -> pd.DataFrame:
        """Return :func:`residuals`."""
        return residuals(self.snapshot())

    def coefficients(self) -> pd.DataFrame:
        """Return :func:`coefficients`."""
        return coefficients(self.snapshot())

    def verdict(self) -> Verdict:
        """Return :func:`verdict`, with the validation curve up to ``max_degree`` or further."""
        return verdict(self.snapshot(), max_degree=self.max_degree)


# ---- the verdict --------------------------------------------------------------


def verdict(snap: Snapshot, curve: pd.DataFrame | None = None,
            max_degree: int = 15) -> Verdict:
    """Judge whether the snapshot's fit under- or over-fits: see :mod:`.verdict`.

    The evidence is ``curve``, the snapshot's :func:`validation_curve`
    (computed up to ``max_degree``, or to the fit's degree if that is
    higher, when not given), and the fit's true error against the noise
    floor when the truth is known.
    """
    if is_constant(np.r_[snap.y_train, snap.y_test]):
        return Verdict("unknown", "No verdict: y does not vary, so there is nothing to over- "
                       "or under-fit (R² is 0/0); a fit of any degree matches its one value.",
                       "the data")
    if curve is None:
        curve = validation_curve(snap, max(max_degree, snap.degree))
    noise_floor = snap.noise_floor if snap.has_truth else math.nan
    return judge(curve, snap.degree, len(snap.y_train), snap.true_rmse, noise_floor,
                 y_scale=float(np.abs(snap.y_train).max(initial=0.0)))
