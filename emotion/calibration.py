""""Calibrate to my face": a per-session correction of the model's output from a few seconds of neutral look.

Some faces read as sad or angry at rest. Looking neutral for about three seconds gives the model's
reading of *this* face at rest; comparing it with how the model reads an average person's neutral face
(``models/neutral_reference.json``, measured on FER2013's neutral faces by
``python -m emotion.training.neutral_reference``) gives a per-emotion offset in log-probability, which is
subtracted from every later reading before it is renormalised. The offset is capped per emotion at the
spread measured among individual neutral faces, so a calibration never pushes further than real
people's resting faces differ. It lives only in the session (never stored).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.labels import EMOTIONS, NUM_CLASSES

# Log-probabilities are taken of probabilities floored here (a reading of exactly 0 would be -inf).
PROB_FLOOR: float = 1e-4


def file_sha256(path: Path) -> str:
    """The hex SHA-256 of a file (ties a reference to the model it was measured with)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def log_probs(probs: np.ndarray) -> np.ndarray:
    """Natural log of probabilities floored at ``PROB_FLOOR``."""
    return np.log(np.maximum(np.asarray(probs, dtype=np.float64), PROB_FLOOR))


@dataclass(frozen=True)
class NeutralReference:
    """How the served model reads an average neutral face: the mean log-probability per emotion, and per
    emotion the largest offset a calibration may apply (the spread among individual neutral faces)."""

    mean_log_probs: np.ndarray
    max_offset: np.ndarray
    faces: int
    model_sha256: str
    # per emotion, how far above the average a resting face reads it at most (the 99th percentile): a look
    # beyond that was an expression, not a resting face, and is refused instead of calibrated away
    refuse_above: np.ndarray | None = None

    def as_dict(self) -> dict:
        out = {"mean_log_probs": [round(float(v), 5) for v in self.mean_log_probs],
               "max_offset": [round(float(v), 5) for v in self.max_offset],
               "faces": self.faces, "model_sha256": self.model_sha256}
        if self.refuse_above is not None:
            out["refuse_above"] = [round(float(v), 5) for v in self.refuse_above]
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> NeutralReference:
        mean = np.asarray(raw["mean_log_probs"], dtype=np.float64)
        cap = np.asarray(raw["max_offset"], dtype=np.float64)
        if mean.shape != (NUM_CLASSES,) or cap.shape != (NUM_CLASSES,) or not (
                np.all(np.isfinite(mean)) and np.all(np.isfinite(cap)) and np.all(cap >= 0)):
            raise ValueError("the neutral reference must hold 7 finite mean log-probabilities and 7 caps >= 0")
        refuse = raw.get("refuse_above")
        refuse_arr = None if refuse is None else np.asarray(refuse, dtype=np.float64)
        if refuse_arr is not None and (refuse_arr.shape != (NUM_CLASSES,) or not np.all(np.isfinite(refuse_arr))):
            raise ValueError("the neutral reference's refuse_above must hold 7 finite numbers")
        return cls(mean, cap, int(raw.get("faces", 0)), str(raw.get("model_sha256", "")), refuse_arr)


def measure_reference(neutral_probs: np.ndarray, model_sha256: str, spread_quantile: float = 0.95
                      ) -> NeutralReference:
    """The reference from the model's readings of many individual neutral faces (N x 7).

    The cap per emotion is the ``spread_quantile`` quantile of |face's log-probability - mean|: how far
    one real resting face differs from the average one.
    """
    logs = log_probs(neutral_probs)
    mean = logs.mean(axis=0)
    cap = np.quantile(np.abs(logs - mean), spread_quantile, axis=0)
    refuse = np.quantile(logs - mean, 0.99, axis=0)
    return NeutralReference(mean, cap, int(len(logs)), model_sha256, refuse)


def load_reference(path: Path, model_path: Path | None = None) -> NeutralReference | None:
    """The reference in ``path``; ``None`` when it is missing, damaged, or was measured on another model."""
    try:
        reference = NeutralReference.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if model_path is not None and reference.model_sha256 and reference.model_sha256 != file_sha256(model_path):
        return None
    return reference


@dataclass(frozen=True)
class PersonalCalibration:
    """The per-emotion log-probability offsets of one person's resting face (positive: reads too high)."""

    offsets: np.ndarray
    readings: int

    def apply(self, probs: np.ndarray) -> np.ndarray:
        """Corrected probabilities (same shape as ``probs``: one reading or N x 7), renormalised."""
        corrected = np.exp(log_probs(probs) - self.offsets)
        return (corrected / corrected.sum(axis=-1, keepdims=True)).astype(np.float32)


class CalibrationError(ValueError):
    """The calibration could not be made; the message is a sentence for the user."""


def calibrate(neutral_readings: np.ndarray, reference: NeutralReference, min_readings: int = 5
              ) -> PersonalCalibration:
    """A calibration from the readings (N x 7) of one face looking neutral for a few seconds.

    Raises ``CalibrationError`` when too few readings had a face.
    """
    readings = np.asarray(neutral_readings, dtype=np.float64).reshape(-1, NUM_CLASSES) \
        if np.size(neutral_readings) else np.zeros((0, NUM_CLASSES))
    readings = readings[np.all(np.isfinite(readings), axis=1)]
    if len(readings) < min_readings:
        raise CalibrationError("Not enough of your face was seen to calibrate: look at the camera with a relaxed "
                               "face for three seconds and try again.")
    offsets = log_probs(readings).mean(axis=0) - reference.mean_log_probs
    if reference.refuse_above is not None:
        beyond = [i for i in range(NUM_CLASSES) if EMOTIONS[i] != "neutral" and offsets[i] > reference.refuse_above[i]]
        if beyond:
            worst = max(beyond, key=lambda i: offsets[i] - reference.refuse_above[i])
            raise CalibrationError(f"Your face looked {EMOTIONS[worst]} rather than relaxed, so nothing was "
                                   "calibrated: relax your face, look at the camera and try again.")
    offsets = np.clip(offsets, -reference.max_offset, reference.max_offset)
    return PersonalCalibration(offsets, len(readings))


@dataclass(frozen=True)
class CalibrationState:
    """What the screen says: ``kind`` is off / looking / on / failed; ``progress`` 0..1 while looking."""

    kind: str
    progress: float = 0.0
    message: str = ""


class FaceCalibrator:
    """One session's "Calibrate to my face": collects ``look_s`` seconds of readings, then corrects every
    later reading. Not thread-safe on its own: the Live session calls it under its lock."""

    def __init__(self, reference: NeutralReference, look_s: float = 3.0) -> None:
        self.reference = reference
        self.look_s = look_s
        self._calibration: PersonalCalibration | None = None
        self._looking_since: float | None = None
        self._collected: list[np.ndarray] = []
        self._failure = ""

    def start(self, now: float) -> None:
        """Begin a new neutral look at ``now`` (a previous calibration stays in force until it ends)."""
        self._looking_since, self._collected, self._failure = now, [], ""

    def clear(self) -> None:
        """Forget the calibration (back to the model's own reading)."""
        self._calibration, self._looking_since, self._collected, self._failure = None, None, [], ""

    def correct(self, probs: np.ndarray | None, now: float) -> np.ndarray | None:
        """The reading of the largest face at ``now`` (``None``: no face), corrected when calibrated; while
        looking, the raw reading is collected (and returned corrected by the previous calibration, if any)."""
        if self._looking_since is not None:
            if probs is not None:
                self._collected.append(np.asarray(probs, dtype=np.float64))
            if now - self._looking_since >= self.look_s:
                self._finish()
        if probs is None or self._calibration is None:
            return probs
        return self._calibration.apply(probs)

    def _finish(self) -> None:
        readings = np.array(self._collected) if self._collected else np.zeros((0, NUM_CLASSES))
        self._looking_since, self._collected = None, []
        try:
            self._calibration = calibrate(readings, self.reference)
            self._failure = ""
        except CalibrationError as error:
            self._failure = str(error)

    def state(self, now: float) -> CalibrationState:
        """Where the calibration stands at ``now``."""
        if self._looking_since is not None:
            progress = min(1.0, max(0.0, (now - self._looking_since) / self.look_s))
            return CalibrationState("looking", progress, "Look at the camera with a relaxed, neutral face…")
        if self._failure:
            return CalibrationState("failed", 0.0, self._failure)
        if self._calibration is not None:
            return CalibrationState("on", 1.0, "Calibrated to your face (this session only).")
        return CalibrationState("off")
