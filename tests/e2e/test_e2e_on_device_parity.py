"""Parity of the two Live paths: the in-browser engine (onnxruntime-web in Debian's Chromium) and the
server's ``emotion.pipeline.FramePipeline`` read the SAME frames alike.

Frames: PublicTest faces composed into cluttered 640x480 scenes (``emotion.training.synthetic``, as the
round-trip evaluation does), two- and three-face frames (640x480 and 1280x720), a portrait frame, the e2e
webcam's 320x240 face canvases, the astronaut photograph and the two photographs without a face.
Asserted, per face the server finds: a browser face with box IoU >= 0.9, the same label on >= 98% of the
faces, every probability within 0.03; no face where the server finds none; nothing requested from any
other host. The figures are printed and kept in tests/artifacts/on_device_parity.json.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

import config
from browser import ARTIFACTS, BASE_FLAGS, browser_page, face_canvas
from emotion.pipeline import FramePipeline
from emotion.training.data import load_raw_split
from emotion.training.synthetic import compose_scene, photo_frame, place_faces
from engine_harness import missing_files, open_harness, run_engine, serve_harness

SCENES = 120
SEED = 24


def _frames() -> list[np.ndarray]:
    faces, _ = load_raw_split(config.FER2013_PATH, "public")
    rng = np.random.default_rng(SEED)
    picks = rng.choice(len(faces), size=SCENES + 20, replace=False)
    frames = [compose_scene(faces[i], rng)[0] for i in picks[:SCENES]]
    extra = iter(picks[SCENES:])
    frames += [place_faces([faces[next(extra)], faces[next(extra)]], seed=k)[0] for k in range(3)]
    frames.append(place_faces([faces[next(extra)] for _ in range(3)], size=(1280, 720), face_px=300, seed=7)[0])
    frames.append(compose_scene(faces[next(extra)], rng, size=(480, 640))[0])  # a phone held upright
    frames += [face_canvas(faces[next(extra)], 320, 240, 200) for _ in range(3)]  # tests/e2e's webcam size
    astronaut = cv2.imread(str(config.TEST_FACES_DIR / "happy_astronaut.png"))
    frames += [photo_frame(astronaut), astronaut]
    frames += [photo_frame(cv2.imread(str(p))) for p in sorted(config.TEST_FACES_DIR.glob("noface_*.png"))]
    return frames


def _iou(a: tuple[int, ...], b: list[int]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_browser_engine_reads_frames_as_the_server_does(tmp_path: Path) -> None:
    pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (pip install playwright)")
    if missing := missing_files():
        pytest.fail("the engine harness is missing " + ", ".join(missing)
                    + " (npm ci in ui/on_device/frontend; python -m emotion.training.export_onnx)")
    started = time.monotonic()
    frames = _frames()
    pipeline = FramePipeline()
    server = [pipeline.process(f) for f in frames]
    detections = [sorted(pipeline.detector.detect(f), key=lambda d: d.area, reverse=True) for f in frames]

    requests: list[str] = []
    with serve_harness(frames) as (url, served), browser_page(tmp_path, BASE_FLAGS) as page:
        page.on("request", lambda request: requests.append(request.url))  # type: ignore[attr-defined]
        load_ms = open_harness(page, url)
        browser = run_engine(page)
        # A <video> frame reaches the engine through a canvas: that path must give the same numbers.
        sample = [i for i, r in enumerate(server) if r][:5]
        via_canvas = run_engine(page, source="canvas", only=sample)
    origin = url.rsplit("/", 1)[0]
    assert [r for r in requests if not r.startswith(origin + "/")] == [], "requests left the harness host"
    assert "/assets/emotion_cnn.onnx" in served and "/assets/ort-wasm-simd-threaded.wasm" in served

    ious, prob_diffs, prob_diff_frames, landmark_diffs, score_diffs = [], [], [], [], []
    same_label, unmatched, extra = 0, [], []
    for index, (readings, found, result) in enumerate(zip(server, detections, browser)):
        faces = result["faces"]
        extra += [index] * max(0, len(faces) - len(readings))
        for reading, detection in zip(readings, found):
            if not faces:
                unmatched.append(index)
                continue
            best = max(faces, key=lambda f: _iou(reading.box, f["box"]))
            iou = _iou(reading.box, best["box"])
            if iou < 0.9:
                unmatched.append(index)
                continue
            ious.append(iou)
            probs = np.array(best["probs"])
            prob_diffs.append(float(np.max(np.abs(probs - reading.probs))))
            prob_diff_frames.append(index)
            same_label += int(np.argmax(probs) == np.argmax(reading.probs))
            eyes = np.array([detection.right_eye, detection.left_eye])
            landmark_diffs.append(float(np.max(np.abs(np.array(best["landmarks"][:2]) - eyes))))
            score_diffs.append(abs(best["score"] - detection.score))
    for i, again in zip(sample, via_canvas):
        assert [f["box"] for f in again["faces"]] == [f["box"] for f in browser[i]["faces"]]
        assert np.allclose([f["probs"] for f in again["faces"]], [f["probs"] for f in browser[i]["faces"]],
                           atol=1e-6)

    server_faces = sum(len(r) for r in server)
    totals = [r["timings"]["totalMs"] for r in browser if r["faces"]]
    report = {
        "frames": len(frames), "server_faces": server_faces, "matched_iou_0_9": len(ious),
        "unmatched_frames": unmatched, "extra_browser_faces_in_frames": extra,
        "iou_min": round(min(ious), 4), "iou_median": round(statistics.median(ious), 4),
        "same_label": same_label, "same_label_share": round(same_label / server_faces, 4),
        "prob_max_abs_diff_max": float(f"{max(prob_diffs):.3g}"),
        "prob_max_abs_diff_median": float(f"{statistics.median(prob_diffs):.3g}"),
        "prob_max_abs_diff_frame": prob_diff_frames[int(np.argmax(prob_diffs))],
        "faces_prob_diff_over_1e-4": int(np.sum(np.array(prob_diffs) > 1e-4)),
        "eye_landmark_px_diff_max": float(f"{max(landmark_diffs):.3g}"),
        "yunet_score_diff_max": float(f"{max(score_diffs):.3g}"),
        "browser_model_load_ms": round(load_ms), "browser_ms_per_frame_with_faces_median": round(
            statistics.median(totals), 1),
        "test_seconds": round(time.monotonic() - started, 1),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "on_device_parity.json").write_text(json.dumps(report, indent=2) + "\n")
    print("\non-device parity:", json.dumps(report))

    assert server_faces >= 100, report
    assert len(ious) >= 0.98 * server_faces and not extra, report  # the same faces, boxes IoU >= 0.9
    assert same_label >= 0.98 * server_faces, report
    assert max(prob_diffs) <= 0.03, report
    no_face = [i for i, r in enumerate(server) if not r]
    assert no_face and all(not browser[i]["faces"] for i in no_face), "the browser found a face the server did not"
