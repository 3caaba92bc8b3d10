"""Serve an app with security headers: ``polyfit-explorer [SCRIPT] [panel serve options]``.

``panel serve`` sends no Content-Security-Policy and no other security
header.  This module runs the same command (every ``panel serve`` option
works) with one addition: a Tornado output transform that sets

- ``Content-Security-Policy`` (:data:`POLICY`): scripts only from this
  server or carrying the response's nonce, so an inline event handler or an
  injected ``<script>`` does not run;
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``;
- ``X-Frame-Options`` when the allowed frame ancestors are ``'self'`` or
  ``'none'`` (``--frame-ancestors``).

Panel and Bokeh know nothing of nonces, so the transform adds a fresh nonce
to every ``<script>`` start tag of each HTML page it sends.  That trusts every
script tag the server itself writes into a page; it protects against markup
that reaches the page later, in the browser (Bokeh documents arrive over the
websocket and Panel's panes render their HTML there).
"""

from __future__ import annotations

import argparse
import logging
import re
import secrets
import sys
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

from bokeh.command.subcommand import Argument
from bokeh.command.util import die
from panel.command import transform_cmds
from panel.command.serve import Serve
from panel.config import config
from tornado import httputil
from tornado.web import GZipContentEncoding, OutputTransform

from . import allocator, lessons, workarounds
from .plots import OUTPUT_BACKEND

__all__ = ["POLICY", "SecureServe", "SecurityHeaders", "content_security_policy", "main"]

log = logging.getLogger(__name__)

#: The packaged app, served when no script is given.
APP = Path(__file__).with_name("explorer.py")

#: Stands for the response's ``'nonce-…'`` source in :data:`POLICY`.
NONCE = "'nonce-{nonce}'"

#: The Content-Security-Policy, directive by directive (``frame-ancestors`` comes
#: from ``--frame-ancestors``).  Each source beyond ``'self'`` is there because
#: the app breaks or reports a violation without it; docs/serving.md quotes
#: the violations.
POLICY: dict[str, tuple[str, ...]] = {
    # Anything without a directive of its own (frames, media, workers, manifests).
    "default-src": ("'self'",),
    # Bokeh, Panel and their bundles come from this server's static/ routes; the
    # page's inline scripts (the document, its bootstrap) carry the nonce.
    # 'unsafe-eval' only with WebGL (see WEBGL_SOURCES).
    # Not 'unsafe-inline': it would allow inline event handlers.  Not
    # 'strict-dynamic': Panel's HTML pane re-creates the <script> elements of a
    # pane's HTML with createElement, which 'strict-dynamic' would trust.
    "script-src": ("'self'", NONCE),
    # Bokeh and Material UI inject <style> elements and style attributes at run
    # time; they carry no nonce, and a nonce here would disable 'unsafe-inline'.
    "style-src": ("'self'", "'unsafe-inline'"),
    # data: Bokeh's toolbar icons and Panel's select arrow are data: images.
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    # 'self' covers the websocket (ws:/wss: to this host, CSP level 3).  blob:
    # es-module-shims fetches the blob: URL Panel makes of each ES module
    # component's code (panel-material-ui's widgets) before it runs it.
    "connect-src": ("'self'", "blob:"),
    "object-src": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
}

#: What WebGL adds to ``script-src``: Bokeh's WebGL renderer (regl, in
#: bokeh-gl.js) compiles its draw commands with Function().  The app draws on
#: a 2D canvas unless POLYFIT_EXPLORER_OUTPUT_BACKEND=webgl (plots.OUTPUT_BACKEND).
WEBGL_SOURCES = ("'unsafe-eval'",)

#: X-Frame-Options for the frame ancestors it can express.  It cannot name other
#: origins (ALLOW-FROM is obsolete and ignored), so with any other origin it is
#: left out; browsers that know CSP go by frame-ancestors anyway.
FRAME_OPTIONS = {("'self'",): "SAMEORIGIN", ("'none'",): "DENY"}

#: What ``--frame-ancestors`` may hold: keywords, schemes or host sources.
SOURCE = re.compile(
    r"'self'|'none'|[a-z][a-z0-9+.-]*:"
    r"|(?:[a-z][a-z0-9+.-]*://)?(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::(?:\d+|\*))?"
    r"(?:/[^\s;,']*)?",
    re.IGNORECASE,
)


def content_security_policy(nonce: str | None, frame_ancestors: Sequence[str],
                            webgl: bool = OUTPUT_BACKEND == "webgl") -> str:
    """Return the Content-Security-Policy header's value.

    Parameters
    ----------
    nonce
        The response's nonce, or None for a response that is no HTML page (its
        ``script-src`` then names no nonce).
    frame_ancestors
        The sources of ``frame-ancestors``: who may show the page in a frame.
    webgl
        Whether the figures draw with WebGL, which needs :data:`WEBGL_SOURCES`.

    Returns
    -------
    str
        The directives of :data:`POLICY` and ``frame-ancestors``, joined by ``; ``.
    """
    directives = []
    policy = {**POLICY, "frame-ancestors": tuple(frame_ancestors)}
    if webgl:
        policy["script-src"] += WEBGL_SOURCES
    for name, sources in policy.items():
        kept = [s.format(nonce=nonce) for s in sources if nonce is not None or s != NONCE]
        directives.append(" ".join([name, *kept]))
    return "; ".join(directives)


class _ScriptTags(HTMLParser):
    """Find where the ``<script`` start tags of an HTML text are.

    A parser, not a regular expression: ``<script`` inside a script's text, a
    comment or an attribute value is no tag, and must not get the nonce.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.positions: list[tuple[int, int]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "script":
            self.positions.append(self.getpos())

    handle_startendtag = handle_starttag


def add_nonce(html: str, nonce: str) -> str:
    """Return ``html`` with ``nonce="…"`` first in every ``<script>`` start tag.

    First, so that it wins over a nonce attribute the tag may already have
    (browsers keep the first of repeated attributes).

    Parameters
    ----------
    html
        An HTML page.
    nonce
        The value of the attribute.

    Returns
    -------
    str
        The page with the attribute added.
    """
    parser = _ScriptTags()
    parser.feed(html)
    parser.close()
    # getpos() counts lines by "\n" and columns from the last "\n".
    line_starts = [0] + [m.end() for m in re.finditer("\n", html)]
    offsets = [line_starts[line - 1] + column for line, column in parser.positions]
    # A tag the parser misplaced is left alone: its script is blocked, nothing else.
    offsets = [o for o in offsets if html[o:o + len("<script")].lower() == "<script"]
    parts, last = [], 0
    for offset in offsets:
        end = offset + len("<script")
        parts += [html[last:end], f' nonce="{nonce}"']
        last = end
    parts.append(html[last:])
    return "".join(parts)


class SecurityHeaders(OutputTransform):
    """Set the security headers on every response; add the nonce to HTML pages.

    Tornado makes one instance per request.  An HTML page is rewritten whole:
    if it comes in several chunks they are held back until the last one.
    """

    #: The sources of ``frame-ancestors``; :func:`security_headers` sets them.
    frame_ancestors: tuple[str, ...] = ("'self'",)

    def __init__(self, request: httputil.HTTPServerRequest) -> None:
        self._nonce: str | None = None
        self._held: list[bytes] = []
        self._charset = "utf-8"

    def transform_first_chunk(
        self, status_code: int, headers: httputil.HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, httputil.HTTPHeaders, bytes]:
        """Set the headers; start rewriting an HTML page."""
        content_type = headers.get("Content-Type", "")
        page = content_type.split(";")[0].strip().lower() == "text/html"
        if page and status_code not in (204, 304):  # those have no body
            self._nonce = secrets.token_urlsafe(18)
            match = re.search(r"charset=([\w-]+)", content_type, re.IGNORECASE)
            self._charset = match[1] if match else "utf-8"
            # A validator would let a browser pair a cached page (old nonces)
            # with a fresh header (a new nonce) and block every script.
            for name in ("Etag", "Last-Modified"):
                headers.pop(name, None)
            if not finishing:
                headers.pop("Content-Length", None)  # the page grows; send it chunked
            chunk = self.transform_chunk(chunk, finishing)
            if finishing:
                headers["Content-Length"] = str(len(chunk))
        self._set_headers(status_code, headers)
        return status_code, headers, chunk

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        """Hold back an HTML page's chunks until the last; pass anything else on."""
        if self._nonce is None:
            return chunk
        self._held.append(chunk)
        if not finishing:
            return b""
        page, self._held = b"".join(self._held), []
        try:
            html = page.decode(self._charset)
        except (UnicodeDecodeError, LookupError):
            # Without the nonce the page's scripts are blocked: safe, and loud.
            log.error("Cannot decode an HTML page as %s: its scripts will not run",
                      self._charset)
            return page
        return add_nonce(html, self._nonce).encode(self._charset)

    def _set_headers(self, status_code: int, headers: httputil.HTTPHeaders) -> None:
        # A 304's headers replace those of the cached response, whose page holds
        # other nonces (and a 304 no longer says whether it stands for a page).
        if status_code != 304:
            headers["Content-Security-Policy"] = content_security_policy(
                self._nonce, self.frame_ancestors)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "same-origin"
        if self.frame_ancestors in FRAME_OPTIONS:
            headers["X-Frame-Options"] = FRAME_OPTIONS[self.frame_ancestors]


def security_headers(frame_ancestors: Sequence[str]) -> type[SecurityHeaders]:
    """Return a :class:`SecurityHeaders` that allows ``frame_ancestors`` to frame the app.

    Parameters
    ----------
    frame_ancestors
        CSP sources, e.g. ``["'self'", "https://lms.example.org"]``.

    Returns
    -------
    type
        A subclass for Tornado's ``transforms`` setting, which takes classes.
    """
    return type("SecurityHeaders", (SecurityHeaders,),
                {"frame_ancestors": tuple(frame_ancestors)})


def frame_ancestor_sources(values: Sequence[str]) -> tuple[str, ...]:
    """Split and check the values of ``--frame-ancestors``.

    Parameters
    ----------
    values
        The option's values; each may hold several sources separated by spaces.

    Returns
    -------
    tuple of str
        The sources.

    Raises
    ------
    ValueError
        If a value is no CSP source (a ``;`` or ``,`` would end the directive),
        or ``'none'`` comes with other sources.
    """
    sources = tuple(source for value in values for source in value.split())
    bad = [source for source in sources if not SOURCE.fullmatch(source)]
    if bad or not sources:
        raise ValueError(f"--frame-ancestors: not a CSP source: {' '.join(bad) or '(none)'}")
    if "'none'" in sources and len(sources) > 1:
        raise ValueError("--frame-ancestors: 'none' cannot be combined with other sources")
    return sources


class SecureServe(Serve):
    """``panel serve`` with :class:`SecurityHeaders` on every response."""

    args = (*Serve.args, ("--frame-ancestors", Argument(
        metavar="SOURCE", nargs="+", default=["'self'"],
        help=("Who may show the app in a frame: CSP frame-ancestors sources, e.g. "
              "\"'self'\" https://lms.example.org (default: 'self'). "
              "X-Frame-Options is sent only for 'self' or 'none'."),
    )), ("--lesson", Argument(
        metavar="FILE", action="append", default=[],
        help=("A lesson file (Markdown, see the README's \"Teaching with it\") to offer; "
              "the app opens it at ?lesson=<file name without .md>. Repeat for more."),
    )))

    def customize_kwargs(self, args: argparse.Namespace, server_kwargs: dict) -> dict:
        """Return Panel's server settings with the headers' transform first among Tornado's.

        Parameters
        ----------
        args
            The parsed command line.
        server_kwargs
            The settings for Bokeh's ``Server``; those it does not know reach
            ``tornado.web.Application``, which takes ``transforms``.

        Returns
        -------
        dict
            A copy of the settings, with ``transforms``.
        """
        kwargs = super().customize_kwargs(args, server_kwargs)
        transforms = kwargs.get("transforms")
        if transforms is None:  # what tornado.web.Application uses without the setting
            gzip = kwargs.get("compress_response") or kwargs.get("gzip")
            transforms = [GZipContentEncoding] if gzip else []
        # First: it must see the page before any compression does.
        headers = security_headers(frame_ancestor_sources(args.frame_ancestors))
        kwargs["transforms"] = [headers, *transforms]
        return kwargs


def main(argv: Sequence[str] | None = None) -> None:
    """Serve a script (by default the packaged app) as ``panel serve`` does, with the headers.

    Parameters
    ----------
    argv
        ``[SCRIPT] [panel serve options]``; ``sys.argv[1:]`` if None.  A first
        argument ending in ``.py`` is the script to serve, else the packaged
        app (at ``/explorer``) is served.  With None, on glibc, the process
        first starts itself again with ``PYTHONMALLOC=malloc`` unless the
        variable is set (:mod:`.allocator`): a class's memory then goes back
        to the system after it leaves.
    """
    if argv is None:
        allocator.use_system_malloc()
    # As `panel` does: anaconda-project's options become panel serve's.
    args = transform_cmds(list(sys.argv[1:] if argv is None else argv))
    script = args.pop(0) if args and args[0].endswith(".py") else str(APP)
    parser = argparse.ArgumentParser(
        prog="polyfit-explorer", usage="%(prog)s [SCRIPT.py] [panel serve options]",
        description="Serve the app (or SCRIPT.py) like `panel serve`, with security headers.")
    command = SecureServe(parser=parser)
    parsed = parser.parse_args([script, *args])
    try:
        frame_ancestor_sources(parsed.frame_ancestors)
        # Checked now, and found by every process --num-procs forks (lessons.SERVED).
        if parsed.lesson:
            lessons.serve(parsed.lesson)
    except ValueError as error:  # a LessonError names the file and the line
        parser.error(str(error))
    # Now, not when the first page is built: a request before it would be logged raw.
    workarounds.install()
    try:
        command.invoke(parsed)
    except Exception as error:
        # As `panel serve` does: a traceback only when debugging.
        if config.autoreload or config.log_level in ("DEBUG", "INFO"):
            raise
        die(f"ERROR: {error}")
