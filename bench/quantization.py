"""Float32 vs int8 serving model: PrivateTest accuracy and ms per face, ``python bench/quantization.py``.

Both through ``EmotionClassifier.predict_proba`` (flip TTA, as served), one thread, after warm-up, timed
in alternating rounds so that both see the same machine load. Make the int8 model first with
``python -m emotion.training.export --int8``. Prints the table; ``--write`` records it in
``bench/quantization.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import config  # noqa: E402
from bench._timing import add_output_options, single_thread, time_calls, write_figures  # noqa: E402
from emotion.classifier import EmotionClassifier  # noqa: E402
from emotion.training.data import load_raw_split  # noqa: E402
from emotion.training.metrics import classification_report  # noqa: E402

ROUNDS = 5


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--int8", type=Path, default=config.MODELS_DIR / "emotion_cnn_int8.tflite")
    add_output_options(parser, "quantization")
    args = parser.parse_args(argv)
    if not args.int8.exists():
        print(f"no int8 model at {args.int8}: run python -m emotion.training.export --int8 first", file=sys.stderr)
        return 2
    single_thread()
    images, labels = load_raw_split(config.FER2013_PATH, "private")
    models = {"float32": config.TFLITE_MODEL_PATH, "int8": args.int8}
    classifiers = {name: EmotionClassifier(path) for name, path in models.items()}
    figures: dict = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; one thread"}
    for name, clf in classifiers.items():
        report = classification_report(labels, clf.predict_proba_batched(images))
        figures[name] = {
            "file": models[name].name,
            "size_bytes": models[name].stat().st_size,
            "private_accuracy": report["accuracy"],
            "recall_disgust": report["per_class"]["disgust"]["recall"],
            "recall_fear": report["per_class"]["fear"]["recall"],
            "ms_per_face_tta": [],
        }
    face = images[:1]
    for _ in range(ROUNDS):
        for name, clf in classifiers.items():
            figures[name]["ms_per_face_tta"].append(time_calls(lambda c=clf: c.predict_proba(face), 300)["median_ms"])
    for name in classifiers:
        rounds = figures[name]["ms_per_face_tta"]
        figures[name]["ms_per_face_tta"] = round(float(np.median(rounds)), 3)
        r = figures[name]
        print(f"{name:8s} PrivateTest {r['private_accuracy']:.4f} (disgust {r['recall_disgust']:.2f}, fear "
              f"{r['recall_fear']:.2f}), {r['ms_per_face_tta']:.3f} ms per face with flip TTA, "
              f"{r['size_bytes']:,} bytes")
    write_figures(args, "quantization", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
