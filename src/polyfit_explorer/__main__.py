"""Serve the app: ``python -m polyfit_explorer [SCRIPT] [panel serve options]``.

Every option of ``panel serve`` works, e.g. ``--port 5007``, ``--show`` or,
for a class, ``--num-procs 2``; ``--frame-ancestors`` says who may show the
app in a frame, and ``--lesson FILE`` (repeatable) offers a lesson file at
``?lesson=<its name>``.  Without SCRIPT the packaged app is served at ``/explorer``;
a first argument ending in ``.py`` is served instead.  Either way every
response carries the security headers of :mod:`polyfit_explorer.server`.
"""

from __future__ import annotations

from polyfit_explorer.server import main

if __name__ == "__main__":
    main()
