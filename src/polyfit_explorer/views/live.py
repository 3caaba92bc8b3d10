"""Work off the event loop: a diagnostic computed in a worker thread, shown when done.

A :class:`LiveResult` holds one diagnostic of a model's current state.  A
change of its inputs invalidates it; while it is shown it recomputes in a
worker thread and the event loop stays free for the sliders, else it waits
until it is shown.  A result that is stale on arrival (the inputs changed
meanwhile) is dropped, and only the newest inputs are computed next: a
slider drag never queues up computations.  Results come back on the
session's event loop (:func:`dispatcher`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import panel as pn
import param
from panel.io.state import set_curdoc

__all__ = ["EXECUTOR", "LiveResult", "dispatcher"]

log = logging.getLogger(__name__)

#: Shared by all sessions, so a class full of students cannot start more
#: computations at once than the machine has cores.
EXECUTOR = ThreadPoolExecutor(max_workers=os.cpu_count() or 2,
                              thread_name_prefix="polyfit-diagnostics")

#: After a change, the worker starts this much later (see LiveResult._submit).
WORKER_DELAY_S = 0.1
#: Stands for a computation that is about to start.
_QUEUED = object()


class LiveResult(param.Parameterized):
    """One diagnostic of a model's current state, recomputed off the event loop.

    Parameters
    ----------
    compute : callable
        Takes the inputs ``read()`` returns and returns the result; runs in a
        worker thread, so it must not touch the models.
    read : callable
        Returns the inputs (a frozen snapshot); runs on the event loop, when a
        computation starts (in a server, after the change has been sent).
    stamp : callable, optional
        Returns a name for the state the inputs are read from (the app's
        settings as a link query); the result shown carries it as ``shown``.
    """

    result = param.Parameter(default=None, doc="The latest result; None until computed.")

    busy = param.Boolean(default=False, doc="True while a computation runs.")

    error = param.String(default="", doc="Why the last computation failed; empty otherwise.")

    shown = param.String(
        default="", doc="The stamp of the inputs of the result or error shown now.")

    active = param.Boolean(
        default=False, doc="Whether the result is on screen; a hidden one computes nothing.")

    fresh = param.Boolean(
        default=False,
        doc="Whether the result or error is of the current inputs: False from a change "
            "until a result computed from the changed inputs is applied.")

    def __init__(self, compute, read, stamp=None, **params):
        super().__init__(**params)
        self._compute, self._read, self._stamp = compute, read, stamp or str
        self._future = None
        self._changed = False  # invalidated since the running computation read its inputs
        self._latest_stamp = ""
        self._stale = True
        #: Computations started so far; tests count them.
        self.computations = 0
        self._shown()

    def invalidate(self, *events):
        """Mark the result out of date; recompute at once if it is shown."""
        self._stale = True
        self.fresh = False
        if self.active:
            self.refresh()

    def restamp(self):
        """Take the current stamp for inputs that did not change (a setting they ignore).

        A result shown or being computed is that of the new state too.
        """
        self._latest_stamp = self._stamp()
        if self._future is None and not self._stale and (self.result is not None or self.error):
            self.shown = self._latest_stamp

    @param.depends("active", watch=True)
    def _shown(self):
        if self.active and self._stale:
            self.refresh()

    def refresh(self):
        """Compute from the current inputs: in a worker thread when an event loop runs."""
        self._stale = False
        dispatch = dispatcher()
        if dispatch is None:  # a script or an offline render: nothing to keep responsive
            inputs, self._latest_stamp = self._read(), self._stamp()
            self._apply(self._call(inputs), self._latest_stamp)
            return
        self._changed = True
        if self._future is None:
            self._submit(dispatch)

    def _submit(self, dispatch):
        self._future = _QUEUED
        # The first computation shows its spinner at once: no fit is sent with it.
        if self.result is None:
            self.busy = True
        # Started while Panel sends the change that invalidated the result to
        # the browser, not during it.  A worker started at once competed with
        # the change's serialization and writes for the GIL and the cores: the
        # new fit reached the browser 100-300 ms later (docs/development.md).
        _after_this_task(dispatch, partial(self._start, dispatch), WORKER_DELAY_S)

    def _start(self, dispatch):
        # Busy from here, not from the change: the change's patch (the new fit) has
        # gone out by now, and the spinner's must not come before it.
        self.busy = True
        # Read now, not with the change: the newest state, off the change's own time.
        self._changed = False
        inputs, self._latest_stamp = self._read(), self._stamp()
        self._future = future = EXECUTOR.submit(self._call, inputs)
        future.add_done_callback(lambda future: dispatch(partial(self._done, future, dispatch)))

    def _done(self, future, dispatch):
        self._future = None
        if self._changed:  # stale: the inputs changed while it ran
            self._submit(dispatch)
            return
        # Busy until the result is drawn: the plots' patch goes out before the indicator's.
        self._apply(future.result(), self._latest_stamp)
        self.busy = False

    def _call(self, inputs) -> tuple[bool, object]:
        self.computations += 1
        try:
            return True, self._compute(inputs)
        except Exception as error:  # shown in the tab; the app keeps running
            log.error("A diagnostic failed", exc_info=error)
            return False, error

    def _apply(self, outcome, stamp: str):
        ok, value = outcome
        if ok:
            self.param.update(result=value, error="", shown=stamp, fresh=True)
        else:
            self.param.update(error=f"Could not compute this diagnostic: {value}", shown=stamp,
                              fresh=True)


def dispatcher():
    """Return how to run a callback on this session's event loop, or None without one.

    The returned function takes the callback and an optional delay in
    seconds, and may be called from any thread.
    """
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        return partial(_to_document, doc)
    try:
        loop = asyncio.get_running_loop()  # a notebook's kernel
    except RuntimeError:
        return None
    return partial(_to_loop, loop)


def _after_this_task(dispatch, callback, delay: float):
    """Run ``callback`` ``delay`` seconds after the event loop's current task ends.

    A delay given straight to ``dispatch`` would count from now, in the middle
    of processing a change; dispatching first makes it count from the end.
    """
    dispatch(partial(dispatch, callback, delay))


def _to_loop(loop, callback, delay: float = 0.0):
    """Run ``callback`` on ``loop`` (thread-safe), unless the loop has closed."""
    try:
        loop.call_soon_threadsafe(loop.call_later, delay, callback)
    except RuntimeError:
        # A result that outlived its loop (a kernel shut down, a test's loop):
        # nobody is left to show it to.
        if not loop.is_closed():
            raise


def _to_document(doc, callback, delay: float = 0.0):
    """Run ``callback`` on ``doc``'s event loop, unless its session has ended.

    Thread-safe; the callback runs holding the document lock, and with Panel's
    current document set, without which Panel cannot tell which plot to patch.
    A computation can outlive its session: a tab closed while it ran, or the
    throwaway session ``panel serve --warm`` builds and destroys at startup.
    Nobody is left to show that result to, and a destroyed document raises
    on new callbacks (an error with a traceback in the server log).
    """
    if doc.session_context is None:  # Panel clears it when it destroys the document
        return
    callback = partial(_in_document, doc, callback)
    try:
        if delay:
            doc.add_timeout_callback(callback, delay * 1e3)
        else:
            doc.add_next_tick_callback(callback)
    except AttributeError:
        # Destroyed on the event loop between the check above and this call.
        if doc.session_context is not None:
            raise


def _in_document(doc, callback):
    # Not inside doc.models.freeze(): a tab's first result builds new models,
    # and patches written while the document is frozen define them again (the
    # load benchmark's client warned "reference already known").
    with set_curdoc(doc):
        callback()
