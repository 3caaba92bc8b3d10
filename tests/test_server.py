"""The security headers of ``python -m polyfit_explorer`` (``polyfit_explorer.server``).

The served tests read the headers over HTTP from a real server; the browser's
side (that the app works under the policy, and that an injected handler does
not run) is ``tests/ui/test_csp.py``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import urllib.request
from textwrap import dedent

import pytest
from tornado.httputil import HTTPHeaders
from tornado.web import GZipContentEncoding

from polyfit_explorer import server
from polyfit_explorer.testing import serve, server_log_problems

#: A start tag of a script element, as a browser's tokenizer finds it in these pages.
SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
LMS = "https://lms.example.org"


def fetch(url: str) -> tuple[HTTPHeaders, bytes]:
    with urllib.request.urlopen(url, timeout=60) as response:
        assert response.status == 200
        return response.headers, response.read()


def policy(header: str) -> dict[str, list[str]]:
    """Parse a Content-Security-Policy value into ``{directive: [sources]}``."""
    directives = [d.split() for d in header.split(";") if d.strip()]
    parsed = {name: sources for name, *sources in directives}
    assert len(parsed) == len(directives), f"a directive is repeated: {header}"
    return parsed


def nonce_of(csp: dict[str, list[str]]) -> str:
    (nonce,) = [s for s in csp["script-src"] if s.startswith("'nonce-")]
    return nonce.removeprefix("'nonce-").removesuffix("'")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The packaged app, served as ``python -m polyfit_explorer``."""
    log = tmp_path_factory.mktemp("serve") / "server.log"
    with serve(["-m", "polyfit_explorer"], log) as running:
        yield running
    assert server_log_problems(log.read_text()) == []


@pytest.fixture(scope="module")
def teachers(tmp_path_factory):
    """A script of a teacher's own, served with ``--frame-ancestors`` for an LMS."""
    folder = tmp_path_factory.mktemp("teacher")
    script = folder / "lesson.py"
    script.write_text(dedent("""
        import panel as pn

        pn.pane.Markdown("# A lesson").servable()
    """))
    log = folder / "server.log"
    with serve(["-m", "polyfit_explorer", str(script), "--frame-ancestors", LMS],
               log) as running:
        yield running
    assert server_log_problems(log.read_text()) == []


# ---- served -----------------------------------------------------------------------


def test_every_script_of_the_page_carries_the_headers_nonce_and_each_page_a_new_one(served):
    nonces = []
    for _ in range(2):
        headers, body = fetch(served.url("explorer"))
        nonce = nonce_of(policy(headers["Content-Security-Policy"]))
        page = body.decode()
        tags = SCRIPT_TAG.findall(page)
        # The inline ones (document, bootstrap, websocket wrapper, loader) and the bundles.
        assert len(tags) >= 10
        assert page.lower().count("<script") == len(tags)
        assert [tag for tag in tags if f'nonce="{nonce}"' not in tag] == []
        assert len(nonce) >= 22, "fewer than 128 random bits"
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_scripts_only_from_the_server_or_with_the_nonce(served):
    headers, _ = fetch(served.url("explorer"))
    csp = policy(headers["Content-Security-Policy"])
    nonce = nonce_of(csp)

    assert csp["script-src"] == ["'self'", f"'nonce-{nonce}'"]  # no 'unsafe-eval': canvas
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'strict-dynamic'" not in csp["script-src"]
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'self'"]
    assert csp["connect-src"] == ["'self'", "blob:"]


@pytest.mark.parametrize("path", ["explorer", "static/js/bokeh.min.js", "liveness"])
def test_every_response_has_the_security_headers(served, path):
    headers, body = fetch(served.url(path))

    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Referrer-Policy"] == "same-origin"
    assert policy(headers["Content-Security-Policy"])["frame-ancestors"] == ["'self'"]
    assert int(headers["Content-Length"]) == len(body)
    assert headers.get_all("Content-Security-Policy") == [headers["Content-Security-Policy"]]


def test_webgl_alone_allows_eval():
    assert "'unsafe-eval'" not in server.content_security_policy("n", ["'self'"], webgl=False)
    with_webgl = policy(server.content_security_policy("n", ["'self'"], webgl=True))
    assert with_webgl["script-src"] == ["'self'", "'nonce-n'", "'unsafe-eval'"]


def test_only_pages_name_a_nonce_and_scripts_keep_their_type(served):
    for path in ("static/js/bokeh.min.js", "liveness"):
        headers, _ = fetch(served.url(path))
        csp = policy(headers["Content-Security-Policy"])
        assert csp["script-src"] == ["'self'"]
    # With nosniff a script runs only if its type says JavaScript.
    headers, _ = fetch(served.url("static/js/bokeh.min.js"))
    assert headers["Content-Type"] in ("application/javascript", "text/javascript")


def test_the_page_has_no_validator_that_could_pair_it_with_another_nonce(served):
    headers, _ = fetch(served.url("explorer"))
    assert "Etag" not in headers
    assert "Last-Modified" not in headers


def test_frame_ancestors_option_names_the_lms_and_drops_x_frame_options(teachers):
    for path in ("lesson", "liveness"):
        headers, body = fetch(teachers.url(path))
        assert policy(headers["Content-Security-Policy"])["frame-ancestors"] == [LMS]
        assert "X-Frame-Options" not in headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"
        assert int(headers["Content-Length"]) == len(body)


def test_a_teachers_script_is_served_with_the_nonce(teachers):
    headers, body = fetch(teachers.url("lesson"))
    nonce = nonce_of(policy(headers["Content-Security-Policy"]))
    tags = SCRIPT_TAG.findall(body.decode())
    assert tags
    assert all(f'nonce="{nonce}"' in tag for tag in tags)


def test_a_source_that_would_end_the_directive_is_refused():
    run = subprocess.run(
        [sys.executable, "-m", "polyfit_explorer", "--frame-ancestors", "https://a.org;",
         "script-src", "*"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert "not a CSP source: https://a.org; *" in run.stderr


# ---- the parts --------------------------------------------------------------------


def test_only_real_script_start_tags_get_the_nonce():
    html = ('<!-- <script> -->\n<SCRIPT src="a.js"></SCRIPT>\n'
            '<script>const s = "<script>";</script><div title="<script>"></div>\n'
            '<p>é</p><script type="application/json">{"a": "<b>"}</script><script/>')
    assert server.add_nonce(html, "N") == (
        '<!-- <script> -->\n<SCRIPT nonce="N" src="a.js"></SCRIPT>\n'
        '<script nonce="N">const s = "<script>";</script><div title="<script>"></div>\n'
        '<p>é</p><script nonce="N" type="application/json">{"a": "<b>"}</script>'
        '<script nonce="N"/>')


def test_a_page_in_several_chunks_is_held_back_and_sent_whole():
    transform = server.security_headers(["'self'"])(None)
    headers = HTTPHeaders({"Content-Type": "text/html; charset=UTF-8", "Content-Length": "40",
                           "Etag": '"x"'})

    _, headers, first = transform.transform_first_chunk(200, headers, b"<p>\xc3", False)
    rest = transform.transform_chunk(b"\xa9</p><script>1</script>", True)

    nonce = nonce_of(policy(headers["Content-Security-Policy"]))
    assert first == b""
    assert rest == f'<p>é</p><script nonce="{nonce}">1</script>'.encode()
    assert "Content-Length" not in headers, "it would be wrong; the page goes chunked"
    assert "Etag" not in headers


def test_a_not_modified_response_keeps_the_cached_policy():
    transform = server.security_headers(["'self'"])(None)
    _, headers, _ = transform.transform_first_chunk(304, HTTPHeaders(), b"", True)
    assert "Content-Security-Policy" not in headers
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("compress", [False, True])
def test_the_headers_come_before_the_transforms_tornado_would_use(compress):
    parser = argparse.ArgumentParser()
    command = server.SecureServe(parser=parser)
    args = parser.parse_args([str(server.APP)])

    kwargs = command.customize_kwargs(args, {"compress_response": compress})

    first, *others = kwargs["transforms"]
    assert issubclass(first, server.SecurityHeaders)
    assert others == ([GZipContentEncoding] if compress else [])


@pytest.mark.parametrize(("values", "sources", "frame_options"), [
    (["'self'"], ("'self'",), "SAMEORIGIN"),
    (["'none'"], ("'none'",), "DENY"),
    ([f"'self' {LMS}"], ("'self'", LMS), None),
    (["'self'", "https://*.example.org:8443"], ("'self'", "https://*.example.org:8443"), None),
])
def test_frame_ancestors_values(values, sources, frame_options):
    assert server.frame_ancestor_sources(values) == sources
    _, headers, _ = server.security_headers(sources)(None).transform_first_chunk(
        200, HTTPHeaders({"Content-Type": "application/json"}), b"{}", True)
    assert headers.get("X-Frame-Options") == frame_options


@pytest.mark.parametrize("values", [["https://a.org;"], ["'unsafe-inline'"], ["a,b"],
                                    ["'none' 'self'"], []])
def test_frame_ancestors_refuses_what_is_no_source(values):
    with pytest.raises(ValueError, match="frame-ancestors"):
        server.frame_ancestor_sources(values)
