"""One webcam frame in, every face's emotion out: detection, cropping, classification, drawing."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from emotion.classifier import EmotionClassifier
from emotion.detector import Detection, FaceDetector, YuNetDetector, crop_face
from emotion.images import decode_image  # noqa: F401  (re-exported: it used to live here)
from emotion.labels import EMOTIONS

MAX_FACES: int = 5


@dataclass(frozen=True)
class FaceReading:
    """A face found in a frame: ``box`` = (x, y, w, h) in frame pixels, its 7 probabilities and top label."""

    box: tuple[int, int, int, int]
    probs: np.ndarray
    emotion: str
    confidence: float


def as_bgr(frame: np.ndarray) -> np.ndarray:
    """Validate a frame and return it as uint8 BGR; grayscale and BGRA are converted.

    Raises ``ValueError`` with a readable message for anything that is not an image (empty, wrong
    dtype or shape), so a bad frame is reported instead of crashing the video stream.
    """
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"frame must be a numpy array, got {type(frame).__name__}")
    if frame.size == 0 or frame.ndim not in (2, 3) or min(frame.shape[:2]) < 1:
        raise ValueError(f"frame is empty or not an image (shape {frame.shape})")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame must be 8-bit (uint8), got {frame.dtype}")
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    channels = frame.shape[2]
    if channels == 1:
        return cv2.cvtColor(frame[:, :, 0], cv2.COLOR_GRAY2BGR)
    if channels == 3:
        return frame
    if channels == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    raise ValueError(f"frame must have 1, 3 or 4 channels, got {channels}")


def check_probabilities(probs: np.ndarray) -> None:
    """Raise ``ValueError`` when the model gave non-finite probabilities (a broken or half-written model file)."""
    if not np.all(np.isfinite(probs)):
        raise ValueError("The emotion model returned invalid numbers (NaN): the model file may be damaged.")


class FramePipeline:
    """Detect faces, classify each one in a single batch, largest face first. Safe to share."""

    def __init__(self, detector: FaceDetector | None = None, classifier: EmotionClassifier | None = None,
                 max_faces: int = MAX_FACES) -> None:
        self.detector = detector or YuNetDetector()
        self.classifier = classifier or EmotionClassifier.load()
        self.max_faces = max_faces

    def process(self, frame: np.ndarray) -> list[FaceReading]:
        """Return a reading per face (at most ``max_faces``, largest first); ``[]`` when there is none."""
        bgr = as_bgr(frame)
        detections: list[Detection] = sorted(self.detector.detect(bgr), key=lambda d: d.area, reverse=True)
        detections = detections[: self.max_faces]
        if not detections:
            return []
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        faces = np.stack([crop_face(gray, d) for d in detections])
        probs = self.classifier.predict_proba(faces)
        check_probabilities(probs)
        return [
            FaceReading(d.box, p, EMOTIONS[int(np.argmax(p))], float(np.max(p)))
            for d, p in zip(detections, probs)
        ]


def draw_readings(frame: np.ndarray, readings: list[FaceReading]) -> np.ndarray:
    """Return a NEW BGR frame with a box and "label NN%" over each face (the first, largest, in green)."""
    out = as_bgr(frame).copy()
    thickness = max(1, round(min(out.shape[:2]) / 240))
    for i, r in enumerate(readings):
        x, y, w, h = r.box
        colour = (80, 200, 80) if i == 0 else (200, 200, 200)
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thickness)
        text = f"{r.emotion} {r.confidence:.0%}"
        scale = 0.5 * thickness
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        ty = y - 6 if y - th - 8 >= 0 else y + h + th + 6
        cv2.rectangle(out, (x, ty - th - 4), (x + tw + 6, ty + base), colour, cv2.FILLED)
        cv2.putText(out, text, (x + 3, ty - 2), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), thickness,
                    cv2.LINE_AA)
    return out
