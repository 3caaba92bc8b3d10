"""Fixtures shared by the tests outside tests/ui."""

import threading
import time

import pytest

from polyfit_explorer.views import live


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
