"""The browser engine's pixel steps (ui/on_device/frontend/src/engine, run here in Node.js) against the OpenCV
and numpy calls they copy: bit for bit on uint8 images, and YuNet's decoding and NMS against
``cv2.FaceDetectorYN`` given the same network outputs."""

from __future__ import annotations

import base64
import inspect
import json
import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

import config
from emotion.classifier import EmotionClassifier
from emotion.detector import DETECT_WIDTH, Detection, YuNetDetector, crop_face
from emotion.geometry import serving_geometry
from emotion.pipeline import MAX_FACES
from emotion.preprocess import normalize_faces
from emotion.training.synthetic import compose_scene, place_faces

ENGINE = config.ROOT / "ui" / "on_device" / "frontend" / "src" / "engine"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="needs Node.js (the on-device component's build uses it too)")

RUNNER = """
import { readFileSync } from "node:fs";
const img = await import(process.argv[2] + "/image.js");
const pre = await import(process.argv[2] + "/preprocess.js");
const yunet = await import(process.argv[2] + "/yunet.js");
const crop = await import(process.argv[2] + "/crop.js");
const cases = JSON.parse(readFileSync(0, "utf8"));
const bytes = (b64) => Uint8Array.from(Buffer.from(b64, "base64"));
const out = cases.map((c) => {
  const src = c.src && { width: c.w, height: c.h, channels: c.cn, data: bytes(c.src) };
  let r;
  if (c.op === "area") r = img.resizeArea(src, c.dw, c.dh).data;
  else if (c.op === "linear") r = img.resizeLinear(src, c.dw, c.dh).data;
  else if (c.op === "warp") r = img.warpAffineLinear(src, c.m, 48, 48).data;
  else if (c.op === "gray") r = img.rgbaToGray(src).data;
  else if (c.op === "stretch") r = Uint8Array.from(pre.normalizeFace(src.data));
  else if (c.op === "crop") r = crop.cropFace(src, c.detection, c.geometry);
  else if (c.op === "yunet") {
    const outputs = Object.fromEntries(Object.entries(c.outputs).map(([k, v]) => [k, { data: Float32Array.from(v) }]));
    const faces = yunet.nms(yunet.decodeOutputs(outputs, c.padW, c.padH, 0.7), 0.7, 0.3);
    return faces.map((f) => [...f.box, ...f.landmarks.flat(), f.score]);
  }
  return Buffer.from(r).toString("base64");
});
process.stdout.write(JSON.stringify(out));
"""


def _run_node(cases: list[dict], tmp_path: Path) -> list:
    script = tmp_path / "runner.mjs"
    script.write_text(RUNNER)
    done = subprocess.run([NODE, str(script), str(ENGINE)], input=json.dumps(cases), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode()


def _texture(rng: np.random.Generator, h: int, w: int, cn: int = 1) -> np.ndarray:
    """Smooth structure plus noise: like a face crop, with plenty of rounding ties for the arithmetic."""
    coarse = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, cn)).astype(np.uint8)
    smooth = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC).reshape(h, w, cn)
    image = np.clip(smooth.astype(int) + rng.integers(-20, 21, smooth.shape), 0, 255).astype(np.uint8)
    return image[..., 0] if cn == 1 else image


def test_pixel_steps_match_opencv_and_numpy_bit_for_bit(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    cases, expected = [], []

    def add(case: dict, want: np.ndarray) -> None:
        cases.append(case)
        expected.append(want)

    for w, h, dw, dh in [(640, 480, 320, 240), (1280, 720, 320, 180), (700, 500, 320, 229)]:  # YuNet's copy
        frame = _texture(rng, h, w, 4)
        add(dict(op="area", w=w, h=h, cn=4, dw=dw, dh=dh, src=_b64(frame)),
            cv2.resize(frame, (dw, dh), interpolation=cv2.INTER_AREA))
    for _ in range(10):  # crop windows shrunk to the warp's input
        side = int(rng.integers(80, 400))
        window, big = _texture(rng, side, side + int(rng.integers(0, 2))), int(rng.integers(50, 79))
        add(dict(op="area", w=window.shape[1], h=side, cn=1, dw=big, dh=big, src=_b64(window)),
            cv2.resize(window, (big, big), interpolation=cv2.INTER_AREA))
    for _ in range(10):  # small faces: the window is enlarged
        side = int(rng.integers(12, 60))
        window, big = _texture(rng, side, side + int(rng.integers(0, 2))), int(rng.integers(side, 90))
        add(dict(op="linear", w=window.shape[1], h=side, cn=1, dw=big, dh=big, src=_b64(window)),
            cv2.resize(window, (big, big), interpolation=cv2.INTER_LINEAR))
    for _ in range(10):  # the levelling warp
        side = int(rng.integers(60, 90))
        window = _texture(rng, side, side)
        centre = (float(rng.uniform(28, 45)), float(rng.uniform(28, 45)))
        matrix = cv2.getRotationMatrix2D(centre, float(rng.uniform(-20, 20)), 1.0)
        matrix[:, 2] += (24 - centre[0], 24 - centre[1])
        add(dict(op="warp", w=side, h=side, cn=1, m=matrix.ravel().tolist(), src=_b64(window)),
            cv2.warpAffine(window, matrix, (48, 48), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
    rgba = _texture(rng, 120, 160, 4)
    add(dict(op="gray", w=160, h=120, cn=4, src=_b64(rgba)), cv2.cvtColor(rgba, cv2.COLOR_RGBA2GRAY))
    for _ in range(20):
        face = (_texture(rng, 48, 48) * rng.uniform(0.1, 1.0) + rng.integers(0, 60)).astype(np.uint8)
        add(dict(op="stretch", w=48, h=48, cn=1, src=_b64(face)), normalize_faces(face))
    add(dict(op="stretch", w=48, h=48, cn=1, src=_b64(np.full((48, 48), 90, np.uint8))),
        np.full((48, 48), 90, np.uint8))  # flat: left alone

    results = _run_node(cases, tmp_path)
    for case, want, got in zip(cases, expected, results):
        pixels = np.frombuffer(base64.b64decode(got), np.uint8).reshape(want.shape)
        assert np.array_equal(pixels, want), f"{case['op']} {case['w']}x{case['h']}: " \
            f"{int(np.sum(pixels != want))} pixels differ"


def test_face_crop_matches_crop_face_bit_for_bit(tmp_path: Path) -> None:
    """The size-aware square, the levelled eyes, the window shrunk or enlarged, the warp: as crop_face cuts it."""
    geometry_json = json.loads(config.CROP_GEOMETRY_PATH.read_text())  # the file the server passes the browser
    rng = np.random.default_rng(11)
    gray = _texture(rng, 480, 640)
    detections = [
        Detection((200, 120, 150, 190), 0.9, (245.3, 190.7), (305.1, 186.2), 2.0),  # levelled a little
        Detection((10, 5, 120, 150), 0.9, (40.0, 60.0), (90.0, 75.5), 2.0),  # reaches past the top-left edge
        Detection((560, 400, 78, 80), 0.9, (575.0, 425.0), (610.0, 420.0), 2.0),  # past the bottom-right
        Detection((300, 200, 30, 36), 0.9, (308.0, 212.0), (321.0, 213.0), 1.0),  # small: the window is enlarged
        Detection((100, 100, 200, 240), 0.9, (150.0, 180.0), (180.0, 240.0), 2.0),  # > 30 degrees: not levelled
        Detection((320, 60, 260, 330), 0.9, None, None, 4.0),  # no landmarks (Haar)
        Detection((400, 300, 90, 110), 0.9, (420.2, 330.9), (461.7, 336.4), 1.6),  # a non-integer scale
    ]
    cases, expected = [], []
    for d in detections:
        cases.append(dict(op="crop", w=640, h=480, cn=1, src=_b64(gray), geometry=geometry_json, detection=dict(
            box=list(d.box), rightEye=d.right_eye and list(d.right_eye), leftEye=d.left_eye and list(d.left_eye),
            detectorScale=d.detector_scale)))
        expected.append(crop_face(gray, d, serving_geometry()))
    for want, got in zip(expected, _run_node(cases, tmp_path)):
        pixels = np.frombuffer(base64.b64decode(got), np.uint8).reshape(want.shape)
        assert np.array_equal(pixels, want), f"{int(np.sum(pixels != want))} pixels differ"


def test_yunet_decoding_matches_cv2_face_detector(tmp_path: Path, public_test: tuple[np.ndarray, np.ndarray],
                                                  astronaut: np.ndarray) -> None:
    """The 12 outputs decoded and NMS'd in JS give cv2.FaceDetectorYN's rows, given the same outputs."""
    onnxruntime = pytest.importorskip("onnxruntime", reason="needs onnxruntime (requirements-dev.txt)")
    session = onnxruntime.InferenceSession(str(config.YUNET_PATH), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    rng = np.random.default_rng(3)
    faces = public_test[0]
    frames = [cv2.resize(astronaut, (320, 320)), place_faces([faces[0], faces[1]], size=(320, 240), seed=1)[0],
              place_faces([faces[2], faces[3], faces[4]], size=(320, 240), seed=2)[0]]
    frames += [cv2.resize(compose_scene(faces[i], rng)[0], (320, 240), interpolation=cv2.INTER_AREA)
               for i in range(5, 12)]
    cases, expected = [], []
    for frame in frames:
        h, w = frame.shape[:2]
        pad_h, pad_w = -(-h // 32) * 32, -(-w // 32) * 32
        padded = cv2.copyMakeBorder(frame, 0, pad_h - h, 0, pad_w - w, cv2.BORDER_CONSTANT, value=0)
        blob = padded.transpose(2, 0, 1)[None].astype(np.float32)
        outputs = dict(zip(names, session.run(None, {session.get_inputs()[0].name: blob})))
        cases.append(dict(op="yunet", padW=pad_w, padH=pad_h,
                          outputs={k: v.ravel().tolist() for k, v in outputs.items()}))
        detector = cv2.FaceDetectorYN.create(str(config.YUNET_PATH), "", (w, h), 0.7, 0.3)
        _, rows = detector.detect(frame)
        expected.append(np.zeros((0, 15), np.float32) if rows is None else rows)
    results = _run_node(cases, tmp_path)
    assert sum(len(e) for e in expected) >= 8 and max(len(e) for e in expected) >= 2  # faces, some frames several
    for want, got in zip(expected, results):
        got = np.array(got, np.float32).reshape(-1, 15)
        assert got.shape == want.shape
        # Same faces in the same order; values differ only by the two runtimes' float rounding.
        np.testing.assert_allclose(got, want, atol=2e-3, rtol=0)


def test_engine_defaults_are_the_servers() -> None:
    """The engine's detector settings (its DEFAULTS) are the server's: a change on one side fails here."""
    text = (ENGINE / "index.js").read_text()
    defaults = dict(re.findall(r"^  (\w+): ([\d.]+|true|false),$", text[text.index("DEFAULTS"):], re.MULTILINE))
    detector = inspect.signature(YuNetDetector).parameters
    assert float(defaults["detectWidth"]) == DETECT_WIDTH == detector["detect_width"].default
    assert float(defaults["scoreThreshold"]) == detector["score_threshold"].default
    assert float(defaults["nmsThreshold"]) == detector["nms_threshold"].default
    assert float(defaults["maxFaces"]) == MAX_FACES
    assert defaults["flipTta"] == "true" and inspect.signature(EmotionClassifier).parameters["flip_tta"].default
