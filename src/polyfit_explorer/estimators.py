"""Scikit-learn estimators that do in closed form what scikit-learn does by refitting."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, RegressorMixin, TransformerMixin
from sklearn.linear_model import HuberRegressor, Lasso, LassoCV
from sklearn.model_selection import check_cv
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["ALPHA_RULES", "IntervalScaler", "KFoldRidgeCV", "OneSELassoCV", "ScaledHuberRegressor",
           "chosen_alpha", "effective_dof", "ridge_path"]

#: How a cross-validation chooses alpha from its errors (see :func:`chosen_alpha`).
ALPHA_RULES = ("min", "one_se")


def chosen_alpha(alphas, mse_path, rule: str = "min") -> float:
    """Return the alpha a cross-validation's errors choose by ``rule``.

    ``"min"``: the alpha of the least mean validation MSE (ties to the
    smallest alpha).  ``"one_se"``: the largest alpha whose mean MSE is
    within one standard error of that minimum, the standard error of the
    best alpha's mean over folds (std with ddof 1 / √folds): the simplest
    model the data cannot tell from the best (Hastie, Tibshirani and
    Friedman, *Elements of Statistical Learning*, 7.10).

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,)
    mse_path : array-like of shape (n_alphas, n_folds)
        Each alpha's validation MSE in each fold, as ``LassoCV.mse_path_``.
    rule : {"min", "one_se"}

    Examples
    --------
    >>> chosen_alpha([1.0, 10.0, 100.0], [[1.0, 3.0], [1.5, 3.5], [4.0, 6.0]], "one_se")
    10.0
    """
    if rule not in ALPHA_RULES:
        raise ValueError(f"rule must be one of {ALPHA_RULES}; got {rule!r}.")
    alphas, mse = np.asarray(alphas, dtype=float), np.asarray(mse_path, dtype=float)
    order = np.argsort(alphas, kind="stable")
    alphas, mse = alphas[order], mse[order]
    mean = mse.mean(axis=1)
    best = int(np.argmin(mean))
    if rule == "min":
        return float(alphas[best])
    se = mse[best].std(ddof=1) / np.sqrt(mse.shape[1]) if mse.shape[1] > 1 else 0.0
    return float(alphas[np.flatnonzero(mean <= mean[best] + se).max()])


class IntervalScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Map a fixed interval ``[low, high]`` onto [-1, 1].

    Unlike ``MinMaxScaler`` the interval is a setting, not learnt from the
    sample: the interval x is drawn from maps to [-1, 1] exactly, so a
    symmetric interval maps 0 to 0 and the map only scales.

    Parameters
    ----------
    low, high : float
        The interval's ends, ``low < high``.

    Examples
    --------
    >>> IntervalScaler(0.0, 10.0).fit_transform([[0.0], [5.0], [10.0]]).ravel()
    array([-1.,  0.,  1.])
    """

    def __init__(self, low=-1.0, high=1.0):
        self.low = low
        self.high = high

    def fit(self, X, y=None):
        """Check X and the interval; nothing is learnt from X."""
        validate_data(self, X)
        if not self.low < self.high:
            raise ValueError(f"low must be less than high; got {self.low}, {self.high}.")
        self.center_ = (self.low + self.high) / 2
        self.half_width_ = (self.high - self.low) / 2
        return self

    def transform(self, X):
        """Return (X - center) / half-width."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return (X - self.center_) / self.half_width_


def ridge_path(X, y, alphas, X_new=None, singular=False):
    """Ridge fits with intercept for every alpha, from one SVD.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    alphas : ndarray of shape (n_alphas,)
    X_new : ndarray of shape (n_new, n_features), optional
        Where to predict.

    Returns
    -------
    coef : ndarray of shape (n_alphas, n_features)
    intercept : ndarray of shape (n_alphas,)
    predictions : ndarray of shape (n_new, n_alphas), only when X_new is given
    singular : ndarray, the singular values of the centered X, only when ``singular``
    """
    x_mean, y_mean = X.mean(axis=0), y.mean()
    u, s, vt = np.linalg.svd(X - x_mean, full_matrices=False)
    # w(α) = V diag(s / (s² + α)) Uᵀ y: the minimizer of |y - Xw|² + α|w|².
    shrink = s / (s[None, :] ** 2 + np.asarray(alphas, dtype=float)[:, None])
    coef = (shrink * (u.T @ (y - y_mean))) @ vt
    intercept = y_mean - coef @ x_mean
    extra = [] if X_new is None else [X_new @ coef.T + intercept]
    return (coef, intercept, *extra, *([s] if singular else []))


class KFoldRidgeCV(RegressorMixin, BaseEstimator):
    """Ridge regression with alpha chosen by k-fold cross-validated mean squared error.

    Chooses the same alpha as ``RidgeCV(alphas, cv=cv,
    scoring="neg_mean_squared_error")``, which refits Ridge for every alpha in
    every fold; this solves every alpha of a fold from one SVD instead.  Ties go
    to the smallest alpha, as in ``GridSearchCV``.

    Parameters
    ----------
    alphas : array-like of shape (n_alphas,)
        Penalty strengths to try.
    cv : int, cross-validation generator or iterable
        As for :func:`sklearn.model_selection.check_cv`.
    rule : {"min", "one_se"}
        The lowest mean error, or the one-standard-error rule (:func:`chosen_alpha`).

    Attributes
    ----------
    alpha_ : float
        The chosen penalty strength.
    alphas_ : ndarray of shape (n_alphas,)
        The alphas tried.
    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Validation mean squared error per alpha and fold, laid out as ``LassoCV``'s.
    coef_, intercept_ : the Ridge fit on all data at ``alpha_``.
    singular_ : ndarray of shape (n_features,)
        Singular values of the centered X, as ``LinearRegression.singular_``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(20.0).reshape(-1, 1)
    >>> KFoldRidgeCV(alphas=[0.1, 1.0], cv=4).fit(X, 3 * X[:, 0] + 1).alpha_
    np.float64(0.1)
    """

    def __init__(self, alphas=(0.1, 1.0, 10.0), cv=5, rule="min"):
        self.alphas = alphas
        self.cv = cv
        self.rule = rule

    def fit(self, X, y):
        """Choose alpha by cross-validation, then fit Ridge on all of X, y."""
        X, y = validate_data(self, X, y, y_numeric=True)
        alphas = np.asarray(self.alphas, dtype=float)
        folds = list(check_cv(self.cv).split(X, y))
        self.mse_path_ = np.empty((len(alphas), len(folds)))
        for k, (train, val) in enumerate(folds):
            *_, pred = ridge_path(X[train], y[train], alphas, X[val])
            self.mse_path_[:, k] = ((pred - y[val, None]) ** 2).mean(axis=0)
        self.alphas_ = alphas
        self.alpha_ = np.float64(chosen_alpha(alphas, self.mse_path_, self.rule))
        coef, intercept, self.singular_ = ridge_path(X, y, [self.alpha_], singular=True)
        self.coef_, self.intercept_ = coef[0], intercept[0]
        return self

    def predict(self, X):
        """Predict with the Ridge fit at the chosen alpha."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return X @ self.coef_ + self.intercept_


class OneSELassoCV(LassoCV):
    """``LassoCV`` that chooses alpha by the one-standard-error rule (:func:`chosen_alpha`).

    Cross-validates as ``LassoCV`` does, then refits LASSO on all the data at
    the largest alpha whose mean validation MSE (``mse_path_``) is within one
    standard error of the minimum.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 40).reshape(-1, 1) ** [1, 2, 3]
    >>> y = X[:, 0] + np.random.default_rng(0).normal(0, 0.3, 40)
    >>> fit = OneSELassoCV(cv=4).fit(X, y)
    >>> bool(fit.alpha_ >= LassoCV(cv=4).fit(X, y).alpha_)
    True
    """

    def fit(self, X, y, sample_weight=None, **params):
        """Cross-validate as LassoCV, then refit at the one-SE alpha."""
        super().fit(X, y, sample_weight=sample_weight, **params)
        alpha = chosen_alpha(self.alphas_, self.mse_path_, "one_se")
        if alpha == self.alpha_:
            return self
        # As LassoCV's own refit does: Lasso refuses precompute="auto".
        precompute = False if isinstance(self.precompute, str) else self.precompute
        final = Lasso(alpha=alpha, fit_intercept=self.fit_intercept, precompute=precompute,
                      max_iter=self.max_iter, tol=self.tol, copy_X=self.copy_X,
                      positive=self.positive, random_state=self.random_state,
                      selection=self.selection).fit(X, y, sample_weight=sample_weight)
        self.alpha_ = np.float64(alpha)
        self.coef_, self.intercept_ = final.coef_, final.intercept_
        self.dual_gap_, self.n_iter_ = final.dual_gap_, final.n_iter_
        return self


class ScaledHuberRegressor(HuberRegressor):
    """``HuberRegressor`` that refits on a centred, scaled y when L-BFGS fails.

    L-BFGS stops with "ABNORMAL" (a ``ValueError``) on y far from 0, e.g. a
    noise mean of 10⁶.  Without a penalty the Huber fit is equivariant, so
    fitting (y - median) / spread and mapping the coefficients back gives the
    same fit.  Only a failed fit is redone: otherwise the result is exactly
    scikit-learn's, which the exported script reproduces.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(10.0).reshape(-1, 1)
    >>> fit = ScaledHuberRegressor(alpha=0.0).fit(X, -1e6 + 2 * X[:, 0])
    >>> round(float(fit.coef_[0]), 6), round(float(fit.intercept_))
    (2.0, -1000000)
    """

    def fit(self, X, y, sample_weight=None):
        """Fit as HuberRegressor; on a solver failure, fit the scaled y and map back."""
        try:
            return super().fit(X, y, sample_weight=sample_weight)
        except ValueError as error:
            if "ABNORMAL" not in str(error):
                raise
        y = np.asarray(y, dtype=float)
        center = float(np.median(y))
        spread = float(np.max(np.abs(y - center))) or 1.0
        super().fit(X, (y - center) / spread, sample_weight=sample_weight)
        self.coef_ = self.coef_ * spread
        self.intercept_ = self.intercept_ * spread + center
        self.scale_ = self.scale_ * spread
        return self


def effective_dof(estimator, X) -> float:
    """Effective degrees of freedom of a fitted linear pipeline on its training X.

    For a linear smoother, the trace of its hat matrix: ``1 + Σ s²/(s² + α)``
    over the singular values s of the centered features the regressor saw
    (the 1 is the unpenalized intercept), which is 1 + rank without a
    penalty.  LASSO is not linear in y; for it this returns 1 + the number of
    nonzero coefficients, an unbiased estimate of its degrees of freedom
    (Zou, Hastie and Tibshirani, 2007).  Huber is not linear either; for it
    this returns the least-squares value, 1 + rank.

    Parameters
    ----------
    estimator : Pipeline
        Fitted; its last step has ``coef_`` and ``alpha_``, ``alpha`` or neither.
    X : array-like of shape (n_samples, n_features)
        The training inputs the pipeline was fitted on.
    """
    regressor = estimator[-1]
    if isinstance(regressor, (Lasso, LassoCV)):
        return 1.0 + np.count_nonzero(regressor.coef_)
    # LinearRegression and KFoldRidgeCV keep the singular values their fit computed.
    s = getattr(regressor, "singular_", None)
    if s is None:
        features = estimator[:-1].transform(X)
        features = features - features.mean(axis=0)
        # The R of a QR has the same singular values, for n·p² work instead of an n×n SVD.
        s = np.linalg.svd(np.linalg.qr(features, mode="r"), compute_uv=False)
    alpha = getattr(regressor, "alpha_", getattr(regressor, "alpha", 0.0))
    if isinstance(regressor, HuberRegressor):
        alpha = 0.0
    if alpha == 0:
        # LinearRegression's own rank rule (scipy's lstsq with cond = max(n, p)·eps).
        size = max(len(X), regressor.n_features_in_)
        return 1.0 + int(np.sum(s > s.max(initial=0) * size * np.finfo(float).eps))
    return 1.0 + float(np.sum(s**2 / (s**2 + alpha)))
