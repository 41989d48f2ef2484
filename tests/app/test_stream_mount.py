"""A busy server must not stop a Live stream the browser still sends (ui/stream_mount.py).

These drive streamlit-webrtc's own ``_get_or_create_context`` (the pinned 0.79) the way Streamlit's script runs
do, with the run count each run reads: a worker stands in for the real one, so the tests see whether the
library would stop it.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import streamlit_webrtc.component as component
from streamlit_webrtc.component import WebRtcStreamerContext, WebRtcStreamerState

from ui.stream_mount import keep_stream_through_reruns, start_run

KEY = "live"


class Worker:
    """What the library calls on the stream's worker when it resets the context."""

    def __init__(self) -> None:
        self.stopped = False

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> dict:
    """This visitor's session state, with the library reading it instead of Streamlit's."""
    state: dict = {}
    monkeypatch.setattr(component, "st", SimpleNamespace(session_state=state))
    return state


def run(monkeypatch: pytest.MonkeyPatch, session: dict, count: int, screen: str = "live",
        work_around: bool = True) -> WebRtcStreamerContext | None:
    """One full script run that reads ``count`` as Streamlit's count of finished runs."""
    monkeypatch.setattr(component, "get_this_session_info", lambda: SimpleNamespace(script_run_count=count))
    if work_around:
        start_run(session)  # app.py
    if screen != "live":
        return None
    if work_around:
        keep_stream_through_reruns(session, KEY)  # pages/live.py, just before webrtc_streamer
    return component._get_or_create_context(KEY)


def streaming(monkeypatch: pytest.MonkeyPatch, session: dict, work_around: bool = True) -> Worker:
    """Live drawn at run 2, then START: the browser streams to a worker."""
    context = run(monkeypatch, session, 2, work_around=work_around)
    worker = Worker()
    context._set_worker(worker)
    context._set_state(WebRtcStreamerState(playing=True, signalling=False))
    return worker


def test_a_run_that_read_a_stale_count_does_not_stop_the_stream(monkeypatch, session) -> None:
    worker = streaming(monkeypatch, session)
    # the next run starts before the last one's "finished" went out: it reads 2 again; the one after reads 4
    run(monkeypatch, session, 2)
    context = run(monkeypatch, session, 4)
    assert not worker.stopped
    assert context.state.playing and context._get_worker() is worker
    context = run(monkeypatch, session, 5)  # and later runs go on as normal
    assert not worker.stopped and context.state.playing


def test_without_the_record_the_library_stops_that_stream(monkeypatch, session) -> None:
    """What ui/stream_mount works around: the pinned library takes the jump of two for a visit elsewhere."""
    worker = streaming(monkeypatch, session, work_around=False)
    run(monkeypatch, session, 2, work_around=False)
    context = run(monkeypatch, session, 4, work_around=False)
    assert worker.stopped and not context.state.playing


@pytest.mark.parametrize("elsewhere", ["about", "live-on-device"])
def test_coming_back_from_another_screen_still_starts_afresh(monkeypatch, session, elsewhere: str) -> None:
    """A run without the component (another screen, or Live's on-device path): the browser mounted a new one,
    so the stale worker must go, as the library intends."""
    worker = streaming(monkeypatch, session)
    run(monkeypatch, session, 3, screen=elsewhere)
    context = run(monkeypatch, session, 4)
    assert worker.stopped
    assert not context.state.playing and context._get_worker() is None


def test_a_run_cut_short_before_the_video_leaves_the_library_check(monkeypatch, session) -> None:
    """A run that never reached the component proves nothing about the browser: the library decides."""
    worker = streaming(monkeypatch, session)
    start_run(session)  # a run interrupted in app.py, before Live drew anything
    context = run(monkeypatch, session, 3)  # no jump: the library keeps the stream
    assert not worker.stopped and context.state.playing
