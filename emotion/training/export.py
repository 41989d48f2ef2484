"""Export the trained Keras CNN to a TFLite flatbuffer for serving (``ai-edge-litert`` runs it).

``python -m emotion.training.export [--int8]`` re-exports ``models/emotion_cnn.keras``; ``--int8`` writes a
post-training int8 quantisation (weights and activations, float input/output) calibrated on FER2013
training faces, for ``bench/quantization.py`` to compare with the float32 model.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import config

INT8_MODEL_PATH: Path = config.MODELS_DIR / "emotion_cnn_int8.tflite"


def export_tflite(model: keras.Model, path: Path, representative: np.ndarray | None = None) -> int:
    """Convert a float32 ``model`` to TFLite with a dynamic batch axis; return the file size in bytes.

    Goes through a SavedModel: converting a concrete function directly keeps the weights as resource
    variables, which the interpreter then reads as uninitialised (NaN outputs). Float32 weights keep the
    served numbers identical to the evaluated Keras model. With ``representative`` faces (float
    N x 48 x 48 x 1, contrast-normalised as served), weights and activations are quantised to int8.
    """
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if representative is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([face[None]] for face in representative)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        payload = converter.convert()
    staging = Path(path).with_suffix(".tmp")
    staging.write_bytes(payload)
    staging.replace(path)
    return len(payload)


def representative_faces(data_path: Path, count: int = 500, seed: int = 0) -> np.ndarray:
    """Random FER2013 *training* faces, normalised as served, for int8 calibration."""
    from emotion.training.data import load_split

    train = load_split(data_path, "train")
    pick = np.random.default_rng(seed).choice(len(train), size=min(count, len(train)), replace=False)
    return train.images[pick].astype(np.float32)[..., None]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keras", type=Path, default=config.KERAS_MODEL_PATH)
    p.add_argument("--int8", action="store_true", help=f"int8 quantisation to {INT8_MODEL_PATH.name}")
    p.add_argument("--data", type=Path, default=config.FER2013_PATH)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    config.exit_on_settings_problems("emotion.training.export")
    model = keras.models.load_model(args.keras, compile=False)
    out = args.out or (INT8_MODEL_PATH if args.int8 else config.TFLITE_MODEL_PATH)
    size = export_tflite(model, out, representative_faces(args.data) if args.int8 else None)
    print(f"wrote {out} ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
