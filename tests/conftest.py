"""Fixtures shared by the tests outside tests/ui, and the order the files start in."""

import threading
import time
from pathlib import Path

import pytest

from polyfit_explorer.views import live

HERE = Path(__file__).parent
#: The slowest files (a minute or more each), started first: with one worker per
#: core and a file per worker (pyproject's addopts), one started last runs alone
#: at the end and sets the suite's time.
SLOW_FILES = ("ui/test_lessons.py", "ui/test_jupyterlab.py", "test_wheel.py",
              "ui/test_nginx.py", "ui/test_presenter.py", "test_package.py",
              "ui/test_layout.py", "ui/test_serve.py", "ui/test_sessions.py")


def pytest_collection_modifyitems(items):
    """Put the tests of SLOW_FILES first, in that order; the rest keep theirs."""
    rank = {name: place for place, name in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.path.relative_to(HERE).as_posix(),
                                         len(SLOW_FILES)))


class Queue:
    """A stand-in event loop: callbacks from worker threads wait here until run."""

    def __init__(self):
        self.callbacks, self.lock = [], threading.Lock()

    def __call__(self, callback, delay=0.0):
        with self.lock:
            self.callbacks.append(callback)

    def run(self, timeout=10.0):
        """Wait for a callback, then run the queued ones and those they queue."""
        deadline = time.monotonic() + timeout
        while not self.callbacks:
            assert time.monotonic() < deadline, "no result arrived"
            time.sleep(0.01)
        while self.callbacks:
            with self.lock:
                callbacks, self.callbacks = self.callbacks, []
            for callback in callbacks:
                callback()


@pytest.fixture
def event_queue(monkeypatch) -> Queue:
    """LiveResults dispatch to a :class:`Queue`, run by the test when it chooses."""
    queue = Queue()
    monkeypatch.setattr(live, "dispatcher", lambda: queue)
    return queue
