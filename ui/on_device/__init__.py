"""The "On this device" Live component: the camera and the face analysis run in the visitor's browser.

``frontend/`` holds its source and ``frontend/build/`` the built bundle that Streamlit serves from this
app (component script, onnxruntime-web's WebAssembly runtime, the two ONNX models): no CDN, no other host.
The bundle is committed because Streamlit Community Cloud runs no npm build; ``npm ci && npm run build``
in ``frontend/`` rebuilds it and ``tests/test_on_device_bundle.py`` checks that it matches the source.

What comes back from the browser is only probabilities, boxes and timestamps (see ``ui.live_device``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

import config
from emotion.labels import EMOTIONS

BUILD_DIR: Path = Path(__file__).resolve().parent / "frontend" / "build"
BUNDLE_FILES: tuple[str, ...] = (
    "index.html", "component.js", "component.css", "assets/ort-wasm-simd-threaded.wasm",
    "assets/ort-wasm-simd-threaded.mjs", "assets/face_detection_yunet.onnx", "assets/emotion_cnn.onnx",
)

_component = components.declare_component("on_device_camera", path=str(BUILD_DIR))


def missing_bundle_files(build_dir: Path = BUILD_DIR) -> list[str]:
    """The bundle's files that are missing (``[]`` when the component can be served)."""
    return [name for name in BUNDLE_FILES if not (build_dir / name).is_file()]


@functools.lru_cache(maxsize=4)
def _geometry(path: Path, mtime_ns: int) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def crop_geometry(path: Path = config.CROP_GEOMETRY_PATH) -> dict[str, Any]:
    """``models/crop_geometry.json`` as the browser gets it: read from the file (re-read when it changes)."""
    return _geometry(path, path.stat().st_mtime_ns)


def on_device_camera(key: str, mood: str | None = None, confidence: float = 0.0, max_fps: float = 6.0,
                     send_every_s: float = 1.0) -> object:
    """Draw the component; return the browser's latest batch of readings (raw JSON: validate it before use).

    ``mood``/``confidence``: the smoothed mood the server shows, drawn on the largest face's box so the video
    agrees with the headline. Raises ``OSError``/``ValueError`` when the crop geometry cannot be read.
    """
    return _component(
        geometry=crop_geometry(), labels=list(EMOTIONS), max_fps=float(max_fps), send_every_s=float(send_every_s),
        mood=mood, confidence=float(confidence), key=key, default=None,
    )
