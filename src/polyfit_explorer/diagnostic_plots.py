"""Pure functions from diagnostics results to HoloViews overlays.

Each returns the same layers whatever its input, empty when there is nothing
to show, so a DynamicMap over it patches its data sources instead of
rebuilding the figure.  Value dimensions are named after the quantity
(``cv_rmse``, ``bias2`` …) so every data source has columns of its own.
Every number comes from :mod:`polyfit_explorer.diagnostics`.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd

from .plots import BACKEND_OPTIONS, COLORS, FIT_COLOR, TRUTH_COLOR

__all__ = [
    "alpha_errors",
    "bias_variance_curve",
    "coefficients",
    "learning_curve",
    "regularization_path",
    "replicate_fits",
    "residuals",
    "validation_curve",
]

CV_COLOR = "#9467bd"
BIAS_COLOR = "#8c564b"
VARIANCE_COLOR = "#e377c2"
TOTAL_COLOR = "#17becf"
MARK_COLOR = "#555555"

#: The replicate view draws this many of the R fits, at every second grid
#: point: enough to see their spread, at a tenth of the bytes.
DRAWN_FITS = 50

#: Framewise: the axes follow each new result (the first is often still empty).
OPTIONS = dict(responsive=True, height=360, legend_position="top", legend_cols=5,
               show_grid=True, framewise=True, **BACKEND_OPTIONS)

_RMSE = hv.Dimension("rmse", label="RMSE")


def _curve(frame, x, y, label, color, **opts):
    dims = [hv.Dimension(y, label=opts.pop("ylabel", "RMSE"))]
    return hv.Curve(frame[[x, y]] if len(frame) else pd.DataFrame({x: [], y: []}),
                    x, dims, label=label).opts(color=color, line_width=2, **opts)


def _marks(values, color=MARK_COLOR, dash="dashed") -> hv.Overlay:
    """Vertical lines at ``values`` (NaN hides one): the current or chosen setting."""
    return hv.Overlay([hv.VLine(v if v is not None else np.nan).opts(
        color=color, line_dash=dash, line_width=2) for v in values])


def validation_curve(frame: pd.DataFrame | None, degree: int | None) -> hv.Overlay:
    """Train, test and CV RMSE (± one standard error) against degree; the degree marked.

    Tapping the plot sets the degree, so the hover says so.
    """
    frame = _or_empty(frame, ["degree", "train_rmse", "test_rmse", "cv_rmse", "cv_se"])
    # The band only where CV is defined: with fewer training points than folds
    # every cv_rmse is NaN, and HoloViews' Spread.range then takes np.nanmin of
    # an all-NaN column ("RuntimeWarning: All-NaN slice encountered").  The
    # band would draw nothing there anyway; the CV curve keeps its NaNs.
    band = frame[frame["cv_rmse"].notna()]
    spread = hv.Spread(
        (band["degree"], band["cv_rmse"], band["cv_se"].fillna(0)), "degree",
        [hv.Dimension("cv_rmse", label="RMSE"), "cv_se"]).opts(
        color=CV_COLOR, alpha=0.2, line_alpha=0)
    layers = [
        spread,
        _curve(frame, "degree", "train_rmse", "train", COLORS["train"]),
        _curve(frame, "degree", "test_rmse", "test", COLORS["test"]),
        _curve(frame, "degree", "cv_rmse", "cross-validation", CV_COLOR, line_dash="dashed"),
        hv.Scatter(frame, "degree", hv.Dimension("cv_rmse", label="RMSE"),
                   label="cross-validation").opts(color=CV_COLOR, size=6, tools=["hover"]),
        *_marks([degree]),
    ]
    return hv.Overlay(layers).opts(
        title="Error against degree (click a degree to fit it)", logy=True,
        ylim=_log_ylim(frame["train_rmse"], frame["test_rmse"],
                       band["cv_rmse"] - band["cv_se"].fillna(0)),
        xlabel="degree", ylabel="RMSE (log scale)", **OPTIONS)


def alpha_errors(path, penalty_name: str = "") -> hv.Overlay:
    """Train, test and CV RMSE against alpha, with the CV and one-SE alphas marked."""
    frame = _or_empty(path.frame() if path is not None else None,
                      ["alpha", "train_rmse", "test_rmse", "cv_rmse", "cv_se"])
    title = (f"Error against alpha ({penalty_name}): dashed = CV choice, dotted = 1-SE choice"
             if path is not None else "Error against alpha: choose an L2 or L1 penalty")
    best, one_se = (path.best_alpha, path.one_se_alpha) if path is not None else (None, None)
    layers = [
        _curve(frame, "alpha", "train_rmse", "train", COLORS["train"]),
        _curve(frame, "alpha", "test_rmse", "test", COLORS["test"]),
        _curve(frame, "alpha", "cv_rmse", "cross-validation", CV_COLOR, line_dash="dashed"),
        *_marks([best]),
        *_marks([one_se], dash="dotted"),
    ]
    return hv.Overlay(layers).opts(
        title=title, logx=True, logy=True, xlabel="alpha (log scale)",
        ylim=_log_ylim(frame["train_rmse"], frame["test_rmse"], frame["cv_rmse"]),
        ylabel="RMSE (log scale)", **OPTIONS)


def replicate_fits(result, drawn: int = DRAWN_FITS) -> hv.Overlay:
    """Draw a few of the R refits, faint, with their mean and the truth on top.

    The y range follows the truth and the mean fit; stray refits may leave it.
    """
    if result is None:
        x = fits = np.empty((0,))
        paths, mean, target = [np.full((1, 2), np.nan)], np.empty(0), np.empty(0)
    else:
        x, fits = result.x[::2], result.fits[:drawn, ::2]
        paths = [np.column_stack([x, f]) for f in fits]
        mean, target = result.mean_fit, result.target
    x_full = result.x if result is not None else np.empty(0)
    return hv.Overlay([
        hv.Path(paths, ["x", hv.Dimension("replicate_fit", label="y")],
                label="refits on fresh noise").opts(
            color=FIT_COLOR, alpha=0.12, line_width=1, apply_ranges=False),
        hv.Curve((x_full, mean), "x", hv.Dimension("mean_fit", label="y"),
                 label="mean fit").opts(color=FIT_COLOR, line_width=3, framewise=True),
        hv.Curve((x_full, target), "x", hv.Dimension("expected_y", label="y"),
                 label="E[y|x]").opts(color=TRUTH_COLOR, line_width=2, line_dash="dashed",
                                      framewise=True),
    ]).opts(title=_replicates_title(result), xlabel="x", ylabel="y", padding=0.08,
            **OPTIONS)


def _replicates_title(result) -> str:
    if result is None:
        return "Refits on fresh noise"
    return f"{min(DRAWN_FITS, result.replicates)} of {result.replicates} refits on fresh noise"


def bias_variance_curve(frame: pd.DataFrame | None, key: str, current) -> hv.Overlay:
    """Bias², variance, σ² and their total against ``key`` ('degree' or 'alpha').

    The dots are the measured mean squared error on fresh data, which the
    total should match.
    """
    frame = _or_empty(frame, [key, "bias2", "variance", "noise", "total", "expected_mse"])
    log_x = key == "alpha"
    title = ("Bias² + variance + σ² against " + key if len(frame) or not log_x
             else "Against alpha: choose an L2 or L1 penalty")
    layers = [
        _curve(frame, key, "bias2", "bias²", BIAS_COLOR, ylabel="squared error"),
        _curve(frame, key, "variance", "variance", VARIANCE_COLOR, ylabel="squared error"),
        _curve(frame, key, "noise", "noise σ²", "gray", ylabel="squared error",
               line_dash="dotted"),
        _curve(frame, key, "total", "total", TOTAL_COLOR, ylabel="squared error"),
        hv.Scatter(frame, key, hv.Dimension("expected_mse", label="squared error"),
                   label="measured test MSE").opts(color="black", size=5, tools=["hover"]),
        *_marks([current]),
    ]
    return hv.Overlay(layers).opts(
        title=title, logy=True, logx=log_x,
        ylim=_log_ylim(*(frame[c] for c in ["bias2", "variance", "noise", "total",
                                            "expected_mse"])),
        xlabel=key + (" (log scale)" if log_x else ""), ylabel="squared error (log scale)",
        **OPTIONS)


def learning_curve(frame: pd.DataFrame | None, noise_sd: float | None) -> hv.Overlay:
    """Train, test and true RMSE against the number of training points; σ as a line."""
    frame = _or_empty(frame, ["n_train", "train_rmse", "test_rmse", "true_rmse"])
    noise = frame.assign(noise_sd=np.nan if noise_sd is None else noise_sd)
    return hv.Overlay([
        _curve(frame, "n_train", "train_rmse", "train", COLORS["train"]),
        _curve(frame, "n_train", "test_rmse", "test", COLORS["test"]),
        _curve(frame, "n_train", "true_rmse", "true error (vs E[y|x])", TRUTH_COLOR),
        _curve(noise, "n_train", "noise_sd", "noise σ", "gray", line_dash="dotted"),
    ]).opts(title="Error against training-set size", logx=True, logy=True,
            ylim=_log_ylim(*(noise[c] for c in ["train_rmse", "test_rmse", "true_rmse",
                                                "noise_sd"])),
            # One training-set size n (one training point in all) is widened to
            # n ± default_span / 2; HoloViews' 2 reaches 0 at n = 1, which a log
            # axis cannot show (it warns).  Sizes are integers >= 1: ± 0.5 is safe.
            default_span=1.0,
            xlabel="training points (log scale)", ylabel="RMSE (log scale)", **OPTIONS)


def coefficients(frame: pd.DataFrame | None) -> hv.Overlay:
    """Fitted coefficients in x by power, hollow where LASSO dropped the power, and the truth's."""
    frame = _or_empty(frame, ["power", "fitted", "true", "dropped"])
    kept, dropped = frame[~frame["dropped"].astype(bool)], frame[frame["dropped"].astype(bool)]
    value = hv.Dimension("coefficient", label="coefficient of xᵏ")
    return hv.Overlay([
        hv.Spikes(kept, "power", hv.Dimension("fitted", label="coefficient of xᵏ"),
                  label="fitted").opts(color=FIT_COLOR, line_width=3),
        hv.Scatter(kept.rename(columns={"fitted": "coefficient"}), "power", value,
                   label="fitted").opts(color=FIT_COLOR, size=9, tools=["hover"]),
        hv.Scatter(dropped.rename(columns={"fitted": "dropped_coefficient"}), "power",
                   hv.Dimension("dropped_coefficient", label="coefficient of xᵏ"),
                   label="dropped by LASSO (0)").opts(
            color=FIT_COLOR, fill_alpha=0, size=11, line_width=2, tools=["hover"]),
        hv.Scatter(frame.dropna(subset=["true"]), "power",
                   hv.Dimension("true", label="coefficient of xᵏ"), label="true").opts(
            color=TRUTH_COLOR, marker="x", size=14, line_width=3, tools=["hover"]),
    ]).opts(title="Coefficients in x (hover for values)", xlabel="power k",
            ylabel="coefficient of xᵏ", **OPTIONS)


def regularization_path(path) -> hv.Overlay:
    """Standardized coefficients against alpha, coloured by power; the chosen alpha marked."""
    # One all-NaN line stands for none: Bokeh cannot draw an empty multi-line.
    lines = [{"alpha": [np.nan], "coef": [np.nan], "power": 0}]
    if path is not None:
        lines = [{"alpha": path.alphas, "coef": path.coef[:, k], "power": k + 1}
                 for k in range(path.coef.shape[1])]
    title = ("Regularization path (standardized powers, what the penalty sees)"
             if path is not None else "Regularization path: choose an L2 or L1 penalty")
    return hv.Overlay([
        hv.Path(lines, ["alpha", hv.Dimension("coef", label="standardized coefficient")],
                vdims=["power"], label="coefficient of power k").opts(
            color="power", cmap="viridis", line_width=2, colorbar=True, tools=["hover"]),
        *_marks([path.alpha if path is not None else None]),
    ]).opts(title=title, logx=True, xlabel="alpha (log scale)",
            ylabel="standardized coefficient", **OPTIONS)


def residuals(frame: pd.DataFrame | None, against: str) -> hv.Overlay:
    """Residuals y - ŷ of each split against ``against`` ('x' or 'y_pred'); 0 as a line."""
    frame = _or_empty(frame, ["x", "y_pred", "residual", "split"])
    label = {"x": "x", "y_pred": "prediction ŷ"}[against]
    layers = [
        hv.Points(frame.loc[frame["split"] == split, [against, "residual"]],
                  [hv.Dimension(against, label=label),
                   hv.Dimension("residual", label="residual y − ŷ")], label=split).opts(
            color=COLORS[split], size=5, alpha=0.8, line_color=None, tools=["hover"],
            framewise=True)
        for split in ("train", "test")
    ]
    layers.append(hv.HLine(0).opts(color="gray", line_dash="dotted"))
    return hv.Overlay(layers).opts(
        title=f"Residuals against {label}", xlabel=label, ylabel="residual y − ŷ",
        padding=0.08, **OPTIONS)


def _or_empty(frame, columns) -> pd.DataFrame:
    return frame if frame is not None else pd.DataFrame({c: [] for c in columns})


def _log_ylim(*columns) -> tuple[float, float]:
    """Return the y limits of a log-scaled plot of ``columns``, explicit only if one holds 0.

    A log axis cannot show 0, an exact value here (the train RMSE of a fit
    through its one training point, σ² of noiseless data).  Left to itself,
    HoloViews then puts the axis' lower end at 0.01 and logs "Logarithmic axis
    range encountered value less than or equal to zero" at every update.  The
    lower end here is one decade below the smallest positive value; the zeros
    stay in the data and are not drawn, as before.  NaN (undefined) is ignored.
    """
    values = np.concatenate([np.asarray(c, dtype=float) for c in columns])
    if not (values <= 0).any():
        return (np.nan, np.nan)  # HoloViews' own range from the data
    positive = values[values > 0]
    if not positive.size:
        return (0.01, 1.0)  # nothing a log axis can show: any decade will do
    return (positive.min() / 10, np.nan)  # the upper end from the data
