"""Read the served app's plot data back from the Bokeh document in the page.

The page-state conditions RENDERED, SETTLED and UNSETTLED are shared with the
benchmarks and live in :mod:`polyfit_explorer.testing`; they are re-exported here.
"""

from __future__ import annotations

from playwright.sync_api import Page

from polyfit_explorer.testing import RENDERED, SETTLED, UNSETTLED

__all__ = [
    "READ_SOURCES",
    "REMEMBER_SOURCES",
    "RENDERED",
    "SENT_SINCE",
    "SETTLED",
    "SOURCES_WITH",
    "SPANS",
    "UNSETTLED",
    "figure_point",
    "figure_spans",
    "record_texts",
    "recorded_texts",
    "sources",
    "sources_with",
    "wait_for_source",
]

#: A JavaScript function body that finds each layer's one data source, as
#: ``{layer: model}``; a layer with no or several sources gets null.  Curves are
#: found by a column of their own; the train and test layers by their legend
#: label and columns (samples: x, y; predictions: y, y_pred).
FIND_LAYERS = """
  const layers = {
    fit: (label, cols) => cols.includes("fit"),
    truth: (label, cols) => cols.includes("truth"),
    train: (label, cols) => label === "train" && cols.includes("x"),
    test: (label, cols) => label === "test" && cols.includes("x"),
    train_predictions: (label, cols) => label === "train" && cols.includes("y_pred"),
    test_predictions: (label, cols) => label === "test" && cols.includes("y_pred"),
  };
  const found = Object.fromEntries(Object.keys(layers).map(name => [name, []]));
  for (const item of Bokeh.documents[0].all_models) {
    if (item.type !== "LegendItem") continue;
    for (const renderer of item.renderers) {
      const source = renderer.data_source;
      for (const [name, matches] of Object.entries(layers)) {
        if (matches(item.label.value, Object.keys(source.data))) found[name].push(source);
      }
    }
  }
  const sources = Object.fromEntries(
    Object.entries(found).map(([name, list]) => [name, list.length === 1 ? list[0] : null]));
"""

#: Each layer's columns as plain arrays, or null.
READ_SOURCES = f"""() => {{
  {FIND_LAYERS}
  return Object.fromEntries(Object.entries(sources).map(([name, model]) => [
    name,
    model && Object.fromEntries(
      Object.entries(model.data).map(([column, values]) => [column, Array.from(values)])),
  ]));
}}"""

#: Remember each layer's data object; ``SENT_SINCE`` then tells, per layer,
#: whether the server has sent that source new data since.
REMEMBER_SOURCES = f"""() => {{
  {FIND_LAYERS}
  window.__data_before = Object.fromEntries(
    Object.entries(sources).map(([name, model]) => [name, model && model.data]));
}}"""
SENT_SINCE = f"""() => {{
  {FIND_LAYERS}
  return Object.fromEntries(Object.entries(sources).map(
    ([name, model]) => [name, model.data !== window.__data_before[name]]));
}}"""

#: A JavaScript expression for the function from column names to the Figure
#: views with a renderer whose data source has all those columns.
FIGURES_WITH = """(columns => Array.from(Bokeh.index.all_views()).filter(view =>
  view.model.type === "Figure" && view.model.renderers.some(renderer =>
    renderer.data_source !== undefined
    && columns.every(column => column in renderer.data_source.data))))"""


def sources(page: Page) -> dict[str, dict[str, list] | None]:
    """Return every layer's columns, as read in the browser."""
    return page.evaluate(READ_SOURCES)


#: A JavaScript function from column names to the data sources that have them all.
SOURCES_WITH = """columns => Array.from(Bokeh.documents[0].all_models).filter(model =>
  model.type === "ColumnDataSource" && columns.every(column => column in model.data))"""


def sources_with(page: Page, *columns: str) -> list[dict[str, list]]:
    """Return the columns of every data source in the page that has all of ``columns``.

    Ragged columns (a multi-line's ``xs``, ``ys``) are lists of lists.
    """
    return page.evaluate(
        f"""columns => ({SOURCES_WITH})(columns).map(model => Object.fromEntries(
          Object.entries(model.data).map(([column, values]) => [column, Array.from(
            values, value => ArrayBuffer.isView(value) ? Array.from(value) : value)])))""",
        list(columns),
    )


def wait_for_source(page: Page, *columns: str, **options):
    """Wait until the page holds a data source with all of ``columns``."""
    page.wait_for_function(
        f"columns => ({SOURCES_WITH})(columns).length > 0", arg=list(columns), **options
    )


def figure_point(page: Page, columns: list[str], x: float) -> dict[str, float]:
    """Scroll the one figure drawing ``columns`` into view; return where ``x`` is on screen.

    The point is at data coordinate ``x`` and halfway up the plot's frame, in
    the viewport's pixels (what ``page.mouse`` takes), from the plot's own
    scale: ``frame.x_scale`` maps data to canvas pixels.
    """
    point = page.evaluate(
        f"""([columns, x]) => {{
          const views = {FIGURES_WITH}(columns);
          if (views.length !== 1) return views.length;
          const view = views[0];
          view.el.scrollIntoView({{block: "center"}});
          const canvas = view.canvas_view.el.getBoundingClientRect();
          const frame = view.frame.bbox;
          const sx = view.frame.x_scale.compute(x);
          if (!(frame.left < sx && sx < frame.right)) return `x=${{x}} is outside the frame`;
          return {{x: canvas.left + sx, y: canvas.top + frame.vcenter}};
        }}""",
        [columns, x],
    )
    assert isinstance(point, dict), f"no single figure point for {columns}: {point}"
    return point


#: A JavaScript function from column names to the locations of the vertical
#: or horizontal lines (Spans) in the figures drawing those columns.
SPANS = f"""columns => {FIGURES_WITH}(columns).flatMap(view => view.model.renderers
  .filter(renderer => renderer.type === "Span").map(span => span.location))"""


def figure_spans(page: Page, columns: list[str]) -> list[float | None]:
    """Return the locations of the Spans in the figures drawing ``columns``."""
    return page.evaluate(SPANS, columns)


def record_texts(page: Page, pattern: str, only_new: bool = False):
    """Record, in the page from now on, the texts (HTML, Markdown) matching ``pattern``.

    ``pattern`` is a JavaScript regular expression; on every change of the
    document each markup model's first match is recorded unless it repeats the
    last one recorded.  Whatever matches already is recorded first, unless
    ``only_new``: then models the document holds now are ignored (it keeps
    models that left the page, such as a replaced placeholder).  Unlike
    polling, this sees a text that the page held for a moment only.
    """
    page.evaluate(
        """([pattern, onlyNew]) => {
          const doc = Bokeh.documents[0], regex = new RegExp(pattern);
          const old = new Set(onlyNew ? doc.all_models : []);
          const recorded = window.__recorded_texts = [];
          const record = () => {
            for (const model of doc.all_models) {
              if (old.has(model)) continue;
              const match = typeof model.text === "string" && model.text.match(regex);
              if (match && recorded.at(-1) !== match[0]) recorded.push(match[0]);
            }
          };
          record();
          doc.on_change(record, true);
        }""",
        [pattern, only_new],
    )


def recorded_texts(page: Page) -> list[str]:
    """Return what :func:`record_texts` recorded so far."""
    return page.evaluate("() => window.__recorded_texts")
