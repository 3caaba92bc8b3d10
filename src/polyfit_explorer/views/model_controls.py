"""The sidebar's model controls: degree, loss, penalty, how alpha is chosen, folds, split.

Generated from :class:`RegressionModel`'s declarations (labels, tooltips,
bounds); the manual alpha gets a slider over log₁₀ alpha of its own.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import panel_material_ui as pmui
import param

from ..model import SETTINGS, RegressionModel
from ..workarounds import immediate
from .controls import TYPED, _raise, controls, set_or_report

__all__ = ["ModelControls"]

#: The manual-alpha slider moves log10(alpha) in steps of a quarter decade.
LOG_ALPHA_RANGE = (-6.0, 4.0)


class ModelControls(pn.viewable.Viewer):
    """Widgets for every setting of a :class:`RegressionModel`, in the order of SETTINGS."""

    model = param.ClassSelector(class_=RegressionModel, doc="The model the widgets set.")

    on_error = param.Callable(
        default=None, doc="Called with the InvalidValue of a refused typed value.")

    def _alpha_slider(self) -> pmui.FloatSlider:
        """Return a slider over log10(alpha), kept in step with the model both ways."""
        model = self.model
        slider = pmui.FloatSlider(
            label="Alpha (log₁₀)", start=LOG_ALPHA_RANGE[0], end=LOG_ALPHA_RANGE[1],
            step=0.25, value=float(np.log10(model.alpha)),
            description=model.param.alpha.doc, sizing_mode="stretch_width")

        def to_model(event):
            # Skip the echo of a model change, which would refit with a rounded alpha.
            if np.isclose(np.log10(model.alpha), event.new, rtol=0, atol=1e-9):
                return
            if not set_or_report(model, "alpha", 10.0 ** event.new, self.on_error or _raise):
                slider.value = float(np.log10(model.alpha))  # the model kept its alpha

        slider.param.watch(to_model, "value_throttled")
        model.param.watch(lambda e: setattr(slider, "value", float(np.log10(e.new))), "alpha")
        slider.disabled = pn.bind(lambda mode, penalty: mode != "manual" or penalty == "none",
                                  model.param.alpha_mode, model.param.penalty)
        return slider

    def __init__(self, **params):
        super().__init__(**params)
        at = SETTINGS.index("alpha")
        widgets = [*controls(self.model, SETTINGS[:at], self.on_error, TYPED),
                   self._alpha_slider(),
                   *controls(self.model, SETTINGS[at + 1:], self.on_error, TYPED)]
        self._view = immediate(pn.Column("### Model", *widgets, sizing_mode="stretch_width"))

    def __panel__(self):
        """Return the heading and the widgets; alpha by hand on its own slider."""
        return self._view
