"""The hint under the scores: the verdict on the fit and what it is based on.

The verdict (:mod:`polyfit_explorer.verdict`) comes with the validation
curve, which is computed in a worker thread after every change whatever tab
is shown (:attr:`.diagnostics.DiagnosticsView.verdict`).  Its own HTML
pane, so that the scores table is not rewritten when the verdict arrives.
Until the verdict of the current state has arrived the hint says it is
being worked out, and never shows the verdict of earlier settings as
current.  Its ``data-state`` names the state the verdict is of, as the
scores table's does (``testing.SETTLED`` compares them).
"""

from __future__ import annotations

import panel as pn
import param

from .live import LiveResult
from .text import as_text

__all__ = ["HINT_CSS", "VerdictHint", "hint_html"]

HINT_CSS = """
p.hint { padding: 0.5em 0.8em; border-left: 4px solid #888; max-width: 60em; }
p.hint.over { border-color: #d62728; }
p.hint.under { border-color: #ff7f0e; }
p.hint.balanced { border-color: #2ca02c; }
p.hint.limited { border-color: #9467bd; }
p.hint.checking { color: #666; }
p.hint .basis { color: #555; font-size: 0.92em; }
"""

CHECKING = "Checking the fit: cross-validating every degree…"


class VerdictHint(pn.viewable.Viewer):
    """The verdict of the current state, or a note that it is being computed."""

    result = param.ClassSelector(
        class_=LiveResult, doc="The live result whose result['verdict'] is the verdict.")

    def __init__(self, **params):
        super().__init__(**params)
        self._state = ""
        self._waiting = False  # refitted, and the verdict of the refit has not arrived
        self.pane = pn.pane.HTML(hint_html(None), stylesheets=[HINT_CSS],
                                 sizing_mode="stretch_width")
        self.result.param.watch(self._changed, ["fresh", "shown", "result", "error"])

    def update(self, state: str, refit: bool):
        """Show the hint for ``state``; after a refit, wait for the verdict computed from it.

        ``state`` names the settings (a link query); ``refit`` says the model has
        changed, so the verdict shown so far is not of it, even if the name is
        the same (points edited by hand are not part of the name).
        """
        self._state = state
        self._waiting = self._waiting or refit
        self._show()

    def _changed(self, *events):
        # Any result applied after the refit is of it: older ones are dropped (see LiveResult).
        if any(event.name == "fresh" and event.new for event in events):
            self._waiting = False
        self._show()

    def _show(self):
        live = self.result
        current = live.fresh and not self._waiting and live.shown == self._state
        if not current:
            self.pane.object = hint_html(None)
        elif live.error:
            self.pane.object = hint_html(None, self._state, error=live.error)
        else:
            self.pane.object = hint_html(live.result["verdict"], self._state)

    def __panel__(self):
        """Return the hint's pane."""
        return self.pane


def hint_html(verdict, state: str = "", error: str = "") -> str:
    """Return the hint as HTML: the verdict and its basis, an error, or that it is computing."""
    if error:
        return f"<p class='hint unknown' data-state='{as_text(state)}'>{as_text(error)}</p>"
    if verdict is None:
        return f"<p class='hint checking' data-state=''>{as_text(CHECKING)}</p>"
    return (f"<p class='hint {verdict.kind}' data-state='{as_text(state)}'>"
            f"{as_text(verdict.text)} "
            f"<span class='basis'>{as_text(f'Based on {verdict.basis}.')}</span></p>")
