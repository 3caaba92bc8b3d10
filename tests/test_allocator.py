"""The serve command runs with ``PYTHONMALLOC=malloc`` on glibc (``polyfit_explorer.allocator``).

The served test starts the real console script with ``--num-procs 2`` and reads
the environment of the process and of its forked workers from /proc.  The RSS
a class leaves behind is measured by benchmarks/allocator.py, not here: 200
open/close cycles take minutes on a shared 2-core machine and the RSS of one
run varies by tens of MB.
"""

from __future__ import annotations

import platform
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from polyfit_explorer import allocator, workarounds
from polyfit_explorer.testing import serve, server_log_problems

PYTHON = "/usr/bin/python3"
ARGV = [PYTHON, "-m", "polyfit_explorer", "--port", "5007"]

on_glibc = pytest.mark.skipif(not allocator.glibc(), reason="the setting applies to glibc only")


def test_the_command_starts_again_with_pythonmalloc_malloc():
    command = allocator.restart_command({"HOME": "/root"}, ARGV, PYTHON, on_glibc=True)
    assert command == (PYTHON, ARGV, {"HOME": "/root", "PYTHONMALLOC": "malloc"})


@pytest.mark.parametrize("value", ["pymalloc", "malloc", "pymalloc_debug"])
def test_a_pythonmalloc_of_the_users_own_is_kept(value):
    """Setting the variable yourself is how to opt out."""
    environ = {"PYTHONMALLOC": value}
    assert allocator.restart_command(environ, ARGV, PYTHON, on_glibc=True) is None


@pytest.mark.parametrize(("orig_argv", "serving"), [
    (ARGV, True),
    ([PYTHON, "-X", "dev", "-m", "polyfit_explorer"], True),
    ([PYTHON, "/venv/bin/polyfit-explorer", "--num-procs", "2"], True),
    ([PYTHON, "-m", "polyfit_explorer.testing"], False),
    ([PYTHON, "-m", "pytest", "polyfit-explorer"], False),
    ([PYTHON, "script.py"], False),
    ([PYTHON], False),
])
def test_the_serve_command_is_recognised_before_the_package_imports_scikit_learn(
        orig_argv, serving):
    assert allocator.started_as_serve_command(orig_argv) is serving


def test_nothing_changes_without_glibc():
    """macOS, Windows, musl: no malloc_trim to give the memory back."""
    assert allocator.restart_command({}, ARGV, PYTHON, on_glibc=False) is None


def test_nothing_changes_when_python_ignores_the_environment():
    """Under -E or -I the variable would not be read: starting again would gain nothing."""
    command = allocator.restart_command({}, ARGV, PYTHON, on_glibc=True, ignore_environment=True)
    assert command is None


@on_glibc
def test_glibc_has_the_malloc_trim_the_setting_relies_on():
    assert workarounds._MALLOC_TRIM is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc")
def test_glibc_is_recognised_on_linux():
    assert allocator.glibc() == (platform.libc_ver()[0] == "glibc")


@on_glibc
def test_the_served_process_and_its_workers_run_with_pythonmalloc_malloc(tmp_path):
    """The console script, two forked workers: every process of the server has the setting."""
    script = Path(sys.executable).with_name("polyfit-explorer")
    log = tmp_path / "serve.log"
    with serve([str(script), "--num-procs", "2"], log) as served:
        leader = psutil.Process(served.pid)
        deadline = time.monotonic() + 60
        while len(leader.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        processes = [leader, *leader.children()]
        # The same process id: the command was replaced, not run a second time.
        assert leader.cmdline()[:2] == [sys.executable, str(script)]
        assert [p.environ().get("PYTHONMALLOC") for p in processes] == ["malloc"] * 3
        with urllib.request.urlopen(served.url("explorer"), timeout=60) as response:
            assert response.status == 200
    assert server_log_problems(log.read_text()) == []
