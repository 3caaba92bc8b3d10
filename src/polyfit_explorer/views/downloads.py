"""The sidebar's exports: the data with their split, a script that refits, the pipeline."""

from __future__ import annotations

import io

import panel as pn
import panel_material_ui as pmui
import param

from ..exports import to_csv, to_script, to_skops
from ..model import RegressionModel

__all__ = ["Downloads"]


class Downloads(pn.viewable.Viewer):
    """Download buttons for what :mod:`polyfit_explorer.exports` writes of the model."""

    model = param.ClassSelector(class_=RegressionModel, doc="The model exported.")

    def __init__(self, **params):
        super().__init__(**params)
        model = self.model
        downloads = [
            ("Data (CSV)", "polyfit_data.csv", lambda: io.StringIO(to_csv(model))),
            ("Script (Python)", "polyfit_fit.py", lambda: io.StringIO(to_script(model))),
            ("Model (skops)", "polyfit_model.skops", lambda: io.BytesIO(to_skops(model))),
        ]
        self._view = pn.Column("### Export", *(
            pmui.FileDownload(label=label, filename=filename, callback=callback,
                              sizing_mode="stretch_width")
            for label, filename, callback in downloads), sizing_mode="stretch_width")

    def __panel__(self):
        """Return the heading and one button per export, each written when clicked."""
        return self._view
