"""Export the trained Keras CNN to a TFLite flatbuffer for serving (``ai-edge-litert`` runs it)."""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from emotion.preprocess import FACE_SIZE


def export_tflite(model: keras.Model, path: Path) -> int:
    """Convert a float32 ``model`` to TFLite with a dynamic batch axis; return the file size in bytes.

    Float32 weights keep the served numbers identical to the evaluated Keras model (XNNPACK runs them
    fast enough on one core for our per-face budget).
    """
    spec = tf.TensorSpec([None, FACE_SIZE, FACE_SIZE, 1], tf.float32, name="face")

    @tf.function(input_signature=[spec])
    def serve(face: tf.Tensor) -> tf.Tensor:
        return model(face, training=False)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], model)
    payload = converter.convert()
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_bytes(payload)
    tmp.replace(path)
    return len(payload)
