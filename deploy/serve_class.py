"""Serve a class: N polyfit-explorer processes on loopback ports behind nginx.

    python deploy/serve_class.py start [--procs 2] [--listen 127.0.0.1:8080]
        [--server-name localhost] [--origin HOST[:PORT] ...] [--run-dir DIR]
        [-- polyfit-explorer options such as --warm]
    python deploy/serve_class.py stop [--run-dir DIR]
    python deploy/serve_class.py config --upstream HOST:PORT ... [--listen 80]
        [--server-name class.example.org] [--access-log PATH]

``start`` starts ``--procs`` app processes (``python -m polyfit_explorer``,
each on its own port from ``--first-port`` on, with ``--use-xheaders`` and
``--allow-websocket-origin`` for the public origins), waits until each
answers, renders ``polyfit-explorer.conf.in`` and ``nginx.conf.in`` for those
ports into the run directory, starts nginx from there (no root needed) and
waits until the app answers through it.  The processes keep running after
the command returns; their ids, ports and logs are in ``RUN_DIR/class.json``,
which ``stop`` reads.  ``config`` prints the site configuration for app
processes anywhere (other machines included), for a system nginx.

Only the standard library: the app processes run in this interpreter's
environment (``sys.executable -m polyfit_explorer``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITE_TEMPLATE = HERE / "polyfit-explorer.conf.in"
MAIN_TEMPLATE = HERE / "nginx.conf.in"
NGINX = Path(shutil.which("nginx") or "/usr/sbin/nginx")
#: The packaged app's path under ``python -m polyfit_explorer``.
APP_PATH = "explorer"
STARTUP_TIMEOUT = 120.0


# ---- the configuration -----------------------------------------------------------


def render(template: Path, values: dict[str, str]) -> str:
    """Return ``template`` with each ``@NAME@`` replaced by ``values["NAME"]``.

    Raises
    ------
    ValueError
        If a value is missing for a name of the template, or a value holds a
        character that would end or open an nginx directive (``;``, ``{``,
        ``}``, a newline) where the template expects one word.
    """
    text = template.read_text()
    for name, value in values.items():
        if name != "UPSTREAMS" and any(c in value for c in ";{}\n"):
            raise ValueError(f"{name}: not one nginx value: {value!r}")
        text = text.replace(f"@{name}@", value)
    if "@" in "".join(line.split("#")[0] for line in text.splitlines()):
        raise ValueError(f"{template.name}: a @NAME@ was left unfilled")
    return text


def site_config(upstreams: list[str], listen: str = "80", server_name: str = "_",
                access_log: str = "/var/log/nginx/polyfit-explorer.log") -> str:
    """Return the http-context configuration: sticky sessions over ``upstreams`` (HOST:PORT)."""
    if not upstreams:
        raise ValueError("--upstream: at least one HOST:PORT")
    for upstream in upstreams:
        host, _, port = upstream.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--upstream: not HOST:PORT: {upstream!r}")
    servers = "\n".join(f"    server {upstream};" for upstream in upstreams)
    return render(SITE_TEMPLATE, {"UPSTREAMS": servers, "LISTEN": listen,
                                  "SERVER_NAME": server_name, "ACCESS_LOG": access_log})


def prepare(run_dir: Path, upstreams: list[str], listen: str, server_name: str,
            workers: int = 1) -> Path:
    """Write nginx.conf and the site for ``upstreams`` into ``run_dir``; return nginx.conf.

    nginx runs from there with ``-p run_dir``: its pid, logs and temporary
    files stay in the directory.
    """
    (run_dir / "tmp").mkdir(parents=True, exist_ok=True)
    (run_dir / "polyfit-explorer.conf").write_text(
        site_config(upstreams, listen, server_name, str(run_dir / "access.log")))
    main = run_dir / "nginx.conf"
    main.write_text(render(MAIN_TEMPLATE, {"WORKERS": str(workers)}))
    return main


# ---- the running class -----------------------------------------------------------


@dataclass
class App:
    """One app process: its port, process id (leader of its group) and log."""

    port: int
    pid: int
    log: str


@dataclass
class Class:
    """What ``start`` started: nginx and the app processes, and where they write."""

    run_dir: str
    listen: str
    nginx_pid: int
    apps: list[App] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The app's URL through nginx."""
        host, _, port = self.listen.rpartition(":")
        return f"http://{host or '127.0.0.1'}:{port}/{APP_PATH}"

    @property
    def access_log(self) -> Path:
        """The access log of nginx: which process each request reached."""
        return Path(self.run_dir) / "access.log"

    @property
    def error_log(self) -> Path:
        """The error log of nginx."""
        return Path(self.run_dir) / "error.log"

    def save(self) -> None:
        """Write ``class.json`` into the run directory, for ``stop``."""
        (Path(self.run_dir) / "class.json").write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, run_dir: Path) -> Class:
        """Read what ``start`` wrote into ``run_dir``."""
        data = json.loads((run_dir / "class.json").read_text())
        data["apps"] = [App(**app) for app in data["apps"]]
        return cls(**data)


def _spawn(command: list[str], log: Path) -> subprocess.Popen:
    """Start ``command`` in a session of its own (so it outlives this script), output to log."""
    with log.open("wb") as sink:
        return subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _wait_until_answers(url: str, process: subprocess.Popen, log: Path,
                        timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n"
                               f"{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"nothing answered {url} within {timeout:g} s:\n{log.read_text()}")


def start_app(port: int, run_dir: Path, origins: list[str],
              options: list[str]) -> tuple[App, subprocess.Popen]:
    """Start one app process on 127.0.0.1:``port`` and wait until it answers."""
    log = run_dir / f"app-{port}.log"
    command = [sys.executable, "-m", "polyfit_explorer", *options,
               "--address", "127.0.0.1", "--port", str(port), "--use-xheaders", "--liveness"]
    for origin in origins:
        command += ["--allow-websocket-origin", origin]
    process = _spawn(command, log)
    return App(port, process.pid, str(log)), process


def start(run_dir: Path, ports: list[int], listen: str = "127.0.0.1:8080",
          server_name: str = "localhost", origins: list[str] | None = None,
          options: list[str] = (), workers: int = 1) -> tuple[Class, list[subprocess.Popen]]:
    """Start the app on ``ports`` and nginx on ``listen``; return them once they answer.

    ``origins`` are the public ``HOST[:PORT]`` a browser's websocket comes
    from (default: 127.0.0.1 and localhost with the listen port).  ``options``
    go to every app process.  Returns the class and its processes (nginx last),
    for :func:`stop` to wait on.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    port = listen.rpartition(":")[2]
    origins = origins or [f"127.0.0.1:{port}", f"localhost:{port}"]
    started = [start_app(p, run_dir, origins, list(options)) for p in ports]
    processes = [process for _, process in started]
    apps = [app for app, _ in started]
    try:
        for app, process in started:
            _wait_until_answers(f"http://127.0.0.1:{app.port}/liveness", process, Path(app.log))
        prepare(run_dir, [f"127.0.0.1:{app.port}" for app in apps], listen, server_name,
                workers)
        nginx = _spawn([str(NGINX), "-p", str(run_dir), "-c", str(run_dir / "nginx.conf"),
                        "-e", str(run_dir / "error.log"), "-g", "daemon off;"],
                       run_dir / "nginx.out")
        processes.append(nginx)
        running = Class(str(run_dir), listen, nginx.pid, apps)
        _wait_until_answers(running.url.rsplit("/", 1)[0] + "/liveness", nginx,
                            run_dir / "nginx.out")
        running.save()
    except BaseException:
        for process in reversed(processes):
            _end(process.pid, process)
        raise
    return running, processes


def _end(pid: int, process: subprocess.Popen | None = None, timeout: float = 10.0) -> None:
    """End the process group of ``pid``: SIGTERM, then SIGKILL after ``timeout`` s."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        if _gone(pid, process, timeout):
            return


def _gone(pid: int, process: subprocess.Popen | None, timeout: float) -> bool:
    if process is not None:  # our child: wait() reaps it
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def stop(running: Class, processes: list[subprocess.Popen] | None = None) -> None:
    """End nginx first (no new requests), then every app process."""
    by_pid = {process.pid: process for process in processes or []}
    for pid in [running.nginx_pid, *(app.pid for app in running.apps)]:
        _end(pid, by_pid.get(pid))


# ---- the command line ------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the command line: start, stop or config."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    default_run = Path(tempfile.gettempdir()) / f"polyfit-class-{os.getuid()}"

    begin = commands.add_parser("start", help="start N app processes and nginx")
    begin.add_argument("--procs", type=int, default=os.cpu_count() or 1,
                       help="app processes (default: one per core)")
    begin.add_argument("--first-port", type=int, default=5006,
                       help="the first app process's port; the others follow")
    begin.add_argument("--listen", default="127.0.0.1:8080", help="nginx's address:port")
    begin.add_argument("--server-name", default="localhost")
    begin.add_argument("--origin", action="append",
                       help="public HOST[:PORT] of the page (default: 127.0.0.1 and "
                            "localhost with the listen port)")
    begin.add_argument("--workers", type=int, default=1, help="nginx worker processes")
    begin.add_argument("--run-dir", type=Path, default=default_run)
    begin.add_argument("options", nargs="*", help="after --: polyfit-explorer options")

    end = commands.add_parser("stop", help="stop what start started")
    end.add_argument("--run-dir", type=Path, default=default_run)

    config = commands.add_parser("config", help="print the site configuration")
    config.add_argument("--upstream", action="append", required=True, metavar="HOST:PORT")
    config.add_argument("--listen", default="80")
    config.add_argument("--server-name", default="_")
    config.add_argument("--access-log", default="/var/log/nginx/polyfit-explorer.log")

    args = parser.parse_args(argv)
    try:
        if args.command == "config":
            print(site_config(args.upstream, args.listen, args.server_name, args.access_log),
                  end="")
        elif args.command == "start":
            ports = list(range(args.first_port, args.first_port + args.procs))
            running, _ = start(args.run_dir.resolve(), ports, args.listen, args.server_name,
                               args.origin, args.options, args.workers)
            print(f"{running.url} (nginx {running.nginx_pid}; app processes on ports "
                  f"{', '.join(str(app.port) for app in running.apps)}; logs and "
                  f"stop: {running.run_dir})")
        else:
            stop(Class.load(args.run_dir.resolve()))
    except (ValueError, RuntimeError, OSError) as error:
        parser.exit(1, f"serve_class.py {args.command}: {error}\n")


if __name__ == "__main__":
    main()
