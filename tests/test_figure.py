"""The patched figure: built once by HoloViews, updated by writing its Bokeh models."""

import holoviews as hv
import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Span
from pyviz_comms import Comm

from polyfit_explorer.views.figure import Figure


def layers(shift: float, lines: int) -> dict:
    x = np.linspace(0, 1, 5)
    return {
        "curve": hv.Curve((x, x + shift), "x", "fit"),
        "mark": hv.VLine(shift),
        "paths": hv.Path([{"a": x, "b": x * k, "power": k} for k in range(1, lines + 1)],
                         ["a", "b"], vdims=["power"]).opts(color="power", cmap="viridis"),
    }


@pytest.fixture
def figure():
    return Figure(layers(0.0, 2), {"x": (0, 1), "y": (0, 2)}, title="first")


@pytest.fixture
def root(figure):
    return pn.panel(figure).get_root(Document(), comm=Comm())


def models(root, kind):
    return [m for m in root.references() if isinstance(m, kind)]


def test_an_update_writes_data_ranges_and_title_into_the_models_there(figure, root):
    before = {m.id for m in root.references()}
    (curve,) = [s for s in models(root, ColumnDataSource) if "fit" in s.data]
    figure.update(layers(0.5, 4), {"x": (-1.0, 2.0), "y": (0.25, 8.0)}, "second")

    np.testing.assert_allclose(curve.data["fit"], np.linspace(0, 1, 5) + 0.5)
    (span,) = models(root, Span)
    assert span.location == 0.5
    (paths,) = [s for s in models(root, ColumnDataSource) if "xs" in s.data]
    assert sorted(set(paths.data["power"])) == [1, 2, 3, 4]  # more lines than drawn first
    plot = figure._renders[root.ref["id"]].figure.handles["plot"]
    assert (plot.x_range.start, plot.x_range.end, plot.y_range.start, plot.y_range.end) == (
        -1.0, 2.0, 0.25, 8.0)
    assert (plot.x_range.reset_start, plot.x_range.reset_end) == (-1.0, 2.0)
    assert plot.title.text == "second"
    assert figure.ranges == {"x": (-1.0, 2.0), "y": (0.25, 8.0)}
    # Patched, not rebuilt: not one Bokeh model more or less.
    assert {m.id for m in root.references()} == before


def test_a_line_at_nan_is_hidden_and_a_tag_names_the_data(figure, root):
    figure.update({"mark": hv.VLine(np.nan)})
    (span,) = models(root, Span)
    assert span.location is None
    figure.tag("curve", "degree=3")
    (curve,) = [s for s in models(root, ColumnDataSource) if "fit" in s.data]
    assert curve.tags == ["degree=3"]


def test_every_render_is_updated(figure):
    roots = [pn.panel(figure).get_root(Document(), comm=Comm()) for _ in range(2)]
    figure.update({"curve": hv.Curve(([0, 1], [5, 6]), "x", "fit")})
    for root in roots:
        (curve,) = [s for s in models(root, ColumnDataSource) if "fit" in s.data]
        assert list(curve.data["fit"]) == [5, 6]
