"""What each cheaper Live option costs in accuracy and saves in CPU: ``python bench/live_analysis.py``.

1. **Accuracy** (``--faces`` PublicTest faces, the round trip of ``emotion.training.roundtrip``): each face
   in its own 640x480 scene, read as a camera capturing 640, 480 or 320 pixels wide would deliver the
   same view, through YuNet on a 320- or 240-px copy, with and without flip TTA. The same seed gives the
   same scenes to every variant, so their differences are paired.
2. **CPU per frame** (process CPU seconds per call, not wall clock, so that a busy shared machine
   inflates the figures less): VP8 decoding of the browser's frame at each capture width (aiortc's own
   decoder), its conversion to a BGR array, YuNet at 320 and 240 px, the classifier with and without flip
   TTA (and int8, when ``models/emotion_cnn_int8.tflite`` exists), and drawing plus VP8 encoding of the
   320-px video sent back (aiortc's own encoder).

Prints both tables and a per-session estimate for each capture setting; ``--write`` records the figures
in ``bench/live_analysis.json`` (``--out FILE`` elsewhere). Note ``uptime``'s load beside the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from fractions import Fraction
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder, vp8_depayload  # noqa: E402
from aiortc.jitterbuffer import JitterFrame  # noqa: E402

import config  # noqa: E402
from bench._timing import add_output_options, single_thread, write_figures  # noqa: E402
from emotion.classifier import EmotionClassifier  # noqa: E402
from emotion.detector import YuNetDetector, crop_face  # noqa: E402
from emotion.pipeline import FramePipeline, draw_readings  # noqa: E402
from emotion.training.data import load_raw_split  # noqa: E402
from emotion.training.roundtrip import round_trip  # noqa: E402
from emotion.training.synthetic import compose_scene, rescale_scene  # noqa: E402

CAPTURE_WIDTHS = (640, 480, 320)
DETECT_WIDTHS = (320, 240)
INT8_PATH = config.MODELS_DIR / "emotion_cnn_int8.tflite"
FRAMES = 45  # frames per timed round
ROUNDS = 5  # alternating rounds; the median is reported


def load_average() -> str:
    """``uptime``'s three load averages (the machine is shared: every figure is noted with its load)."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def accuracy_variants(faces: int, seed: int) -> list[dict]:
    """The round trip for every capture width x detector width with flip TTA, and without TTA at 320."""
    images, labels = load_raw_split(config.FER2013_PATH, "public")
    images, labels = images[:faces], labels[:faces]
    with_tta, without_tta = EmotionClassifier.load(), EmotionClassifier.load(flip_tta=False)
    variants = [(w, d, True) for d in DETECT_WIDTHS for w in CAPTURE_WIDTHS]
    variants += [(w, DETECT_WIDTHS[0], False) for w in CAPTURE_WIDTHS]
    rows = []
    for capture, detect, tta in variants:
        classifier = with_tta if tta else without_tta
        pipeline = FramePipeline(YuNetDetector(detect_width=detect), classifier)
        started, cpu = time.perf_counter(), time.process_time()
        trip = round_trip(pipeline, classifier, images, labels, seed=seed, scene_width=capture)
        row = {"capture_width": capture, "detect_width": detect, "flip_tta": tta, "faces": trip.faces,
               "detected": round(trip.detected, 4), "direct_accuracy": round(trip.direct_accuracy, 4),
               "round_trip_accuracy": round(trip.round_trip_accuracy, 4), "gap_points": trip.gap_points,
               "read_right_of_all": round(trip.detected * trip.round_trip_accuracy, 4),
               "by_face_side": trip.by_face_side, "load": load_average()}
        rows.append(row)
        print(f"capture {capture:3d} px, YuNet {detect} px, TTA {'on ' if tta else 'off'}: detected "
              f"{row['detected']:.1%}, round trip {row['round_trip_accuracy']:.1%} vs direct "
              f"{row['direct_accuracy']:.1%} (gap {row['gap_points']:.2f} pt), read right of all faces "
              f"{row['read_right_of_all']:.1%}  [{time.perf_counter() - started:.0f} s wall, "
              f"{time.process_time() - cpu:.0f} s CPU, load {row['load']}]", flush=True)
    return rows


def paired_capture_and_tta(faces: int, seed: int) -> dict:
    """One pass over ``faces`` PublicTest faces: each scene read at every capture width (YuNet on 320 px),
    each found face classified with and without flip TTA. Everything is paired: same scenes, and the same
    crops for TTA on and off, so the differences are not sampling noise between variants."""
    images, labels = load_raw_split(config.FER2013_PATH, "public")
    images, labels = images[:faces], labels[:faces]
    detector = YuNetDetector(detect_width=DETECT_WIDTHS[0])
    classifiers = {True: EmotionClassifier.load(), False: EmotionClassifier.load(flip_tta=False)}
    rng = np.random.default_rng(seed)
    right = {(w, tta): [] for w in CAPTURE_WIDTHS for tta in (True, False)}
    found = {w: np.zeros(len(images), bool) for w in CAPTURE_WIDTHS}
    hits: dict[int, dict[int, bool]] = {w: {} for w in CAPTURE_WIDTHS}
    for i, face in enumerate(images):
        scene, placed = compose_scene(face, rng)
        for width in CAPTURE_WIDTHS:
            frame, seen = rescale_scene(scene, placed, width)
            for detection in sorted(detector.detect(frame), key=lambda d: d.area, reverse=True)[:5]:
                x, y, w, h = detection.box
                if x <= seen.cx <= x + w and y <= seen.cy <= y + h:
                    crop = crop_face(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), detection)[None]
                    found[width][i] = True
                    for tta, clf in classifiers.items():
                        hit = int(np.argmax(clf.predict_proba(crop)[0])) == labels[i]
                        right[(width, tta)].append(hit)
                        if tta:
                            hits[width][i] = hit
                    break
    everywhere = np.logical_and.reduce([found[w] for w in CAPTURE_WIDTHS])
    rows = []
    for width in CAPTURE_WIDTHS:
        for tta in (True, False):
            acc = float(np.mean(right[(width, tta)]))
            rows.append({"capture_width": width, "flip_tta": tta, "faces": faces,
                         "detected": round(float(found[width].mean()), 4), "round_trip_accuracy": round(acc, 4)})
            print(f"paired, capture {width} px, TTA {'on ' if tta else 'off'}: detected {found[width].mean():.1%}, "
                  f"round trip {acc:.2%}", flush=True)
    common = {w: round(float(np.mean([hits[w][i] for i in np.flatnonzero(everywhere)])), 4) for w in CAPTURE_WIDTHS}
    print(f"paired, faces found at every width ({everywhere.sum()}): round trip with TTA "
          + ", ".join(f"{w} px {a:.2%}" for w, a in common.items()), flush=True)
    return {"rows": rows, "found_at_every_width": int(everywhere.sum()), "accuracy_on_those_with_tta": common,
            "load": load_average()}


def cpu_ms(fn: Callable[[int], object], count: int) -> float:
    """Process CPU milliseconds per call of ``fn(i)`` for i in range(count)."""
    start = time.process_time()
    for i in range(count):
        fn(i)
    return (time.process_time() - start) * 1000.0 / count


def webcam_clip(width: int, seed: int, face: np.ndarray) -> list[np.ndarray]:
    """``FRAMES`` BGR frames of one scene with sensor noise and a slow drift, as a still user on a webcam."""
    rng = np.random.default_rng(seed)
    scene, placed = compose_scene(face, rng)
    frames = []
    for i in range(FRAMES):
        shifted = np.roll(scene, (i % 5) - 2, axis=1)
        noisy = (shifted.astype(np.int16) + rng.normal(0, 2.0, shifted.shape)).clip(0, 255).astype(np.uint8)
        frames.append(rescale_scene(noisy, placed, width)[0])
    return frames


def encoded(frames: list[np.ndarray]) -> list[bytes]:
    """The frames as the browser would send them: VP8 (aiortc's encoder, its default bitrate), depacketised."""
    encoder, out = Vp8Encoder(), []
    for i, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24")
        frame.pts, frame.time_base = i * 6000, Fraction(1, 90000)
        payloads, _ = encoder.encode(frame)
        out.append(b"".join(vp8_depayload(p) for p in payloads))
    return out


def cpu_per_frame(seed: int) -> dict:
    """CPU milliseconds per frame for each step of the Live path, at each capture width."""
    single_thread()
    images, _ = load_raw_split(config.FER2013_PATH, "public")
    face = images[7]
    detectors = {d: YuNetDetector(detect_width=d) for d in DETECT_WIDTHS}
    classifiers = {"float32 flip TTA": EmotionClassifier.load(),
                   "float32 no TTA": EmotionClassifier.load(flip_tta=False)}
    if INT8_PATH.exists():
        classifiers["int8 flip TTA"] = EmotionClassifier(INT8_PATH)
        classifiers["int8 no TTA"] = EmotionClassifier(INT8_PATH, flip_tta=False)
    pipeline = FramePipeline(detectors[320], classifiers["float32 flip TTA"])
    clips = {w: webcam_clip(w, seed, face) for w in CAPTURE_WIDTHS}
    streams = {w: encoded(clip) for w, clip in clips.items()}
    faces48 = images[:1]
    samples: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        samples.setdefault(name, []).append(value)

    for _ in range(ROUNDS):
        for width in CAPTURE_WIDTHS:
            clip, stream = clips[width], streams[width]
            decoder = Vp8Decoder()
            decoded: list[av.VideoFrame] = []
            add(f"decode VP8 {width}", cpu_ms(
                lambda i: decoded.extend(decoder.decode(JitterFrame(stream[i], i * 6000))), FRAMES))
            add(f"to BGR full {width}", cpu_ms(lambda i: decoded[i].to_ndarray(format="bgr24"), FRAMES))
            small_h = round(decoded[0].height * 320 / decoded[0].width / 2) * 2
            add(f"to BGR 320 {width}", cpu_ms(
                lambda i: decoded[i].to_ndarray(format="bgr24", width=320, height=small_h), FRAMES))
            add(f"to BGR 320 fast bilinear {width}", cpu_ms(lambda i: decoded[i].to_ndarray(
                format="bgr24", width=320, height=small_h, interpolation="FAST_BILINEAR"), FRAMES))
            add(f"to BGR full + cv2 area resize 320 {width}", cpu_ms(lambda i: cv2.resize(
                decoded[i].to_ndarray(format="bgr24"), (320, small_h), interpolation=cv2.INTER_AREA), FRAMES))
            for d, detector in detectors.items():
                add(f"YuNet {d} on {width}", cpu_ms(lambda i, det=detector: det.detect(clip[i]), FRAMES))
            readings = pipeline.process(clip[0])
            add(f"pipeline (YuNet 320 + TTA) {width}", cpu_ms(lambda i: pipeline.process(clip[i]), FRAMES))
        for name, clf in classifiers.items():
            add(f"classify 1 face {name}", cpu_ms(lambda i, c=clf: c.predict_proba(faces48), FRAMES * 4))
        back = webcam_clip(320, seed, face)
        encoder = Vp8Encoder()

        def send_back(i: int) -> None:
            frame = av.VideoFrame.from_ndarray(draw_readings(back[i], readings), format="bgr24")
            frame.pts, frame.time_base = i * 6000, Fraction(1, 90000)
            encoder.encode(frame)

        add("draw + encode VP8 320x240 back", cpu_ms(send_back, FRAMES))
    return {name: round(statistics.median(values), 3) for name, values in samples.items()}


def session_estimate(ms: dict, capture: int, input_fps: float, analysis_fps: float, detect: int,
                     classifier: str) -> float:
    """Estimated CPU per session (ms per second = ‰ of a core) from the per-step figures."""
    per_frame = ms[f"decode VP8 {capture}"] + ms["draw + encode VP8 320x240 back"]
    shown = ms[f"to BGR 320 {capture}"]
    analysed = ms[f"to BGR full {capture}"] + ms[f"YuNet {detect} on {capture}"] + ms[f"classify 1 face {classifier}"]
    return input_fps * per_frame + (input_fps - analysis_fps) * shown + analysis_fps * analysed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faces", type=int, default=500, help="PublicTest faces in the round trip (0: skip it)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paired-faces", type=int, default=0,
                        help="also a one-pass paired comparison of capture widths and TTA on this many faces")
    parser.add_argument("--skip-cpu", action="store_true", help="only the accuracy part")
    add_output_options(parser, "live_analysis")
    args = parser.parse_args(argv)
    if not 0 <= args.faces <= 3589 or not 0 <= args.paired_faces <= 3589:
        parser.error("--faces and --paired-faces must be 0..3589")
    figures: dict = {"what": "Live options: round-trip accuracy and CPU per frame (bench/live_analysis.py)",
                     "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                     "load_at_start": load_average()}
    if args.faces:
        print(f"round trip on {args.faces} PublicTest faces (load {load_average()})", flush=True)
        figures["accuracy"] = accuracy_variants(args.faces, args.seed)
    if args.paired_faces:
        print(f"paired capture width x TTA on {args.paired_faces} PublicTest faces (load {load_average()})", flush=True)
        figures["paired"] = paired_capture_and_tta(args.paired_faces, args.seed + 1)
    if not args.skip_cpu:
        print(f"CPU per frame, one thread, process CPU time (load {load_average()})", flush=True)
        ms = cpu_per_frame(args.seed)
        for name, value in ms.items():
            print(f"  {name:40s} {value:7.3f} ms CPU")
        figures["cpu_ms_per_call"] = ms
        figures["cpu_load"] = load_average()
        estimates = {}
        for capture, fps in ((640, 30), (640, 15), (480, 15), (320, 15)):
            for analysis_fps in (6, 4, 3):
                for detect, clf in ((320, "float32 flip TTA"), (240, "float32 no TTA")):
                    key = f"{capture}px@{fps}fps, analyse {analysis_fps}/s, YuNet {detect}, {clf}"
                    estimates[key] = round(session_estimate(ms, capture, fps, analysis_fps, detect, clf) / 10, 1)
        figures["session_estimate_percent_of_core"] = estimates
        print("estimated CPU per session, % of one core (decode + send back per frame, analysis per analysed frame):")
        for key, value in estimates.items():
            print(f"  {key:65s} {value:5.1f} %")
    write_figures(args, "live_analysis", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
