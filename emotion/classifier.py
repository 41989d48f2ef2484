"""The emotion classifier served by the app: the trained Keras CNN exported to TFLite.

``model.predict`` costs ~50 ms per call in Keras; the LiteRT interpreter runs the same network on one
face in about a millisecond, and loads without importing TensorFlow (the app does not need it).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

import config
from emotion.labels import NUM_CLASSES
from emotion.preprocess import FACE_SIZE, normalize_faces


class EmotionClassifier:
    """Seven-way emotion probabilities for 48x48 grayscale face crops. Safe to share between threads."""

    def __init__(self, model_path: Path = config.TFLITE_MODEL_PATH, flip_tta: bool = True,
                 num_threads: int = 1) -> None:
        if not Path(model_path).exists():
            raise FileNotFoundError(
                f"emotion model not found at {model_path}; train it with python -m emotion.training.train")
        self.model_path = Path(model_path)
        self.flip_tta = flip_tta
        self._interpreter = Interpreter(model_path=str(model_path), num_threads=num_threads)
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        self._batch = -1
        self._lock = threading.Lock()  # one interpreter, one caller at a time

    @classmethod
    def load(cls, path: Path | None = None, flip_tta: bool = True) -> EmotionClassifier:
        """Load the default (committed) model from ``models/``, or the TFLite file at ``path``."""
        return cls(path or config.TFLITE_MODEL_PATH, flip_tta=flip_tta)

    def predict_proba(self, faces: np.ndarray) -> np.ndarray:
        """Return float32 (N, 7) probabilities in ``EMOTIONS`` order for uint8 faces of shape (N, 48, 48).

        Each face is contrast-normalised exactly as in training. With ``flip_tta`` the mirrored face is
        classified too and the two distributions are averaged (faces are left/right symmetric).
        """
        faces = np.asarray(faces)
        if faces.ndim == 4 and faces.shape[-1] == 1:
            faces = faces[..., 0]
        if faces.ndim != 3 or faces.shape[1:] != (FACE_SIZE, FACE_SIZE):
            raise ValueError(f"faces must have shape (N, {FACE_SIZE}, {FACE_SIZE}), got {faces.shape}")
        if faces.dtype != np.uint8:
            raise ValueError(f"faces must be uint8 grayscale, got dtype {faces.dtype}")
        if len(faces) == 0:
            return np.zeros((0, NUM_CLASSES), np.float32)
        batch = normalize_faces(faces).astype(np.float32)
        if self.flip_tta:
            batch = np.concatenate([batch, batch[:, :, ::-1]])
        probs = self._run(batch[..., None])
        if self.flip_tta:
            probs = (probs[: len(faces)] + probs[len(faces) :]) / 2.0
        probs = probs / probs.sum(axis=1, keepdims=True)
        return probs.astype(np.float32)

    def predict_proba_batched(self, faces: np.ndarray, batch: int = 256) -> np.ndarray:
        """``predict_proba`` over many faces (a whole split) in fixed-size batches.

        The interpreter keeps one batch size allocated, so equal batches avoid re-planning it.
        """
        if len(faces) == 0:
            return self.predict_proba(faces)
        return np.concatenate([self.predict_proba(faces[i : i + batch]) for i in range(0, len(faces), batch)])

    def _run(self, batch: np.ndarray) -> np.ndarray:
        with self._lock:
            if len(batch) != self._batch:
                # Re-planning the interpreter costs ~1 ms, so keep the last batch size allocated.
                self._interpreter.resize_tensor_input(self._input, list(batch.shape))
                self._interpreter.allocate_tensors()
                self._batch = len(batch)
            self._interpreter.set_tensor(self._input, np.ascontiguousarray(batch))
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output).copy()
