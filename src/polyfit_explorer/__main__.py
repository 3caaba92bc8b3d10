"""Serve the app: ``python -m polyfit_explorer [panel serve options]``.

Every option of ``panel serve`` works, e.g. ``--port 5007``, ``--show`` or,
for a class, ``--num-procs 2``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    """Run ``panel serve`` on the packaged app script with the given options."""
    from panel.command import main as panel_main

    script = Path(__file__).with_name("explorer.py")
    args = sys.argv[1:] if argv is None else argv
    sys.argv = ["panel", "serve", str(script), *args]
    panel_main()


if __name__ == "__main__":
    main()
