"""The served app's memory allocator: a class's memory goes back to the system when it leaves.

Python's own small-object allocator (pymalloc) keeps every 1 MiB arena
that still holds one live object.  The sessions of a class leave many such
arenas behind, each pinned by a few long-lived objects, so a server stayed
at its high-water mark: 450 MB after a class
and 200 open/close cycles against a baseline of 284 MB.  With
``PYTHONMALLOC=malloc`` every allocation goes through glibc's malloc, whose
free pages :func:`polyfit_explorer.workarounds.trim_soon` hands back with
``malloc_trim`` after sessions close (docs/benchmarks.md, "Allocator
settings", has the numbers and the speed cost).

Python reads ``PYTHONMALLOC`` once, when the interpreter starts, so the
serve command starts itself again with the variable set
(:func:`use_system_malloc`).  It does so as soon as the package is imported
(``polyfit_explorer/__init__.py``, when :func:`started_as_serve_command`),
before the package imports scikit-learn and SciPy, which would otherwise be
imported twice (seconds of CPU); :func:`polyfit_explorer.server.main` calls it
too, for other ways of starting the server.  Only on glibc: elsewhere
(macOS, Windows, musl) there is no ``malloc_trim`` to give the memory back,
and nothing changes.  To keep Python's allocator, set the variable yourself,
e.g. ``PYTHONMALLOC=pymalloc polyfit-explorer``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import PurePath

__all__ = [
    "SCRIPT", "SETTINGS", "glibc", "restart_command", "started_as_serve_command",
    "use_system_malloc",
]

#: The environment the served process runs with, unless the user set a variable already.
SETTINGS = {"PYTHONMALLOC": "malloc"}


#: The console script of ``[project.scripts]``, as its file is named on POSIX systems.
SCRIPT = "polyfit-explorer"


def started_as_serve_command(orig_argv: Sequence[str]) -> bool:
    """Whether the interpreter's command line is ``python -m polyfit_explorer …`` or the script.

    Parameters
    ----------
    orig_argv
        The interpreter's command line (``sys.orig_argv``).

    Returns
    -------
    bool
        True for ``python [options] -m polyfit_explorer [arguments]`` and for
        ``polyfit-explorer [arguments]`` (which runs ``python …/polyfit-explorer``).
    """
    arguments = list(orig_argv[1:])
    if "-m" in arguments:
        module = arguments.index("-m") + 1
        return arguments[module:module + 1] == ["polyfit_explorer"]
    return bool(arguments) and PurePath(arguments[0]).name == SCRIPT


def glibc() -> bool:
    """Whether the C library is glibc, whose ``malloc_trim`` returns freed pages."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (AttributeError, ValueError, OSError):  # no confstr (Windows), or not glibc
        return False


def restart_command(
    environ: Mapping[str, str], orig_argv: Sequence[str], executable: str,
    *, on_glibc: bool, ignore_environment: bool = False,
) -> tuple[str, list[str], dict[str, str]] | None:
    """Return how to start the interpreter again with :data:`SETTINGS`, or None to go on.

    Parameters
    ----------
    environ
        The process's environment.
    orig_argv
        The interpreter's command line as it was started (``sys.orig_argv``).
    executable
        The interpreter (``sys.executable``).
    on_glibc
        Whether the C library is glibc.
    ignore_environment
        Whether the interpreter ignores ``PYTHON*`` variables (``-E``, ``-I``).

    Returns
    -------
    tuple or None
        ``(path, argv, env)`` for :func:`os.execve`; None when the settings are
        in effect already, the user set them, or they would not help or not
        be read.
    """
    if not on_glibc or ignore_environment or not executable or not orig_argv:
        return None
    if all(name in environ for name in SETTINGS):
        return None
    env = {**SETTINGS, **environ}  # the user's own values win
    return executable, [executable, *orig_argv[1:]], env


def use_system_malloc() -> None:
    """Start this interpreter again with :data:`SETTINGS` if they are not in effect.

    Call it first thing in a command's ``main``: the process keeps its id
    (``execve``), its arguments and its other variables, and forked workers
    (``--num-procs``) inherit the allocator.  Returns when nothing is to be done.
    """
    command = restart_command(
        os.environ, getattr(sys, "orig_argv", ()), sys.executable,
        on_glibc=glibc(), ignore_environment=bool(sys.flags.ignore_environment))
    if command is None:
        return
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os.execve(*command)
