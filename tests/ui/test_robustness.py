"""A user's ground truth that raises: the app says why and keeps its last valid state.

The served script defines a DataGenerator subclass with a deliberate bug (its
ground truth raises for more than 300 samples) and serves the Explorer on it.
The expected values come from the same class and settings, fitted here with
the model API.
"""

from __future__ import annotations

import re
from textwrap import dedent

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from polyfit_explorer import RegressionModel

from ._bokeh import RENDERED, sources
from .test_app import number_field, shows, wait_for_change

#: The user's subclass, run here for the expected values and written into the script.
TRUTH = dedent('''
    import numpy as np

    from polyfit_explorer import DataGenerator
    from polyfit_explorer.parameters import Number


    class FailingTruth(DataGenerator):
        """sin x, but the ground truth raises for more than 300 samples: a deliberate bug."""

        title = "Failing truth"

        noise_sd = Number(default=0.3)

        def ground_truth(self, x):
            """Evaluate sin x; raise for big samples."""
            if self.n_samples > 300:
                raise RuntimeError(f"cannot draw {self.n_samples} samples")
            return np.sin(x)
''')

SETTINGS = dict(n_samples=200, random_state=1)
DEGREE = 3

SCRIPT = TRUTH + dedent(f'''
    import panel as pn

    from polyfit_explorer import Explorer, RegressionModel

    model = RegressionModel(data=FailingTruth(**{SETTINGS!r}), degree={DEGREE})
    Explorer(model=model).servable()
''')

#: The one line the failure logs; the clean-run check accepts it in this test only.
FAILURE_LINE = (r"ERROR polyfit_explorer\.views\.explorer: Setting n_samples=400 failed in "
                r"ground_truth "
                r"\(failing_truth\.py:\d+\): RuntimeError: cannot draw 400 samples\. "
                r"Kept n_samples=200\.")


def expected_model(**changes) -> RegressionModel:
    """The app's model at ``changes``, built here from the same class."""
    namespace = {}
    exec(TRUTH, namespace)  # the user's class, as the script defines it
    data = namespace["FailingTruth"](**{**SETTINGS, **changes})
    return RegressionModel(data=data, degree=DEGREE)


def split_points(model: RegressionModel, split: str) -> set[tuple[float, float]]:
    rows = model.samples_[model.samples_["split"] == split]
    return set(zip(rows["x"], rows["y"], strict=True))


def shown_points(layers: dict, split: str) -> set[tuple[float, float]]:
    return set(zip(layers[split]["x"], layers[split]["y"], strict=True))


def assert_shows(layers: dict, model: RegressionModel):
    """The page's train, test and fit layers are those of ``model``."""
    for split in ("train", "test"):
        assert shown_points(layers, split) == split_points(model, split)
    curve = model.fit_curve()
    np.testing.assert_allclose(layers["fit"]["x"], curve["x"], rtol=1e-12)
    np.testing.assert_allclose(layers["fit"]["fit"], curve["y"], rtol=1e-9, atol=1e-12)


@pytest.fixture
def app(page: Page, serve_script, tmp_path) -> Page:
    script = tmp_path / "failing_truth.py"
    script.write_text(SCRIPT)
    page.goto(serve_script(script), timeout=30_000)
    page.wait_for_function(RENDERED, timeout=30_000)
    return page


@pytest.mark.expected_server_log(FAILURE_LINE)
def test_a_failing_ground_truth_keeps_the_plot_and_says_why(app: Page, tmp_path):
    before = sources(app)
    assert_shows(before, expected_model())
    samples = number_field(app, "Samples")
    expect(samples).to_have_value(shows("200"))
    alert = app.get_by_role("alert")
    expect(alert).to_be_hidden()

    samples.fill("400")
    samples.press("Enter")

    # (a) the message names the error; (c) the field shows the kept value again.
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("RuntimeError: cannot draw 400 samples")
    expect(alert).to_contain_text("Kept n_samples=200")
    expect(samples).to_have_value(shows("200"))
    # (b) the plot holds exactly the previous points and fit.
    after = sources(app)
    assert {k: after[k] for k in ("train", "test", "fit")} == {
        k: before[k] for k in ("train", "test", "fit")}

    # (d) a valid change then applies and clears the message.
    samples.fill("250")
    samples.press("Enter")

    wait_for_change(app, "train", before["train"])
    expect(alert).to_be_hidden()
    expect(samples).to_have_value(shows("250"))
    assert_shows(sources(app), expected_model(n_samples=250))
    expect(app.locator("td.train-n")).to_have_text(str(expected_model(n_samples=250).n_train_))

    # (e) the failure logged exactly one line; the conftest fails on anything else.
    log = (tmp_path / "failing_truth.log").read_text()
    assert len(re.findall(FAILURE_LINE, log)) == 1, log
    assert "Traceback" not in log
