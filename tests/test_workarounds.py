"""The library workarounds: each hides exactly its record, and upstream still needs it.

Each ``xfail(strict=True)`` test checks a library's behaviour without the
workaround: it fails today, and passes (turning the suite red) the day upstream
no longer needs the workaround, which can then go.  The other tests check that
a workaround hides exactly its record: a real fault still gets through.

Tokens and page requests go to two ``panel serve`` processes of a one-pane app,
one with the workarounds installed and one without.  (Not a server on a thread
of this process: Python 3.11's AST constructor is not thread-safe, and pytest
parsing a traceback while the server compiles a template failed with
"SystemError: AST constructor recursion depth mismatch".)  The asyncio and
logging workarounds are checked in this process, on Panel's own functions.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import itertools
import json
import logging
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from bokeh.client import pull_session
from bokeh.document import Document
from bokeh.model import Model
from bokeh.protocol import Protocol
from bokeh.protocol.exceptions import ProtocolError
from bokeh.server.connection import ServerConnection
from bokeh.server.session import ServerSession
from bokeh.server.tornado import BokehTornado
from bokeh.server.views.ws import WSHandler
from panel.io import document as panel_document
from panel.io.resources import JS_VERSION
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClosedError, WebSocketHandler, websocket_connect

from polyfit_explorer import workarounds
from polyfit_explorer.testing import serve, server_log_problems

ROOT = Path(__file__).resolve().parents[1]
#: The loggers the asyncio and logging workarounds are checked on.
LOGGERS = ("bokeh", "panel", "asyncio")
WAIT_S = 5.0
#: How long a record that should not come is given to come anyway.
QUIET_S = 0.5

FUTURE = int(time.time()) + 3600
_ids = itertools.count()


def upstream_still_needs_it(reason: str):
    """Mark a test of upstream behaviour that fails while the workaround is needed.

    Only a failed assertion counts: an error in the test itself still fails it.
    """
    return pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)


def _run(coroutine):
    """Run ``coroutine`` on an event loop of its own, in a thread of its own.

    Playwright's sync API keeps an event loop in the main thread while its
    browser lives, and asyncio.run() refuses to run beside it.
    """
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _encoded(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _forged(**payload) -> str:
    """A well-formed token of a session id never used before.

    A session whose creation failed stays pending for good in Bokeh: a second
    request for it would wait forever.
    """
    return _encoded({"session_id": f"forged-{next(_ids)}", **payload})


#: Malformed tokens, each a function of a real token.
TOKENS = {
    "garbage": lambda real: "garbage",
    "bad base64": lambda real: "a.b.c",
    "truncated": lambda real: real[: len(real) // 2],
    "not ascii": lambda real: "é",
    "not an object": lambda real: _encoded([1]),
    "no session id": lambda real: _encoded({"session_expiry": FUTURE}),
    "empty session id": lambda real: _encoded({"session_id": "", "session_expiry": FUTURE}),
    "bad request data": lambda real: _forged(session_expiry=FUTURE, headers=[1], cookies={}),
}
#: Well-formed tokens that Bokeh's websocket handler refuses with a ProtocolError.
REFUSED_TOKENS = {
    "no expiry": lambda real: _forged(),
    "expired": lambda real: _forged(session_expiry=1),
}
EMPTY_ID = "empty session id argument"
#: What a websocket that neither sends nor closes in WAIT_S gives.
LEFT_OPEN = "(left open)"

APP = """import panel as pn
from panel.io.state import set_curdoc
from polyfit_explorer import workarounds
if {install}:
    workarounds.install()
column = pn.Column(pn.pane.Markdown("served"))
doc = pn.state.curdoc

def later():
    # As a diagnostic's first result does: new models, in a hold, on the session's loop.
    with set_curdoc(doc), pn.io.hold():
        column.append(pn.pane.Markdown("{later}"))

if pn.state.session_args.get("later"):
    doc.add_timeout_callback(later, {later_ms})
column.servable()
"""
#: What the app adds LATER_MS after a page with ``?later=1`` opened its session.
LATER = "made after the pull"
LATER_MS = 1500


# ---- served apps --------------------------------------------------------------


@dataclass
class _Served:
    """A served one-pane app ``/app`` and its log."""

    port: int
    log: Path

    def offset(self) -> int:
        return self.log.stat().st_size

    def since(self, offset: int) -> str:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def wait_for(self, pattern: str, offset: int, timeout: float = WAIT_S) -> str:
        """Wait until the log since ``offset`` matches ``pattern``; return it."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, text := self.since(offset)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return text

    def get(self, query: str = "") -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/app{query}",
                                        timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            error.close()
            return error.code, ""

    def token(self) -> str:
        """A real session token, from a page the server serves."""
        status, page = self.get()
        assert status == 200
        return re.search(r'"token":\s*"([^"]+)"', page)[1]

    async def connect(self, token: str):
        """Open the app's websocket with ``token``, as a page of the app would."""
        request = HTTPRequest(f"ws://127.0.0.1:{self.port}/app/ws",
                              headers={"Origin": f"http://127.0.0.1:{self.port}"})
        return await websocket_connect(request, subprotocols=["bokeh", token])

    def websocket(self, token: str) -> str | None:
        """Open the app's websocket with ``token``; return its first message.

        None if the server closed it, LEFT_OPEN if it did neither in WAIT_S.
        """

        async def exchange():
            connection = await self.connect(token)
            try:
                message = await asyncio.wait_for(connection.read_message(), WAIT_S)
            except TimeoutError:
                message = LEFT_OPEN
            connection.close()
            if message is not None:  # the server has not closed it: wait until it has
                await _closed(connection)
            return message

        return _run(exchange())


async def _closed(connection) -> None:
    """Wait until the server has closed a websocket too (its last message is None)."""
    while await asyncio.wait_for(connection.read_message(), WAIT_S) is not None:
        pass


@contextlib.contextmanager
def _serving(tmp_path: Path, install: bool):
    script = tmp_path / "app.py"
    script.write_text(APP.format(install=install, later=LATER, later_ms=LATER_MS))
    with serve(["-m", "panel", "serve", str(script)], tmp_path / "server.log",
               cwd=ROOT) as served:
        app = _Served(served.port, tmp_path / "server.log")
        app.get()  # the first session runs the script, which installs the workarounds
        yield app


@pytest.fixture(scope="module")
def upstream_app(tmp_path_factory):
    """The one-pane app served without the workarounds."""
    with _serving(tmp_path_factory.mktemp("upstream"), install=False) as app:
        yield app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The one-pane app served with the workarounds installed."""
    with _serving(tmp_path_factory.mktemp("installed"), install=True) as app:
        yield app


def _query(app: _Served, name: str) -> str:
    if name == EMPTY_ID:
        return "?bokeh-session-id="
    return "?bokeh-token=" + urllib.request.quote(TOKENS[name](app.token()))


def _refused_quietly_by_websocket(app: _Served, name: str) -> tuple[str | None, str]:
    """Open a websocket with the malformed token ``name``; return its message and the log."""
    token = {**TOKENS, **REFUSED_TOKENS}[name](app.token())
    offset = app.offset()
    message = app.websocket(token)
    return message, app.wait_for(r"Refused|ERROR|Traceback", offset, QUIET_S + 1)


# ---- in-process records --------------------------------------------------------


class _Records(logging.Handler):
    """Collects the records of LOGGERS in this process."""

    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    def at(self, level: int, name: str) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == level and r.name == name]


@pytest.fixture
def records():
    """Every record of LOGGERS at INFO and above while the test runs."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def upstream(monkeypatch):
    """Take every workaround out of this process for the test: the libraries as they are."""
    for owner, attribute, wrap in workarounds.WRAPPERS:
        method = owner.__dict__[attribute]
        if getattr(method, "_workaround", None) is wrap:
            monkeypatch.setattr(owner, attribute, method._original)
    for name, kind in workarounds.FILTERS.items():
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "filters",
                            [f for f in logger.filters if not isinstance(f, kind)])


@pytest.fixture
def installed():
    workarounds.install()


# ---- malformed session tokens: upstream ----------------------------------------


@upstream_still_needs_it("bokeh 3.9.2 decodes a page request's bokeh-token unchecked: "
                         "500 and an 'Uncaught exception' traceback")
@pytest.mark.parametrize("name", [*TOKENS, EMPTY_ID])
def test_upstream_page_request_with_a_malformed_token_is_refused_quietly(upstream_app, name):
    query = _query(upstream_app, name)
    offset = upstream_app.offset()
    status, _ = upstream_app.get(query)
    text = upstream_app.wait_for(r"ERROR|Traceback", offset, QUIET_S)
    assert status < 500
    assert server_log_problems(text) == []


@upstream_still_needs_it("bokeh 3.9.2's WSHandler.open decodes the token unchecked and "
                         "refuses by raising: tornado logs a traceback")
@pytest.mark.parametrize("name", [*TOKENS, *REFUSED_TOKENS])
def test_upstream_websocket_with_a_malformed_token_is_refused_quietly(upstream_app, name):
    _, text = _refused_quietly_by_websocket(upstream_app, name)
    assert server_log_problems(text) == []


# ---- malformed session tokens: the workaround ----------------------------------


@pytest.mark.parametrize("name", [*TOKENS, EMPTY_ID])
def test_a_page_request_with_a_malformed_token_is_refused_with_403(app, name):
    query = _query(app, name)
    offset = app.offset()
    status, _ = app.get(query)
    text = app.wait_for(r"403 GET", offset)
    assert status == 403
    assert re.search(r" WARNING tornado\.access: 403 GET /app\?bokeh-", text)
    assert server_log_problems(text) == []


@pytest.mark.parametrize("name", [*TOKENS, *REFUSED_TOKENS])
def test_a_websocket_with_a_malformed_token_is_refused_in_one_info_line(app, name):
    message, text = _refused_quietly_by_websocket(app, name)
    assert message is None  # closed without a message
    assert re.search(r" INFO bokeh\.server\.views\.ws: Refused a websocket connection", text)
    assert server_log_problems(text) == []


def test_well_formed_tokens_still_open_sessions(app):
    token = app.token()
    offset = app.offset()
    assert app.get("?bokeh-token=" + token)[0] == 200
    assert json.loads(app.websocket(token))["msgtype"] == "ACK"
    assert app.get("?bokeh-session-id=chosen")[0] == 200
    text = app.wait_for(r"ERROR|Traceback|Refused", offset, QUIET_S)
    assert "Refused" not in text
    assert server_log_problems(text) == []


# ---- changes between the page's pull and its document_ready ----------------------


def _pull_and_listen(app: _Served) -> str:
    """Open a ``?later=1`` page's session, pull its document as a page does; return what follows.

    A page that is still building its views: it never sends document_ready.
    Returns the events of every patch the server sends in the LATER_MS + 2 s
    after the pull reply.
    """
    status, page = app.get("?later=1")
    assert status == 200
    token = re.search(r'"token":\s*"([^"]+)"', page)[1]

    async def exchange():
        connection = await app.connect(token)
        assert json.loads(await connection.read_message())["msgtype"] == "ACK"
        for fragment in ('{"msgid": "1", "msgtype": "PULL-DOC-REQ"}', "{}", "{}"):
            await connection.write_message(fragment)
        frames, pulled = [], False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                frame = await asyncio.wait_for(connection.read_message(), 0.2)
            except TimeoutError:
                continue
            assert frame is not None, "the server closed the websocket"
            if isinstance(frame, str) and "PULL-DOC-REPLY" in frame:
                pulled, deadline = True, time.monotonic() + LATER_MS / 1e3 + 2
            elif pulled and isinstance(frame, str):
                frames.append(frame)
        connection.close()
        if not pulled or any(LATER in f for f in frames if f.startswith('{"doc"')):
            # Not an AssertionError: the test proves nothing either way.
            raise RuntimeError(f"no pull, or the pull came later than {LATER_MS} ms")
        return "\n".join(f for f in frames if f.startswith('{"events"'))

    return _run(exchange())


@upstream_still_needs_it("panel 1.9.4 drops what a hold changes between a page's pull and "
                         "its document_ready")
def test_upstream_sends_what_changes_before_the_page_is_ready(upstream_app):
    assert LATER in _pull_and_listen(upstream_app)


def test_what_changes_before_the_page_is_ready_reaches_it(app):
    offset = app.offset()
    assert LATER in _pull_and_listen(app)
    assert server_log_problems(app.since(offset)) == []


class _Handler:
    """What the wrappers use of a Tornado handler."""

    def __init__(self, token=None, arguments=None, headers=None):
        self._token, self.arguments, self.closed = token, arguments or {}, False
        self.request = type("Request", (), {"headers": headers or {}})()

    def get_argument(self, name, default=None):
        return self.arguments.get(name, default)

    def close(self):
        self.closed = True

    def _request_summary(self):
        return "GET /app/ws (127.0.0.1)"


def _raises(error):
    def method(self, *args, **kwargs):
        raise error
    return method


def test_a_fault_in_bokehs_websocket_open_still_raises():
    real = _forged(session_expiry=FUTURE)
    wrapped = workarounds._refuse_malformed_token(_raises(RuntimeError("a fault")))
    with pytest.raises(RuntimeError, match="a fault"):
        wrapped(_Handler(token=real))


def test_bokehs_own_refusal_is_one_info_line(records):
    handler = _Handler(token=_forged(session_expiry=FUTURE))
    wrapped = workarounds._refuse_malformed_token(_raises(ProtocolError("Token is expired")))
    assert wrapped(handler) is None
    assert records.at(logging.INFO, "bokeh.server.views.ws") == [
        "Refused a websocket connection (GET /app/ws (127.0.0.1)): Token is expired"]


def test_a_fault_in_session_creation_still_raises():
    wrapped = workarounds._refuse_malformed_session_request(_raises(RuntimeError("a fault")))
    with pytest.raises(RuntimeError, match="a fault"):
        wrapped(_Handler(arguments={"bokeh-session-id": "fine"}))


# ---- the keep-alive ping of a closing websocket -----------------------------------


class _OpenSocket(WebSocketHandler):
    """A websocket still open: it records the pings it is sent."""

    def __init__(self):  # no request: only ping is used
        self.pings = []

    def ping(self, data=b""):
        self.pings.append(data)


def _pinged_while_closing(keep_alive) -> tuple[BokehTornado, ServerConnection, _OpenSocket]:
    """Let ``keep_alive`` ping a connection whose socket has closed, before Tornado says
    so, and one whose socket is open."""
    socket = WebSocketHandler.__new__(WebSocketHandler)
    socket.ws_connection = None  # closed: its ping raises WebSocketClosedError
    connection = ServerConnection(Protocol(), socket, None, ServerSession("closing", Document()))
    open_socket = _OpenSocket()
    open_one = ServerConnection(Protocol(), open_socket, None, ServerSession("open", Document()))
    server = BokehTornado.__new__(BokehTornado)
    server._clients = {connection, open_one}
    keep_alive(server)
    return server, connection, open_socket


def _keep_alive(installed: bool):
    method = BokehTornado.__dict__["_keep_alive"]
    return method if installed else getattr(method, "_original", method)


@upstream_still_needs_it("bokeh 3.9.2's keep-alive detaches a closing socket's session, "
                         "and its last messages and on_close fail on it")
def test_upstream_keep_alive_leaves_a_closing_socket_its_session():
    _, connection, _ = _pinged_while_closing(_keep_alive(installed=False))
    assert connection._session is not None


def test_keep_alive_leaves_a_closing_socket_to_tornados_close(installed):
    server, connection, open_socket = _pinged_while_closing(_keep_alive(installed=True))
    assert connection.session.id == "closing"  # its last messages can still be handled
    assert open_socket.pings == [b"0"]  # the open sockets are still pinged, once each
    server.client_lost(connection)
    assert connection._session is None  # and Bokeh's on_close detaches it


# ---- a write to a closed websocket: the task nobody awaits ----------------------


class _GoneProtocol:
    """A websocket whose browser has gone, as Tornado 6.6 sees it.

    The first frame written fails (its task raises WebSocketClosedError) and
    closes the stream, so the next ``write_message`` raises at once.
    """

    def __init__(self):
        self.closing = False

    def is_closing(self) -> bool:
        return self.closing

    def write_message(self, message, binary=False):
        self.closing = True

        async def write():
            raise WebSocketClosedError()

        return asyncio.ensure_future(write())


class _Connection:
    def __init__(self):
        self._socket = WebSocketHandler.__new__(WebSocketHandler)
        self._socket.ws_connection = _GoneProtocol()


class _Message:
    def __init__(self):
        self.header_json = self.metadata_json = self.content_json = "{}"
        self._buffers = []


def _panel_writes_to_a_closed_tab(handler=None) -> list[dict]:
    """Let Panel write one message to a tab that has closed; return asyncio's reports.

    As Panel does for events it cannot send at once (``schedule_write_events``):
    the message is queued and ``_dispatch_msgs`` sends it in a task of its own.
    asyncio's reports go to ``handler``; by default they are collected.
    """
    reports = []

    async def scenario():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(handler or (lambda loop, context: reports.append(context)))
        doc = Document()
        panel_document._WRITE_BLOCK[doc] = True
        panel_document._WRITE_MSGS[doc] = {_Connection(): [_Message()]}
        panel_document._dispatch_write_task(doc, panel_document._dispatch_msgs, doc)
        for _ in range(10):
            await asyncio.sleep(0)
        del doc
        gc.collect()  # a failed task sits in a reference cycle with its traceback

    _run(scenario())
    return reports


def _unretrieved(reports: list[dict], kind: type[BaseException]) -> list[dict]:
    return [r for r in reports if r.get("message") == "Task exception was never retrieved"
            and isinstance(r.get("exception"), kind)]


@upstream_still_needs_it("panel 1.9.4's dispatch_tornado loses the write tasks of a "
                         "closed websocket, and nobody awaits _dispatch_msgs")
def test_upstream_retrieves_every_failed_write_to_a_closed_tab():
    assert _unretrieved(_panel_writes_to_a_closed_tab(), WebSocketClosedError) == []


def test_the_unretrieved_closed_socket_writes_are_not_logged(records, installed):
    reports = _panel_writes_to_a_closed_tab(
        handler=lambda loop, context: loop.default_exception_handler(context))
    assert reports == []  # logged by asyncio's default handler, not collected
    assert records.at(logging.ERROR, "asyncio") == []


def test_other_unretrieved_task_exceptions_are_still_logged(records, installed):
    async def scenario():
        async def fails():
            raise RuntimeError("a real fault")

        task = asyncio.ensure_future(fails())
        await asyncio.sleep(0)
        del task
        gc.collect()

    _run(scenario())
    (logged,) = [r for r in records.records if r.name == "asyncio"]
    assert logged.levelno == logging.ERROR
    assert isinstance(logged.exc_info[1], RuntimeError)


def test_a_closed_socket_error_in_another_asyncio_record_is_still_logged(records, installed):
    logger = logging.getLogger("asyncio")
    try:
        raise WebSocketClosedError()
    except WebSocketClosedError:
        logger.error("Exception in callback write()", exc_info=True)
    assert records.at(logging.ERROR, "asyncio") == ["Exception in callback write()"]


# ---- a write to a closed websocket: the warning ---------------------------------


class _ClosedMessage:
    async def send(self, handler):
        raise WebSocketClosedError()


def _bokeh_sends_to_a_closed_tab():
    _run(WSHandler.send_message(object(), _ClosedMessage()))


def _panel_awaits_a_write(error: BaseException):
    async def scenario():
        future = asyncio.get_running_loop().create_future()
        future.set_exception(error)
        doc = Document()
        panel_document._WRITE_FUTURES[doc] = [future]
        await panel_document._run_write_futures(doc)

    _run(scenario())


@upstream_still_needs_it("bokeh 3.9.2 logs a WARNING when a tab has closed")
def test_upstream_bokeh_logs_a_closed_tab_below_warning(records, upstream):
    _bokeh_sends_to_a_closed_tab()
    assert records.at(logging.WARNING, "bokeh.server.views.ws") == []


@upstream_still_needs_it("panel 1.9.4 logs a WARNING when a tab has closed")
def test_upstream_panel_logs_a_closed_tab_below_warning(records, upstream):
    _panel_awaits_a_write(WebSocketClosedError())
    assert records.at(logging.WARNING, "panel.io.document") == []


def test_a_closed_tab_is_logged_at_info(records, installed):
    _bokeh_sends_to_a_closed_tab()
    _panel_awaits_a_write(WebSocketClosedError())
    assert records.at(logging.WARNING, "bokeh.server.views.ws") == []
    assert records.at(logging.WARNING, "panel.io.document") == []
    assert records.at(logging.INFO, "bokeh.server.views.ws") == [workarounds.CLOSED_MESSAGE]
    assert records.at(logging.INFO, "panel.io.document") == [workarounds.CLOSED_MESSAGE]


def test_another_failed_write_is_still_a_warning(records, installed):
    _panel_awaits_a_write(RuntimeError("a real fault"))
    assert records.at(logging.WARNING, "panel.io.document") == [
        "Failed sending message due to following error: a real fault"]


def test_install_is_idempotent(installed):
    workarounds.install()
    for name, kind in workarounds.FILTERS.items():
        assert sum(isinstance(f, kind) for f in logging.getLogger(name).filters) == 1
    for owner, attribute, wrap in workarounds.WRAPPERS:
        method = owner.__dict__[attribute]
        assert method._workaround is wrap
        assert getattr(method._original, "_workaround", None) is None


# ---- stylesheets of a session the websocket opens --------------------------------


def _stylesheets_of_a_websocket_session(app: _Served) -> list[str]:
    """Open a session by its websocket alone; return its documents' stylesheet URLs.

    As a second process of ``--num-procs`` does when a page's websocket
    reaches it: no HTML page was served for the session there.
    """

    def pull():
        with pull_session(url=f"http://127.0.0.1:{app.port}/app") as session:
            models = session.document.select({"type": Model})
            return [str(sheet.url) for model in models
                    for sheet in getattr(model, "stylesheets", ()) if hasattr(sheet, "url")]

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(pull).result()


@upstream_still_needs_it("panel 1.9.4 rewrites its CDN stylesheets to this server's only "
                         "in a session whose HTML page it served")
def test_upstream_websocket_session_loads_stylesheets_from_this_server(upstream_app):
    urls = _stylesheets_of_a_websocket_session(upstream_app)
    assert urls
    assert [url for url in urls if "cdn.holoviz.org" in url] == []


def test_a_websocket_session_loads_stylesheets_from_this_server(app):
    urls = _stylesheets_of_a_websocket_session(app)
    assert "static/extensions/panel/css/markdown.css?v=" + JS_VERSION in urls
    assert [url for url in urls if "://" in url] == []
    status, page = app.get()  # the page's own session: unchanged
    assert status == 200
    assert "cdn.holoviz.org" not in page


# ---- panel-material-ui's FileInput and an empty file -----------------------------


def _upload_nothing(widget):
    """What the browser sends for a 0-byte file: no chunk, then "finished"."""
    widget._handle_msg({"status": "initializing"})
    widget._handle_msg({"status": "finished"})


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="panel-material-ui 0.16.6 says nothing about an empty upload")
def test_upstream_file_input_reports_an_empty_file():
    import panel_material_ui as pmui

    widget, events = pmui.FileInput(), []
    widget.param.watch(events.append, list(widget.param))
    _upload_nothing(widget)
    assert events, "an empty upload changed nothing a watcher could see"


def test_an_empty_upload_is_told():
    import panel_material_ui as pmui

    told = []
    widget = workarounds.on_empty_upload(pmui.FileInput(), lambda: told.append(True))
    _upload_nothing(widget)
    _upload_nothing(widget)
    assert told == [True, True]
    assert widget.value is None
    widget._handle_msg({"status": "upload_event", "name": "a.csv", "chunk": 1,
                        "total_chunks": 1, "mime_type": "text/csv", "data": list(b"x,y")})
    widget._handle_msg({"status": "finished"})
    assert told == [True, True]  # a file with content is not empty
    assert widget.value == b"x,y"


# ---- sliders without Panel's debounce ----------------------------------------------


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="panel 1.9.4 delays every slider value by its 50 ms debounce")
def test_upstream_applies_slider_values_at_once():
    import panel_material_ui as pmui

    assert "value_throttled" in pmui.IntSlider._priority_changes


def test_immediate_sliders_skip_the_debounce_and_other_widgets_keep_it():
    import panel as pn
    import panel_material_ui as pmui

    slider, select = pmui.IntSlider(), pn.widgets.Select(options=["a"])
    workarounds.immediate(pn.Column(slider, select))
    assert slider._priority_changes == ["value", "value_throttled"]
    assert select._priority_changes == []


# ---- a refused value is one warning line -------------------------------------------


def _refused_change(caplog):
    """What Panel does with a browser's value that the model refuses; return the records."""
    import panel as pn
    import param as param_

    from polyfit_explorer.parameters import InvalidValue

    class Refusing(param_.Parameterized):
        value = param_.Integer(default=1, doc="A value the watcher refuses.")

        @param_.depends("value", watch=True)
        def _refuse(self):
            raise InvalidValue("value must stay 1")

    widget = pn.widgets.IntInput.from_param(Refusing().param.value)
    with caplog.at_level(logging.WARNING, logger="panel.reactive"), \
            contextlib.suppress(InvalidValue):
        widget._process_events({"value": 2})
    return [r for r in caplog.records if r.name == "panel.reactive"]


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="panel 1.9.4 logs a refused value as an error with a traceback")
def test_upstream_logs_a_refused_value_without_a_traceback(caplog, monkeypatch):
    logger = logging.getLogger("panel.reactive")
    monkeypatch.setattr(logger, "filters", [f for f in logger.filters
                                            if not isinstance(f, workarounds.RefusedValueFilter)])
    records = _refused_change(caplog)
    assert all(r.exc_info is None and r.levelno < logging.ERROR for r in records)


def test_a_refused_value_is_one_warning_line(caplog):
    workarounds.install()
    records = _refused_change(caplog)
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in records] == [
        ("WARNING", "Refused value: value must stay 1", None)]


# ---- the material page's busy bar ---------------------------------------------------


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="panel-material-ui 0.16.6 binds every page's busy bar to pn.state.busy")
def test_upstream_page_leaves_panels_busy_state_alone():
    import panel as pn
    import panel_material_ui as pmui

    before = len(pn.state.param.watchers.get("busy", {}).get("value", []))
    pmui.Page(main=["x"], busy_indicator=None)
    assert len(pn.state.param.watchers.get("busy", {}).get("value", [])) == before


# ---- a notebook page: the comm before the views, and inline stylesheets ------------


def _comm_manager_source() -> str:
    import panel

    return (Path(panel.__file__).parent / "models" / "comm_manager.ts").read_text()


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="panel 1.9.4's CommManager drops what the kernel sends before the "
                          "notebook output's views are built")
def test_upstream_comm_manager_consumes_messages_before_the_views_exist():
    handler = _comm_manager_source().split("msg_handler(msg: any) {", 1)[1]
    before_consuming = handler.split("this._receiver.consume", 1)[0]
    assert not re.search(r"if \(plot == null\) \{\s*return", before_consuming)


def test_the_comm_script_patches_the_handler_panel_registers():
    import panel

    bundle = (Path(panel.__file__).parent / "dist" / "panel.min.js").read_text()
    assert '"panel.models.comm_manager"' in bundle
    assert "msg_handler(" in _comm_manager_source()
    data, _ = workarounds.comm_before_render(({"text/html": "<div>page</div>"}, {}))
    assert data["text/html"].startswith("<script>")
    assert data["text/html"].endswith("</script>\n<div>page</div>")
    assert 'Bokeh.Models.get("panel.models.comm_manager.CommManager")' in data["text/html"]


def _notebook_model():
    """A Markdown model made for a notebook's document after its output was shown."""
    import panel as pn
    from bokeh.document import Document
    from pyviz_comms import Comm

    doc, comm = Document(), Comm()
    pane = pn.pane.Markdown("x")
    with pn.config.set(inline=True):
        model = pane.get_root(doc, comm)
    doc.add_root(model)
    return doc, model


def _cdn_stylesheets(model) -> list[str]:
    from bokeh.models import ImportedStyleSheet

    return [s.url for s in model.stylesheets
            if isinstance(s, ImportedStyleSheet) and s.url.startswith("https://cdn.")]


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="panel 1.9.4 links a model made after display to cdn.holoviz.org "
                          "despite inline=True")
def test_upstream_notebook_models_made_later_have_inline_stylesheets():
    _, model = _notebook_model()
    assert _cdn_stylesheets(model) == []


def test_a_notebook_patch_inlines_the_stylesheets_of_new_models():
    import panel as pn
    from panel.io import notebook

    workarounds.install(notebook=True)
    doc, model = _notebook_model()
    assert _cdn_stylesheets(model)  # what the patch would have linked
    with pn.config.set(inline=True):
        doc.hold()
        notebook.diff(doc)
    assert _cdn_stylesheets(model) == []


def _sent_order(monkeypatch, upstream: bool) -> list[str]:
    """Push a patch while the comm is closed, open it, push another; return the sent order."""
    import asyncio
    import inspect

    from bokeh.models import Div
    from panel.io import notebook
    from pyviz_comms import Comm

    workarounds.install(notebook=True)
    if upstream:
        monkeypatch.setattr(notebook, "diff", inspect.unwrap(notebook.diff))
        monkeypatch.setattr(notebook, "send", inspect.unwrap(notebook.send))
    sent = []

    class Recorder(Comm):
        def send(self, data=None, metadata=None, buffers=()):
            sent.extend(text for text in ("first", "second") if f'"{text}"' in str(data))

    comm, doc, div = Recorder(), Document(), Div(text="drawn")
    doc.add_root(div)
    doc.models.flush_synced()
    doc.hold()

    async def push_twice():
        div.text = "first"
        notebook.push(doc, comm)  # the page's comm is not open yet: sent 0.1 s later
        comm._comm = object()  # the page opened it
        div.text = "second"
        notebook.push(doc, comm)
        await asyncio.sleep(0.3)

    asyncio.run(push_twice())
    return sent


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="panel 1.9.4 sends a patch made after the comm opened before one "
                          "that waited for it")
def test_upstream_notebook_sends_patches_in_the_order_made(monkeypatch):
    assert _sent_order(monkeypatch, upstream=True) == ["first", "second"]


def test_notebook_patches_are_sent_in_the_order_made(monkeypatch):
    assert _sent_order(monkeypatch, upstream=False) == ["first", "second"]
