"""polyfit_explorer: explore polynomial regression interactively.

The models (:class:`DataGenerator` and its ground truths, :class:`RegressionModel`)
import no Panel, Bokeh or HoloViews; :class:`Explorer` is the app and is imported
only when first used, so scripts that only fit start fast.
"""

import sys as _sys

from . import allocator as _allocator

# The serve command chooses its allocator now, before scikit-learn and SciPy are
# imported below: starting the interpreter again later would import them twice.
if _allocator.started_as_serve_command(_sys.orig_argv):
    _allocator.use_system_malloc()

from .data import (
    AbsoluteValue,
    DataGenerator,
    Polynomial,
    Runge,
    Sine,
    Step,
    ground_truths,
)
from .model import RegressionModel, Scores
from .userdata import Dataset

__all__ = [
    "AbsoluteValue",
    "DataGenerator",
    "Dataset",
    "Explorer",
    "Polynomial",
    "RegressionModel",
    "Runge",
    "Scores",
    "Sine",
    "Step",
    "ground_truths",
]

__version__ = "0.1.0"


def __getattr__(name):
    # The app pulls in Panel, Bokeh and HoloViews: load it on first use only.
    if name == "Explorer":
        from .views.explorer import Explorer

        return Explorer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
