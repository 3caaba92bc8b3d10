import doctest
import importlib
import subprocess
import sys

import param
import pytest

import polyfit_explorer
from polyfit_explorer import DataGenerator, RegressionModel

UI_LIBRARIES = {"panel", "bokeh", "holoviews"}


@pytest.mark.parametrize(
    "module",
    ["polyfit_explorer", "polyfit_explorer.data", "polyfit_explorer.model",
     "polyfit_explorer.diagnostics", "polyfit_explorer.verdict",
     "polyfit_explorer.estimators", "polyfit_explorer.lessons"],
)
def test_models_import_no_ui_library(module):
    code = (
        f"import sys, {module}\n"
        "from polyfit_explorer import RegressionModel\n"
        "RegressionModel(degree=4).test_score_\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & set("
        f"{sorted(UI_LIBRARIES)!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_explorer_is_loaded_on_first_use():
    code = ("import sys, polyfit_explorer\n"
            "assert 'panel' not in sys.modules\n"
            "polyfit_explorer.Explorer\n"
            "print('panel' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True"


def test_public_api_is_declared():
    for name in polyfit_explorer.__all__:
        obj = getattr(polyfit_explorer, name)
        assert obj.__name__ == name
        assert obj.__module__.startswith("polyfit_explorer.")
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        polyfit_explorer.Missing  # noqa: B018


def test_every_public_parameter_has_a_doc():
    from polyfit_explorer import Explorer
    from polyfit_explorer.diagnostics import Diagnostics

    classes = [DataGenerator, RegressionModel, Explorer, Diagnostics,
               *param.concrete_descendents(DataGenerator).values()]
    missing = [f"{cls.__name__}.{name}" for cls in classes
               for name, p in cls.param.objects().items()
               if name != "name" and not name.startswith("_") and not p.doc]
    assert missing == []


def test_console_script_runs_the_package_server():
    from importlib.metadata import entry_points

    from polyfit_explorer.__main__ import main

    (script,) = entry_points(group="console_scripts", name="polyfit-explorer")
    assert script.load() is main


@pytest.mark.parametrize("module", ["data", "estimators", "model", "diagnostics", "views.explorer",
                                    "parameters", "views.controls", "views.text",
                                    "views.diagnostics", "verdict", "lessons.format",
                                    "views.lesson"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(f"polyfit_explorer.{module}"))
    assert result.attempted > 0
    assert result.failed == 0
