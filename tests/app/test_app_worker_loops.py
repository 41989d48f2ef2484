"""The video worker's event loop is closed once its thread ends (issue 23 §6: each stopped or closed stream
left an epoll descriptor and a socket pair open)."""

from __future__ import annotations

import asyncio
import threading

from ui.live import close_finished_worker_loops, watch_worker_loop


def _worker(stop: threading.Event, loops: list[asyncio.AbstractEventLoop]) -> threading.Thread:
    """A thread shaped like streamlit-webrtc's: its own loop, the callback run inside it, never closed."""

    def run() -> None:
        loop = asyncio.new_event_loop()
        loops.append(loop)

        async def frame() -> None:
            watch_worker_loop()  # what the frame callback does on every frame
            watch_worker_loop()

        loop.run_until_complete(frame())
        stop.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_loop_of_an_ended_worker_is_closed_and_a_running_one_kept() -> None:
    close_finished_worker_loops()  # nothing left from other tests
    ended, running = threading.Event(), threading.Event()
    loops: list[asyncio.AbstractEventLoop] = []
    first = _worker(ended, loops)
    while not loops:
        threading.Event().wait(0.01)
    second = _worker(running, loops)
    while len(loops) < 2:
        threading.Event().wait(0.01)
    threading.Event().wait(0.1)  # both have watched their loop
    ended.set()
    first.join(5)
    try:
        assert close_finished_worker_loops() == 1
        assert loops[0].is_closed()
        assert not loops[1].is_closed()  # its stream is still going
        assert close_finished_worker_loops() == 0
    finally:
        running.set()
        second.join(5)
    assert close_finished_worker_loops() == 1
    assert loops[1].is_closed()


def test_outside_a_loop_nothing_is_watched() -> None:
    close_finished_worker_loops()
    watch_worker_loop()  # e.g. the callback called directly by a test
    assert close_finished_worker_loops() == 0
