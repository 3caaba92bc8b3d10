"""Pure functions from diagnostics results to what a figure shows: layers, ranges, title.

Each returns a :class:`Shown`: named layers (:class:`~.plots.Layer`: their
data sources' columns and how to draw them), the figure's ranges, its title
and its fixed options.  Whatever the input, the same names with layers of the
same kinds (empty when there is nothing to show), so a figure built from the
first result takes every later one by writing its data sources' columns
(``views.figure.Figure``).  Value dimensions are named after
the quantity (``cv_rmse``, ``bias2`` …) so every data source has columns of
its own.  Every number comes from :mod:`polyfit_explorer.diagnostics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import holoviews as hv
import numpy as np
import pandas as pd

from .plots import BACKEND_OPTIONS, COLORS, FIT_COLOR, FONT_SCALE, TRUTH_COLOR, Layer, padded

__all__ = [
    "FLOOR_FRACTION",
    "LEGEND_COLUMNS",
    "NO_PENALTY",
    "OPTIONS",
    "Shown",
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

#: Options every diagnostics figure has.
OPTIONS = dict(responsive=True, height=360, legend_position="top", show_grid=True,
               fontscale=FONT_SCALE, **BACKEND_OPTIONS)
#: Legend columns unless a figure says otherwise: three fit half of a 1280-pixel screen.
LEGEND_COLUMNS = 3


#: What stands instead of a figure against alpha while there is no penalty.
NO_PENALTY = "Choose an L2 or L1 penalty to see {what} against alpha."


@dataclass(frozen=True)
class Shown:
    """What one figure shows: named layers, ranges ``{"x": …, "y": …}``, a title, options.

    The options (axis labels, log axes, legend columns) are the same for every
    result of a figure.  A ``note`` says why there is nothing to show: the view
    then hides the figure and shows the note, one line of text, instead.
    """

    layers: dict
    ranges: dict
    title: str
    options: dict = field(default_factory=dict)
    note: str = ""


def _columns(frame: pd.DataFrame, *names: str) -> dict:
    return {name: frame[name].to_numpy(dtype=float) for name in names}


def _curve(frame, x, y, label, color, **opts) -> Layer:
    """Return a curve of the columns ``x`` and ``y`` of ``frame``."""
    dims = [hv.Dimension(y, label=opts.pop("ylabel", "RMSE"))]
    columns = _columns(frame, x, y)
    style = {"color": color, "line_width": 2, **opts}
    return Layer(columns, lambda: hv.Curve(columns, x, dims, label=label).opts(**style))


def _scatter(frame, x, y, label, **opts) -> Layer:
    """Return dots at the columns ``x`` and ``y`` of ``frame``, with hover."""
    columns = _columns(frame, x, y)
    dims = [hv.Dimension(y, label=opts.pop("ylabel", "RMSE"))]
    return Layer(columns, lambda: hv.Scatter(columns, x, dims, label=label).opts(
        tools=["hover"], **opts))


def _mark(value, dash="dashed") -> Layer:
    """Return a vertical line at ``value`` (None or NaN hides it): a setting in use."""
    location = np.nan if value is None else float(value)
    return Layer(location, lambda: hv.VLine(location).opts(
        color=MARK_COLOR, line_dash=dash, line_width=2))


def _log_range(*columns) -> tuple[float, float]:
    """Return a log axis' range over ``columns``: positive values only, padded in decades.

    A log axis cannot show 0, an exact value here (the train RMSE of a fit
    through its one training point, σ² of noiseless data): such values stay
    in the data and are not drawn.
    """
    return padded(np.concatenate([np.asarray(c, dtype=float) for c in columns]), log=True)


def validation_curve(frame: pd.DataFrame | None, degree: int | None) -> Shown:
    """Train, test and CV RMSE (± one standard error) against degree; the degree marked.

    Tapping the plot sets the degree, so the title says so.
    """
    frame = _or_empty(frame, ["degree", "train_rmse", "test_rmse", "cv_rmse", "cv_se"])
    # The band only where CV is defined: with fewer training points than folds
    # every cv_rmse is NaN, and an all-NaN band draws nothing but warnings.
    band = frame[frame["cv_rmse"].notna()]
    low = band["cv_rmse"] - band["cv_se"].fillna(0)
    layers = {
        "band": _band(band["degree"], band["cv_rmse"], band["cv_se"].fillna(0)),
        "train": _curve(frame, "degree", "train_rmse", "train", COLORS["train"]),
        "test": _curve(frame, "degree", "test_rmse", "test", COLORS["test"]),
        "cv": _curve(frame, "degree", "cv_rmse", "cross-validation", CV_COLOR,
                     line_dash="dashed"),
        "cv_points": _scatter(frame, "degree", "cv_rmse", "cross-validation",
                              color=CV_COLOR, size=6),
        "degree": _mark(degree),
    }
    ranges = {"x": padded(frame["degree"], padding=0.03),
              "y": _log_range(frame["train_rmse"], frame["test_rmse"], frame["cv_rmse"],
                              low[low > 0], band["cv_rmse"] + band["cv_se"].fillna(0))}
    return Shown(layers, ranges, "Error against degree (click a degree to fit it)",
                 dict(logy=True, xlabel="degree", ylabel="RMSE (log scale)"))


def _band(x, y, error) -> Layer:
    """Return the band y ± error over x as one patch: along the lower edge and back."""
    x, y, error = (np.asarray(v, dtype=float) for v in (x, y, error))
    columns = {"x": np.concatenate([x, x[::-1]]),
               "y": np.concatenate([y - error, (y + error)[::-1]])}
    return Layer(columns, lambda: hv.Spread(
        (x, y, error), "degree", [hv.Dimension("cv_rmse", label="RMSE"), "cv_se"]).opts(
        color=CV_COLOR, alpha=0.2, line_alpha=0))


def alpha_errors(path, penalty_name: str = "") -> Shown:
    """Train, test and CV RMSE against alpha, with the CV and one-SE alphas marked."""
    frame = _or_empty(path.frame() if path is not None else None,
                      ["alpha", "train_rmse", "test_rmse", "cv_rmse", "cv_se"])
    # Short enough for half of a 1280-pixel screen; the tab's text says what the marks are.
    title = f"Error against alpha, {penalty_name}" if path is not None else "Error against alpha"
    best, one_se = (path.best_alpha, path.one_se_alpha) if path is not None else (None, None)
    layers = {
        "train": _curve(frame, "alpha", "train_rmse", "train", COLORS["train"]),
        "test": _curve(frame, "alpha", "test_rmse", "test", COLORS["test"]),
        "cv": _curve(frame, "alpha", "cv_rmse", "cross-validation", CV_COLOR,
                     line_dash="dashed"),
        "best": _mark(best),
        "one_se": _mark(one_se, dash="dotted"),
    }
    ranges = {"x": _log_range(frame["alpha"]),
              "y": _log_range(frame["train_rmse"], frame["test_rmse"], frame["cv_rmse"])}
    return Shown(layers, ranges, title, dict(logx=True, logy=True, xlabel="alpha (log scale)",
                                             ylabel="RMSE (log scale)"),
                 note="" if path is not None else NO_PENALTY.format(what="the error"))


def replicate_fits(result, drawn: int = DRAWN_FITS) -> Shown:
    """Draw a few of the R refits, faint, with their mean and the truth on top.

    The y range follows the truth and the mean fit; stray refits may leave it.
    """
    if result is None:
        x = np.empty(0)
        refits, mean, target = np.full((1, 2), np.nan), x, x
        title = "Refits on fresh noise"
    else:
        x = result.x
        refits = _one_path(x[::2], result.fits[:drawn, ::2])
        mean, target = result.mean_fit, result.target
        title = f"{min(drawn, result.replicates)} of {result.replicates} refits on fresh noise"
    curves = pd.DataFrame({"x": x, "mean_fit": mean, "expected_y": target})
    layers = {
        "refits": Layer({"xs": [refits[:, 0]], "ys": [refits[:, 1]]}, lambda: hv.Path(
            [refits], ["x", hv.Dimension("replicate_fit", label="y")],
            label="refits on fresh noise").opts(color=FIT_COLOR, alpha=0.12, line_width=1)),
        "mean": _curve(curves, "x", "mean_fit", "mean fit", FIT_COLOR, ylabel="y",
                       line_width=3),
        "target": _curve(curves, "x", "expected_y", "E[y|x]", TRUTH_COLOR, ylabel="y",
                         line_dash="dashed"),
    }
    ranges = {"x": padded(x, padding=0.02), "y": padded(np.concatenate([mean, target]))}
    return Shown(layers, ranges, title, dict(xlabel="x", ylabel="y"))


def _one_path(x: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Return the rows of ``lines`` (y at ``x``) as one path, broken by NaN rows.

    One path of many pieces, not many paths: HoloViews splits a path element
    into a dataset per path, which took 150 ms for 50 refits; Bokeh draws a
    NaN as a break.
    """
    pieces = np.full((len(lines), len(x) + 1, 2), np.nan)
    pieces[:, :-1, 0], pieces[:, :-1, 1] = x, lines
    return pieces.reshape(-1, 2)


def bias_variance_curve(frame: pd.DataFrame | None, key: str, current) -> Shown:
    """Bias², variance, σ² and their total against ``key`` ('degree' or 'alpha').

    Bias² is exact where a closed form exists (least squares, Ridge) and
    the refits' bias-corrected estimate elsewhere (LASSO, Huber): two layers,
    so the legend says which.  The dots are the refits' mean squared error
    on fresh data, the error expected on new data, which the total should match.
    """
    columns = ["bias2", "variance", "noise", "total", "expected_mse"]
    frame = _or_empty(frame, [key, *columns, "method"])
    closed = (frame["method"] == "closed form").to_numpy()
    bias2 = frame["bias2"].to_numpy(dtype=float)
    frame = frame.assign(bias2_closed_form=np.where(closed, bias2, np.nan),
                         bias2_refits=np.where(closed, np.nan, bias2))
    log_x = key == "alpha"
    title = "Bias² + variance + σ² against " + key
    error = dict(ylabel="squared error")
    layers = {
        "bias2": _curve(frame, key, "bias2_closed_form", "bias² (closed form)", BIAS_COLOR,
                        **error),
        "bias2_refits": _curve(frame, key, "bias2_refits", "bias² (refits, corrected)",
                               BIAS_COLOR, line_dash="dashed", **error),
        "variance": _curve(frame, key, "variance", "variance", VARIANCE_COLOR, **error),
        "noise": _curve(frame, key, "noise", "noise σ²", "gray", line_dash="dotted", **error),
        "total": _curve(frame, key, "total", "total", TOTAL_COLOR, **error),
        # Not "test MSE": that is the score table's, of one test split.
        "measured": _scatter(frame, key, "expected_mse", "MSE on new data", color="black",
                             size=5, **error),
        "current": _mark(current),
    }
    ranges = {"x": _log_range(frame[key]) if log_x else padded(frame[key], padding=0.03),
              "y": _log_range(*(frame[c] for c in columns))}
    return Shown(layers, ranges, title, dict(
        logy=True, logx=log_x, xlabel=key + (" (log scale)" if log_x else ""),
        ylabel="squared error (log scale)", legend_cols=2),
        note=NO_PENALTY.format(what="bias and variance") if log_x and not len(frame) else "")


#: The learning curve's log axis starts at this fraction of the noise σ (of the
#: largest error without noise): a fit through its few training points has a
#: training error of 1e-15, which would stretch the axis over 15 decades and
#: squash the errors worth reading into its top few.
FLOOR_FRACTION = 1e-3


def learning_curve(frame: pd.DataFrame | None, noise_sd: float | None) -> Shown:
    """Train, test and true RMSE against the number of training points; σ as a line.

    The y axis stops at a floor, :data:`FLOOR_FRACTION` of σ (or of the
    largest error when σ is 0): errors below it, the machine zero of an
    interpolating fit, are drawn at the floor and marked there, with their
    value on hover.
    """
    series = {"train_rmse": "train", "test_rmse": "test", "true_rmse": "true error"}
    frame = _or_empty(frame, ["n_train", *series])
    noise = frame.assign(noise_sd=np.nan if noise_sd is None else noise_sd)
    floor, floor_name = _error_floor(frame[list(series)].to_numpy(dtype=float), noise_sd)
    drawn = frame.assign(**{c: np.maximum(frame[c], floor) for c in series})
    below = pd.concat([pd.DataFrame({"n_train": frame["n_train"], "floor_rmse": floor,
                                     "rmse_below_floor": frame[c], "error": name})[
                           frame[c] < floor] for c, name in series.items()])
    layers = {
        "train": _curve(drawn, "n_train", "train_rmse", "train", COLORS["train"]),
        "test": _curve(drawn, "n_train", "test_rmse", "test", COLORS["test"]),
        "true": _curve(drawn, "n_train", "true_rmse", "true error (vs E[y|x])", TRUTH_COLOR),
        "noise": _curve(noise, "n_train", "noise_sd", "noise σ", "gray", line_dash="dotted"),
        "below": _below_floor(below),
    }
    ranges = {"x": _log_range(frame["n_train"]),
              "y": _log_range(*(drawn[c] for c in series), noise["noise_sd"])}
    title = "Error against training-set size"
    if len(below):
        title += f" (▼: below {floor_name})"
    return Shown(layers, ranges, title, dict(
        logx=True, logy=True, xlabel="training points (log scale)", ylabel="RMSE (log scale)",
        legend_cols=2))


def _error_floor(errors: np.ndarray, noise_sd: float | None) -> tuple[float, str]:
    """Return the learning curve's axis floor and how to name it; 0 if there is none."""
    if noise_sd is not None and noise_sd > 0:
        return FLOOR_FRACTION * noise_sd, f"{FLOOR_FRACTION:g}·σ"
    finite = errors[np.isfinite(errors)]
    if not finite.size or finite.max() <= 0:
        return 0.0, ""
    return FLOOR_FRACTION * finite.max(), f"{FLOOR_FRACTION:g} × the largest error"


def _below_floor(below: pd.DataFrame) -> Layer:
    """Return markers at the floor for errors below it, with their values on hover."""
    columns = {"n_train": below["n_train"].to_numpy(dtype=float),
               "floor_rmse": below["floor_rmse"].to_numpy(dtype=float),
               "rmse_below_floor": below["rmse_below_floor"].to_numpy(dtype=float),
               "error": below["error"].to_numpy(dtype=object)}
    dims = [hv.Dimension("floor_rmse", label="RMSE"),
            hv.Dimension("rmse_below_floor", label="RMSE below the floor"), "error"]
    return Layer(columns, lambda: hv.Scatter(columns, "n_train", dims,
                                             label="below the axis floor").opts(
        color=MARK_COLOR, marker="inverted_triangle", size=9, tools=["hover"]))


def coefficients(frame: pd.DataFrame | None) -> Shown:
    """Fitted coefficients in x by power, hollow where LASSO dropped the power, and the truth's."""
    frame = _or_empty(frame, ["power", "fitted", "true", "dropped"])
    kept, dropped = frame[~frame["dropped"].astype(bool)], frame[frame["dropped"].astype(bool)]
    coefficient_label = {"label": "coefficient of power k"}
    truth = frame.dropna(subset=["true"])
    coefficient = dict(ylabel="coefficient of power k")
    stems = {"x": kept["power"].to_numpy(dtype=float), "y0": np.zeros(len(kept)),
             "y1": kept["fitted"].to_numpy(dtype=float)}
    layers = {
        # A spike's segment from 0 to the coefficient: Bokeh's columns x, y0, y1.
        "stems": Layer(stems, lambda: hv.Spikes(
            kept, "power", hv.Dimension("fitted", **coefficient_label), label="fitted").opts(
            color=FIT_COLOR, line_width=3)),
        "fitted": _scatter(kept.rename(columns={"fitted": "coefficient"}), "power",
                           "coefficient", "fitted", color=FIT_COLOR, size=9, **coefficient),
        "dropped": _scatter(dropped.rename(columns={"fitted": "dropped_coefficient"}), "power",
                            "dropped_coefficient", "dropped by LASSO (0)", color=FIT_COLOR,
                            fill_alpha=0, size=11, line_width=2, **coefficient),
        "true": _scatter(truth, "power", "true", "true", color=TRUTH_COLOR, marker="x",
                         size=14, line_width=3, **coefficient),
    }
    ranges = {"x": (-0.5, max(len(frame), 1) - 0.5),
              "y": padded(np.concatenate([frame["fitted"], truth["true"], [0.0]]))}
    variable = frame.attrs.get("variable", "x")
    return Shown(layers, ranges, f"Coefficients in {variable} (hover for values)",
                 dict(xlabel="power k", ylabel="coefficient of power k"))


COEF_LABEL = "standardized coefficient"


def regularization_path(path) -> Shown:
    """Standardized coefficients against alpha, coloured by power; the chosen alpha marked."""
    # One all-NaN line stands for none: Bokeh cannot draw an empty multi-line.
    lines = [{"alpha": [np.nan], "coef": [np.nan], "power": 0}]
    if path is not None:
        lines = [{"alpha": path.alphas, "coef": path.coef[:, k], "power": k + 1}
                 for k in range(path.coef.shape[1])]
    title = "Regularization path (standardized powers)"
    layers = {
        # Contours, not Path: a Path coloured by a value is sent as one line per
        # segment (705 for 15 powers, 1,441 websocket buffers); Contours keeps 15.
        "path": hv.Contours(lines, ["alpha", hv.Dimension("coef", label=COEF_LABEL)],
                            vdims=["power"], label="coefficient of power k").opts(
            color="power", cmap="viridis", line_width=2, colorbar=True, tools=["hover"]),
        "alpha": _mark(path.alpha if path is not None else None),
    }
    alphas = np.concatenate([np.asarray(line["alpha"], dtype=float) for line in lines])
    coef = np.concatenate([np.asarray(line["coef"], dtype=float) for line in lines])
    ranges = {"x": _log_range(alphas), "y": padded(coef)}
    return Shown(layers, ranges, title, dict(logx=True, xlabel="alpha (log scale)",
                                             ylabel=COEF_LABEL),
                 note="" if path is not None else NO_PENALTY.format(what="the coefficients"))


def residuals(frame: pd.DataFrame | None, against: str) -> Shown:
    """Residuals y - ŷ of each split against ``against`` ('x' or 'y_pred'); 0 as a line."""
    frame = _or_empty(frame, ["x", "y_pred", "residual", "split"])
    label = {"x": "x", "y_pred": "prediction ŷ"}[against]
    dims = [hv.Dimension(against, label=label), hv.Dimension("residual", label="residual y − ŷ")]
    layers = {split: _residual_points(frame.loc[frame["split"] == split], dims, split)
              for split in ("train", "test")}
    layers["zero"] = Layer(0.0, lambda: hv.HLine(0).opts(color="gray", line_dash="dotted"))
    ranges = {"x": padded(frame[against]), "y": padded(np.append(frame["residual"], 0.0))}
    return Shown(layers, ranges, f"Residuals against {label}",
                 dict(xlabel=label, ylabel="residual y − ŷ"))


def _residual_points(frame: pd.DataFrame, dims: list, split: str) -> Layer:
    columns = _columns(frame, *(d.name for d in dims))
    return Layer(columns, lambda: hv.Points(columns, dims, label=split).opts(
        color=COLORS[split], size=5, alpha=0.8, line_color=None, tools=["hover"]))


def _or_empty(frame, columns) -> pd.DataFrame:
    return frame if frame is not None else pd.DataFrame({c: [] for c in columns})
