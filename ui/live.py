"""Webcam glue for the Live screen: a per-session holder the WebRTC frame callback writes into.

The callback runs on streamlit-webrtc's worker thread (``async_processing``), outside any Streamlit
script context, so it never touches ``st.session_state``: it hands its results to the session's
``LiveSession`` under a lock, and an ``st.fragment(run_every=...)`` copies them into the page.
Measured facts this relies on (streamlit-webrtc 0.79 / aiortc 1.16 / av 18): the callback must return a
*new* ``av.VideoFrame`` (returning the input can stall aiortc's sender), must never block (a stall of a
few seconds drops the connection), and frames may arrive at any size (browsers downscale under load).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import av
import numpy as np
import streamlit as st

from emotion.pipeline import FaceReading, FramePipeline, draw_readings
from emotion.smoothing import EmotionSmoother
from ui.snapshot import check_readings

log = logging.getLogger(__name__)

FrameCallback = Callable[[av.VideoFrame], av.VideoFrame]
STALL_AFTER_S = 5.0  # no frame for this long while playing: the stream stalled
MAX_TIMELINE = 500  # stable-emotion changes kept per session


@dataclass(frozen=True)
class LiveReading:
    """What the video thread has seen so far (a consistent copy, safe to read on the script thread)."""

    frames: int = 0
    faces: int = 0
    probs: np.ndarray | None = None  # smoothed, (7,)
    stable: str | None = None
    confidence: float = 0.0
    last_frame_at: float | None = None  # monotonic seconds
    error: str | None = None
    timeline: tuple[tuple[datetime, str], ...] = ()


@dataclass(frozen=True)
class LiveStatus:
    """What the screen should say: ``kind`` is idle/connecting/failed/stalled/error/no_face/several/ok."""

    kind: str
    message: str

    @property
    def points_to_snapshot(self) -> bool:
        """True when the Snapshot screen is the way forward."""
        return self.kind in ("idle", "failed", "stalled", "error")


@dataclass
class _Connection:
    playing: bool = False
    signalling: bool = False
    since: float | None = None  # when the current (playing, signalling) state began


class LiveSession:
    """One browser session's webcam results: written by the video thread, read by the page."""

    def __init__(self, smoother: EmotionSmoother | None = None) -> None:
        self._lock = threading.Lock()
        self._smoother = smoother or EmotionSmoother()
        self._reading = LiveReading()
        self._connection = _Connection()
        self._timeline: list[tuple[datetime, str]] = []

    # --- the video thread -------------------------------------------------------------------------
    def handle_frame(self, pipeline: FramePipeline, image: np.ndarray, now: float) -> np.ndarray:
        """Analyse one BGR frame, record the result, and return a NEW annotated BGR array.

        Never raises: a failure is recorded (shown on the page) and the frame goes back unannotated.
        """
        try:
            readings = pipeline.process(image)
            check_readings(readings)
            annotated = draw_readings(image, readings)
            with self._lock:
                self._record(readings, now)
        except Exception as error:  # noqa: BLE001 - the stream must survive one bad frame
            with self._lock:
                if str(error) != self._reading.error:  # once per distinct problem, not per frame
                    log.warning("frame analysis failed: %s", error)
                self._reading = _replace(self._reading, error=str(error), last_frame_at=now,
                                         frames=self._reading.frames + 1)
            return np.array(image, copy=True)
        return annotated

    def _record(self, readings: list[FaceReading], now: float) -> None:
        """Feed the largest face to the smoother and publish the result (holding the lock)."""
        smoothed = self._smoother.update(readings[0].probs if readings else None, now)
        if smoothed.changed and smoothed.stable is not None:
            self._timeline.append((datetime.now(UTC), smoothed.stable))
            del self._timeline[:-MAX_TIMELINE]
        self._reading = LiveReading(
            frames=self._reading.frames + 1, faces=len(readings),
            probs=smoothed.probs if readings or self._reading.probs is not None else None,
            stable=smoothed.stable, confidence=smoothed.confidence, last_frame_at=now, error=None,
            timeline=tuple(self._timeline),
        )

    def frame_callback(self, pipeline: FramePipeline, clock: Callable[[], float]) -> FrameCallback:
        """The ``video_frame_callback`` for ``webrtc_streamer``: frame in, new annotated frame out."""

        def callback(frame: av.VideoFrame) -> av.VideoFrame:
            image = frame.to_ndarray(format="bgr24")
            out = self.handle_frame(pipeline, image, clock())
            return av.VideoFrame.from_ndarray(out, format="bgr24")

        return callback

    # --- the script thread ------------------------------------------------------------------------
    def reading(self) -> LiveReading:
        """A consistent copy of the latest results."""
        with self._lock:
            return self._reading

    def observe_connection(self, playing: bool, signalling: bool, now: float) -> float:
        """Record the WebRTC state seen on this run; return how long it has been in that state."""
        with self._lock:
            c = self._connection
            if (c.playing, c.signalling) != (playing, signalling) or c.since is None:
                self._connection = _Connection(playing, signalling, now)
                if playing and not c.playing:
                    # a new stream: frames seen before belong to the last one
                    self._reading = _replace(self._reading, last_frame_at=None, error=None, faces=0)
            return now - (self._connection.since or now)

    def reset(self) -> None:
        """Forget the emotions seen (a new start)."""
        with self._lock:
            self._smoother.reset()
            self._timeline.clear()
            self._reading = LiveReading()


def _replace(reading: LiveReading, **changes: object) -> LiveReading:
    return LiveReading(**{**reading.__dict__, **changes})


def session_holder() -> LiveSession:
    """This browser session's ``LiveSession`` (each session gets its own: no state leaks between them)."""
    holder = st.session_state.get("live_session")
    if not isinstance(holder, LiveSession):
        holder = LiveSession()
        st.session_state["live_session"] = holder
    return holder


SNAPSHOT_HINT = "The Snapshot screen works without a live connection."


def live_status(reading: LiveReading, playing: bool, signalling: bool, state_age_s: float, now: float,
                connect_timeout_s: float) -> LiveStatus:
    """What to tell the user, from the video thread's results and the WebRTC state."""
    if not playing and not signalling:
        return LiveStatus("idle", (
            "Press **START** and allow the camera. If the browser says the camera was denied or blocked, "
            "allow it in the site settings (the camera icon in the address bar) and press START again. "
            + SNAPSHOT_HINT))
    if signalling and not playing:
        if state_age_s >= connect_timeout_s:
            return LiveStatus("failed", (
                f"The video connection failed (nothing after {state_age_s:.0f} s): a firewall or network "
                "may block WebRTC; a TURN server is needed there (see the README). " + SNAPSHOT_HINT))
        return LiveStatus("connecting", "Connecting to the camera stream…")
    if reading.last_frame_at is None:
        if state_age_s >= connect_timeout_s:
            return LiveStatus("failed", (
                f"No video has reached the server after {state_age_s:.0f} s: the connection failed "
                "(a TURN server may be needed on this network). " + SNAPSHOT_HINT))
        return LiveStatus("connecting", "Waiting for the first video frames…")
    if now - reading.last_frame_at >= STALL_AFTER_S:
        return LiveStatus("stalled", (
            f"The video stopped arriving {now - reading.last_frame_at:.0f} s ago: the connection dropped. "
            "Press STOP and START again. " + SNAPSHOT_HINT))
    if reading.error:
        return LiveStatus("error", f"A frame could not be analysed: {reading.error}")
    if reading.faces == 0:
        return LiveStatus("no_face", "No face in view: look at the camera, with your face lit from the front.")
    if reading.faces > 1:
        return LiveStatus("several", (
            f"{reading.faces} faces in view: the largest one (green box) drives the music."))
    return LiveStatus("ok", "Reading your expression…")


def show_status(status: LiveStatus) -> None:
    """The status as a coloured box, with a link to the Snapshot screen when that is the way forward."""
    box = {"ok": st.success, "connecting": st.info, "idle": st.info, "no_face": st.warning,
           "several": st.warning}.get(status.kind, st.error)
    box(status.message)
    if status.points_to_snapshot:
        st.page_link("pages/snapshot.py", label="Use a snapshot instead", icon="📸")
