"""Measure how the served model reads an average neutral face: ``python -m emotion.training.neutral_reference``.

Writes ``models/neutral_reference.json`` for "Calibrate to my face" (``emotion.calibration``): the mean
log-probability per emotion over FER2013's neutral faces and the spread among them. It reads PublicTest's
neutral faces (unseen in training, as a visitor's face is; never PrivateTest) through the served
classifier, flip TTA included, and is
tied to the model file by its SHA-256, so a retrained model needs the command again (the app ignores a
reference measured on another model and hides the button).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import config
from emotion.calibration import file_sha256, measure_reference
from emotion.classifier import EmotionClassifier
from emotion.labels import label_index
from emotion.training.data import load_raw_split


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, default=config.TFLITE_MODEL_PATH)
    p.add_argument("--data", type=Path, default=config.FER2013_PATH)
    p.add_argument("--out", type=Path, default=config.NEUTRAL_REFERENCE_PATH)
    p.add_argument("--limit", type=int, default=None, help="at most this many faces (tests)")
    args = p.parse_args(argv)
    config.exit_on_settings_problems("emotion.training.neutral_reference")
    classifier = EmotionClassifier.load(args.model, flip_tta=True)
    images, labels = load_raw_split(args.data, "public")
    faces = images[labels == label_index("neutral")][: args.limit]
    reference = measure_reference(classifier.predict_proba_batched(faces), file_sha256(args.model))
    args.out.write_text(json.dumps(reference.as_dict(), indent=2) + "\n")
    print(f"{reference.faces} neutral faces; mean probability per emotion "
          f"{np.round(np.exp(reference.mean_log_probs), 3).tolist()}; offset caps "
          f"{np.round(reference.max_offset, 2).tolist()}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
