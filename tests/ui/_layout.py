"""Does every text fit its box?  A check of a served page, for any view of the app.

:data:`OVERFLOWS` is a JavaScript function for ``page.evaluate``: it returns a
sentence for each text that does not fit, an empty list when all do.

- **HTML text**, shadow roots included (Panel and Bokeh render into them):
  every visible element holding text of its own must not scroll
  (``scrollWidth``/``scrollHeight`` beyond ``clientWidth``/``clientHeight``),
  and its text must lie within every ancestor that clips it (overflow hidden
  or clip, and horizontally any overflow but visible: a text reached only by
  scrolling sideways is cut off too).
- **Bokeh's canvas**: a figure's title is drawn on the canvas and is cut at
  its edge, so its measured width must fit the title's box (the frame's
  width); a legend (HTML in Bokeh 3.9) must lie within the canvas.

:func:`assert_fits` evaluates it and fails with the sentences.
"""

from __future__ import annotations

from playwright.sync_api import Page

__all__ = ["OVERFLOWS", "assert_fits", "within_viewport"]

OVERFLOWS = """() => {
  const SLACK = 1;  // px of rounding
  const problems = [];
  const name = el => {
    const text = (el.textContent || "").trim().replace(/\\s+/g, " ");
    return `<${el.tagName.toLowerCase()} class="${el.className}"> "${text.slice(0, 60)}"`;
  };
  const parentOf = el => el.parentElement || (el.parentNode && el.parentNode.host) || null;
  const elements = [];
  const walk = root => {
    for (const el of root.querySelectorAll("*")) {
      elements.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const overflow = new Map();  // element -> its computed [overflow-x, overflow-y]
  const overflowOf = el => {
    if (!overflow.has(el)) {
      const style = getComputedStyle(el);
      overflow.set(el, [style.overflowX, style.overflowY]);
    }
    return overflow.get(el);
  };
  const scrolls = value => value === "auto" || value === "scroll";
  const cut = (el, up, box, frame) =>
    `${name(el)} is cut off by <${up.tagName.toLowerCase()} class="${up.className}">: text ` +
    `[${Math.round(box.left)}, ${Math.round(box.right)}]×` +
    `[${Math.round(box.top)}, ${Math.round(box.bottom)}] in ` +
    `[${Math.round(frame.left)}, ${Math.round(frame.right)}]×` +
    `[${Math.round(frame.top)}, ${Math.round(frame.bottom)}]`;
  for (const el of elements) {
    // Zero-width spaces hold material's notched outlines open: not text to read.
    const texts = Array.from(el.childNodes).filter(node => node.nodeType === Node.TEXT_NODE
      && node.textContent.replace(/[\\s\\u200b]/g, "") !== "");
    // Bokeh's toolbar folds the tools that do not fit behind its "⋯" button, a
    // menu of its own, whose glyph is taller than its box.
    if (texts.length === 0 || el.classList.contains("bk-tool-overflow")
        || !el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    const style = getComputedStyle(el);
    const block = !style.display.startsWith("inline") && style.display !== "contents";
    // Taller than its box by more than a descender (or at all, where it clips).
    const slackY = style.overflowY === "visible" ? 4 : SLACK;
    if (block && el.clientWidth > 0 && (el.scrollWidth > el.clientWidth + SLACK
                                        || el.scrollHeight > el.clientHeight + slackY)) {
      problems.push(`${name(el)} overflows its box: scroll ${el.scrollWidth}×` +
                    `${el.scrollHeight} in client ${el.clientWidth}×${el.clientHeight}`);
      continue;
    }
    const range = document.createRange();
    range.setStartBefore(texts[0]);
    range.setEndAfter(texts[texts.length - 1]);
    const box = range.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    for (let up = parentOf(el); up !== null; up = parentOf(up)) {
      const [x, y] = overflowOf(up);
      if (x === "visible" && y === "visible") continue;
      const frame = up.getBoundingClientRect();
      const outX = box.left < frame.left - SLACK || box.right > frame.right + SLACK;
      const outY = box.top < frame.top - SLACK || box.bottom > frame.bottom + SLACK;
      if (scrolls(x) || scrolls(y)) {
        // Text scrolled out of view is not cut off, but text reached only by
        // scrolling sideways is.  Outside a scrolling box, scrolling moves it.
        if (outX && up.scrollWidth > up.clientWidth + SLACK)
          problems.push(cut(el, up, box, frame));
        break;
      }
      if ((x !== "visible" && outX) || (y !== "visible" && outY)) {
        problems.push(cut(el, up, box, frame));
        break;
      }
    }
  }
  for (const view of Bokeh.index.all_views()) {
    if (view.model.type !== "Figure" || !view.el.checkVisibility()) continue;
    const canvas = view.bbox;
    const title = view.model.title;
    if (title !== null && title.text) {
      const titleView = Bokeh.index.find_one(title);
      const width = titleView._text_box.size().width;
      const room = titleView.layout.bbox.width;
      if (width > room + SLACK)
        problems.push(`title "${title.text}" is ${Math.round(width)} px wide in ` +
                      `${Math.round(room)} px`);
    }
    const panels = [...view.model.above, ...view.model.center, ...view.model.right,
                    ...view.model.below, ...view.model.left];
    for (const legend of panels.filter(model => model.type === "Legend")) {
      const box = Bokeh.index.find_one(legend).bbox;
      const labels = legend.items.map(item => item.label && item.label.value).join(", ");
      if (box.x0 < -SLACK || box.y0 < -SLACK || box.x1 > canvas.width + SLACK
          || box.y1 > canvas.height + SLACK)
        problems.push(`legend (${labels}) spans [${Math.round(box.x0)}, ` +
                      `${Math.round(box.x1)}]×[${Math.round(box.y0)}, ${Math.round(box.y1)}] ` +
                      `of a ${canvas.width}×${canvas.height} canvas "${title && title.text}"`);
    }
  }
  return problems;
}"""

#: The bounding box of the first element matching a CSS selector, searched in
#: shadow roots too, and the viewport's size and scroll offset.
_BOX = """selector => {
  const find = root => {
    const hit = root.querySelector(selector);
    if (hit) return hit;
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) { const inner = find(el.shadowRoot); if (inner) return inner; }
    }
    return null;
  };
  const el = find(document);
  if (el === null) return null;
  const box = el.getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, left: box.left, right: box.right,
          width: innerWidth, height: innerHeight, scrolled: [scrollX, scrollY]};
}"""


def assert_fits(page: Page, where: str = ""):
    """Fail if a text on ``page`` overflows its box (:data:`OVERFLOWS`), saying which."""
    problems = page.evaluate(OVERFLOWS)
    assert not problems, f"text cut off {where}:\n" + "\n".join(problems)


def within_viewport(page: Page, selector: str) -> dict:
    """Return the box of ``selector`` (in shadow roots too) and whether it is on screen.

    On screen: wholly inside the viewport as the page first shows it (not scrolled).
    """
    box = page.evaluate(_BOX, selector)
    assert box is not None, f"no element matches {selector!r}"
    box["inside"] = (box["scrolled"] == [0, 0] and box["top"] >= 0 and box["left"] >= 0
                     and box["bottom"] <= box["height"] and box["right"] <= box["width"])
    return box
