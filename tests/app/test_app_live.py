"""Live screen: the frame callback, the per-session holder, the status it implies, and the page itself."""

from __future__ import annotations

import re
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


_clocks: dict[int, float] = {}


def feed(session: LiveSession, pipeline: object, seconds: float = 2.0, fps: float = 10.0) -> None:
    """``seconds`` of video at ``fps``, continuing the session's (fake, monotonic) clock."""
    start = _clocks.get(id(session), 0.0)
    frames = int(seconds * fps)
    for i in range(frames):
        session.handle_frame(pipeline, FRAME, start + i / fps)  # type: ignore[arg-type]
    _clocks[id(session)] = start + frames / fps


def test_callback_returns_a_new_annotated_frame() -> None:
    session = LiveSession()
    callback = session.frame_callback(FixedPipeline("happy"), clock=lambda: 1.0)
    incoming = av.VideoFrame.from_ndarray(FRAME, format="bgr24")
    outgoing = callback(incoming)
    assert outgoing is not incoming
    out = outgoing.to_ndarray(format="bgr24")
    assert out.shape == FRAME.shape and not np.array_equal(out, FRAME)  # the box was drawn
    assert session.reading().frames == 1 and session.reading().faces == 1


def test_the_video_goes_back_smaller_with_the_boxes_scaled() -> None:
    session = LiveSession(analysis_fps=5.0)
    callback = session.frame_callback(FixedPipeline("happy"), clock=iter([0.0, 0.05]).__next__, return_width=240)
    analysed = callback(av.VideoFrame.from_ndarray(FRAME, format="bgr24")).to_ndarray(format="bgr24")
    redrawn = callback(av.VideoFrame.from_ndarray(FRAME, format="bgr24")).to_ndarray(format="bgr24")
    assert analysed.shape == redrawn.shape == (180, 240, 3)
    assert session.reading().frames == 2 and session.reading().analysed == 1
    # the box (10, 10, 50, 60) at half size: its left edge is drawn at x = 5, in both frames
    for out in (analysed, redrawn):
        assert out[20, 5].tolist() != [128, 128, 128] and out[20, 3].tolist() == [128, 128, 128]


def test_real_pipeline_on_the_test_face_finds_one_face() -> None:
    from emotion.pipeline import FramePipeline

    image = cv2.imread(str(HAPPY_FACE))
    session = LiveSession()
    out = session.handle_frame(FramePipeline(), image, 0.0)
    assert out is not image and out.shape == image.shape
    assert session.reading().faces == 1 and session.reading().error is None


def test_stable_emotion_and_timeline_follow_the_face(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.live

    monkeypatch.setattr(ui.live, "TIMELINE_STEP_S", 0.0)  # a point per analysed frame (wall time is fast here)
    session = LiveSession()
    feed(session, FixedPipeline("sad"))
    assert session.reading().stable == "sad"
    feed(session, FixedPipeline("happy"), seconds=3.0)
    reading = session.reading()
    assert reading.stable == "happy" and reading.mood == "happy"
    moods = [point.emotion for point in reading.timeline]
    assert moods[0] == "sad" and moods[-1] == "happy" and set(moods) == {"sad", "happy"}


def test_video_label_headline_and_bars_show_one_figure() -> None:
    """The largest face's label on the video is the smoothed mood and figure the headline and bars show."""
    session = LiveSession(analysis_fps=0)
    happy, surprise = FixedPipeline("happy"), FixedPipeline("surprise")
    feed(session, happy, seconds=3.0)
    out = session.handle_frame(surprise, FRAME, 3.05)  # type: ignore[arg-type]
    reading = session.reading()
    assert reading.mood == "happy" and 0.5 < reading.confidence < 0.88  # smoothed: not the frame's 88%
    assert reading.confidence == pytest.approx(float(reading.probs.max()))  # the bars' top value
    drawn = session._last_readings[0]
    assert (drawn.emotion, drawn.confidence) == (reading.mood, reading.confidence)
    assert out.shape == FRAME.shape


def test_frames_are_analysed_at_the_configured_rate() -> None:
    class Counting(FixedPipeline):
        calls = 0

        def process(self, frame: np.ndarray) -> list[FaceReading]:
            Counting.calls += 1
            return super().process(frame)

    session = LiveSession(analysis_fps=6.0)
    feed(session, Counting("happy"), seconds=10.0, fps=15.0)
    assert Counting.calls == pytest.approx(60, abs=2)  # 6 a second, not 5 (15 fps input) nor 15
    reading = session.reading(now=10.0)
    assert reading.frames == 150 and reading.analysed == Counting.calls
    assert reading.analysed_fps == pytest.approx(6.0, abs=0.3)


def test_stop_and_start_begin_a_new_stream_without_a_stall() -> None:
    session = LiveSession()
    assert session.observe_connection(True, False, 0.0) == 0.0
    feed(session, FixedPipeline("happy"))  # frames at 0..1.9 s
    session.observe_connection(False, False, 2.0)  # STOP
    idle = session.reading()
    assert idle.mood == "happy" and idle.frames == 0 and idle.last_frame_at is None  # a last reading, no stream
    session.observe_connection(False, True, 20.0)  # START: signalling
    age = session.observe_connection(True, False, 21.0)  # playing, no frame yet
    status = live_status(session.reading(), True, False, age, now=21.5, connect_timeout_s=15.0)
    assert status.kind == "connecting"
    # even when the page never saw the STOP, a stream younger than the stall limit is not "stalled"
    old = LiveReading(frames=5, last_frame_at=0.0, faces=1)
    assert live_status(old, True, False, 1.0, now=30.0, connect_timeout_s=15.0).kind != "stalled"


def test_a_closed_tab_releases_its_video_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.live

    class Worker:
        stopped = False

        def stop(self) -> None:
            Worker.stopped = True

    class Context:
        def _get_worker(self) -> Worker:
            return Worker()

    context = Context()
    monkeypatch.setattr(ui.live, "_streams", {"session-1": (__import__("weakref").ref(context), None)})
    assert ui.live._reap_once(lambda sid: True, 0.0) == []
    assert ui.live._reap_once(lambda sid: False, 10.0) == []  # gone: the grace period starts
    assert ui.live._reap_once(lambda sid: True, 12.0) == []  # back (a network blip): nothing released
    assert ui.live._reap_once(lambda sid: False, 13.0) == []
    assert ui.live._reap_once(lambda sid: False, 13.0 + ui.live.RELEASE_AFTER_S) == ["session-1"]
    assert Worker.stopped and ui.live._streams == {}


def test_bad_frames_are_reported_not_raised() -> None:
    session = LiveSession()
    out = session.handle_frame(BrokenPipeline(), FRAME, 0.0)  # type: ignore[arg-type]
    assert np.array_equal(out, FRAME) and out is not FRAME
    assert "not an image" in (session.reading().error or "")


def test_nan_probabilities_are_an_error_not_an_emotion() -> None:
    """A damaged model file that outputs NaN: the real FramePipeline refuses its output, Live says why."""
    from emotion.detector import Detection
    from emotion.pipeline import FramePipeline

    class OneFace:
        def detect(self, frame: np.ndarray) -> list[Detection]:
            return [Detection((100, 80, 120, 140), 0.9)]

    class NanModel:
        def predict_proba(self, faces: np.ndarray) -> np.ndarray:
            return np.full((len(faces), len(EMOTIONS)), np.nan, np.float32)

    session = LiveSession()
    session.handle_frame(FramePipeline(OneFace(), NanModel()), FRAME, 0.0)  # type: ignore[arg-type]
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
        (LiveReading(frames=5, last_frame_at=0.0), True, False, 3.0, "no_face"),  # just restarted: no alarm
        (LiveReading(frames=5, last_frame_at=99.0, faces=0), True, False, 30.0, "no_face"),
        (LiveReading(frames=5, last_frame_at=99.0, faces=3), True, False, 30.0, "several"),
        (LiveReading(frames=5, last_frame_at=99.0, faces=1), True, False, 30.0, "ok"),
        (LiveReading(frames=5, last_frame_at=99.0, error="bad"), True, False, 30.0, "error"),
    ],
)
def test_status(reading: LiveReading, playing: bool, signalling: bool, age: float, kind: str) -> None:
    status = live_status(reading, playing, signalling, age, now=100.0, connect_timeout_s=15.0)
    assert status.kind == kind
    if kind in ("failed", "stalled"):
        assert "Snapshot" in status.message
    if kind == "idle":
        assert "Start" in status.message and len(status.message) < 120  # a short invitation


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


def plain_text(at: AppTest) -> str:
    """The page's text with HTML tags removed."""
    return re.sub(r"<[^>]+>", "", page_text(at))


class StreamingLive:
    """The Live page under AppTest with a "playing" stream fed by the test, and a fake clock for the pacer."""

    def __init__(self, open_page: Callable[[str], AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
        from streamlit_webrtc.component import WebRtcStreamerContext, WebRtcStreamerState

        self.clock = 1000.0
        # under AppTest no browser connects: pretend the stream is playing
        monkeypatch.setattr(WebRtcStreamerContext, "state", property(lambda _: WebRtcStreamerState(True, False)))
        monkeypatch.setattr("recommender.pacing.time.monotonic", lambda: self.clock)  # also the page's clock
        self.at = open_page("pages/live.py")
        self.session: LiveSession = self.at.session_state["live_session"]

    def show(self, emotion: str) -> AppTest:
        """Three seconds of a face showing ``emotion``, ending now; then the page runs."""
        _clocks[id(self.session)] = max(self.clock, _clocks.get(id(self.session), 0.0))
        feed(self.session, FixedPipeline(emotion), seconds=3.0)
        self.at.run()
        assert not self.at.exception
        return self.at


@pytest.fixture
def streaming(seeded_db: str, stub_pipeline: None, open_page: Callable[[str], AppTest],
              monkeypatch: pytest.MonkeyPatch) -> StreamingLive:
    return StreamingLive(open_page, monkeypatch)


def test_music_follows_a_mood_only_after_the_dwell(streaming: StreamingLive) -> None:
    at = streaming.at
    assert not iframe_srcs(at)
    streaming.show("happy")
    assert at.session_state["now_playing"][0] == "happy"
    happy = iframe_srcs(at)
    assert any("/embed/playlist/0deORnapZgrxFY4nsKr9JA" in s for s in happy)  # the persistent player
    at.run()
    assert iframe_srcs(at) == happy  # reruns keep the very same players: they do not reload
    streaming.show("sad")
    assert iframe_srcs(at) == happy  # a new mood waits
    assert "Mood changed" not in page_text(at)  # and is announced only once it has held a few seconds
    streaming.clock += 5.0
    streaming.show("sad")
    assert "Mood changed to sad: new music in 10 s" in plain_text(at) and iframe_srcs(at) == happy
    streaming.clock += 11.0
    streaming.show("sad")
    sad = iframe_srcs(at)
    assert any("/embed/playlist/1n6cpWo9ant4WguEo91KZh" in s for s in sad) and sad != happy
    assert "Your mood over time" not in page_text(at)  # folded: the details are not even drawn
    at.session_state["live_details"] = True  # the visitor unfolds them
    at.run()
    assert "Your mood over time" in page_text(at) and len(at.get("vega_lite_chart")) == 2
    icons = "".join(str(e.proto.icon) for kind in ("info", "error", "warning") for e in getattr(at, kind))
    shown = page_text(at) + icons
    assert not any(ord(ch) >= 0x1F000 or 0x2600 <= ord(ch) <= 0x27BF for ch in shown)  # Material icons, no emoji


def test_keep_this_music_pins_it_and_following_again_counts_the_time_held(streaming: StreamingLive) -> None:
    at = streaming.at
    streaming.show("happy")
    streaming.show("sad")
    streaming.clock += 5.0
    streaming.show("sad")
    happy = iframe_srcs(at)
    at.button(key="music_keep").click().run()
    streaming.clock += 60.0
    streaming.show("sad")
    assert iframe_srcs(at) == happy and "the music stays until you let it follow your mood" in plain_text(at)
    at.button(key="music_unpin").click().run()  # sad has held 65 s: it plays at once
    assert at.session_state["now_playing"][0] == "sad" and iframe_srcs(at) != happy


def test_switch_now_switches(streaming: StreamingLive) -> None:
    at = streaming.at
    streaming.show("happy")
    streaming.show("sad")
    streaming.clock += 5.0
    streaming.show("sad")
    happy = iframe_srcs(at)
    at.button(key="music_switch").click().run()
    assert at.session_state["now_playing"][0] == "sad" and iframe_srcs(at) != happy


def test_not_right_plays_the_chosen_mood_pins_it_and_counts(streaming: StreamingLive) -> None:
    at = streaming.show("happy")
    at.pills(key="live_correction").set_value("neutral").run()
    assert at.session_state["now_playing"][0] == "neutral"
    assert at.session_state["live_corrections"] == 1
    assert "Corrected 1 time this session" in page_text(at) and "(you chose it)" in page_text(at)
    streaming.clock += 60.0
    streaming.show("happy")
    assert at.session_state["now_playing"][0] == "neutral"  # pinned: the face no longer moves it
    at.pills(key="live_correction").set_value("sad").run()
    assert at.session_state["live_corrections"] == 2 and at.session_state["now_playing"][0] == "sad"


def test_lift_is_one_numbered_column_and_switching_modes_keeps_tracks(streaming: StreamingLive) -> None:
    from ui.music import LIFT_SENTENCE

    at = streaming.show("sad")
    match = iframe_srcs(at)
    at.segmented_control(key="live_mode").set_value("lift").run()
    lift = iframe_srcs(at)
    assert LIFT_SENTENCE in page_text(at)
    numbered = [body for body in html_bodies(at) if "<b>1.</b>" in body or "<b>2.</b>" in body]
    assert len(numbered) == 2
    playlist = [src for src in match if "/embed/playlist/" in src]
    assert len(playlist) == 1 and playlist[0] in lift  # the playlist plays on
    at.segmented_control(key="live_mode").set_value("match").run()
    assert iframe_srcs(at) == match  # back to match: the very same tracks


def test_snapshot_notes_for_several_and_unsure_faces() -> None:
    from ui.snapshot import SnapshotResult

    sure = FixedPipeline("happy").readings[0]
    unsure = FaceReading(sure.box, sure.probs, "happy", 0.3)
    assert SnapshotResult(FRAME, [sure]).note is None
    assert "ambiguous (30%" in (SnapshotResult(FRAME, [unsure]).note or "")
    assert "2 faces found" in (SnapshotResult(FRAME, [sure, sure]).note or "")
    assert "No face found" in (SnapshotResult(FRAME, []).note or "")


def test_calibrating_to_a_face_that_rests_sad_makes_the_live_mood_neutral() -> None:
    """"Calibrate to my face" on the Live holder: 3 s of a resting face that reads sad, then it reads neutral
    (with the committed reference of the served model), and Undo brings the model's own reading back."""
    import config
    from emotion.calibration import FaceCalibrator, load_reference

    reference = load_reference(config.NEUTRAL_REFERENCE_PATH, config.TFLITE_MODEL_PATH)
    assert reference is not None
    resting = np.full(len(EMOTIONS), 0.05, np.float32)
    resting[EMOTIONS.index("sad")], resting[EMOTIONS.index("neutral")] = 0.45, 0.30
    pipeline = FixedPipeline("sad")
    pipeline.readings = [FaceReading((10, 10, 50, 60), resting / resting.sum(), "sad", 0.45)]
    session = LiveSession()
    feed(session, pipeline, seconds=2.0)
    assert session.reading().mood == "sad"
    now = _clocks[id(session)]
    session.start_calibration(FaceCalibrator(reference, look_s=3.0), now)
    assert session.calibration(now).kind == "looking"
    feed(session, pipeline, seconds=3.5)
    assert session.calibration(_clocks[id(session)]).kind == "on"
    feed(session, pipeline, seconds=2.0)
    assert session.reading().mood == "neutral"
    session.clear_calibration()
    feed(session, pipeline, seconds=2.0)
    assert session.reading().mood == "sad" and session.calibration(0.0).kind == "off"
