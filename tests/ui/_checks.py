"""What counts as an error in the served app's log.

The server is started with :data:`LOG_FORMAT`, so every log record names its
level and errors are found by level rather than guessed from message text.
"""

from __future__ import annotations

import re

__all__ = ["LOG_FORMAT", "server_log_problems"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_RECORD = re.compile(r"^\d{4}-\d\d-\d\d [\d:,.]+ (?P<level>[A-Z]+) ")
_ALWAYS_BAD = ("Traceback", "Callable raised")
_BAD_LEVELS = {"ERROR", "CRITICAL"}


def server_log_problems(text: str, expected: tuple[str, ...] = ()) -> list[str]:
    """Return the lines of a server log excerpt that report an error.

    A record at WARNING or below is fine even if its message says "error": the
    app logs refused user input as ``WARNING ... Refused input: ...``.  Lines
    that are no record (a traceback's body, raw prints to stderr) count if
    they mention an error at all.  ``expected`` holds regular expressions for
    records a test provokes on purpose; they never excuse a traceback, a
    "Callable raised" or a line that is no record.
    """
    problems = []
    for line in text.splitlines():
        record = _RECORD.match(line)
        if any(marker in line for marker in _ALWAYS_BAD):
            problems.append(line)
        elif record and any(re.search(pattern, line) for pattern in expected):
            continue
        elif record:
            if record["level"] in _BAD_LEVELS:
                problems.append(line)
        elif re.search("error", line, re.IGNORECASE):
            problems.append(line)
    return problems
