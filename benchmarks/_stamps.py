"""Imported by the app that benchmarks/served_timeline.py serves: stamps server events.

Each line of the file named by $POLYFIT_STAMPS is ``<perf_counter> <event>``.
"""

import os
import time

import tornado.websocket
from panel.reactive import Syncable

from polyfit_explorer.views import live

_FILE = open(os.environ["POLYFIT_STAMPS"], "a", buffering=1)  # noqa: SIM115 (process-long)


def stamp(event: str) -> None:
    _FILE.write(f"{time.perf_counter():.4f} {event}\n")


def _stamped(cls, name: str, label: str) -> None:
    original = getattr(cls, name)
    if getattr(original, "stamped", False):  # the module runs once per session
        return

    def method(self, *args, **kwargs):
        stamp(f"{label} start")
        try:
            return original(self, *args, **kwargs)
        finally:
            stamp(f"{label} end")

    method.stamped = True
    setattr(cls, name, method)


_stamped(Syncable, "_process_events", "process")
_stamped(live.LiveResult, "_call", "worker")

_write = tornado.websocket.WebSocketHandler.write_message
if not getattr(_write, "stamped", False):
    def write_message(self, message, binary=False):
        if isinstance(message, str) and message.startswith('{"msgid"'):
            stamp(f"sent {message[:90]}")
        return _write(self, message, binary)

    write_message.stamped = True
    tornado.websocket.WebSocketHandler.write_message = write_message
