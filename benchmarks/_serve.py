"""Serve an app with a real ``panel serve`` on 127.0.0.1 and a free port.

The benchmarks' copy of ``tests/ui/conftest.py::serve``, without pytest: the
server runs in a session of its own, so ending its process group ends it and
everything it started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "examples" / "app.py"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_live(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"panel serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"panel serve did not answer {url} in {STARTUP_TIMEOUT} s")


@contextmanager
def serve(log: Path, app: Path = APP, options: tuple[str, ...] = ()) -> Iterator[str]:
    """Serve ``app`` with ``panel serve``; yield the app's URL, then end the server."""
    port = free_port()
    command = [
        sys.executable, "-m", "panel", "serve", str(app), *options,
        "--address", "127.0.0.1", "--port", str(port),
        "--allow-websocket-origin", f"127.0.0.1:{port}",
        "--liveness", "--log-format", LOG_FORMAT,
    ]  # fmt: skip
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    try:
        _wait_until_live(process, f"http://127.0.0.1:{port}/liveness", log)
        yield f"http://127.0.0.1:{port}/{app.stem}"
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
