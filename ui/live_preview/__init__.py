"""The browser's own camera picture for the server path when no video comes back (``MOODTUNE_LIVE_VIDEO_BACK=0``).

In that mode streamlit-webrtc runs SENDONLY: the server receives the camera and sends nothing back, and its
component shows no picture at all. This component shows the camera picture that the WebRTC component
already captured (one capture: it never calls ``getUserMedia`` itself, so a phone's single camera is never
asked twice) and draws over it the server's latest face boxes and the mood shown in the headline, as the
page passes them on each 1-s refresh. It also caps the frame rate the browser sends the server
(``config.LIVE_SENT_FPS``, through the WebRTC sender's ``maxFramerate``): the server analyses only a few frames
a second, and the preview keeps the camera's full rate.

``frontend/`` is plain HTML, CSS and an ES module served as they are: no build step.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit.components.v1 as components

FRONTEND_DIR: Path = Path(__file__).resolve().parent / "frontend"

_component = components.declare_component("live_preview", path=str(FRONTEND_DIR))


def live_preview(key: str, streaming: bool, boxes: Sequence[Sequence[float]] = (), mood: str | None = None,
                 confidence: float = 0.0, send_fps: float = 0.0) -> None:
    """Draw the preview: the camera picture while ``streaming``, ``boxes`` ((x, y, w, h) fractions of the frame,
    largest first) over it, the largest labelled with ``mood`` and ``confidence`` (the headline's figure).

    ``send_fps`` > 0 caps the frames a second the browser sends the server (the picture keeps every frame).
    """
    _component(streaming=bool(streaming), boxes=[[float(v) for v in box] for box in boxes],
               mood=mood, confidence=float(confidence), send_fps=float(send_fps), key=key, default=None)
