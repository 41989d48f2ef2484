"""Face detection: YuNet (``cv2.FaceDetectorYN``, the default) and OpenCV's Haar cascade (for comparison).

Detection runs on a downscaled copy of the frame (faces in a webcam frame are large, and a 320-pixel
wide copy is ~4x cheaper); boxes come back in the original frame's coordinates.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

import config
from emotion.geometry import CropGeometry, serving_geometry
from emotion.preprocess import FACE_SIZE

DETECT_WIDTH: int = 320


@dataclass(frozen=True)
class Detection:
    """One face: ``box`` = (x, y, w, h) in frame pixels, detector ``score`` and optional eye centres.

    ``detector_scale`` is how many frame pixels one of the detector's own pixels covers (detection runs
    on a downscaled copy); the calibrated crop depends on the box's size as the detector saw it.
    """

    box: tuple[int, int, int, int]
    score: float
    right_eye: tuple[float, float] | None = None  # the subject's right eye (left in the image)
    left_eye: tuple[float, float] | None = None
    detector_scale: float = 1.0

    @property
    def area(self) -> int:
        return self.box[2] * self.box[3]


class FaceDetector(Protocol):
    """Anything that finds faces in a BGR frame."""

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]: ...


def _downscale(frame: np.ndarray, width: int) -> tuple[np.ndarray, float]:
    """Return the frame resized to at most ``width`` pixels wide and the factor back to original pixels."""
    h, w = frame.shape[:2]
    if w <= width:
        return frame, 1.0
    scale = w / width
    small = cv2.resize(frame, (width, max(1, round(h / scale))), interpolation=cv2.INTER_AREA)
    return small, scale


class YuNetDetector:
    """OpenCV's YuNet CNN face detector (MIT, opencv_zoo), loaded from ``models/``. Thread-safe."""

    def __init__(
        self,
        model_path: Path = config.YUNET_PATH,
        score_threshold: float = 0.7,
        nms_threshold: float = 0.3,
        detect_width: int = DETECT_WIDTH,
    ) -> None:
        if not Path(model_path).exists():
            raise FileNotFoundError(f"YuNet model not found at {model_path}")
        self._net = cv2.FaceDetectorYN.create(str(model_path), "", (320, 320), score_threshold, nms_threshold)
        self._detect_width = detect_width
        self._lock = threading.Lock()  # the OpenCV object keeps per-call state
        self._input_size: tuple[int, int] | None = None

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        small, scale = _downscale(frame_bgr, self._detect_width)
        size = (small.shape[1], small.shape[0])
        with self._lock:
            if size != self._input_size:
                self._net.setInputSize(size)
                self._input_size = size
            _, faces = self._net.detect(small)
        if faces is None:
            return []
        detections = []
        for row in faces:
            x, y, w, h = (float(v) * scale for v in row[:4])
            # YuNet landmarks: right eye, left eye, nose, mouth corners (image coordinates).
            right_eye = (float(row[4]) * scale, float(row[5]) * scale)
            left_eye = (float(row[6]) * scale, float(row[7]) * scale)
            box = _clip_box(x, y, w, h, frame_bgr.shape[1], frame_bgr.shape[0])
            if box is not None:
                detections.append(Detection(box, float(row[14]), right_eye, left_eye, scale))
        return detections


class HaarDetector:
    """OpenCV's frontal-face Haar cascade (the seed prototype's detector); kept for comparison."""

    def __init__(self, scale_factor: float = 1.1, min_neighbors: int = 5, detect_width: int = DETECT_WIDTH,
                 cascade_path: Path | None = None) -> None:
        path = cascade_path or Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise FileNotFoundError(f"Haar cascade not found at {path}")
        self._scale_factor, self._min_neighbors, self._detect_width = scale_factor, min_neighbors, detect_width

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        small, scale = _downscale(frame_bgr, self._detect_width)
        gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        min_side = max(20, small.shape[1] // 16)
        boxes = self._cascade.detectMultiScale(gray, self._scale_factor, self._min_neighbors,
                                               minSize=(min_side, min_side))
        detections = []
        for x, y, w, h in boxes if len(boxes) else []:
            box = _clip_box(x * scale, y * scale, w * scale, h * scale, frame_bgr.shape[1], frame_bgr.shape[0])
            if box is not None:
                detections.append(Detection(box, 1.0, detector_scale=scale))
        return detections


def _clip_box(x: float, y: float, w: float, h: float, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Clip a box to the frame; ``None`` when nothing of it is left."""
    x0, y0 = max(0, int(round(x))), max(0, int(round(y)))
    x1, y1 = min(width, int(round(x + w))), min(height, int(round(y + h)))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


def served_framing(detection: Detection, geometry: CropGeometry) -> tuple[float, float]:
    """The served face square's side and its centre's vertical offset from the box centre, in frame
    pixels, looked up by the box's size as the detector saw it."""
    reference = float(np.sqrt(detection.box[2] * detection.box[3]))
    scale, offset_y = geometry.framing_at(reference / detection.detector_scale)
    return scale * reference, offset_y * reference


def crop_face(gray: np.ndarray, detection: Detection, geometry: CropGeometry | None = None) -> np.ndarray:
    """Cut a square 48x48 face from a grayscale frame, framed like a FER2013 image.

    Where the square lies relative to the detector box comes from the calibrated ``geometry`` (default:
    ``models/crop_geometry.json``, measured by ``python -m emotion.training.calibrate``). When the geometry says
    so and eye landmarks are known, the crop is rotated so the eyes are level, as FER2013 faces are.
    Parts outside the frame are filled by edge replication. Contrast normalisation happens in the
    classifier.
    """
    geometry = geometry or serving_geometry()
    x, y, w, h = detection.box
    reference = float(np.sqrt(w * h))
    side, offset_y = served_framing(detection, geometry)
    angle = 0.0
    if geometry.level and detection.right_eye is not None and detection.left_eye is not None:
        (rx, ry), (lx, ly) = detection.right_eye, detection.left_eye
        angle = float(np.degrees(np.arctan2(ly - ry, lx - rx)))
        if abs(angle) > 30.0:  # implausible landmarks: do not spin the face
            angle = 0.0
    # The offset is measured in the face's own (levelled) axes: rotate it into the frame's.
    theta = np.radians(angle)
    ox, oy = geometry.offset_x * reference, offset_y
    cx = x + w / 2.0 + ox * np.cos(theta) - oy * np.sin(theta)
    cy = y + h / 2.0 + ox * np.sin(theta) + oy * np.cos(theta)
    # Take a generous window (sqrt(2) larger) so rotating it leaves no empty corners, then shrink once.
    half = side * 0.75
    x0, y0 = int(np.floor(cx - half)), int(np.floor(cy - half))
    x1, y1 = int(np.ceil(cx + half)), int(np.ceil(cy + half))
    pad = max(0, -x0, -y0, x1 - gray.shape[1], y1 - gray.shape[0])
    src = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else gray
    window = src[y0 + pad : y1 + pad, x0 + pad : x1 + pad]
    big = round(FACE_SIZE * (x1 - x0) / side)
    interpolation = cv2.INTER_AREA if big < window.shape[1] else cv2.INTER_LINEAR
    window = cv2.resize(window, (big, big), interpolation=interpolation)
    centre = ((cx - x0) * big / (x1 - x0), (cy - y0) * big / (y1 - y0))
    matrix = cv2.getRotationMatrix2D(centre, angle, 1.0)
    matrix[0, 2] += FACE_SIZE / 2.0 - centre[0]
    matrix[1, 2] += FACE_SIZE / 2.0 - centre[1]
    return cv2.warpAffine(window, matrix, (FACE_SIZE, FACE_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
