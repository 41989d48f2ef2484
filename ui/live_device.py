"""The server side of "On this device": the browser's readings in, the same ``LiveSession`` out.

On this path the camera, YuNet and the CNN run in the browser (``ui.on_device``); about once a second it
sends the readings of the frames it analysed since the last time: per frame a timestamp and, per face, the
seven probabilities and the box. This module checks each message (anything malformed is dropped, logged
once, never a traceback), turns the readings into ``FaceReading``s and records them in the session's
``LiveSession`` at the times they were taken, so the same ``EmotionSmoother``, ``MusicPacer`` and music run
as on the server path.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit.logger import get_logger

import config
from emotion.labels import EMOTIONS, NUM_CLASSES
from emotion.pipeline import MAX_FACES, FaceReading
from ui.live import CAMERA_DENIED, SNAPSHOT_HINT, LiveReading, LiveSession, LiveStatus
from ui.on_device import missing_bundle_files, on_device_camera

log = get_logger(__name__)

ON_SERVER = "On this server"
ON_DEVICE = "On this device"
LIVE_PATHS: tuple[str, ...] = (ON_SERVER, ON_DEVICE)
PATH_KEY = "live_path"  # the session's choice (kept while the visitor browses other screens)
PATH_WIDGET_KEY = "live_path_choice"

STATES: tuple[str, ...] = ("starting", "running", "denied", "no_camera", "camera_busy", "engine_failed")
MAX_READINGS = 60  # per message: 1 s at up to 30 fps, twice over
MAX_MESSAGE_AGE_S = 10.0  # a reading older than this, relative to its message, is refused
PROB_SUM_TOLERANCE = 0.02  # the probabilities are rounded to 4 decimals in the browser
MAX_FRAME_SIDE = 8192
MAX_MESSAGE_CHARS = 300  # the browser's status message, shown on the page


@dataclass(frozen=True)
class DeviceFace:
    """One face the browser read: its box in the camera's pixels and its seven probabilities."""

    box: tuple[int, int, int, int]
    probs: np.ndarray


@dataclass(frozen=True)
class DeviceSample:
    """One analysed frame: when (the browser's clock, seconds) and its faces, largest first."""

    t: float
    faces: tuple[DeviceFace, ...]


@dataclass(frozen=True)
class DeviceBatch:
    """One message from the browser: its identity (``run``, ``seq``), its state and the frames since the last."""

    run: str
    seq: int
    sent: float  # the browser's clock when it was sent, seconds
    state: str
    message: str
    frame: tuple[int, int]
    analysis_ms: float | None
    samples: tuple[DeviceSample, ...]


class BadMessage(ValueError):
    """What the browser sent is not a valid batch of readings."""


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadMessage(f"{what} is not a finite number")
    return float(value)


def _whole(value: object, what: str) -> int:
    number = _finite(value, what)
    if number != int(number):
        raise BadMessage(f"{what} is not a whole number")
    return int(number)


def parse_probs(value: object) -> np.ndarray:
    """Seven finite probabilities in [0, 1] summing to 1 (within rounding), renormalised to sum exactly 1."""
    if not isinstance(value, list) or len(value) != NUM_CLASSES:
        raise BadMessage(f"probs must be a list of {NUM_CLASSES} numbers")
    probs = np.array([_finite(v, "a probability") for v in value], dtype=np.float32)
    if np.any(probs < 0) or np.any(probs > 1):
        raise BadMessage("a probability is outside [0, 1]")
    total = float(probs.sum())
    if abs(total - 1.0) > PROB_SUM_TOLERANCE:
        raise BadMessage(f"the probabilities sum to {total:.3f}, not 1")
    return probs / total


def parse_box(value: object, frame: tuple[int, int]) -> tuple[int, int, int, int]:
    """(x, y, w, h): whole pixels, a positive size, inside the camera frame (a pixel of rounding allowed)."""
    if not isinstance(value, list) or len(value) != 4:
        raise BadMessage("box must be [x, y, w, h]")
    x, y, w, h = (_whole(v, "a box coordinate") for v in value)
    width, height = frame
    if w < 1 or h < 1 or x < -1 or y < -1 or x + w > width + 1 or y + h > height + 1:
        raise BadMessage(f"box {[x, y, w, h]} lies outside the {width}x{height} frame")
    return x, y, w, h


def parse_batch(value: object) -> DeviceBatch:
    """Check one message from the browser, field by field; raise ``BadMessage`` saying what is wrong."""
    if not isinstance(value, dict):
        raise BadMessage("the message is not an object")
    run = value.get("run")
    if not isinstance(run, str) or not 1 <= len(run) <= 64:
        raise BadMessage("run must be a short string")
    seq = _whole(value.get("seq"), "seq")
    sent = _finite(value.get("sent"), "sent")
    state = value.get("state")
    if state not in STATES:
        raise BadMessage(f"unknown state {state!r}")
    message = value.get("message") or ""
    if not isinstance(message, str):
        raise BadMessage("message must be text")
    frame_value = value.get("frame")
    if not isinstance(frame_value, list) or len(frame_value) != 2:
        raise BadMessage("frame must be [width, height]")
    frame = (_whole(frame_value[0], "the frame width"), _whole(frame_value[1], "the frame height"))
    if not all(0 <= side <= MAX_FRAME_SIDE for side in frame):
        raise BadMessage(f"frame size {frame} is not a camera's")
    ms = value.get("ms")
    analysis_ms = None if ms is None else _finite(ms, "ms")
    readings = value.get("readings")
    if not isinstance(readings, list) or len(readings) > MAX_READINGS:
        raise BadMessage(f"readings must be a list of at most {MAX_READINGS}")
    if readings and min(frame) < 1:
        raise BadMessage("readings without a frame size")
    samples: list[DeviceSample] = []
    for reading in readings:
        if not isinstance(reading, dict) or not isinstance(reading.get("faces"), list):
            raise BadMessage("a reading must be {t, faces}")
        t = _finite(reading.get("t"), "a reading's time")
        if t > sent + 0.05 or t < sent - MAX_MESSAGE_AGE_S:
            raise BadMessage("a reading's time lies outside its message's last 10 s")
        if samples and t <= samples[-1].t:
            raise BadMessage("the readings' times do not increase")
        faces = reading["faces"]
        if len(faces) > MAX_FACES:
            raise BadMessage(f"more than {MAX_FACES} faces in one frame")
        parsed = []
        for face in faces:
            if not isinstance(face, dict):
                raise BadMessage("a face must be {box, probs}")
            parsed.append(DeviceFace(parse_box(face.get("box"), frame), parse_probs(face.get("probs"))))
        samples.append(DeviceSample(t, tuple(parsed)))
    return DeviceBatch(run, seq, sent, state, message[:MAX_MESSAGE_CHARS], frame, analysis_ms, tuple(samples))


def face_readings(sample: DeviceSample) -> list[FaceReading]:
    """The browser's faces as the server pipeline's ``FaceReading``s (largest first, as the browser sends)."""
    ordered = sorted(sample.faces, key=lambda f: f.box[2] * f.box[3], reverse=True)
    return [FaceReading(f.box, f.probs, EMOTIONS[int(np.argmax(f.probs))], float(np.max(f.probs))) for f in ordered]


class DeviceFeed:
    """One session's receiver: applies each new batch once (a rerun shows the component's last value again)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: tuple[str, int] | None = None
        self._last_t: float | None = None
        self._offset: float | None = None  # server clock minus the browser's, for this page load
        self._rejected: str | None = None
        self.batch: DeviceBatch | None = None  # the latest valid batch: the browser's state

    def apply(self, live: LiveSession, value: object, now: float) -> int:
        """Record ``value``'s new readings in ``live`` (server clock ``now``, monotonic s); return how many.

        Readings are recorded at their browser times moved onto the server's clock by one offset per page load
        (the smallest seen, so never in the future): the smoother and the analysed rate see the frames spaced
        exactly as they were taken, whatever the delivery jitter. Bad messages are dropped, logged once a kind.
        """
        if value is None:
            return 0
        try:
            batch = parse_batch(value)
        except BadMessage as problem:
            with self._lock:
                if str(problem) != self._rejected:
                    self._rejected = str(problem)
                    log.warning("on-device reading refused: %s", problem)
            return 0
        with self._lock:
            if self._last is not None and self._last[0] == batch.run and batch.seq <= self._last[1]:
                return 0  # already applied (or older)
            if self._last is None or self._last[0] != batch.run:
                self._last_t, self._offset = None, None  # a new page load: its clock starts afresh
                live.observe_connection(False, False, now)
            self._offset = now - batch.sent if self._offset is None else min(self._offset, now - batch.sent)
            offset = self._offset
            self._last = (batch.run, batch.seq)
            self.batch = batch
            fresh = [s for s in batch.samples if self._last_t is None or s.t > self._last_t]
            if fresh:
                self._last_t = fresh[-1].t
        # the connection state of LiveSession marks a "stream": running = playing
        live.observe_connection(batch.state == "running", batch.state == "starting", now)
        for sample in fresh:
            live.record(face_readings(sample), min(now, sample.t + offset))
        return len(fresh)


def device_feed() -> DeviceFeed:
    """This browser session's ``DeviceFeed``."""
    feed = st.session_state.get("live_device_feed")
    if not isinstance(feed, DeviceFeed):
        feed = DeviceFeed()
        st.session_state["live_device_feed"] = feed
    return feed


ON_DEVICE_INVITATION = "Allow the camera when the browser asks: your face is read in this browser."


def device_status(batch: DeviceBatch | None, reading: LiveReading) -> LiveStatus:
    """What to tell the user on the on-device path (the same kinds as ``ui.live.live_status``)."""
    if batch is None or batch.state == "starting":
        return LiveStatus("connecting", "Starting the camera and loading the face models in your browser…")
    if batch.state == "denied":
        return LiveStatus("failed", CAMERA_DENIED.replace(" and press Start", ""))
    if batch.state != "running":
        reason = batch.message or "The camera or the face models could not start in this browser."
        return LiveStatus("failed", f"{reason} {SNAPSHOT_HINT}")
    if reading.faces == 0:
        return LiveStatus("no_face", "No face in view: look at the camera, with your face lit from the front.")
    if reading.faces > 1:
        return LiveStatus("several", f"{reading.faces} faces in view: the largest one (green box) drives the music.")
    return LiveStatus("ok", "Reading your expression in this browser…")


# --- the panel ---------------------------------------------------------------------------------------
COMPONENT_KEY = "live_device"
SEND_EVERY_S = 1.0  # the browser sends its readings once a second: one fragment run a second per session


def device_live_panel(live: LiveSession, show_reading: Callable[[LiveReading, LiveStatus], None],
                      show_music: Callable[[], None]) -> None:
    """The on-device Live screen: the component (camera, preview, analysis in the browser), the reading and
    the music, in the same layout as the server path (video left, mood and music right; phones: mood first).

    Runs as a fragment: each batch the browser sends reruns only this fragment, about once a second. The
    whole layout is inside it because a fragment cannot draw into columns made outside it.
    """

    @st.fragment
    def panel() -> None:
        feed = device_feed()
        now = time.monotonic()
        # the batch that triggered this run, read before the component is drawn so its label is current
        feed.apply(live, st.session_state.get(COMPONENT_KEY), now)
        reading = live.reading(now)
        status = device_status(feed.batch, reading)
        with st.container(key="live-layout"):
            video_col, mood_col = st.columns([2, 3], gap="medium")
        with video_col, st.container(key="card-video"):
            problem = bundle_problem()
            if problem:
                st.error(problem)
            else:
                on_device_camera(COMPONENT_KEY, reading.mood if status.streaming else None, reading.confidence,
                                 max_fps=config.LIVE_ANALYSIS_FPS, send_every_s=SEND_EVERY_S)
                st.caption(":material/lock: Your camera stays in this browser: only the seven probabilities, "
                           "the face box and the time reach the server.")
        with mood_col, st.container(key="card-mood"):
            show_reading(reading, status)
            if status.streaming and feed.batch is not None and feed.batch.analysis_ms is not None:
                st.caption(f"{feed.batch.analysis_ms:.0f} ms per analysed frame in this browser")
        with mood_col, st.container(key="card-music"):
            show_music()

    panel()


def bundle_problem() -> str | None:
    """Why the on-device component cannot be served (its built files are missing), or ``None``."""
    missing = missing_bundle_files()
    if not missing:
        return None
    log.warning("on-device component bundle incomplete: %s", ", ".join(missing))
    return ("The on-device analysis is not available on this server (its browser files are missing). "
            "Use \"On this server\" or the Snapshot screen.")


# --- the path choice ---------------------------------------------------------------------------------
def _remember_path() -> None:
    st.session_state[PATH_KEY] = st.session_state.get(PATH_WIDGET_KEY, ON_SERVER)


def choose_live_path() -> str:
    """The "where is my face read" choice, remembered for the session (across screens); returns the path."""
    if PATH_WIDGET_KEY not in st.session_state:  # the widget forgets its value when another screen is shown
        st.session_state[PATH_WIDGET_KEY] = st.session_state.get(PATH_KEY, ON_SERVER)
    choice = st.radio(
        "Where your face is read", LIVE_PATHS, key=PATH_WIDGET_KEY, horizontal=True, on_change=_remember_path,
        help="On this server: the video goes to the Moodtune server. On this device: the camera is analysed "
             "in this browser and only the seven probabilities, the face box and the time go to the server.",
    )
    return choice if choice in LIVE_PATHS else ON_SERVER


def _switch_to_device() -> None:
    st.session_state[PATH_KEY] = ON_DEVICE
    st.session_state[PATH_WIDGET_KEY] = ON_DEVICE


def offer_device_path(status: LiveStatus) -> None:
    """When the server's video connection failed: the on-device path in one click, with the reason."""
    if status.kind not in ("failed", "stalled"):
        return
    st.button("Read my face on this device instead", key="live_offer_device", icon=":material/devices:",
              on_click=_switch_to_device, type="primary",
              help="The video connection to the server failed; on this device, no video leaves your browser and "
                   "no WebRTC connection is needed.")
