"""Build the wheel and the sdist, install the wheel as users do, and run it.

``uv build`` makes both; the wheel goes into a fresh ``python -m venv`` with
plain ``pip`` (from PyPI: no uv, no dev group, not this checkout), and from
that environment the console script serves the app and the README's script
example prints its scores.  About a minute, mostly pip's downloads: marked
``wheel``, so ``-m "not wheel"`` leaves it out locally; CI runs it.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from sklearn.metrics import r2_score

from polyfit_explorer.testing import end_process_group, free_port

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "polyfit_explorer"
README = ROOT / "README.md"
TITLE = "polyfit explorer: polynomial regression, live"
#: What the served page must carry (polyfit_explorer.server).
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
STARTUP_TIMEOUT = 60.0


def require(tool: str | None, name: str) -> str:
    if tool is None:
        reason = f"this test needs {name}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI must run it")
        pytest.skip(reason)
    return tool


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The wheel and the sdist, built once from this checkout."""
    uv = require(shutil.which("uv"), "uv (to build)")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([uv, "build", "--out-dir", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=300)
    (wheel,), (sdist,) = out.glob("*.whl"), out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> Path:
    """A fresh virtual environment with the wheel installed by plain pip; its bin directory."""
    home = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(home / "env")], check=True, timeout=120)
    bin_dir = home / "env" / "bin"
    # --no-compile: pip would compile all of scipy's, scikit-learn's, Bokeh's and
    # Panel's modules to bytecode (CPU the other test worker needs); Python compiles
    # what it imports when it imports it.
    result = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--disable-pip-version-check",
         "--no-input", "--quiet", "--no-compile", str(dist["wheel"])],
        capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return bin_dir


def run_python(bin_dir: Path, code: str, cwd: Path) -> str:
    result = subprocess.run([str(bin_dir / "python"), "-c", code], cwd=cwd, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def packaged_files() -> set[str]:
    """Every file of the package in this checkout, as a path inside the wheel."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_wheel_holds_the_package_and_nothing_else(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = set(wheel.namelist())
        entry_points = wheel.read(
            next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    package = {n for n in names if ".dist-info/" not in n}
    # Every file under the package, .py or not (the app, py.typed, lessons when there).
    assert package == packaged_files()
    assert {"polyfit_explorer/explorer.py", "polyfit_explorer/py.typed"} <= package
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/"))]
    assert "polyfit-explorer = polyfit_explorer.__main__:main" in entry_points


def test_sdist_builds_the_same_package_without_tests_or_benchmarks(dist):
    with tarfile.open(dist["sdist"]) as sdist:
        names = sdist.getnames()
    top = {name.split("/")[1] for name in names if "/" in name}
    assert {"src", "pyproject.toml", "README.md"} <= top
    assert not top & {"tests", "benchmarks", ".ci", "uv.lock"}
    in_src = {name.split("/src/", 1)[1] for name in names if "/src/" in name}
    assert packaged_files() <= in_src


def test_installed_package_is_the_wheel_without_dev_tools(venv, tmp_path):
    out = run_python(venv, "import importlib.util as u, polyfit_explorer as p\n"
                     "print(p.__file__)\nprint(u.find_spec('pytest') is None)", tmp_path)
    location, no_pytest = out.splitlines()
    assert Path(location).is_relative_to(venv.parent), location
    assert no_pytest == "True"


def fetch(url: str, deadline: float, process: subprocess.Popen, log: Path):
    """GET ``url`` once the server answers; return the response's status, headers and text."""
    while True:
        if process.poll() is not None:
            pytest.fail(f"polyfit-explorer exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.headers, response.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                pytest.fail(f"polyfit-explorer did not answer {url}:\n{log.read_text()}")
            time.sleep(0.2)


def test_console_script_serves_the_app(venv, tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    command = [str(venv / "polyfit-explorer"), "--port", str(port), "--address", "127.0.0.1",
               "--allow-websocket-origin", f"127.0.0.1:{port}"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, cwd=tmp_path, stdout=sink, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        status, headers, page = fetch(f"http://127.0.0.1:{port}/explorer", deadline, process, log)
    finally:
        end_process_group(process)
    assert status == 200
    assert f"<title>{TITLE}</title>" in page
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value, name
    assert "script-src 'self' 'nonce-" in headers["Content-Security-Policy"]
    assert not re.search(r"Traceback|ERROR", log.read_text()), log.read_text()


def readme_script() -> str:
    """The README's example under "In scripts, with no UI"."""
    section = README.read_text().split("### In scripts, with no UI", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_script_prints_the_scores(venv, tmp_path):
    script = readme_script()
    out = run_python(venv, script, tmp_path)
    # print(model.train_score_, model.test_score_, model.alpha_, model.messages_)
    *numbers, messages = out.strip().split(" ", 3)
    train, test, alpha = map(float, numbers)

    # The same script here, stopped where it printed: the numbers it printed.
    namespace: dict = {}
    printed = script[: script.index("print(")]
    exec(compile(printed, "README.md", "exec"), namespace)
    model = namespace["model"]
    frame, y_pred = model.samples_, model.y_pred_
    test_rows = (frame["split"] == "test").to_numpy()
    y = frame["y"].to_numpy()
    assert train == pytest.approx(r2_score(y[~test_rows], y_pred[~test_rows]), abs=1e-9)
    assert test == pytest.approx(r2_score(y[test_rows], y_pred[test_rows]), abs=1e-9)
    assert alpha == pytest.approx(model.alpha_, rel=1e-9)
    assert ast.literal_eval(messages) == model.messages_
