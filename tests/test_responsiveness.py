"""What keeps a change quick on the server: its diagnostics start after it."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from polyfit_explorer.views import live
from polyfit_explorer.views.live import WORKER_DELAY_S, LiveResult


def test_a_diagnostic_starts_after_the_change_that_invalidated_it():
    started = []

    async def change():
        loop = asyncio.get_running_loop()
        values = iter([7, 8])
        result = LiveResult(lambda value: started.append(loop.time()) or value,
                            lambda: next(values), active=True)
        while result.result is None:  # the first result
            await asyncio.sleep(0.01)
        changed = loop.time()
        result.invalidate()  # what a change of the model does
        assert len(started) == 1  # not while the change is processed
        assert not result.busy  # nor its spinner, which would be sent with the change
        await asyncio.sleep(0)
        assert len(started) == 1  # nor as soon as the event loop is free
        while result.result == 7:
            await asyncio.sleep(0.01)
        return result.result, started[1] - changed

    # In a thread of its own: after a Playwright test, this thread's loop is running.
    with ThreadPoolExecutor(1) as thread:
        value, waited = thread.submit(asyncio.run, change()).result(timeout=30)
    assert value == 8
    assert waited >= WORKER_DELAY_S * 0.9  # the event loop's timer resolution


def test_a_result_that_outlives_its_event_loop_is_dropped_quietly():
    def deliver(loop) -> list:
        ran = []
        live._to_loop(loop, lambda: ran.append(True))
        if not loop.is_closed():
            loop.run_until_complete(asyncio.sleep(0.05))
        return ran

    # In a thread of its own: after a Playwright test, this thread's loop is running.
    with ThreadPoolExecutor(1) as thread:
        open_loop, closed_loop = asyncio.new_event_loop(), asyncio.new_event_loop()
        closed_loop.close()
        # What a worker's done-callback does: delivered while its loop lives ...
        assert thread.submit(deliver, open_loop).result(timeout=10) == [True]
        # ... and dropped, without raising, once a notebook kernel's loop has gone.
        assert thread.submit(deliver, closed_loop).result(timeout=10) == []
        open_loop.close()
