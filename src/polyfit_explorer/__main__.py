"""Serve the app: ``python -m polyfit_explorer [SCRIPT] [panel serve options]``.

Every option of ``panel serve`` works, e.g. ``--port 5007``, ``--show`` or,
for a class, ``--num-procs 2``; ``--frame-ancestors`` says who may show the
app in a frame, and ``--lesson FILE`` (repeatable) offers a lesson file at
``?lesson=<its name>``.  Without SCRIPT the packaged app is served at ``/explorer``;
a first argument ending in ``.py`` is served instead.  Either way every
response carries the security headers of :mod:`polyfit_explorer.server`, and
on glibc the server runs with ``PYTHONMALLOC=malloc`` unless the variable is
set (:mod:`polyfit_explorer.allocator`).
"""

from __future__ import annotations

from polyfit_explorer.allocator import use_system_malloc


def main() -> None:
    """Serve the app; the console script ``polyfit-explorer`` runs this."""
    # Before Panel is imported: the interpreter may be started again.
    use_system_malloc()
    from polyfit_explorer.server import main as serve

    serve()


if __name__ == "__main__":
    main()
