"""The server side of "On this device": what the browser sends is checked, and good readings drive the same
``LiveSession`` (smoother, timeline, figures) as frames analysed on the server."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import pytest
from app_helpers import page_text
from streamlit.testing.v1 import AppTest

from emotion.labels import EMOTIONS
from ui.live import LiveReading, LiveSession
from ui.live_device import (
    ON_DEVICE,
    ON_SERVER,
    PATH_WIDGET_KEY,
    BadMessage,
    DeviceFeed,
    device_status,
    parse_batch,
)


def probs_for(emotion: str, share: float = 0.88) -> list[float]:
    rest = (1.0 - share) / (len(EMOTIONS) - 1)
    return [round(share if e == emotion else rest, 4) for e in EMOTIONS]


def batch(seq: int = 1, sent: float = 100.0, emotion: str = "happy", frames: int = 6, faces: int = 1,
          state: str = "running", run: str = "abc123") -> dict:
    """A message as the component sends it: ``frames`` readings over the second before ``sent``."""
    readings = [
        {"t": round(sent - 1.0 + (i + 1) / frames, 3),
         "faces": [{"box": [40 + 150 * k, 60, 120, 140], "probs": probs_for(emotion)} for k in range(faces)]}
        for i in range(frames)
    ]
    return {"run": run, "seq": seq, "sent": sent, "state": state, "message": "", "frame": [640, 480], "ms": 41.5,
            "readings": readings}


def test_a_good_batch_is_parsed_into_faces_and_times() -> None:
    parsed = parse_batch(batch(faces=2))
    assert parsed.state == "running" and parsed.frame == (640, 480) and parsed.analysis_ms == 41.5
    assert len(parsed.samples) == 6 and [len(s.faces) for s in parsed.samples] == [2] * 6
    face = parsed.samples[0].faces[0]
    assert face.box == (40, 60, 120, 140)
    assert math.isclose(float(face.probs.sum()), 1.0, abs_tol=1e-6) and EMOTIONS[int(np.argmax(face.probs))] == "happy"


def _broken(change: str) -> object:
    value = batch()
    face = value["readings"][0]["faces"][0]
    if change == "not a dict":
        return [1, 2, 3]
    if change == "six probs":
        face["probs"] = face["probs"][:6]
    elif change == "nan prob":
        face["probs"][0] = float("nan")
    elif change == "text prob":
        face["probs"][0] = "0.1"
    elif change == "sum 1.5":
        face["probs"][3] = 1.0
    elif change == "negative prob":
        face["probs"][0], face["probs"][3] = -0.1, face["probs"][3] + 0.1
    elif change == "box outside":
        face["box"] = [600, 60, 120, 140]
    elif change == "zero box":
        face["box"] = [40, 60, 0, 140]
    elif change == "three numbers box":
        face["box"] = [40, 60, 120]
    elif change == "fractional box":
        face["box"] = [40.5, 60, 120, 140]
    elif change == "boolean box":
        face["box"] = [True, 60, 120, 140]
    elif change == "future time":
        value["readings"][-1]["t"] = value["sent"] + 5
    elif change == "ancient time":
        value["readings"][0]["t"] = value["sent"] - 60
    elif change == "times out of order":
        value["readings"][1]["t"] = value["readings"][0]["t"]
    elif change == "infinite sent":
        value["sent"] = float("inf")
    elif change == "unknown state":
        value["state"] = "hacked"
    elif change == "no run":
        del value["run"]
    elif change == "too many faces":
        value["readings"][0]["faces"] = [face] * 6
    elif change == "too many readings":
        value["readings"] = [copy.deepcopy(value["readings"][0]) for _ in range(61)]
    elif change == "huge frame":
        value["frame"] = [100000, 480]
    elif change == "faces not a list":
        value["readings"][0]["faces"] = {"box": face["box"]}
    return value


BROKEN = ["not a dict", "six probs", "nan prob", "text prob", "sum 1.5", "negative prob", "box outside", "zero box",
          "three numbers box", "fractional box", "boolean box", "future time", "ancient time", "times out of order",
          "infinite sent", "unknown state", "no run", "too many faces", "too many readings", "huge frame",
          "faces not a list"]


@pytest.mark.parametrize("change", BROKEN)
def test_malformed_messages_are_refused_with_a_reason(change: str) -> None:
    with pytest.raises(BadMessage) as refused:
        parse_batch(_broken(change))
    assert str(refused.value)  # says what is wrong


@pytest.mark.parametrize("change", ["nan prob", "box outside", "not a dict", "times out of order"])
def test_a_bad_message_is_dropped_without_touching_the_session(change: str, caplog: pytest.LogCaptureFixture) -> None:
    live, feed = LiveSession(), DeviceFeed()
    assert feed.apply(live, batch(seq=1, sent=100.0), now=50.0) == 6
    before = live.reading(50.0)
    assert feed.apply(live, _broken(change), now=51.0) == 0  # no exception, nothing recorded
    after = live.reading(51.0)
    assert (after.analysed, after.mood, after.timeline) == (before.analysed, before.mood, before.timeline)
    assert feed.batch is not None and feed.batch.seq == 1


def test_readings_drive_the_same_smoother_and_figures_as_server_frames() -> None:
    live, feed = LiveSession(), DeviceFeed()
    assert live.reading().mood is None
    assert feed.apply(live, batch(seq=1, sent=100.0, emotion="happy"), now=10.0) == 6
    reading = live.reading(10.0)
    assert reading.mood == "happy" and reading.faces == 1 and reading.analysed == 6
    assert reading.confidence == pytest.approx(0.88, abs=0.01)
    assert len(reading.timeline) == 1 and reading.timeline[0].emotion == "happy"
    assert reading.analysed_fps == pytest.approx(6 * 5 / 5, rel=0.25)  # six readings spread over the second
    assert reading.stable == "happy"  # held for a second: past the smoother's 0.8 s hysteresis
    for seq in range(2, 5):  # three seconds of sad: the smoothed mood and the stable label follow
        feed.apply(live, batch(seq=seq, sent=100.0 + seq - 1, emotion="sad"), now=10.0 + seq - 1)
    reading = live.reading(13.0)
    assert reading.mood == "sad" and reading.stable == "sad"


def test_delivery_jitter_does_not_change_the_frames_spacing() -> None:
    """Batches arrive late or early by a few hundred ms; the readings keep the browser's own spacing."""
    live, feed = LiveSession(), DeviceFeed()
    for seq, jitter in enumerate([0.0, 0.35, -0.05, 0.4, 0.1, 0.3], start=1):
        feed.apply(live, batch(seq=seq, sent=100.0 + seq), now=10.0 + seq + jitter)
    assert live.reading(16.3).analysed_fps == pytest.approx(6.0, rel=0.02)  # 6 a second, as the browser read


def test_a_rerun_that_shows_the_same_value_again_records_nothing() -> None:
    live, feed = LiveSession(), DeviceFeed()
    value = batch(seq=1)
    assert feed.apply(live, value, now=10.0) == 6
    assert feed.apply(live, value, now=10.4) == 0  # e.g. a button press reruns with the component's old value
    assert feed.apply(live, batch(seq=0), now=10.5) == 0  # an older message
    assert live.reading(10.5).analysed == 6


def test_a_reloaded_page_starts_a_new_run_with_its_own_clock() -> None:
    live, feed = LiveSession(), DeviceFeed()
    feed.apply(live, batch(seq=5, sent=900.0, run="first"), now=10.0)
    assert feed.apply(live, batch(seq=1, sent=3.0, run="second"), now=20.0) == 6  # seq and clock restart


def test_faces_arrive_largest_first_and_count_for_the_status() -> None:
    live, feed = LiveSession(), DeviceFeed()
    value = batch(faces=2)
    for reading in value["readings"]:
        reading["faces"][1]["box"] = [300, 40, 200, 220]  # the second face is the larger one
        reading["faces"][1]["probs"] = probs_for("surprise", 0.9)
    feed.apply(live, value, now=10.0)
    reading = live.reading(10.0)
    assert reading.faces == 2 and reading.mood == "surprise"  # the largest face drives the mood
    assert device_status(feed.batch, reading).kind == "several"


def test_no_face_keeps_the_mood_and_says_so() -> None:
    live, feed = LiveSession(), DeviceFeed()
    feed.apply(live, batch(seq=1), now=10.0)
    feed.apply(live, batch(seq=2, sent=101.0, faces=0), now=11.0)
    reading = live.reading(11.0)
    assert reading.faces == 0 and reading.mood == "happy"
    assert device_status(feed.batch, reading).kind == "no_face"


@pytest.mark.parametrize(("state", "message", "expected"), [
    ("starting", "", "Starting the camera"),
    ("denied", "", "The browser blocked the camera"),
    ("no_camera", "No camera was found.", "No camera was found"),
    ("engine_failed", "The face models could not be loaded in this browser: out of memory", "out of memory"),
])
def test_the_browser_state_becomes_a_plain_status(state: str, message: str, expected: str) -> None:
    value = batch(state=state, frames=0)
    value["message"] = message
    status = device_status(parse_batch(value), LiveReading())
    assert expected in status.message
    assert status.kind == ("connecting" if state == "starting" else "failed")
    assert not status.streaming


# --- the Live page under AppTest (no browser: the test plays the component's part) ------------------------
def _stub_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ui.resources._pipeline", lambda: object())  # the device path never calls it


def test_on_device_live_shows_the_browser_readings_like_the_server_path(
        seeded_db: str, open_page: Callable[[str], AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    _stub_pipeline(monkeypatch)
    at = open_page("pages/live.py")
    assert at.radio(key=PATH_WIDGET_KEY).value == ON_SERVER  # the server path stays the default
    at.radio(key=PATH_WIDGET_KEY).set_value(ON_DEVICE).run()
    assert not at.exception
    assert "Starting the camera and loading the face models in your browser" in page_text(at)
    assert not [e for e in at.get("component_instance") if "webrtc" in e.proto.component_name]
    assert [e for e in at.get("component_instance") if "on_device_camera" in e.proto.component_name]

    import time
    live: LiveSession = at.session_state["live_session"]
    feed: DeviceFeed = at.session_state["live_device_feed"]
    feed.apply(live, batch(seq=1, sent=100.0, emotion="happy", faces=2), time.monotonic())
    at.run()
    text = page_text(at)
    assert "mt-emotion-name\">happy<" in text and "frames analysed per second" in text
    assert "2 faces in view: the largest one (green box) drives the music" in text
    assert "ms per analysed frame in this browser" in text
    assert not at.get("vega_lite_chart")  # folded away: not drawn
    at.session_state["live_details"] = True  # unfolded
    at.run()
    assert len(at.get("vega_lite_chart")) == 2  # the bars and the timeline, as on the server path


def test_the_choice_is_remembered_across_screens(
        seeded_db: str, open_page: Callable[[str], AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    _stub_pipeline(monkeypatch)
    at = open_page("pages/live.py")
    at.radio(key=PATH_WIDGET_KEY).set_value(ON_DEVICE).run()
    at.switch_page("pages/about.py").run()
    at.switch_page("pages/live.py").run()
    assert not at.exception
    assert at.radio(key=PATH_WIDGET_KEY).value == ON_DEVICE


def test_a_failed_server_connection_offers_the_device_path_in_one_click(
        seeded_db: str, open_page: Callable[[str], AppTest], monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit_webrtc.component import WebRtcStreamerContext, WebRtcStreamerState

    import config

    _stub_pipeline(monkeypatch)
    monkeypatch.setattr(WebRtcStreamerContext, "state", property(lambda _: WebRtcStreamerState(False, True)))
    monkeypatch.setattr(config, "LIVE_CONNECT_TIMEOUT_S", 0.0)  # signalling, never playing: failed at once
    at = open_page("pages/live.py")
    assert "The video connection failed" in page_text(at)
    at.button(key="live_offer_device").click().run()
    assert not at.exception
    assert at.radio(key=PATH_WIDGET_KEY).value == ON_DEVICE
    assert "Starting the camera and loading the face models in your browser" in page_text(at)
