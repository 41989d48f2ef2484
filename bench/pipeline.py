"""Speed of the emotion pipeline versus the seed prototype's per-frame path: ``python bench/pipeline.py``.

Everything runs on one thread, after warm-up, on 640x480 frames composed from the shared test faces.
Prints the figures; ``--write`` records them in ``bench/results.json``.

The seed path is a faithful re-implementation of the Flask prototype's ``camera.py``: resize to 600x500,
Haar ``detectMultiScale(1.3, 5)``, its Keras CNN (Conv 32-64-128-128, Dense 1024; random weights, since
only speed is measured) called with ``model.predict`` per face, and its per-frame CSV read.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import config  # noqa: E402
from bench._timing import add_output_options, per_item, single_thread, time_calls, write_figures  # noqa: E402
from emotion.classifier import EmotionClassifier  # noqa: E402
from emotion.training.data import load_raw_split  # noqa: E402
from emotion.pipeline import FramePipeline, draw_readings  # noqa: E402
from emotion.training.synthetic import photo_frame, place_faces  # noqa: E402

SEED_CSV_BY_INDEX = ["angry", "disgusted", "fearful", "happy", "neutral", "sad", "surprised"]


def test_frames() -> list[np.ndarray]:
    """The astronaut photo as a 640x480 frame plus frames of 1 and 2 upscaled PublicTest faces."""
    frames = [photo_frame(cv2.imread(str(config.TEST_FACES_DIR / "happy_astronaut.png")))]
    public, _ = load_raw_split(config.FER2013_PATH, "public")
    frames.append(place_faces([public[0]], seed=1)[0])
    frames.append(place_faces([public[1], public[2]], face_px=200, seed=2)[0])
    return frames


def build_seed_model():  # type: ignore[no-untyped-def]
    """The seed prototype's CNN (architecture from its repository), with random weights."""
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((48, 48, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Conv2D(128, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(128, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(1024, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(7, activation="softmax"),
    ])


def seed_frame_path(frame: np.ndarray, cascade: cv2.CascadeClassifier, model, csv_dir: Path) -> int:  # type: ignore[no-untyped-def]
    """One frame through the seed's ``get_frame``: what it did per frame, in its order."""
    import pandas as pd

    image = cv2.resize(frame, (600, 500))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    face_rects = cascade.detectMultiScale(gray, 1.3, 5)
    # The seed read its song list from CSV on every frame, before and after classifying.
    pd.read_csv(csv_dir / f"{SEED_CSV_BY_INDEX[3]}.csv")[["Name", "Album", "Artist"]].head(15)
    index = 3
    for x, y, w, h in face_rects:
        cv2.rectangle(image, (x, y - 50), (x + w, y + h + 10), (0, 255, 0), 2)
        roi = gray[y : y + h, x : x + w]
        cropped = np.expand_dims(np.expand_dims(cv2.resize(roi, (48, 48)), -1), 0)
        index = int(np.argmax(model.predict(cropped, verbose=0)))
        pd.read_csv(csv_dir / f"{SEED_CSV_BY_INDEX[index]}.csv")[["Name", "Album", "Artist"]].head(15)
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_output_options(parser, "results")
    args = parser.parse_args(argv)
    single_thread()
    frames = test_frames()
    pipeline = FramePipeline()
    faces_per_frame = [len(pipeline.process(f)) for f in frames]

    def ours() -> None:
        for f in frames:
            draw_readings(f, pipeline.process(f))

    per_frame = time_calls(ours, repeats=60)
    per_frame = per_item(per_frame, len(frames))

    face = np.load(config.FER2013_PATH)["images"][:1]
    with_tta = EmotionClassifier.load(flip_tta=True)
    without_tta = EmotionClassifier.load(flip_tta=False)
    classifier_tta = time_calls(lambda: with_tta.predict_proba(face), repeats=500)
    classifier_plain = time_calls(lambda: without_tta.predict_proba(face), repeats=500)
    detector = time_calls(lambda: [pipeline.detector.detect(f) for f in frames], repeats=60)
    detector = per_item(detector, len(frames))

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    seed_model = build_seed_model()
    csv_dir = config.SHARED_DIR / "data" / "seed_songs"

    def seed() -> None:
        for f in frames:
            seed_frame_path(f, cascade, seed_model, csv_dir)

    seed_stats = time_calls(seed, repeats=15, warmup=2)
    seed_stats = per_item(seed_stats, len(frames))

    results = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; one thread used",
        "frames": "640x480: astronaut photo, 1 upscaled PublicTest face, 2 upscaled PublicTest faces",
        "faces_found_per_frame": faces_per_frame,
        "pipeline_per_frame": per_frame,
        "detector_per_frame": detector,
        "classifier_per_face_flip_tta": classifier_tta,
        "classifier_per_face_no_tta": classifier_plain,
        "seed_path_per_frame": seed_stats,
        "speedup_vs_seed_median": round(seed_stats["median_ms"] / per_frame["median_ms"], 1),
    }
    print(f"faces found per frame: {faces_per_frame}")
    print(f"full pipeline (detect + classify + draw): median {per_frame['median_ms']:.2f} ms, "
          f"p95 {per_frame['p95_ms']:.2f} ms per 640x480 frame")
    print(f"  detector alone: median {detector['median_ms']:.2f} ms per frame")
    print(f"classifier, batch of 1: {classifier_tta['median_ms']:.3f} ms per face with flip TTA, "
          f"{classifier_plain['median_ms']:.3f} ms without")
    print(f"seed path (Haar 1.3/5 on 600x500, model.predict per face, CSV per frame): median "
          f"{seed_stats['median_ms']:.1f} ms, p95 {seed_stats['p95_ms']:.1f} ms per frame")
    print(f"speed-up over the seed path: {results['speedup_vs_seed_median']}x (same run)")
    write_figures(args, "results", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
