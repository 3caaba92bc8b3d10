"""The helpers the browser tests and benchmarks share: the server-log check and ``serve``."""

from __future__ import annotations

import os
import socket
import urllib.request

import pytest

from polyfit_explorer.testing import ServerFailed, free_ports, serve, server_log_problems

STAMP = "2026-01-02 03:04:05,678"
#: The logger of the Explorer's own records.
EXPLORER = "polyfit_explorer.views.explorer"


@pytest.mark.parametrize(
    "line",
    [
        f"{STAMP} INFO bokeh.server.views.ws: WebSocket connection opened",
        f"{STAMP} WARNING {EXPLORER}: Refused input: x_min must be less than x_max",
        f"{STAMP} WARNING {EXPLORER}: Refused input: an error in the user's value",
    ],
)
def test_accepts(line):
    assert server_log_problems(line) == []


@pytest.mark.parametrize(
    "line",
    [
        f"{STAMP} ERROR panel.reactive: Callback failed for object named ''",
        f"{STAMP} CRITICAL bokeh.server: shutting down",
        "Traceback (most recent call last):",
        f"{STAMP} WARNING param.DynamicMap: Callable raised \"ValueError('boom')\".",
        "ValueError: x_min must be less than x_max",
        "Unexpected error while rendering",
    ],
)
def test_flags(line):
    assert server_log_problems(f"{STAMP} INFO x: fine\n{line}\n") == [line]


EXPECTED = (r"ERROR polyfit_explorer\.views\.explorer: Setting n_samples=400 failed",)


def test_expected_record_is_accepted_only_where_expected():
    line = f"{STAMP} ERROR {EXPLORER}: Setting n_samples=400 failed in ground_truth"
    assert server_log_problems(line, expected=EXPECTED) == []
    assert server_log_problems(line) == [line]


@pytest.mark.parametrize(
    "line",
    [
        f"{STAMP} ERROR polyfit_explorer.views.explorer: Setting degree=4 failed",
        f"{STAMP} ERROR panel.reactive: Setting n_samples=400 failed\nTraceback (most recent",
        "Traceback (most recent call last): Setting n_samples=400 failed",
        "ERROR polyfit_explorer.views.explorer: Setting n_samples=400 failed",  # no record
    ],
)
def test_expected_patterns_excuse_nothing_else(line):
    problems = server_log_problems(f"{STAMP} INFO x: fine\n{line}\n", expected=EXPECTED)
    assert problems


# ---- serve: the one way tests and benchmarks start a server ----------------------

HELLO = """import panel as pn
pn.pane.Markdown("hello from polyfit_explorer.testing").servable()
"""


def test_serve_answers_on_a_local_port_and_ends_its_process_group(tmp_path):
    (tmp_path / "hello.py").write_text(HELLO)
    log = tmp_path / "serve.log"
    with serve(["-m", "panel", "serve", str(tmp_path / "hello.py")], log) as served:
        url = served.url("hello")
        assert url == f"http://127.0.0.1:{served.port}/hello"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200
    with pytest.raises(ProcessLookupError):
        os.killpg(served.pid, 0)
    assert server_log_problems(log.read_text()) == []


def test_serve_reports_a_server_that_exits_with_its_log(tmp_path):
    missing = tmp_path / "missing.py"
    with pytest.raises(ServerFailed, match=r"exited with 1:\n.*does not exist"), \
            serve(["-m", "panel", "serve", str(missing)], tmp_path / "serve.log"):
        pass


def test_free_ports_are_different_and_bindable():
    ports = free_ports(3)
    assert len(ports) == 3
    assert ports == sorted(set(ports))
    with socket.socket() as a, socket.socket() as b:
        a.bind(("127.0.0.1", ports[0]))
        b.bind(("127.0.0.1", ports[1]))
