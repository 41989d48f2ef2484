"""Export the trained Keras CNN to a TFLite flatbuffer for serving (``ai-edge-litert`` runs it)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import keras
import tensorflow as tf


def export_tflite(model: keras.Model, path: Path) -> int:
    """Convert a float32 ``model`` to TFLite with a dynamic batch axis; return the file size in bytes.

    Goes through a SavedModel: converting a concrete function directly keeps the weights as resource
    variables, which the interpreter then reads as uninitialised (NaN outputs). Float32 weights keep the
    served numbers identical to the evaluated Keras model.
    """
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", verbose=False)
        payload = tf.lite.TFLiteConverter.from_saved_model(tmp).convert()
    staging = Path(path).with_suffix(".tmp")
    staging.write_bytes(payload)
    staging.replace(path)
    return len(payload)
