"""The light server path (issue 18): no annotated video back (``MOODTUNE_LIVE_VIDEO_BACK=0``).

The server receives the camera (WebRTC SENDONLY), reads at most ``LIVE_ANALYSIS_FPS`` frames a second and
draws or encodes nothing; the page shows the browser's own camera with the server's boxes and mood over
it (``ui/live_preview``). The real browser side is tests/e2e/test_e2e_light_live.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import av
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import settings_with as read_settings
from emotion.labels import EMOTIONS
from emotion.pipeline import FaceReading
from ui.live import LiveSession

FRAME = np.full((240, 320, 3), 128, np.uint8)
NAMES = ("LIVE_VIDEO_BACK", "LIVE_SENT_FPS", "LIVE_ANALYSIS_FPS")


def settings_with(env: dict[str, str]) -> dict:
    """This file's settings as a fresh interpreter reads them with ``env``."""
    return read_settings(env, NAMES)


class Faces:
    """A stand-in for FramePipeline that sees ``boxes`` (largest first) showing ``emotion``; counts its calls."""

    def __init__(self, emotion: str, boxes: list[tuple[int, int, int, int]]) -> None:
        probs = np.full(len(EMOTIONS), 0.02, np.float32)
        probs[EMOTIONS.index(emotion)] = 0.88
        self.readings = [FaceReading(box, probs, emotion, 0.88) for box in boxes]
        self.calls = 0

    def process(self, frame: np.ndarray) -> list[FaceReading]:
        self.calls += 1
        return list(self.readings)


# --- the settings ---------------------------------------------------------------------------------------
def test_video_goes_back_by_default_and_the_light_mode_is_a_setting() -> None:
    found = settings_with({})
    assert found["problems"] == []
    assert found["values"]["LIVE_VIDEO_BACK"] is True
    assert found["values"]["LIVE_SENT_FPS"] >= found["values"]["LIVE_ANALYSIS_FPS"]
    light = settings_with({"MOODTUNE_LIVE_VIDEO_BACK": "0", "MOODTUNE_LIVE_SENT_FPS": "8"})
    assert light["problems"] == [] and light["values"]["LIVE_VIDEO_BACK"] is False
    assert light["values"]["LIVE_SENT_FPS"] == 8.0
    assert settings_with({"MOODTUNE_LIVE_SENT_FPS": "0"})["values"]["LIVE_SENT_FPS"] == 0.0  # no cap


@pytest.mark.parametrize(("name", "raw"), [
    ("MOODTUNE_LIVE_VIDEO_BACK", "maybe"), ("MOODTUNE_LIVE_SENT_FPS", "fast"), ("MOODTUNE_LIVE_SENT_FPS", "-1"),
    ("MOODTUNE_LIVE_SENT_FPS", "nan"), ("MOODTUNE_LIVE_SENT_FPS", "2"),  # fewer than the 4 analysed
])
def test_a_bad_value_is_named_and_the_default_used(name: str, raw: str) -> None:
    default = settings_with({})["values"][name.removeprefix("MOODTUNE_")]
    found = settings_with({name: raw})
    assert found["values"][name.removeprefix("MOODTUNE_")] == default
    assert len(found["problems"]) == 1 and found["problems"][0].startswith(f"{name}={raw!r}")


# --- the video thread -----------------------------------------------------------------------------------
def test_the_reading_callback_hands_the_frame_on_untouched_and_publishes_the_boxes() -> None:
    session = LiveSession(analysis_fps=4.0)
    faces = Faces("happy", [(80, 60, 64, 72), (200, 40, 40, 48)])
    callback = session.reading_callback(faces, clock=lambda: 1.0)  # type: ignore[arg-type]
    incoming = av.VideoFrame.from_ndarray(FRAME, format="bgr24")
    assert callback(incoming) is incoming  # nothing drawn, converted back or encoded
    reading = session.reading()
    assert (reading.frames, reading.analysed, reading.faces, reading.mood) == (1, 1, 2, "happy")
    assert reading.boxes == ((0.25, 0.25, 0.2, 0.3), (0.625, 0.1667, 0.125, 0.2))


def test_the_reading_callback_reads_at_most_the_analysis_rate() -> None:
    session = LiveSession(analysis_fps=4.0)
    faces = Faces("sad", [(80, 60, 64, 72)])
    times = iter(i / 15 for i in range(150))  # 10 s of a 15-fps camera
    callback = session.reading_callback(faces, clock=times.__next__)  # type: ignore[arg-type]
    for _ in range(150):
        callback(av.VideoFrame.from_ndarray(FRAME, format="bgr24"))
    assert faces.calls == pytest.approx(40, abs=2)
    reading = session.reading(now=10.0)
    assert reading.frames == 150 and reading.analysed == faces.calls and reading.stable == "sad"


def test_no_face_clears_the_boxes_and_a_new_stream_starts_without_them() -> None:
    session = LiveSession(analysis_fps=0)
    session.reading_callback(Faces("happy", [(80, 60, 64, 72)]), clock=lambda: 1.0)(  # type: ignore[arg-type]
        av.VideoFrame.from_ndarray(FRAME, format="bgr24"))
    assert len(session.reading().boxes) == 1
    session.reading_callback(Faces("happy", []), clock=lambda: 2.0)(  # type: ignore[arg-type]
        av.VideoFrame.from_ndarray(FRAME, format="bgr24"))
    assert session.reading().boxes == () and session.reading().faces == 0
    session.reading_callback(Faces("happy", [(80, 60, 64, 72)]), clock=lambda: 3.0)(  # type: ignore[arg-type]
        av.VideoFrame.from_ndarray(FRAME, format="bgr24"))
    session.observe_connection(True, False, 3.0)  # a new stream: nothing of the last one is drawn
    assert session.reading().boxes == ()


def test_a_failed_analysis_is_reported_and_draws_no_box() -> None:
    class Broken:
        def process(self, frame: np.ndarray) -> list[FaceReading]:
            raise ValueError("frame is empty or not an image")

    session = LiveSession(analysis_fps=0)
    session.reading_callback(Faces("happy", [(80, 60, 64, 72)]), clock=lambda: 1.0)(  # type: ignore[arg-type]
        av.VideoFrame.from_ndarray(FRAME, format="bgr24"))
    frame = av.VideoFrame.from_ndarray(FRAME, format="bgr24")
    assert session.reading_callback(Broken(), clock=lambda: 2.0)(frame) is frame  # type: ignore[arg-type]
    assert "not an image" in (session.reading().error or "") and session.reading().boxes == ()


# --- the page -------------------------------------------------------------------------------------------
def component_args(at: AppTest, name: str) -> list[dict]:
    """The JSON args of every custom component ``name`` on the page."""
    found = []
    for element in at.get("component_instance"):
        if name in element.proto.component_name:
            found.append(json.loads(element.proto.json_args))
    return found


@pytest.fixture
def light_live(seeded_db: str, open_page: Callable[[str], AppTest],
               monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], AppTest]:
    import config

    monkeypatch.setattr("ui.resources._pipeline", lambda: Faces("neutral", []))

    def open_live(playing: bool) -> AppTest:
        from streamlit_webrtc.component import WebRtcStreamerContext, WebRtcStreamerState

        monkeypatch.setattr(config, "LIVE_VIDEO_BACK", False)
        # under AppTest no browser connects: pretend the stream is (or is not) playing
        monkeypatch.setattr(WebRtcStreamerContext, "state",
                            property(lambda self: WebRtcStreamerState(playing, False)))
        return open_page("pages/live.py")

    return open_live


def test_light_mode_asks_for_no_video_back_and_the_preview_draws_the_servers_reading(
        light_live: Callable[[bool], AppTest]) -> None:
    at = light_live(True)
    webrtc = component_args(at, "streamlit_webrtc")
    assert webrtc and webrtc[0]["mode"] == "SENDONLY"
    session: LiveSession = at.session_state["live_session"]
    session.reading_callback(Faces("happy", [(80, 60, 64, 72)]), clock=time.monotonic)(  # type: ignore[arg-type]
        av.VideoFrame.from_ndarray(FRAME, format="bgr24"))
    at.run()
    assert not at.exception
    preview = component_args(at, "live_preview")
    assert len(preview) == 1
    assert preview[0]["streaming"] is True and preview[0]["mood"] == "happy"
    assert preview[0]["boxes"] == [[0.25, 0.25, 0.2, 0.3]] and preview[0]["send_fps"] > 0
    headline = "".join(element.proto.body for element in at.get("html"))
    assert '"mt-emotion-name">happy<' in headline  # the headline shows the mood the preview labels
    assert f"{preview[0]['confidence']:.0%} confident" in headline


def test_light_mode_idle_shows_no_picture_and_video_back_mode_has_no_preview(
        light_live: Callable[[bool], AppTest], open_page: Callable[[str], AppTest],
        monkeypatch: pytest.MonkeyPatch) -> None:
    at = light_live(False)
    assert not at.exception
    preview = component_args(at, "live_preview")
    assert len(preview) == 1 and preview[0]["streaming"] is False and preview[0]["boxes"] == []
    import config

    monkeypatch.setattr(config, "LIVE_VIDEO_BACK", True)
    at = open_page("pages/live.py")
    assert not at.exception
    assert component_args(at, "live_preview") == []
    assert component_args(at, "streamlit_webrtc")[0]["mode"] == "SENDRECV"
