"""Workarounds for library behaviour: false faults in a served app's log, a notebook's comm.

A teacher serving the app reads its log: a traceback or an ERROR there should
mean a fault of the server.  Each workaround here hides one record that does
not, found with panel 1.9.4, bokeh 3.9.2 and tornado 6.6.1, and nothing else:

- :func:`_refuse_malformed_session_request` and :func:`_refuse_malformed_token`:
  a malformed session token (a page request with a garbage ``bokeh-token``, a
  websocket with a garbage token) is refused in one line instead of an
  "Uncaught exception" traceback.
- :class:`_ClosedSocketTaskFilter`: asyncio's "Task exception was never
  retrieved" for a write to a websocket whose browser tab has closed.
- :class:`_ClosedSocketWarningFilter`: "Failed sending message as connection
  was closed", the same event as a WARNING, becomes an INFO line.
- :func:`_leave_closing_sockets_to_tornado`: Bokeh's keep-alive ping no
  longer detaches the session of a socket that is closing, which made the
  socket's last messages and its close fail with AssertionError tracebacks.
- :func:`on_empty_upload`: the material file input says nothing when a
  0-byte file is uploaded; this tells.
- :func:`immediate`: sliders apply their value without Panel's 50 ms debounce.
- :class:`RefusedValueFilter`: a value the models refuse is logged as one
  WARNING line, not as an error with a traceback.
- :func:`release` and :func:`quiet_busy_bar`: a closed session's page lets go
  of everything it holds, and the material page's busy bar stops walking the
  page's models twice per change.
- :func:`trim_soon`: the memory of closed sessions goes back to the system.
- :func:`_send_changes_once_pulled` (with :func:`_remember_pull`): what a
  hold changes between the page pulling its document and telling the server
  it is ready (seconds, for a page as large as the app) reaches the page;
  Panel dropped it, and the page later failed with "reference … isn't known"
  on patches to models it never received.
- In a notebook (JupyterLab): :func:`comm_before_render` lets the page apply
  what the kernel sends before the output's views are built;
  ``_send_in_order`` sends a document's patches in the order they were made;
  ``_inline_new_stylesheets`` keeps models made later off the CDN with
  ``pn.extension(inline=True)``.
- :func:`_serve_own_stylesheets`: a session opened by its websocket alone
  (with ``--num-procs`` above 1, in the process the page did not come from)
  loads Panel's CSS from this server, not from cdn.holoviz.org.

:func:`install` installs them all; the app calls it for every page it builds.
The tests in tests/test_workarounds.py check, marked ``xfail(strict=True)``,
that each library still behaves so: the day one of them passes, upstream has
fixed it and its workaround can go.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import itertools
import logging
import threading
import weakref
import zlib

import panel as pn
import panel_material_ui as pmui
from bokeh.document.events import DocumentPatchedEvent, MessageSentEvent
from bokeh.models import UIElement
from bokeh.protocol.exceptions import ProtocolError
from bokeh.server.session import ServerSession, _needs_document_lock
from bokeh.server.tornado import BokehTornado
from bokeh.server.views.session_handler import SessionHandler
from bokeh.server.views.ws import WSHandler
from bokeh.util.token import get_session_id, get_token_payload
from panel.io import document as panel_document
from panel.io import notebook as panel_notebook
from panel.io.application import Application
from panel.io.document import GC_DEBOUNCE
from panel.io.notebook import patch_inline_stylesheets
from panel.io.resources import CDN_DIST, LOCAL_DIST, use_cdn
from panel.io.state import set_curdoc
from panel.util import edit_readonly
from tornado.ioloop import IOLoop
from tornado.web import HTTPError
from tornado.websocket import WebSocketClosedError

from .parameters import InvalidValue, UpdateFailed

__all__ = [
    "RefusedValueFilter",
    "comm_before_render",
    "immediate",
    "install",
    "on_empty_upload",
    "quiet_busy_bar",
    "release",
    "set_dist_url",
    "trim_soon",
]

#: Refused websockets are logged where Bokeh logs their opening and closing, at
#: INFO, which ``panel serve --log-level`` sets for Bokeh's loggers only.
ws_log = logging.getLogger("bokeh.server.views.ws")

#: What Bokeh's token decoding raises on a client's garbage: binascii.Error,
#: UnicodeDecodeError/UnicodeEncodeError and JSONDecodeError are ValueErrors;
#: KeyError and TypeError for JSON of the wrong shape; zlib.error for a bad
#: compressed part.
_DECODE_ERRORS = (ValueError, KeyError, TypeError, zlib.error)

#: The parts of a token's payload Bokeh uses as dictionaries for the session's request.
_REQUEST_PARTS = ("headers", "cookies", "arguments")

#: The one message both Bokeh and Panel log at WARNING when a tab has closed.
CLOSED_MESSAGE = "Failed sending message as connection was closed"


def token_problem(token: str) -> str | None:
    """Return why Bokeh cannot use a session token, or None if it can.

    Checks what Bokeh takes for granted: that the token decodes to a JSON
    object with a non-empty string ``session_id``, a numeric
    ``session_expiry`` if any, and dictionaries for the request's parts.  The
    signature and the expiry's date are left to Bokeh.
    """
    try:
        session_id = get_session_id(token)
        payload = get_token_payload(token)
    except _DECODE_ERRORS as error:
        return f"the token does not decode ({_qualified(type(error))})"
    if not isinstance(session_id, str) or not session_id:
        return "the token holds no session id"
    expiry = payload.get("session_expiry", 0)
    if not isinstance(expiry, (int, float)):
        return "the token's expiry is not a time"
    if not all(isinstance(payload.get(part, {}), dict) for part in _REQUEST_PARTS):
        return "the token's request data are malformed"
    return None


def _qualified(kind: type) -> str:
    """Name an exception class with its module unless it is a builtin: zlib.error, not error."""
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _session_request_problem(handler: SessionHandler) -> str | None:
    """Return why a page request's session token or id is malformed, or None."""
    token = handler.get_argument("bokeh-token", default=None)
    if token is not None:
        return token_problem(token)
    session_ids = (handler.get_argument("bokeh-session-id", default=None),
                   handler.request.headers.get("Bokeh-Session-Id"))
    return "the session id is empty" if "" in session_ids else None


def _refuse_malformed_session_request(get_session):
    """Wrap ``SessionHandler.get_session`` to answer 403 to a malformed token or session id.

    Checked on bokeh 3.9.2 (panel 1.9.4's ``DocHandler.get_session`` and the
    autoload handler call it).  Bokeh decodes a ``bokeh-token`` argument with
    no check (bokeh/server/views/session_handler.py:98, ``get_session_id``),
    and refuses an empty session id only deep in
    ``ApplicationContext.create_session_if_needed`` with a ProtocolError.  So
    ``GET /app?bokeh-token=garbage`` or ``?bokeh-session-id=`` answered 500 and
    logged an "Uncaught exception" traceback and an ERROR access line.  Here
    it answers 403 with Bokeh's own reason for a bad signature, which Tornado
    logs as one WARNING access line like any 4xx; a well-formed request is
    passed on untouched.
    """

    @functools.wraps(get_session)
    def checked(self, *args, **kwargs):
        if _session_request_problem(self) is not None:
            raise HTTPError(403, reason="Invalid token or session ID")
        return get_session(self, *args, **kwargs)

    return checked


def _refuse_malformed_token(open_):
    """Wrap Bokeh's ``WSHandler.open`` to refuse a malformed or refused token in one INFO line.

    Checked on bokeh 3.9.2 and tornado 6.6.1.  Bokeh's ``open``
    (bokeh/server/views/ws.py:151) decodes the token from the
    ``Sec-WebSocket-Protocol`` header with no check, and refuses a token
    without expiry, an expired one or a missing one by raising a
    ProtocolError after closing the socket.  Tornado logs whatever ``open``
    raises as "Uncaught exception GET /app/ws" with a traceback
    (tornado/websocket.py:996).  A token that decodes but has an empty or
    non-string session id got further and failed in Panel's
    ``WSHandler._async_open``, logged as "Exception in callback", leaving the
    socket open.  Here a malformed token is refused before Bokeh sees it and a
    ProtocolError from Bokeh's ``open`` (its deliberate refusal, the socket
    already closed) is logged as one INFO line.  Any other exception goes on
    to Tornado as before.
    """

    @functools.wraps(open_)
    def checked(self, *args, **kwargs):
        problem = token_problem(self._token) if self._token is not None else None
        if problem is not None:
            self.close()
        else:
            try:
                return open_(self, *args, **kwargs)
            except ProtocolError as refusal:
                problem = str(refusal)
        ws_log.info("Refused a websocket connection (%s): %s", self._request_summary(), problem)
        return None

    return checked


def _leave_closing_sockets_to_tornado(keep_alive):
    """Replace Bokeh's keep-alive ping with one that leaves a closing socket to Tornado.

    Checked on bokeh 3.9.2 and tornado 6.6.1.  ``BokehTornado._keep_alive``
    (bokeh/server/tornado.py:789) pings every client each ``--keep-alive`` ms;
    when a ping finds the socket closed, it detaches the connection's session
    at once.  But Tornado has not yet reported the close: the socket's
    messages still being handled and then Bokeh's own ``on_close``
    (bokeh/server/views/ws.py:310) ask for the session, and each fails with an
    AssertionError and a traceback ("error handling message", "Uncaught
    exception GET /app/ws").  Tornado always reports a closed socket, and
    ``on_close`` detaches the session then; so a failed ping is left to it.
    """

    @functools.wraps(keep_alive)
    def ping(self):
        for connection in list(self._clients):
            with contextlib.suppress(WebSocketClosedError):
                connection.send_ping()

    return ping


def set_dist_url(doc) -> None:
    """Give ``doc`` the dist_url its HTML page would give it, unless it has one.

    Where Panel's stylesheets come from: this server's ``static/`` route
    (relative to the app's path) unless Bokeh's resources are ``cdn``, the
    value :func:`panel.io.server.server_html_page_for_session` sets.
    """
    if "dist_url" in doc._template_variables:
        return
    with set_curdoc(doc):
        rel_path = pn.state.rel_path
    local = f"{rel_path}/{LOCAL_DIST}" if rel_path else LOCAL_DIST
    doc._template_variables["dist_url"] = CDN_DIST if use_cdn() else local


def _serve_own_stylesheets(set_session_prefix):
    """Wrap Panel's ``Application._set_session_prefix`` to set the document's dist_url.

    Checked on panel 1.9.4 and bokeh 3.9.2.  Panel's components name their
    stylesheets on cdn.holoviz.org and rewrite them, when their Bokeh model is
    made, to the document's template variable ``dist_url`` (``Syncable.
    _get_properties``, panel/reactive.py:714); without it they stay on the CDN.
    Only the HTML page sets it (``server_html_page_for_session``,
    panel/io/server.py:375).  With ``--num-procs`` above 1 the page's request
    and its websocket often reach different processes (in our runs every
    time): the second process has no such session, so Bokeh's websocket
    handler creates it anew from the token, builds the app again and sends
    that document, whose ``dist_url`` no page ever set.  The page then loaded
    loading.css, listpanel.css and the material theme's CSS from the CDN,
    which the Content-Security-Policy blocks (and which offline never load).
    Here every served document gets the dist_url first, before the app is
    built (the prefix is set at the start of ``initialize_document``).
    """

    @functools.wraps(set_session_prefix)
    def prefixed(self, doc):
        set_session_prefix(self, doc)
        if doc.session_context is not None:
            set_dist_url(doc)

    return prefixed


class _ClosedSocketTaskFilter(logging.Filter):
    """Drop asyncio's "Task exception was never retrieved" for a write to a closed websocket.

    Checked on panel 1.9.4 and tornado 6.6.1.  Each
    ``WebSocketHandler.write_message`` returns a task of its own
    (tornado/websocket.py:1144), which fails with WebSocketClosedError once
    the browser has gone.  Panel's ``dispatch_tornado``
    (panel/io/document.py:473-484) writes a message as several frames; when
    the tab closes between two of them, the next write raises at once and the
    tasks of the frames already written are lost, never awaited (whether
    ``write_events``, inside ``unlocked``, or ``_dispatch_msgs`` called it);
    the ``_dispatch_msgs`` task itself (created by ``_dispatch_write_task``,
    panel/io/document.py:226) is never awaited either.  asyncio then logs each
    as an ERROR with a traceback when it is collected.  Nothing was lost: the
    connection was closing, and Bokeh logs its closing anyway.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, WebSocketClosedError)
                    and str(record.msg).startswith("Task exception was never retrieved"))


class _ClosedSocketWarningFilter(logging.Filter):
    """Log "Failed sending message as connection was closed" at INFO, not WARNING.

    Checked on bokeh 3.9.2 (``WSHandler.send_message``,
    bokeh/server/views/ws.py:289) and panel 1.9.4 (``_run_write_futures``,
    panel/io/document.py:217): both catch the WebSocketClosedError of a write
    to a tab that has closed and log this one message.  A closed tab is no
    fault; the record stays, one level lower.  Panel's other message there
    ("Failed sending message due to following error") stays a WARNING.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and record.msg == CLOSED_MESSAGE:
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


class RefusedValueFilter(logging.Filter):
    """Log a refused value as one warning line instead of an error with a traceback.

    Checked on panel 1.9.4.  Panel logs every exception raised while it
    applies a browser edit (``panel.reactive``, "Callback failed …"), with a
    traceback, before it hands the exception to
    ``pn.config.exception_handler``.  A user's out-of-range value is not a
    fault of the app, and tracebacks in the server log are reserved for
    faults.  An :class:`UpdateFailed` (a user's code raised) is dropped here:
    the Explorer's handler, which Panel calls next, logs it in one line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop or rewrite a record of a refused value; pass every other record."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, UpdateFailed):
            return False
        if isinstance(error, InvalidValue):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args, record.exc_info = "Refused value: %s", (error,), None
            record.exc_text = None
        return True


# ---- a notebook page's comm ------------------------------------------------------

#: JavaScript that makes Panel's CommManager apply what the kernel sends before
#: the output's views are built.  ``msg_handler`` (panel/models/comm_manager.ts)
#: returns early, without consuming the message, while the output's root is in
#: neither ``PyViz.plot_index`` (JupyterLab's extension leaves it null) nor
#: ``Bokeh.index`` (filled once all views are built, seconds after display for
#: the material page).  A message dropped whole loses the models it defines
#: (later patches: "reference … isn't known"); one dropped in part leaves the
#: receiver between fragments for good ("Expected text fragment but received
#: binary fragment").  The patch only needs the document, which exists from
#: the start: here the handler runs as if the root were indexed.
_COMM_BEFORE_RENDER_JS = """
(function () {
  const Bokeh = window.Bokeh;
  const CommManager = Bokeh === undefined ? null
    : Bokeh.Models.get("panel.models.comm_manager.CommManager");
  if (CommManager == null || CommManager.prototype.msg_handler._polyfit_early) return;
  const handle = CommManager.prototype.msg_handler;
  function msg_handler(msg) {
    const index = this.ns == null ? null : this.ns.plot_index;
    const id = this.plot_id;
    if (index == null || id == null || index[id] != null || id in Bokeh.index) {
      return handle.call(this, msg);
    }
    const before = index[id];
    index[id] = this;  // the handler only asks whether the root is known
    try {
      return handle.call(this, msg);
    } finally {
      if (index[id] === this) index[id] = before;
    }
  }
  msg_handler._polyfit_early = true;
  CommManager.prototype.msg_handler = msg_handler;
})();
"""


def _inline_new_stylesheets(diff):
    """Wrap ``panel.io.notebook.diff`` to inline the stylesheets of models it is about to send.

    Checked on panel 1.9.4 and panel-material-ui 0.16.6.  With
    ``pn.extension(inline=True)`` Panel inlines its stylesheets (``css/loading.css``,
    the material theme's ``bundled/theme/*.css``) when a notebook output is
    displayed and when a layout's children change, but a model created later
    in another way (a diagnostics tab's first figures, built when the result
    comes back, or a model whose stylesheets Panel sets again) reached the page
    with links to cdn.holoviz.org, which offline fail with
    ``ERR_NAME_NOT_RESOLVED``.  The models the page has not received yet, and
    those whose stylesheets changed, get the inlined stylesheets just before
    the patch is made.  Only notebooks use this ``diff``; a served app's patches are made by
    Bokeh.
    """

    @functools.wraps(diff)
    def inlined(doc, *args, **kwargs):
        if pn.config.inline:
            restyled = [event.model for event in doc.callbacks._held_events
                        if getattr(event, "attr", None) == "stylesheets"]
            for model in [*doc.models._new_models, *restyled]:
                if isinstance(model, UIElement):
                    # Held with 'combine': the new value replaces the held event's.
                    patch_inline_stylesheets(model)
        return diff(doc, *args, **kwargs)

    return inlined


class _InOrder:
    """What a notebook's comm has yet to send: each document's patches, in the order made."""

    def __init__(self):
        self.made = itertools.count()
        self.next = 0
        self.waiting: dict[int, tuple] = {}


#: Per document (by id; a notebook keeps its documents for the kernel's life).
_ORDER: dict[int, _InOrder] = {}


def _number_patches(diff):
    """Wrap ``panel.io.notebook.diff`` to number each document's patches.

    See :func:`_send_in_order`, which sends them by these numbers.
    """

    @functools.wraps(diff)
    def numbered(doc, *args, **kwargs):
        msg = diff(doc, *args, **kwargs)
        if msg is not None:
            order = _ORDER.setdefault(id(doc), _InOrder())
            msg._polyfit_order = (order, next(order.made))
        return msg

    return numbered


def _send_in_order(send):
    """Wrap ``panel.io.notebook.send`` to send each document's patches in the order made.

    Checked on panel 1.9.4.  ``push`` makes a patch and, while the comm to
    the page is not open yet, sends it 0.1 s later from the event loop.  In a
    notebook run with *Run All* the comm opens between two cells while patches
    of the first wait: the next cell's patches went out at once, before them,
    and named models only the waiting patches define (Bokeh in the page:
    "reference … isn't known").  Here a patch waits until those made before it
    have gone.
    """

    @functools.wraps(send)
    def in_order(comm, msg):
        numbered = getattr(msg, "_polyfit_order", None)
        if numbered is None:
            return send(comm, msg)
        order, number = numbered
        order.waiting[number] = (comm, msg)
        while order.next in order.waiting:
            ready = order.waiting.pop(order.next)
            order.next += 1  # first: a send that raises must not hold back the later ones
            send(*ready)
        return None

    return in_order


def _notebook_diff(diff):
    """Wrap ``panel.io.notebook.diff`` in both of the above: inline, then number."""
    return _number_patches(_inline_new_stylesheets(diff))


def comm_before_render(bundle: tuple[dict, dict] | dict):
    """Put the script that lets the comm work before the views are built into ``bundle``.

    ``bundle`` is what Panel's ``_repr_mimebundle_`` returns for a notebook; the
    script goes before the output's own, so it runs before any comm message.
    Checked on panel 1.9.4 with @pyviz/jupyterlab_pyviz 3.0.6 (pyviz_comms).
    """
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    if "text/html" in data:
        data["text/html"] = f"<script>{_COMM_BEFORE_RENDER_JS}</script>\n" + data["text/html"]
    return bundle


#: Documents whose page has pulled them: from then on, a change must be sent.
_PULLED: weakref.WeakSet = weakref.WeakSet()


def _remember_pull(handle_pull):
    """Note each document a page pulls, inside Bokeh's document lock (with the reply)."""
    pull = handle_pull.__wrapped__  # the method inside the lock

    @functools.wraps(pull)
    def pull_and_remember(self, message, connection):
        reply = pull(self, message, connection)
        _PULLED.add(self.document)
        return reply

    return _needs_document_lock(pull_and_remember)


def _send_changes_once_pulled(drain):
    """Send what a hold changed between the page's pull and its document_ready.

    Panel 1.9.4 counts a session as connected only from the page's
    ``document_ready``, which comes after the page has pulled the whole
    document and built its views: 2.8 s for this app in headless Chromium.
    A ``pn.io.hold()`` ending in between drops its changes
    (``_drain_unconnected_events``: "the Document is serialized in full once
    the session connects"), but the document was serialized already.  A
    diagnostics tab whose first result came then had figures the page never
    received, and every later patch to them failed in the page with
    "reference … isn't known".  After a pull the changes are written as
    Panel writes them once connected (``unlocked``): at once, or queued
    behind a write in progress.
    """

    @functools.wraps(drain)
    def drain_or_send(doc, lock):
        session = getattr(doc.session_context, "session", None)
        if doc not in _PULLED or session is None:
            return drain(doc, lock)
        with lock:
            held = list(doc.callbacks._held_events or [])
            changes = [e for e in held if isinstance(e, DocumentPatchedEvent)
                       and not isinstance(e, MessageSentEvent)]
            doc.callbacks._held_events = [e for e in held if e not in changes]
        dispatch = drain(doc, lock)
        if changes:
            panel_document.monkeypatch_events(changes)
            connections = session._subscribed_connections
            if _writing(doc, connections):
                panel_document.schedule_write_events(doc, connections, changes)
            else:
                panel_document.write_events(doc, connections, changes)
        return dispatch

    return drain_or_send


def _writing(doc, connections) -> bool:
    """Whether a write to ``doc``'s page is queued or in progress (Panel's own test)."""
    if doc in panel_document._WRITE_MSGS or doc in panel_document._WRITE_BLOCK:
        return True
    locks = (getattr(c._socket, "write_lock", None) for c in connections)
    return any(lock is not None and lock._block._value == 0 for lock in locks)


#: Where each filter goes: the loggers that log the record it hides.
FILTERS = {
    "panel.reactive": RefusedValueFilter,
    "asyncio": _ClosedSocketTaskFilter,
    "bokeh.server.views.ws": _ClosedSocketWarningFilter,
    "panel.io.document": _ClosedSocketWarningFilter,
}

#: Each wrapped method: its class, its name and the function that wraps it.
WRAPPERS = [
    (SessionHandler, "get_session", _refuse_malformed_session_request),
    (WSHandler, "open", _refuse_malformed_token),
    (BokehTornado, "_keep_alive", _leave_closing_sockets_to_tornado),
    (ServerSession, "_handle_pull", _remember_pull),
    (panel_document, "_drain_unconnected_events", _send_changes_once_pulled),
    (Application, "_set_session_prefix", _serve_own_stylesheets),
]
#: Installed only by a notebook's Explorer (``install(notebook=True)``): a
#: served app has no use for them.
NOTEBOOK_WRAPPERS = [
    (panel_notebook, "diff", _notebook_diff),
    (panel_notebook, "send", _send_in_order),
]

_lock = threading.Lock()


def install(notebook: bool = False) -> None:
    """Install every workaround of this module, once per process.

    Idempotent and thread-safe: the app calls it for every page it builds,
    with ``notebook=True`` for a notebook's output (:data:`NOTEBOOK_WRAPPERS`).
    A served page being built (``panel serve`` of a script, which installs
    nothing before its first session) gets its dist_url here too.
    """
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        set_dist_url(doc)
    with _lock:
        for name, kind in FILTERS.items():
            logger = logging.getLogger(name)
            if not any(isinstance(f, kind) for f in logger.filters):
                logger.addFilter(kind())
        for owner, attribute, wrap in WRAPPERS + (NOTEBOOK_WRAPPERS if notebook else []):
            method = owner.__dict__[attribute]
            if getattr(method, "_workaround", None) is not wrap:
                wrapped = wrap(method)
                wrapped._workaround, wrapped._original = wrap, method
                setattr(owner, attribute, wrapped)


def on_empty_upload(widget: pmui.FileInput, callback) -> pmui.FileInput:
    """Call ``callback()`` when a file of 0 bytes is uploaded with ``widget``; return it.

    Checked on panel-material-ui 0.16.6.  The browser sends a file in chunks
    and then "finished"; a 0-byte file has no chunk, so ``_flush_buffer``
    finds nothing and sets ``value`` to None, as if no file was chosen: no
    event when the value was None already, and none a watcher could tell
    from clearing the input.  An upload of an empty file did nothing at all.
    The widget's own flush is wrapped on this instance: a subclass of a
    material component looks for its JavaScript next to the subclass's module.
    """
    flush = widget._flush_buffer

    def flushed():
        empty = not widget._buffer
        flush()
        if empty:
            callback()

    widget._flush_buffer = flushed
    return widget


#: Sliders whose value is applied the moment it arrives (see :func:`immediate`).
IMMEDIATE = (pn.widgets.IntSlider, pn.widgets.FloatSlider, pmui.IntSlider, pmui.FloatSlider)


def immediate(layout: pn.viewable.Viewable) -> pn.viewable.Viewable:
    """Apply the plain sliders' values in ``layout`` as soon as they arrive; return it.

    Checked on panel 1.9.4.  Panel delays every browser change by 50 ms in
    case more follow (``Syncable._debounce``).  A slider here sends one value
    on release or per arrow key, so nothing follows.  Panel has no public
    setting for this; the class attribute ``_priority_changes``, which
    Panel's own Tabulator sets, names the properties it applies at once, and
    it is set here per slider.  Sliders inside Panel's composite widgets are
    left alone: their parts sync each other through the server.
    """
    widgets = layout.select(pn.widgets.WidgetBase)
    inner = {id(part) for widget in widgets if isinstance(widget, pn.widgets.CompositeWidget)
             for part in widget._composite.select(pn.widgets.WidgetBase)}
    for widget in widgets:
        composite = isinstance(widget, pn.widgets.CompositeWidget) or id(widget) in inner
        if isinstance(widget, IMMEDIATE) and not composite:
            widget._priority_changes = ["value", "value_throttled"]
    return layout


def quiet_busy_bar(page: pmui.Page):
    """Stop the material page's busy bar from following Panel's busy state.

    Checked on panel-material-ui 0.16.6.  The page binds its ``busy`` to
    ``pn.state.busy``; each of its two toggles per change walked every Bokeh
    model of the page (about 50 ms each at n = 1,000).  The diagnostics tabs
    show spinners of their own.  (The watcher itself, on an object every
    session shares, is removed by :func:`release`.)
    """
    with edit_readonly(page):
        page.busy = False


def release(page: pmui.Page, also=()):
    """Clean up every component of a served page (and ``also``) when its session ends.

    Checked on panel 1.9.4 and panel-material-ui 0.16.6.  Three things kept
    every closed session alive, about 10 MB each, never returned:

    - Panel cleans up a material component's children by the names its Bokeh
      model lists, but Bokeh clears the models' properties before it runs the
      session-destroyed hooks.  So nothing below the page, the tabs or the
      accordion was cleaned up, and HoloViews' class-level registry of plot
      callbacks (the draw, selection and tap streams) kept each session's
      models and plots.  Cleaning up a component twice is harmless.
    - The material page binds its ``busy`` to ``pn.state.busy``: a watcher on
      an object every session shares.  It is removed.
    - Panel's class-level registry of JavaScript callbacks
      (``pn.links.Callback.registry``) is a WeakKeyDictionary whose values can
      hold their keys (a jslinked widget's callback holds the widget), so its
      entries of this page are dropped.
    """
    components = page.select()
    root = _root_model(page)
    if root is not None:
        for component in components:
            component._cleanup(root)
    components += [part for extra in also for part in extra.select()]
    for component in components:
        pn.links.Callback.registry.pop(component, None)
    ours = {id(component) for component in components}
    for what in pn.state.param.watchers.values():
        for watchers in what.values():
            for watcher in list(watchers):
                owner = getattr(watcher.fn, "__self__", None)
                if id(getattr(owner, "self", owner)) in ours:
                    pn.state.param.unwatch(watcher)
    trim_soon()


def _root_model(page: pmui.Page):
    """Return the Bokeh model at the root of a served page: the page's own model.

    The page's direct children record it as their parent, in case the page's
    own cleanup ran first.
    """
    for model, _ in page._models.values():
        return model
    for child in (*page.sidebar, *page.main):
        for _, parent in child._models.values():
            return parent
    return None


def _find_malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None).malloc_trim
    except (OSError, TypeError, AttributeError):  # not glibc: nothing to call
        return None


#: glibc's ``malloc_trim``, or None where the C library has none (macOS, Windows, musl).
_MALLOC_TRIM = _find_malloc_trim()
_trim_pending = False


def trim_soon():
    """Give the memory of closed sessions back to the system, once they are collected.

    Checked on glibc 2.36 and panel 1.9.4.  Panel collects garbage a few
    seconds after a session closes (``GC_DEBOUNCE``); glibc keeps what was
    freed for reuse and returns it only when the top of its heap is free,
    which after a class leaves it rarely is.  ``malloc_trim`` returns the
    free pages inside the heap too.  Once per burst of closing sessions.
    """
    global _trim_pending
    if _trim_pending or _MALLOC_TRIM is None:
        return
    _trim_pending = True

    def trim():
        global _trim_pending
        _trim_pending = False
        gc.collect()
        _MALLOC_TRIM(0)

    IOLoop.current().call_later(GC_DEBOUNCE + 1, trim)

