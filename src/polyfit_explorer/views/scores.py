"""The scores card: train and test scores, the true error, alpha and warnings.

One HTML pane, rewritten after the plots' data on every refit (see
:meth:`Explorer._show`), so the browser reads the new fit before it lays out
the new text.  Every number comes from the model; sentences from the model
go through :func:`~.text.as_text`.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from .. import plots
from ..model import RegressionModel
from .text import as_text

__all__ = ["ScoresCard", "scores_html"]

SCORES_CSS = """
table.scores { border-collapse: collapse; font-size: 1.05em; margin: 0 0 0.5em 0; }
table.scores th, table.scores td { padding: 0.25em 1.2em 0.25em 0; text-align: right; }
table.scores td { font-variant-numeric: tabular-nums; }
table.scores tbody th { text-align: left; }
ul.fit-warnings { color: #b35900; max-width: 60em; }
"""


class ScoresCard(pn.viewable.Viewer):
    """The model's scores as a table with the sentences that explain them."""

    model = param.ClassSelector(class_=RegressionModel, doc="The model scored.")

    def __init__(self, **params):
        super().__init__(**params)
        self.pane = pn.pane.HTML(scores_html(self.model), stylesheets=[SCORES_CSS],
                                 sizing_mode="stretch_width")

    def update(self, state: str = ""):
        """Show the current scores; ``state`` names the settings they belong to.

        The state (the settings as a link query) lets a test tell whether the
        scores shown are those of the settings shown.
        """
        self.pane.object = scores_html(self.model, state)

    def __panel__(self):
        """Return the card's pane."""
        return self.pane


def scores_html(m: RegressionModel, state: str = "") -> str:
    """Return the scores table, chosen alpha and warnings as HTML.

    The verdict on the fit is shown apart, by :class:`~.hint.VerdictHint`.
    """
    rows = "".join(
        f"<tr><th>{name}</th><td class='train-{key}'>{_number(train)}</td>"
        f"<td class='test-{key}'>{_number(test)}</td></tr>"
        for name, key, train, test in [
            ("R²", "r2", m.train_score_, m.test_score_),
            ("RMSE", "rmse", m.train_rmse_, m.test_rmse_),
            ("MAE", "mae", m.train_mae_, m.test_mae_),
            ("points", "n", m.n_train_, m.n_test_),
        ])
    warnings = "".join(f"<li>{as_text(text)}</li>" for text in m.messages_)
    return (
        f"<table class='scores' data-state='{as_text(state)}'><thead><tr><th></th>"
        f"<th style='color:{plots.COLORS['train']}'>train</th>"
        f"<th style='color:{plots.COLORS['test']}'>test</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"<p class='truth'>{_truth_text(m)}</p>"
        f"<p class='alpha'>{_alpha_text(m)}</p>"
        + (f"<ul class='fit-warnings'>{warnings}</ul>" if warnings else "")
    )


def _truth_text(m: RegressionModel) -> str:
    return (f"True error (fit against E[y|x] = truth + noise mean): RMSE "
            f"<span class='true-rmse'>{_number(m.true_rmse_)}</span> · noise floor "
            f"σ = <span class='noise-sd'>{_number(m.data.noise_floor())}</span> · effective "
            f"degrees of freedom <span class='edf'>{m.edf_:.3g}</span> "
            f"of {m.degree + 1} coefficients")


def _alpha_text(m: RegressionModel) -> str:
    if m.alpha_ is None:
        return "α: none (no penalty)"
    if m.cv_points_ is None:
        how = "set by hand"
    else:
        how = f"chosen by {min(m.cv_folds, m.cv_points_)}-fold cross-validation"
        if m.alpha_mode == "cv_1se":
            how += ", one-standard-error rule"
        if m.cv_points_ < m.n_train_:
            how += f" on a random {m.cv_points_:,} of the {m.n_train_:,} training points"
    return f"α = {m.alpha_:.3g} ({how})"


def _number(value) -> str:
    """Format a score; undefined ones show as a dash, never as NaN."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    return str(value) if isinstance(value, (int, np.integer)) else f"{value:.4g}"
