"""Labelled full frames made from single faces, for tests, benchmarks and the browser test's webcam.

The shared test data has one real photograph with a face; FER2013 faces (48x48) upscaled onto a larger
canvas give labelled frames with any number of faces at known places.
"""

from __future__ import annotations

import cv2
import numpy as np


def place_faces(faces: list[np.ndarray], size: tuple[int, int] = (640, 480), face_px: int = 180,
                seed: int = 0) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Put each face (grayscale or BGR) side by side on a soft noisy background of ``size`` (w, h).

    Returns the BGR frame and each face's (x, y, w, h) box. Faces are resized to ``face_px`` squares
    (or smaller, so that they all fit in one row).
    """
    width, height = size
    rng = np.random.default_rng(seed)
    background = rng.normal(150, 12, (height // 8, width // 8)).clip(0, 255).astype(np.uint8)
    frame = cv2.cvtColor(cv2.resize(background, (width, height), interpolation=cv2.INTER_CUBIC),
                         cv2.COLOR_GRAY2BGR)
    if not faces:
        return frame, []
    side = min(face_px, (width - 20 * (len(faces) + 1)) // len(faces), height - 40)
    gap = (width - side * len(faces)) // (len(faces) + 1)
    boxes = []
    for i, face in enumerate(faces):
        tile = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
        if tile.ndim == 2:
            tile = cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR)
        x, y = gap + i * (side + gap), (height - side) // 2
        frame[y : y + side, x : x + side] = tile
        boxes.append((x, y, side, side))
    return frame, boxes


def photo_frame(photo_bgr: np.ndarray, size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """Fit a photograph into a ``size`` (w, h) frame, letterboxed, as a webcam would frame it."""
    width, height = size
    scale = min(width / photo_bgr.shape[1], height / photo_bgr.shape[0])
    resized = cv2.resize(photo_bgr, (round(photo_bgr.shape[1] * scale), round(photo_bgr.shape[0] * scale)),
                         interpolation=cv2.INTER_AREA)
    frame = np.full((height, width, 3), 32, np.uint8)
    y, x = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    frame[y : y + resized.shape[0], x : x + resized.shape[1]] = resized
    return frame
