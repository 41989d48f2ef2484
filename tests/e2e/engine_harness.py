"""The in-browser engine (ui/on_device/frontend/src/engine) in Debian's Chromium, on frames chosen in Python.

``serve_harness(frames)`` serves the harness page with the engine's ES modules as they are (no build step),
onnxruntime-web from ``node_modules`` and the models from ``models/`` on a free local port, and the frames as
raw RGBA; ``run_engine`` opens the page and returns what ``engine.analyzeTimed`` gave for every frame.
Used by tests/e2e/test_e2e_on_device_parity.py and bench/on_device.py. Nothing leaves the machine.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import unquote, urlparse

import cv2
import numpy as np

import config

FRONTEND = config.ROOT / "ui" / "on_device" / "frontend"
ORT_DIST = FRONTEND / "node_modules" / "onnxruntime-web" / "dist"
ONNX_MODEL_PATH = config.MODELS_DIR / "emotion_cnn.onnx"
# What the engine loads from its assetBase (the crop geometry is passed in, here fetched by the harness).
ASSETS: dict[str, Path] = {
    "face_detection_yunet.onnx": config.YUNET_PATH,
    "emotion_cnn.onnx": ONNX_MODEL_PATH,
    "crop_geometry.json": config.CROP_GEOMETRY_PATH,
    "ort-wasm-simd-threaded.wasm": ORT_DIST / "ort-wasm-simd-threaded.wasm",
    "ort-wasm-simd-threaded.mjs": ORT_DIST / "ort-wasm-simd-threaded.mjs",
}
TYPES = {".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
         ".json": "application/json", ".onnx": "application/octet-stream"}


def missing_files() -> list[str]:
    """What the harness needs and does not find (``npm ci`` in the frontend, the ONNX export)."""
    needed = [FRONTEND / "parity.html", ORT_DIST / "ort.wasm.min.mjs", *ASSETS.values()]
    return [str(p.relative_to(config.ROOT)) for p in needed if not p.exists()]


class _Handler(http.server.BaseHTTPRequestHandler):
    def __init__(self, *args: object, frames: Sequence[bytes], index: bytes, requested: list[str],
                 **kwargs: object) -> None:
        self.frames, self.index, self.requested = frames, index, requested
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (quiet: the test reports)
        pass

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802  (http.server's name)
        path = unquote(urlparse(self.path).path)
        self.requested.append(path)
        if path == "/frames/index.json":
            return self._send(self.index, "application/json")
        if path.startswith("/frames/"):
            return self._send(self.frames[int(path.rsplit("/", 1)[1])], "application/octet-stream")
        if path.startswith("/assets/") and path[len("/assets/"):] in ASSETS:
            file = ASSETS[path[len("/assets/"):]]
        else:
            file = (FRONTEND / path.lstrip("/")).resolve()
            allowed = [FRONTEND / "parity.html", FRONTEND / "src", ORT_DIST]
            if not any(file == a or a in file.parents for a in allowed) or not file.is_file():
                self.send_error(404)
                return None
        return self._send(file.read_bytes(), TYPES.get(file.suffix, "application/octet-stream"))


@contextlib.contextmanager
def serve_harness(frames_bgr: Sequence[np.ndarray]) -> Iterator[tuple[str, list[str]]]:
    """Serve the harness and ``frames_bgr`` on a free local port: yields (page URL, paths requested)."""
    rgba = [cv2.cvtColor(f, cv2.COLOR_BGR2RGBA).tobytes() for f in frames_bgr]
    index = json.dumps([{"width": f.shape[1], "height": f.shape[0]} for f in frames_bgr]).encode()
    requested: list[str] = []
    handler = functools.partial(_Handler, frames=rgba, index=index, requested=requested)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/parity.html", requested
    finally:
        server.shutdown()
        server.server_close()


def open_harness(page: object, url: str, timeout_s: float = 120) -> float:
    """Open the harness in ``page`` and wait for the engine; returns the model load time in ms."""
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_function("!!(window.harness && (window.harness.run || window.harness.error))",  # type: ignore
                           timeout=timeout_s * 1000)
    error = page.evaluate("window.harness.error || null")  # type: ignore[attr-defined]
    if error:
        raise RuntimeError(f"the engine did not load in the browser: {error}")
    return float(page.evaluate("window.harness.loadMs"))  # type: ignore[attr-defined]


def run_engine(page: object, repeats: int = 1, source: str = "imagedata",
               only: Sequence[int] | None = None) -> list[dict]:
    """Analyse every frame (or those numbered in ``only``) in the opened harness: one result per frame,
    ``{"faces": [{"box", "probs", "landmarks", "score"}], "timings": {"yunetMs", "cnnMs", "totalMs"}}``."""
    return page.evaluate(  # type: ignore[attr-defined]
        "([repeats, source, only]) => window.harness.run({ repeats, source, only })",
        [repeats, source, list(only) if only is not None else None])
