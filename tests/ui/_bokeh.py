"""Read the served app's plot data back from the Bokeh document in the page."""

from __future__ import annotations

from playwright.sync_api import Page

__all__ = ["READ_SOURCES", "REMEMBER_SOURCES", "RENDERED", "SENT_SINCE", "sources"]

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

#: True once the document is synced and both figures have drawn.
RENDERED = """() => {
  if (window.Bokeh === undefined || Bokeh.documents.length === 0) return false;
  if (!Bokeh.documents[0].is_idle) return false;
  const figures = Array.from(Bokeh.index.all_views())
    .filter(view => view.model.type === "Figure");
  return figures.length === 2 && figures.every(view => view.has_finished());
}"""


def sources(page: Page) -> dict[str, dict[str, list] | None]:
    """Return every layer's columns, as read in the browser."""
    return page.evaluate(READ_SOURCES)
