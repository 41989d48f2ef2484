"""Live screen: the frame callback, the per-session holder, the status it implies, and the page itself."""

from __future__ import annotations

from collections.abc import Callable

import av
import cv2
import numpy as np
import pytest
from app_helpers import HAPPY_FACE, html_bodies, iframe_srcs, page_text
from streamlit.testing.v1 import AppTest

from emotion.labels import EMOTIONS
from emotion.pipeline import FaceReading
from ui.live import LiveReading, LiveSession, live_status

FRAME = np.full((360, 480, 3), 128, np.uint8)  # browsers downscale under load: not 640x480


class FixedPipeline:
    """A stand-in for FramePipeline that sees ``faces`` faces showing ``emotion``."""

    def __init__(self, emotion: str, faces: int = 1) -> None:
        probs = np.full(len(EMOTIONS), 0.02, np.float32)
        probs[EMOTIONS.index(emotion)] = 0.88
        self.readings = [FaceReading((10 + 60 * i, 10, 50, 60), probs, emotion, 0.88) for i in range(faces)]

    def process(self, frame: np.ndarray) -> list[FaceReading]:
        return list(self.readings)


class BrokenPipeline:
    def process(self, frame: np.ndarray) -> list[FaceReading]:
        raise ValueError("frame is empty or not an image")


def feed(session: LiveSession, pipeline: object, seconds: float = 2.0, fps: float = 10.0) -> None:
    for i in range(int(seconds * fps)):
        session.handle_frame(pipeline, FRAME, i / fps)  # type: ignore[arg-type]


def test_callback_returns_a_new_annotated_frame() -> None:
    session = LiveSession()
    callback = session.frame_callback(FixedPipeline("happy"), clock=lambda: 1.0)
    incoming = av.VideoFrame.from_ndarray(FRAME, format="bgr24")
    outgoing = callback(incoming)
    assert outgoing is not incoming
    out = outgoing.to_ndarray(format="bgr24")
    assert out.shape == FRAME.shape and not np.array_equal(out, FRAME)  # the box was drawn
    assert session.reading().frames == 1 and session.reading().faces == 1


def test_real_pipeline_on_the_test_face_finds_one_face() -> None:
    from emotion.pipeline import FramePipeline

    image = cv2.imread(str(HAPPY_FACE))
    session = LiveSession()
    out = session.handle_frame(FramePipeline(), image, 0.0)
    assert out is not image and out.shape == image.shape
    assert session.reading().faces == 1 and session.reading().error is None


def test_stable_emotion_and_timeline_follow_the_face() -> None:
    session = LiveSession()
    feed(session, FixedPipeline("sad"))
    assert session.reading().stable == "sad"
    feed(session, FixedPipeline("happy"), seconds=3.0)
    reading = session.reading()
    assert reading.stable == "happy"
    assert [emotion for _, emotion in reading.timeline] == ["sad", "happy"]


def test_bad_frames_are_reported_not_raised() -> None:
    session = LiveSession()
    out = session.handle_frame(BrokenPipeline(), FRAME, 0.0)  # type: ignore[arg-type]
    assert np.array_equal(out, FRAME) and out is not FRAME
    assert "not an image" in (session.reading().error or "")


def test_nan_probabilities_are_an_error_not_an_emotion() -> None:
    pipeline = FixedPipeline("happy")
    pipeline.readings = [FaceReading((0, 0, 9, 9), np.full(7, np.nan, np.float32), "angry", float("nan"))]
    session = LiveSession()
    session.handle_frame(pipeline, FRAME, 0.0)  # type: ignore[arg-type]
    assert session.reading().stable is None and "invalid numbers" in (session.reading().error or "")


def test_sessions_keep_their_own_emotions() -> None:
    first, second = LiveSession(), LiveSession()
    feed(first, FixedPipeline("happy"))
    feed(second, FixedPipeline("angry"))
    assert (first.reading().stable, second.reading().stable) == ("happy", "angry")


@pytest.mark.parametrize(
    ("reading", "playing", "signalling", "age", "kind"),
    [
        (LiveReading(), False, False, 0.0, "idle"),
        (LiveReading(), False, True, 2.0, "connecting"),
        (LiveReading(), False, True, 30.0, "failed"),
        (LiveReading(), True, False, 30.0, "failed"),
        (LiveReading(frames=5, last_frame_at=0.0), True, False, 30.0, "stalled"),
        (LiveReading(frames=5, last_frame_at=99.0, faces=0), True, False, 30.0, "no_face"),
        (LiveReading(frames=5, last_frame_at=99.0, faces=3), True, False, 30.0, "several"),
        (LiveReading(frames=5, last_frame_at=99.0, faces=1), True, False, 30.0, "ok"),
        (LiveReading(frames=5, last_frame_at=99.0, error="bad"), True, False, 30.0, "error"),
    ],
)
def test_status(reading: LiveReading, playing: bool, signalling: bool, age: float, kind: str) -> None:
    status = live_status(reading, playing, signalling, age, now=100.0, connect_timeout_s=15.0)
    assert status.kind == kind
    if kind in ("failed", "stalled", "idle"):
        assert "Snapshot" in status.message


@pytest.fixture
def stub_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Live page gets a stand-in pipeline (these tests feed the session holder themselves)."""
    monkeypatch.setattr("ui.resources._pipeline", lambda: FixedPipeline("neutral"))


def test_several_faces_say_the_largest_drives(seeded_db: str, stub_pipeline: None,
                                              open_page: Callable[[str], AppTest],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from streamlit_webrtc.component import WebRtcStreamerContext, WebRtcStreamerState

    # under AppTest no browser connects: pretend the stream is playing
    monkeypatch.setattr(WebRtcStreamerContext, "state", property(lambda self: WebRtcStreamerState(True, False)))
    at = open_page("pages/live.py")
    session = at.session_state["live_session"]
    session.handle_frame(FixedPipeline("happy", faces=2), FRAME, time.monotonic())  # type: ignore[arg-type]
    at.run()
    assert "2 faces in view: the largest one (green box) drives the music" in page_text(at)


def test_music_changes_only_when_the_stable_emotion_changes(
    seeded_db: str, stub_pipeline: None, open_page: Callable[[str], AppTest]
) -> None:
    at = open_page("pages/live.py")
    assert not iframe_srcs(at)
    session: LiveSession = at.session_state["live_session"]
    feed(session, FixedPipeline("happy"))
    at.run()
    assert not at.exception
    assert 'class="mt-emotion-name">happy<' in "".join(html_bodies(at))
    happy = iframe_srcs(at)
    assert any("/embed/playlist/0deORnapZgrxFY4nsKr9JA" in s for s in happy)
    at.run()
    at.run()
    assert iframe_srcs(at) == happy  # reruns keep the very same players: they do not reload
    feed(session, FixedPipeline("sad"), seconds=3.0)
    at.run()
    sad = iframe_srcs(at)
    assert any("/embed/playlist/1n6cpWo9ant4WguEo91KZh" in s for s in sad) and sad != happy
    assert at.session_state["live_emotion"] == "sad"
    assert "Your mood this session" in page_text(at)


def test_snapshot_notes_for_several_and_unsure_faces() -> None:
    from ui.snapshot import SnapshotResult

    sure = FixedPipeline("happy").readings[0]
    unsure = FaceReading(sure.box, sure.probs, "happy", 0.3)
    assert SnapshotResult(FRAME, [sure]).note is None
    assert "ambiguous (30%" in (SnapshotResult(FRAME, [unsure]).note or "")
    assert "2 faces found" in (SnapshotResult(FRAME, [sure, sure]).note or "")
    assert "No face found" in (SnapshotResult(FRAME, []).note or "")
