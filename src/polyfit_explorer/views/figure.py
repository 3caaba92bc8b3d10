"""A figure HoloViews builds once and the app updates by writing its data sources.

HoloViews builds the figure from named layers (axes, legend, tools, styles,
edit streams).  After that, an update asks each layer's HoloViews plot only
for its data (``get_data``, the step HoloViews itself uses) and assigns it to
the layer's Bokeh ``ColumnDataSource`` (or a line's location), under one
``hold`` per document: no HoloViews update cycle, no option lookups, no new
Bokeh models, no walk over the document's models.  A degree change through
HoloViews' update cycle cost about 150 ms of server time; this way about 10.

The figure's ranges are set here too, never by HoloViews (no layer is
``framewise``), so an update cannot rescale the plot unless it says so.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from functools import reduce
from operator import mul

import holoviews as hv
import holoviews.plotting.bokeh  # registers the backend that .opts() needs
import numpy as np
import panel as pn
from panel.io.document import hold

from ..plots import Layer

__all__ = ["Figure"]


class _Render:
    """One render of a figure (a page; a notebook can show a figure twice)."""

    def __init__(self):
        self.figure = None  # the overlay's HoloViews plot
        self.layers = {}  # layer name -> the layer's HoloViews plot


class Figure(pn.viewable.Viewer):
    """A HoloViews overlay of named layers, updated by patching its Bokeh models.

    Parameters
    ----------
    layers : dict
        Layer name to the element drawn first.  Every later update gives
        elements of the same types, with the same dimensions, for some of
        these names.
    ranges : dict
        The initial ``{"x": (start, end), "y": (start, end)}``.
    extra : list
        Layers HoloViews keeps updating itself (a DynamicMap over Datashader
        images, which follow zooming); they go under the named layers.
    options :
        Options of the overlay (title, size, legend, log axes).
    """

    def __init__(self, layers: Mapping[str, hv.Element], ranges: Mapping, extra=(),
                 **options):
        super().__init__()
        self._renders: dict[str, _Render] = {}
        # The latest update of each layer, title and tag: a render made after an
        # update (a page built after a link changed the data, a notebook showing
        # the figure again) starts from them, not from the elements drawn first.
        self._latest: dict = {}
        self._title: str | None = None
        self._tags: dict[str, str] = {}
        #: The presenter view's scale, and each Bokeh property's size before it.
        self._scale, self._first_sizes = 1.0, {}
        #: The elements first drawn, by layer name: edit streams take them as their source.
        drawn = {name: layer.draw() if isinstance(layer, Layer) else layer
                 for name, layer in layers.items()}
        self.layers = {name: element.opts(hooks=[*_hooks(element), self._capture(name)])
                       for name, element in drawn.items()}
        self._ranges = dict(ranges)
        overlay = reduce(mul, [*extra, *self.layers.values()]).opts(
            hooks=[self._capture(None)], xlim=self._ranges["x"], ylim=self._ranges["y"],
            **options)
        # Unlinked: figures of the app share dimension names, not axes.
        self.pane = pn.pane.HoloViews(overlay, linked_axes=False, sizing_mode="stretch_width")

    def _capture(self, name: str | None):
        """Return a hook that records the HoloViews plot of layer ``name`` (None: the overlay).

        It holds the figure weakly: HoloViews keeps an element's options, hooks
        included, in a registry of its own until the element is collected, and
        the figure holds its elements, so a strong hook would keep both (and a
        closed session's page) for good.
        """
        figure = weakref.ref(self)

        def hook(plot, element):
            this = figure()
            if this is None:
                return
            render = this._renders.setdefault(plot.root.ref["id"], _Render())
            if name is not None:
                render.layers[name] = plot
            elif render.figure is None:  # the overlay's hook runs after its layers'
                render.figure = plot
                this._catch_up(render)

        return hook

    @property
    def ranges(self) -> dict:
        """The ranges last set: ``{"x": (start, end), "y": (start, end)}``."""
        return dict(self._ranges)

    def update(self, layers: Mapping[str, hv.Element | Layer | Mapping] | None = None,
               ranges: Mapping | None = None, title: str | None = None):
        """Show new elements for some layers, and new ranges or a new title.

        A layer's new data may be an element like the one drawn first, a
        :class:`~polyfit_explorer.plots.Layer`, or the columns of its data source
        as a dict (the fastest: what a refit sends).

        Each render is updated under one hold of its document, so the browser
        gets one message per update, in this order: data, ranges, title.
        """
        self._ranges.update(ranges or {})
        self._latest.update(layers or {})
        self._title = self._title if title is None else title
        for render in self._held_renders():
            for name, element in (layers or {}).items():
                _patch(render.layers[name], element)
            if ranges:
                _set_ranges(render.figure, ranges)
            if title is not None:
                render.figure.handles["plot"].title.text = title

    def _catch_up(self, render: _Render):
        """Give a new render the latest data, ranges, title and tags.

        Not the presenter view's sizes: Panel's design sets the fonts after
        this (see :meth:`enlarge`).
        """
        for name, element in self._latest.items():
            _patch(render.layers[name], element)
        _set_ranges(render.figure, self._ranges)
        if self._title is not None:
            render.figure.handles["plot"].title.text = self._title
        for name, value in self._tags.items():
            render.layers[name].handles["source"].tags = [value]

    def _held_renders(self):
        """Yield each complete render, its document held (and pushed to its comm) meanwhile."""
        for render in list(self._renders.values()):
            if render.figure is not None:
                with hold(render.figure.document, comm=render.figure.comm):
                    yield render

    def enlarge(self, scale: float):
        """Draw text, lines and markers ``scale`` times their size, and the plot taller.

        For a projector (the presenter view); 1 restores the sizes before.
        It sets the Bokeh models' properties of the live figures (no rebuild);
        a page must be loaded first (``pn.state.onload``): Panel's design sets
        the figure's fonts after HoloViews built it, overwriting earlier sizes.
        """
        self._scale = scale
        for render in self._held_renders():
            _enlarge(render.figure.handles["plot"], scale, self._first_sizes)

    def tag(self, name: str, value: str):
        """Tag layer ``name``'s data source with ``value``: what its data belong to.

        The browser tests read it to tell whether the data shown are those of
        the settings shown (see ``polyfit_explorer.testing.SETTLED``).
        """
        self._tags[name] = value
        for render in self._held_renders():
            source = render.layers[name].handles["source"]
            if source.tags != [value]:
                source.tags = [value]

    def __panel__(self):
        """Return the figure's pane."""
        return self.pane


#: What :meth:`Figure.enlarge` scales: (models of a figure, their size properties).
_TEXT = ("axis_label_text_font_size", "major_label_text_font_size", "text_font_size",
         "label_text_font_size")
_LINES = ("line_width", "size")
#: How much of the text's scale the plot's height takes (1.5 × text: 1.35 × height).
PLOT_GROWTH = 0.7
_CSS_SIZE = re.compile(r"([\d.]+)(px|pt|em|rem|%)")


def _enlarge(figure, scale: float, first: dict):
    """Scale a Bokeh figure's fonts, line widths, marker sizes and height.

    ``first`` holds each property's size before the scaling, by model and name;
    ``scale`` 1 restores them and forgets them.
    """
    models = [*figure.axis, figure.title, *figure.legend,
              *(r.glyph for r in figure.renderers if hasattr(r, "glyph"))]
    for model in models:
        for name in (*_TEXT, *_LINES):
            if name not in model.properties():
                continue
            key = f"{model.id}.{name}"
            value = first.pop(key, None) if scale == 1 else first.setdefault(
                key, getattr(model, name))
            size = _CSS_SIZE.fullmatch(value) if isinstance(value, str) else None
            if size is not None:
                setattr(model, name, f"{float(size[1]) * scale:g}{size[2]}")
            elif isinstance(value, int | float) and not isinstance(value, bool):
                setattr(model, name, value * scale)
    key = f"{figure.id}.height"
    height = first.pop(key, None) if scale == 1 else first.setdefault(key, figure.height)
    if height is not None:
        figure.height = round(height * (1 + (scale - 1) * PLOT_GROWTH))


def _hooks(element: hv.Element) -> list:
    """Return the hooks ``element`` has already: the capture comes on top of them."""
    return list(element.opts.get("plot").kwargs.get("hooks", []))


def _patch(plot, element: hv.Element | Layer | Mapping):
    """Give one layer's Bokeh models the data of ``element``, as HoloViews would."""
    if isinstance(element, Layer):
        element = element.draw() if element.columns is None else element.columns
    if isinstance(element, Mapping):  # the columns themselves
        plot.handles["source"].data = {
            name: v if _ragged(v) else np.asarray(v) for name, v in element.items()}
        return
    if not isinstance(element, hv.Element):  # a line's location
        location = None if element is None or not np.isfinite(element) else float(element)
        plot.handles["glyph"].location = location
        return
    source = plot.handles.get("source")
    dimensions = element.dimensions(label="name")
    if source is not None and source.data and set(source.data) <= set(dimensions):
        # Each column is one of the element's dimensions (a curve, a scatter): the
        # values as they are, without HoloViews' get_data (a millisecond each).
        source.data = {name: element.dimension_values(name) for name in source.data}
        return
    # With the layer's style, so columns a style maps (a colour by power) come too.
    data, mapping, _ = plot.get_data(element, {}, dict(plot.style[plot.cyclic_index]))
    glyph = plot.handles["glyph"]
    if "location" in mapping:  # a vertical or horizontal line: a Span, without a source
        location = mapping["location"]
        glyph.location = None if location is None or not np.isfinite(location) else location
        return
    # A column a hook added (the edit layer's labels) comes from the element's dimension.
    for name in source.data.keys() - data.keys():
        if name in dimensions:
            data[name] = element.dimension_values(name)
    source.data = {name: np.asarray(values) if not _ragged(values) else values
                   for name, values in data.items()}


def _ragged(values) -> bool:
    """Whether ``values`` is a multi-line's list of arrays, which Bokeh takes as a list."""
    return isinstance(values, list) and len(values) > 0 and np.ndim(values[0]) > 0


def _set_ranges(plot, ranges: Mapping):
    for axis, (start, end) in ranges.items():
        bokeh_range = plot.handles[f"{axis}_range"]
        # The reset tool goes back to these too, not to the first range drawn.
        bokeh_range.update(start=start, end=end, reset_start=start, reset_end=end)
