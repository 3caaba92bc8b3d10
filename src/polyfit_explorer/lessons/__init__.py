"""Lessons: steps a teacher writes in a Markdown file, and where the app finds them.

The format is :mod:`.format`'s.  The app knows the lessons packaged here (one
``.md`` file each, named by its stem) and those passed to the serve command
(``polyfit-explorer --lesson FILE``), which it finds in the environment
variable :data:`SERVED`, so that every process of ``--num-procs`` has them.
A lesson served under a packaged lesson's name replaces it.  Imports no Panel.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..parameters import quoted
from .format import TAB_TITLES, Lesson, LessonError, Step, parse, read

__all__ = ["SERVED", "TAB_TITLES", "Lesson", "LessonError", "Step", "available", "find",
           "packaged", "parse", "read", "serve", "served"]

#: The environment variable listing the served lesson files, separated by os.pathsep.
SERVED = "POLYFIT_EXPLORER_LESSONS"
HERE = Path(__file__).parent


def packaged() -> dict[str, Path]:
    """Return the packaged lesson files by name."""
    return {path.stem: path for path in sorted(HERE.glob("*.md"))}


def served() -> dict[str, Path]:
    """Return the lesson files passed to the serve command, by name."""
    paths = [Path(p) for p in os.environ.get(SERVED, "").split(os.pathsep) if p]
    return {path.stem: path for path in paths}


def available() -> dict[str, Path]:
    """Return every lesson the app can open, by name: packaged and served."""
    return {**packaged(), **served()}


def serve(paths: list[str | Path]) -> list[Lesson]:
    """Check lesson files and make them available to the app (and to processes it forks).

    Raises
    ------
    LessonError
        If a file is not a valid lesson, or two files share a name.
    """
    lessons, names = [], {}
    for path in map(Path, paths):
        if path.stem in names:
            raise LessonError(str(path), None, f"its name {path.stem!r} is that of "
                              f"{names[path.stem]} too; lessons are opened by file name.")
        names[path.stem] = path
        lessons.append(read(path))
    os.environ[SERVED] = os.pathsep.join(str(path.resolve()) for path in names.values())
    return lessons


def find(name: str) -> Lesson:
    """Return the lesson called ``name``; a :class:`LessonError` says which there are."""
    paths = available()
    if name not in paths:
        raise LessonError("lesson", None, f"there is no lesson {quoted(name)}; the lessons "
                          f"are: {', '.join(paths) or 'none'}.")
    path = paths[name]
    return _read(path, name, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _read(path: Path, name: str, modified: int) -> Lesson:
    # A teacher editing a served file sees the change on the next page load.
    return read(path, name)
