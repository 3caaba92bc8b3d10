"""The sidebar's data controls: the ground truth, its generator's settings, your own CSV.

Each ground truth keeps its own generator and its own widgets: switching
back finds the settings left there.  Widgets come from the generators'
declarations; the numbers a person types go through ``views.controls``.
"""

from __future__ import annotations

import panel as pn
import panel_material_ui as pmui
import param

from ..data import DataGenerator
from ..model import RegressionModel
from ..parameters import InvalidValue
from ..userdata import MAX_BYTES
from ..workarounds import immediate, on_empty_upload
from .controls import TYPED, NumberSlider, _raise, controls, param_widgets

__all__ = ["DataControls"]

#: Parameters of a generator shown under "Data", in this order; parameters a
#: subclass adds for its own curve follow them.
DATA_PARAMETERS = ["n_samples", "x_min", "x_max", "noise_sd", "noise_mean",
                   "random_state", "resample"]
NOISE_PARAMETERS = ["noise_kind", "noise_df", "noise_growth", "outlier_fraction",
                    "outlier_scale"]
#: The accordion's title as large as the sections' "### Data" (a Markdown h3):
#: material's own title variant was larger than the headings it sits under.
HEADING_SX = {"& .title": {"fontSize": "1.17rem", "fontWeight": 700}}


class DataControls(pn.viewable.Viewer):
    """The ground-truth choice and the widgets of the model's current generator."""

    model = param.ClassSelector(class_=RegressionModel, doc="The model whose data are set.")

    truth = param.Parameter(
        allow_refs=False, doc="The Explorer's ``truth`` parameter (the object), as a select.")

    on_error = param.Callable(
        default=None, doc="Called with the InvalidValue of a refused value or file.")

    def __init__(self, **params):
        super().__init__(**params)
        #: Each generator's widgets, built when it is first shown.
        self.shown: dict[DataGenerator, pn.Column] = {}
        self._view = pn.Column(
            "### Data", pn.widgets.Select.from_param(self.truth, sizing_mode="stretch_width"),
            pn.bind(self._generator_controls, self.model.param.data),
            sizing_mode="stretch_width")

    def _generator_controls(self, generator: DataGenerator) -> pn.Column:
        if generator not in self.shown:
            build = (self._generator_widgets if getattr(generator, "has_truth", True)
                     else self._upload_widgets)
            self.shown[generator] = immediate(build(generator))
        return self.shown[generator]

    def _generator_widgets(self, generator: DataGenerator) -> pn.Column:
        extra = [p for p in generator._inputs() if p not in DATA_PARAMETERS + NOISE_PARAMETERS]
        typed = {**TYPED, **{name: NumberSlider for name in extra
                             if isinstance(generator.param[name], param.Number)}}
        return pn.Column(
            _introduction(generator),
            *controls(generator, DATA_PARAMETERS + extra, self.on_error, typed),
            pmui.Accordion(("Noise lab", _noise_widgets(generator)), sx=HEADING_SX,
                           sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    def _upload_widgets(self, dataset) -> pn.Column:
        """Return a CSV upload and the choice of its x and y columns, for your own data."""
        upload = pmui.FileInput(
            label="Upload a CSV file", sizing_mode="stretch_width",
            # Excel's "Unicode text" is a tab-separated .txt file.
            accept=".csv,.tsv,.txt,text/csv,text/plain,text/tab-separated-values",
            # Files up to 4× the limit reach the server, which says why it refuses them.
            max_file_size=4 * MAX_BYTES)

        def load(content: bytes):
            # The upload widget catches what its callbacks raise and logs it as
            # an error with a traceback; a refused file is the user's, not a fault.
            try:
                dataset.load_csv(content)
            except InvalidValue as error:
                (self.on_error or _raise)(error)

        upload.param.watch(lambda event: event.new is not None and load(event.new), "value")
        on_empty_upload(upload, lambda: load(b""))
        return pn.Column(
            _introduction(dataset), upload, *controls(dataset, ["x_column", "y_column"]),
            # Plain text: column names and cell values are never read as HTML.
            pn.pane.Str(dataset.param.note, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    def __panel__(self):
        """Return the heading, the ground-truth select and the generator's widgets."""
        return self._view


def _noise_widgets(generator: DataGenerator) -> pn.Column:
    """Return the noise lab's widgets; ν shows only while the noise is Student-t."""
    at = NOISE_PARAMETERS.index("noise_df")
    student_t = param_widgets(generator, ["noise_df"])
    student_t.visible = generator.param.noise_kind.rx() == "student_t"
    return pn.Column(param_widgets(generator, NOISE_PARAMETERS[:at]), student_t,
                     param_widgets(generator, NOISE_PARAMETERS[at + 1:]),
                     sizing_mode="stretch_width")


def _introduction(generator: DataGenerator) -> pn.pane.Markdown:
    """Return the first paragraph of the generator class's docstring (the developer's words)."""
    doc = (type(generator).__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
    return pn.pane.Markdown(doc, margin=(0, 10))
