"""Webcam glue for the Live screen: a per-session holder the WebRTC frame callback writes into.

The callback runs on streamlit-webrtc's worker thread (``async_processing``), outside any Streamlit
script context, so it never touches ``st.session_state``: it hands its results to the session's
``LiveSession`` under a lock, and an ``st.fragment(run_every=...)`` copies them into the page.
Measured facts this relies on (streamlit-webrtc 0.79 / aiortc 1.16 / av 18): the callback must return a
*new* ``av.VideoFrame`` (returning the input can stall aiortc's sender), must never block (a stall of a
few seconds drops the connection), and frames may arrive at any size (browsers downscale under load).

Cost control (issue 13 §6): frames are *analysed* at most ``config.LIVE_ANALYSIS_FPS`` times a second;
the others go back with the last boxes drawn on them, so the user's view stays fluid. The browser is asked
for a small, slow capture (``media_constraints``, issue 18), as the analysis reads a 320-px copy anyway. A closed tab's
video connection is released by ``release_closed_tabs`` within seconds instead of Streamlit's 120 s.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import av
import cv2
import numpy as np
import streamlit as st
from streamlit.logger import get_logger

from emotion.calibration import CalibrationState, FaceCalibrator
from emotion.labels import EMOTIONS
from emotion.pipeline import FaceReading, FramePipeline
from emotion.smoothing import EmotionSmoother
from recommender.pacing import MusicPacer

# Streamlit's logger setup: these lines reach the server log at its default level (info), with timestamps
log = get_logger(__name__)

FrameCallback = Callable[[av.VideoFrame], av.VideoFrame]
STALL_AFTER_S = 5.0  # no frame for this long while playing: the stream stalled
TIMELINE_STEP_S = 2.0  # one timeline point per this many seconds of video
MAX_TIMELINE = 300  # points kept per session: the last 10 minutes
RATE_WINDOW_S = 5.0  # the analysed frame rate is measured over this window


@dataclass(frozen=True)
class TimelinePoint:
    """The mood shown at one moment: the smoothed leader and its probability."""

    at: datetime
    emotion: str
    confidence: float


@dataclass(frozen=True)
class LiveReading:
    """What the video thread has seen so far (a consistent copy, safe to read on the script thread).

    ``mood``/``confidence`` are the smoothed distribution's leader and its share: the ONE figure shown by
    the video label, the headline and the bars. ``stable`` (the hysteresis label) is what the music follows.
    """

    frames: int = 0  # frames received in this stream
    analysed: int = 0  # of which analysed
    faces: int = 0
    probs: np.ndarray | None = None  # smoothed, (7,)
    mood: str | None = None
    confidence: float = 0.0
    stable: str | None = None
    last_frame_at: float | None = None  # monotonic seconds, in this stream
    read_at: datetime | None = None  # wall time of the last analysed face
    error: str | None = None
    timeline: tuple[TimelinePoint, ...] = ()
    analysed_fps: float = 0.0  # frames analysed per second over the last few seconds
    # the last analysed frame's faces as (x, y, w, h) fractions of its width and height, largest first: what
    # the browser's own preview draws when no video comes back (config.LIVE_VIDEO_BACK = 0)
    boxes: tuple[tuple[float, float, float, float], ...] = ()


@dataclass(frozen=True)
class LiveStatus:
    """What the screen should say: ``kind`` is idle/paused/connecting/failed/stalled/error/no_face/several/ok."""

    kind: str
    message: str

    @property
    def points_to_snapshot(self) -> bool:
        """True when the Snapshot screen is the way forward."""
        return self.kind in ("failed", "stalled", "error")

    @property
    def streaming(self) -> bool:
        """True while video is arriving (the readings are current, not a "last reading")."""
        return self.kind in ("ok", "no_face", "several", "error")


@dataclass
class _Connection:
    playing: bool = False
    signalling: bool = False
    since: float | None = None  # when the current (playing, signalling) state began
    warned: bool = False  # a failed start or a stall was logged for this state


class LiveSession:
    """One browser session's webcam results: written by the video thread, read by the page."""

    def __init__(self, smoother: EmotionSmoother | None = None, analysis_fps: float = 6.0) -> None:
        self._lock = threading.Lock()
        self._smoother = smoother or EmotionSmoother()
        self._min_interval = 1.0 / analysis_fps if analysis_fps > 0 else 0.0
        self._reading = LiveReading()
        self._connection = _Connection()
        self._timeline: list[TimelinePoint] = []
        self._last_readings: list[FaceReading] = []
        self._next_due: float | None = None
        self._analysed_times: deque[float] = deque(maxlen=64)
        self._calibrator: FaceCalibrator | None = None

    # --- "Calibrate to my face" (the page starts and clears it; the video thread applies it) ------
    def start_calibration(self, calibrator: FaceCalibrator, now: float) -> None:
        """Begin a neutral look with ``calibrator`` (kept for the session; replaces none already running)."""
        with self._lock:
            if self._calibrator is None:
                self._calibrator = calibrator
            self._calibrator.start(now)

    def clear_calibration(self) -> None:
        """Back to the model's own reading."""
        with self._lock:
            if self._calibrator is not None:
                self._calibrator.clear()

    def calibration(self, now: float) -> CalibrationState:
        """Where this session's calibration stands."""
        with self._lock:
            return self._calibrator.state(now) if self._calibrator is not None else CalibrationState("off")

    # --- the video thread -------------------------------------------------------------------------
    def _analysis_due(self, now: float) -> bool:
        """Whether the frame at ``now`` is analysed; the others only count (and show the last boxes)."""
        with self._lock:
            if self._next_due is not None and now < self._next_due:
                self._reading = replace(self._reading, frames=self._reading.frames + 1, last_frame_at=now)
                return False
            # on a fixed schedule (not "interval after the last"), so 15 fps input gives 6, not 5
            late = self._next_due is None or now - self._next_due >= self._min_interval
            self._next_due = (now if late else self._next_due) + self._min_interval
            self._analysed_times.append(now)
            return True

    def handle_frame(self, pipeline: FramePipeline, image: np.ndarray, now: float,
                     return_width: int | None = None) -> np.ndarray:
        """Analyse one BGR frame (or reuse the last analysis, at most ``analysis_fps`` a second), record the
        result, and return a NEW annotated BGR array, ``return_width`` pixels wide (default: as given).

        Never raises: a failure is recorded (shown on the page) and the frame goes back unannotated.
        """
        size = return_size(image.shape[1], image.shape[0], return_width)
        if not self._analysis_due(now):
            small = image if size == (image.shape[1], image.shape[0]) else cv2.resize(image, size,
                                                                                      interpolation=cv2.INTER_AREA)
            return self.redraw(small, image.shape[1])
        return self.analyse(pipeline, image, now, size)

    def analyse(self, pipeline: FramePipeline, image: np.ndarray, now: float, size: tuple[int, int]) -> np.ndarray:
        """Read the faces in a full-size frame; return it ``size`` (w, h) large with the boxes drawn."""
        small = image if size == (image.shape[1], image.shape[0]) else cv2.resize(image, size,
                                                                                  interpolation=cv2.INTER_AREA)
        shown = self.read_faces(pipeline, image, now)
        if shown is None:
            return np.array(small, copy=True)
        return draw_face_boxes(small, _scaled(shown, size[0] / image.shape[1]))

    def read_faces(self, pipeline: FramePipeline, image: np.ndarray, now: float) -> list[FaceReading] | None:
        """Read the faces in a BGR frame and record them; return the faces to draw (None: analysis failed).

        Never raises: a failure is recorded (shown on the page) and logged once per distinct problem.
        """
        try:
            readings = pipeline.process(image)
            with self._lock:
                return self._record(readings, now, (image.shape[1], image.shape[0]))
        except Exception as error:  # noqa: BLE001 - the stream must survive one bad frame
            with self._lock:
                if str(error) != self._reading.error:  # once per distinct problem, not per frame
                    log.warning("frame analysis failed: %s", error)
                self._last_readings = []
                self._reading = replace(self._reading, error=str(error), last_frame_at=now, boxes=(),
                                        frames=self._reading.frames + 1, analysed=self._reading.analysed + 1)
            return None

    def redraw(self, small: np.ndarray, full_width: int) -> np.ndarray:
        """The last analysis's boxes over a frame that is not analysed (``full_width``: the analysed size)."""
        with self._lock:
            shown = list(self._last_readings)
        return draw_face_boxes(small, _scaled(shown, small.shape[1] / full_width))

    def _record(self, readings: list[FaceReading], now: float,
                frame_size: tuple[int, int] | None = None) -> list[FaceReading]:
        """Feed the largest face to the smoother and publish the result (holding the lock).

        ``frame_size`` (w, h) of the analysed frame: given, the boxes are published as fractions of it.
        Returns the readings to draw: the largest face labelled with the smoothed mood and figure, so the
        video agrees with the headline and the bars.
        """
        probs = readings[0].probs if readings else None
        if self._calibrator is not None:
            probs = self._calibrator.correct(probs, now)
        smoothed = self._smoother.update(probs, now)
        previous = self._reading
        has_probs = bool(readings) or previous.probs is not None
        mood = EMOTIONS[int(np.argmax(smoothed.probs))] if has_probs else None
        confidence = float(np.max(smoothed.probs)) if has_probs else 0.0
        wall = datetime.now(UTC)
        if readings and mood is not None and (
                not self._timeline or (wall - self._timeline[-1].at).total_seconds() >= TIMELINE_STEP_S):
            self._timeline.append(TimelinePoint(wall, mood, confidence))
            del self._timeline[:-MAX_TIMELINE]
        self._reading = LiveReading(
            frames=previous.frames + 1, analysed=previous.analysed + 1, faces=len(readings),
            probs=smoothed.probs if has_probs else None, mood=mood, confidence=confidence,
            stable=smoothed.stable, last_frame_at=now, read_at=wall if readings else previous.read_at,
            error=None, timeline=previous.timeline, boxes=_fractions(readings, frame_size),
        )
        shown = list(readings)
        if shown and mood is not None:
            shown[0] = replace(shown[0], emotion=mood, confidence=confidence)
        self._last_readings = shown
        return shown

    def record(self, readings: list[FaceReading], now: float) -> None:
        """Record readings taken elsewhere (the browser, on the "On this device" path) as one analysed frame
        at ``now`` (monotonic seconds): the same smoother, timeline and figures as a frame analysed here."""
        with self._lock:
            self._analysed_times.append(now)
            self._record(readings, now)

    def frame_callback(self, pipeline: FramePipeline, clock: Callable[[], float],
                       return_width: int | None = None) -> FrameCallback:
        """The ``video_frame_callback`` for ``webrtc_streamer``: frame in, new annotated frame out.

        Only analysed frames are converted at full size; the video goes back ``return_width`` pixels wide
        (VP8-encoding 640x480 costs ~4x 320x240, measured), with the boxes scaled to match.
        """

        def callback(frame: av.VideoFrame) -> av.VideoFrame:
            now = clock()
            watch_worker_loop()
            width, height = return_size(frame.width, frame.height, return_width)
            if self._analysis_due(now):
                out = self.analyse(pipeline, frame.to_ndarray(format="bgr24"), now, (width, height))
            else:
                out = self.redraw(frame.to_ndarray(format="bgr24", width=width, height=height), frame.width)
            return av.VideoFrame.from_ndarray(out, format="bgr24")

        return callback

    def reading_callback(self, pipeline: FramePipeline, clock: Callable[[], float]) -> FrameCallback:
        """The ``video_frame_callback`` when no video goes back (WebRTC SENDONLY): read the faces of at most
        ``analysis_fps`` frames a second and hand every frame on untouched (nothing is drawn or encoded; the
        browser draws the published boxes over its own camera picture).
        """

        def callback(frame: av.VideoFrame) -> av.VideoFrame:
            now = clock()
            watch_worker_loop()
            if self._analysis_due(now):
                self.read_faces(pipeline, frame.to_ndarray(format="bgr24"), now)
            return frame  # nothing sends it on: streamlit-webrtc's receiver queue keeps the last few and drops them

        return callback

    # --- the script thread ------------------------------------------------------------------------
    def reading(self, now: float | None = None) -> LiveReading:
        """A consistent copy of the latest results (``now``: monotonic seconds, for the analysed rate)."""
        with self._lock:
            recent = [t for t in self._analysed_times if now is not None and now - t <= RATE_WINDOW_S]
            fps = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
            return replace(self._reading, timeline=tuple(self._timeline), analysed_fps=fps)

    def observe_connection(self, playing: bool, signalling: bool, now: float) -> float:
        """Record the WebRTC state seen on this run; return how long it has been in that state.

        Entering or leaving "playing" starts a new stream: frames seen before belong to the last one, so
        a restart can never look like a stalled stream.
        """
        with self._lock:
            c = self._connection
            if (c.playing, c.signalling) != (playing, signalling) or c.since is None:
                if c.playing and not playing and c.since is not None:
                    r = self._reading
                    log.info("live stream ended after %.0f s: %d frames received, %d analysed",
                             now - c.since, r.frames, r.analysed)
                if playing and not c.playing:
                    log.info("live stream started")
                self._connection = _Connection(playing, signalling, now)
                if playing != c.playing:
                    self._reading = replace(self._reading, last_frame_at=None, error=None, faces=0, frames=0,
                                            analysed=0, boxes=())
                    self._last_readings = []
            return now - (self._connection.since or now)

    def log_problem(self, status: LiveStatus) -> None:
        """Log a failed start or a stalled stream once per connection state (they are silent otherwise)."""
        if status.kind not in ("failed", "stalled"):
            return
        with self._lock:
            if self._connection.warned:
                return
            self._connection.warned = True
        log.warning("live stream %s: %s", status.kind, status.message.split(":")[0])

    def reset(self) -> None:
        """Forget the emotions seen (a new start)."""
        with self._lock:
            self._smoother.reset()
            self._timeline.clear()
            self._last_readings = []
            self._next_due = None
            self._reading = LiveReading()


def return_size(width: int, height: int, return_width: int | None) -> tuple[int, int]:
    """(w, h) of the video sent back: ``return_width`` wide (never larger than the input), even sizes."""
    if not return_width or return_width >= width:
        return width, height
    return max(2, return_width // 2 * 2), max(2, round(height * return_width / width / 2) * 2)


def draw_face_boxes(frame: np.ndarray, readings: list[FaceReading]) -> np.ndarray:
    """A NEW frame with a box around each face (the largest, which drives the music, in green).

    No label on the video: it would update several times a second while the headline beside it updates
    once a second, and the two would disagree during a change (issue 19 §2). The headline is the one reading.
    """
    out = np.array(frame, copy=True)
    thickness = max(1, round(min(out.shape[:2]) / 160))
    for i, reading in enumerate(readings):
        x, y, w, h = reading.box
        cv2.rectangle(out, (x, y), (x + w, y + h), (80, 200, 80) if i == 0 else (200, 200, 200), thickness)
    return out


def media_constraints(capture_width: int, capture_fps: float) -> dict[str, object]:
    """``media_stream_constraints`` for ``webrtc_streamer``: video only, as small and slow as the analysis needs.

    Ideal values, never exact or max: a camera that cannot deliver them still starts (the browser picks its
    nearest mode, and Chromium scales or drops frames to come closer). 0 leaves that value to the browser.
    """
    video: dict[str, object] = {}
    if capture_width > 0:
        video["width"] = {"ideal": int(capture_width)}
        video["height"] = {"ideal": int(round(capture_width * 3 / 4))}
    if capture_fps > 0:
        video["frameRate"] = {"ideal": float(capture_fps)}
    return {"video": video or True, "audio": False}


def _fractions(readings: list[FaceReading],
               frame_size: tuple[int, int] | None) -> tuple[tuple[float, float, float, float], ...]:
    """Each face's box as (x, y, w, h) fractions of the frame (empty when the frame size is unknown)."""
    if not frame_size or min(frame_size) <= 0:
        return ()
    width, height = frame_size
    return tuple((round(r.box[0] / width, 4), round(r.box[1] / height, 4), round(r.box[2] / width, 4),
                  round(r.box[3] / height, 4)) for r in readings)


def _scaled(readings: list[FaceReading], factor: float) -> list[FaceReading]:
    if factor == 1.0:
        return readings
    return [replace(r, box=tuple(round(v * factor) for v in r.box)) for r in readings]  # type: ignore[arg-type]


def session_holder(analysis_fps: float) -> LiveSession:
    """This browser session's ``LiveSession`` (each session gets its own: no state leaks between them)."""
    holder = st.session_state.get("live_session")
    if not isinstance(holder, LiveSession):
        holder = LiveSession(analysis_fps=analysis_fps)
        st.session_state["live_session"] = holder
    return holder


def music_pacer(dwell_s: float) -> MusicPacer:
    """This session's ``MusicPacer`` (the music's pace survives page changes: it lives in the session)."""
    pacer = st.session_state.get("music_pacer")
    if not isinstance(pacer, MusicPacer) or pacer.dwell_s != dwell_s:
        pacer = MusicPacer(dwell_s=dwell_s)
        st.session_state["music_pacer"] = pacer
    return pacer


CAMERA_DENIED = ("The browser blocked the camera. To allow it, open this site's settings and set Camera to Allow: "
                 "on a computer, click the camera (or lock) icon in the address bar; on a phone, tap the icon "
                 "left of the address (Chrome) or \"aA\" (Safari) and choose the site or website settings. "
                 "Then reload the page and press Start. Or use the Snapshot screen with a photo.")


def camera_denied_html() -> str:
    """A hidden plain-words message that a small script shows when the video box reports ``NotAllowedError``.

    streamlit-webrtc shows the browser's raw error inside its own (same-origin) iframe and never tells the
    server, so the check runs in the browser. While the camera is blocked, the script hides that raw error
    and marks the page (``mt-camera-denied`` on ``<body>``) so the "press Start" invitation gives way.
    """
    return f"""<div id="mt-camera-denied" role="alert" hidden
  style="padding:.75rem 1rem;border-radius:.8rem;background:#fde8e8;color:#7a1f1f">{CAMERA_DENIED}</div>
<script>
(() => {{
  const box = document.getElementById("mt-camera-denied");
  if (!box) return;
  const raw = /NotAllowedError|Permission denied/;
  const check = () => {{
    if (!box.isConnected) {{ document.body.classList.remove("mt-camera-denied"); return clearInterval(timer); }}
    let denied = false;
    for (const frame of document.querySelectorAll('iframe[title*="webrtc_streamer"]')) {{
      try {{
        const body = frame.contentDocument?.body;
        if (!body || !raw.test(body.textContent || "")) continue;  // textContent: still there once hidden
        denied = true;
        for (const node of body.querySelectorAll("*")) {{  // the innermost element holding the raw error
          if (raw.test(node.textContent || "") && ![...node.children].some((c) => raw.test(c.textContent || "")))
            (node.closest('.MuiAlert-root, [role="alert"]') || node).style.display = "none";
        }}
      }} catch (error) {{ /* not same-origin: nothing to read */ }}
    }}
    box.hidden = !denied;
    document.body.classList.toggle("mt-camera-denied", denied);
  }};
  const timer = setInterval(check, 500);
}})();
</script>"""


SNAPSHOT_HINT = "The Snapshot screen works without a live connection."
INVITATION = "Press **Start** under the video box and allow the camera: your mood appears here in a few seconds."
PAUSED = ("Camera paused: the video stops when you press Stop or leave this screen. Press **Start** to carry on; "
          "the music keeps playing.")


def live_status(reading: LiveReading, playing: bool, signalling: bool, state_age_s: float, now: float,
                connect_timeout_s: float) -> LiveStatus:
    """What to tell the user, from the video thread's results and the WebRTC state."""
    if not playing and not signalling:
        return LiveStatus("paused", PAUSED) if reading.mood is not None else LiveStatus("idle", INVITATION)
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
                "(a TURN server may be needed on this network). Press Stop and Start again. " + SNAPSHOT_HINT))
        return LiveStatus("connecting", "Waiting for the first video frames…")
    silent_s = now - reading.last_frame_at
    if silent_s >= STALL_AFTER_S and state_age_s >= STALL_AFTER_S:
        return LiveStatus("stalled", (
            f"The video stopped arriving {silent_s:.0f} s ago: the connection dropped. "
            "Press Stop and Start again. " + SNAPSHOT_HINT))
    if reading.error:
        return LiveStatus("error", f"A frame could not be analysed: {reading.error}")
    if reading.faces == 0:
        return LiveStatus("no_face", "No face in view: look at the camera, with your face lit from the front.")
    if reading.faces > 1:
        return LiveStatus("several", (
            f"{reading.faces} faces in view: the largest one (green box) drives the music."))
    return LiveStatus("ok", "Reading your expression…")


def show_status(status: LiveStatus) -> None:
    """The status as a coloured box, with a link to the Snapshot screen when that is the way forward.

    A stream that reads a face says nothing (the headline is the news); the idle invitation is plain text,
    hidden by the camera-denied script (ui/style.css) once the browser has blocked the camera.
    """
    if status.kind == "ok":
        return
    if status.kind in ("idle", "paused"):
        with st.container(key=f"live-{status.kind}"):
            st.markdown(status.message)
        return
    box = {"ok": st.success, "connecting": st.info, "no_face": st.warning,
           "several": st.warning}.get(status.kind, st.error)
    box(status.message)
    if status.points_to_snapshot:
        st.page_link("pages/snapshot.py", label="Use a snapshot instead", icon=":material/photo_camera:")


# --- closed tabs ----------------------------------------------------------------------------------
RELEASE_AFTER_S = 5.0  # a tab gone this long has closed (a network blip reconnects sooner)
_streams: dict[str, tuple[weakref.ref[object], float | None]] = {}  # session id -> (webrtc context, gone since)
_streams_lock = threading.Lock()
_reaper: threading.Thread | None = None


def release_closed_tabs(webrtc_context: object) -> None:
    """Stop this session's WebRTC worker within seconds of its tab closing (Streamlit keeps the session 120 s).

    Registers the session with one process-wide daemon thread that polls which sessions still have a
    browser connected.
    """
    global _reaper
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    run_ctx = get_script_run_ctx()
    if run_ctx is None:  # bare mode / AppTest: no browser sessions to watch
        return
    with _streams_lock:
        _streams[run_ctx.session_id] = (weakref.ref(webrtc_context), None)
        if _reaper is None or not _reaper.is_alive():
            _reaper = threading.Thread(target=_reap_forever, name="moodtune-webrtc-reaper", daemon=True)
            _reaper.start()


def _reap_forever() -> None:
    from streamlit.runtime import Runtime

    while True:
        time.sleep(1.0)
        close_finished_worker_loops()
        try:
            runtime = Runtime.instance()
        except RuntimeError:
            continue
        _reap_once(runtime.is_active_session, time.monotonic())


def _reap_once(is_connected: Callable[[str], bool], now: float) -> list[str]:
    """Stop the workers of sessions whose tab has been gone for ``RELEASE_AFTER_S``; return their ids."""
    released = []
    with _streams_lock:
        for session_id, (ref, gone_since) in list(_streams.items()):
            context = ref()
            if context is None:
                del _streams[session_id]
            elif is_connected(session_id):
                _streams[session_id] = (ref, None)
            elif gone_since is None:
                _streams[session_id] = (ref, now)
            elif now - gone_since >= RELEASE_AFTER_S:
                del _streams[session_id]
                released.append((session_id, context))
    for session_id, context in released:
        worker = getattr(context, "_get_worker", lambda: None)()  # streamlit-webrtc holds it weakly
        if worker is None:
            log.info("browser tab closed (session %s): no video connection left to release", session_id[:8])
            continue
        log.warning("browser tab closed without STOP: released its video connection (session %s)", session_id[:8])
        try:
            worker.stop()
        except Exception:  # noqa: BLE001 - a half-closed connection must not kill the reaper
            log.exception("stopping a closed tab's video connection failed")
    return [session_id for session_id, _ in released]


# --- the video worker's event loop ------------------------------------------------------------------
# streamlit-webrtc 0.79 runs each stream's frame callback (async_processing) on its own thread with its own
# asyncio loop, and never closes that loop: an epoll descriptor and a socket pair per stream stay open until
# a full garbage collection, which this server rarely runs (runner.postScriptGC = false). 12 closed tabs held
# 28 descriptors (issue 23 §6). The callback names its loop here; the reaper closes it once its thread ends.
_worker_loops: dict[asyncio.AbstractEventLoop, threading.Thread] = {}
_worker_loops_lock = threading.Lock()


def watch_worker_loop() -> None:
    """Remember the event loop of the calling video worker thread, to close it when the thread ends."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # called outside a loop (tests): nothing to watch
        return
    if loop not in _worker_loops:
        with _worker_loops_lock:
            _worker_loops[loop] = threading.current_thread()


def close_finished_worker_loops() -> int:
    """Close the loops of video worker threads that have ended (a stopped stream); return how many."""
    with _worker_loops_lock:
        finished = [loop for loop, thread in _worker_loops.items() if not thread.is_alive()]
        for loop in finished:
            del _worker_loops[loop]
    for loop in finished:
        if not loop.is_closed() and not loop.is_running():
            loop.close()
    return len(finished)


# --- a server that went away ------------------------------------------------------------------------
MOVED_NOTICE = ("The connection to the server was lost and another server has picked it up: your camera "
                "stream stopped with the old one. Press **Start** again (the button comes back within a few "
                "seconds) and your music follows.")


def moved_from_another_server() -> bool:
    """True when this browser asked to resume a session this server process does not have: the server it
    was on stopped (a replica behind a load balancer, or a restart), so its video and music are gone.

    Streamlit's browser names the session it wants back in its websocket's Sec-WebSocket-Protocol header
    (third entry); a fresh visit names none.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    try:
        raw = st.context.headers.get("Sec-Websocket-Protocol") or ""
    except Exception:  # noqa: BLE001 - bare mode / AppTest: no websocket
        return False
    entries = [entry.strip() for entry in raw.split(",")]
    wanted = entries[2] if len(entries) >= 3 else ""
    run_ctx = get_script_run_ctx()
    return bool(wanted) and run_ctx is not None and wanted != run_ctx.session_id
