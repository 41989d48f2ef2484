"""Labelled full frames made from single faces, for tests, benchmarks and the browser test's webcam.

The shared test data has one real photograph with a face; FER2013 faces (48x48) upscaled onto a larger
canvas give labelled frames with any number of faces at known places.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class SceneFace:
    """Where ``compose_scene`` put the face: centre (x, y) and side in frame pixels, and its roll."""

    cx: float
    cy: float
    side: int
    roll_deg: float

    def tile_to_frame(self) -> np.ndarray:
        """The 2x3 affine map from the upscaled face tile (side x side) to frame pixels."""
        matrix = cv2.getRotationMatrix2D((self.side / 2, self.side / 2), self.roll_deg, 1.0)
        matrix[0, 2] += self.cx - self.side / 2
        matrix[1, 2] += self.cy - self.side / 2
        return matrix


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


def _background(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A varied grayscale backdrop: a lit gradient, soft noise and a few blurred shapes (clutter)."""
    width, height = size
    grid_x, grid_y = np.meshgrid(np.linspace(-1, 1, width), np.linspace(-1, 1, height))
    angle = rng.uniform(0, 2 * np.pi)
    base = rng.uniform(40, 210) + rng.uniform(0, 60) * (np.cos(angle) * grid_x + np.sin(angle) * grid_y)
    noise = cv2.resize(rng.normal(0, rng.uniform(4, 20), (height // 16, width // 16)), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    canvas = (base + noise).clip(0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 6))):
        colour = int(rng.integers(0, 256))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        if rng.random() < 0.5:
            cv2.rectangle(canvas, (x, y), (x + int(rng.integers(20, 200)), y + int(rng.integers(20, 200))), colour, -1)
        else:
            cv2.circle(canvas, (x, y), int(rng.integers(10, 80)), colour, -1)
    return cv2.GaussianBlur(canvas, (0, 0), rng.uniform(1.0, 6.0))


def compose_scene(face: np.ndarray, rng: np.random.Generator, size: tuple[int, int] = (640, 480),
                  side_range: tuple[int, int] = (110, 300), max_roll_deg: float = 10.0
                  ) -> tuple[np.ndarray, SceneFace]:
    """A labelled webcam-like frame: one grayscale face upscaled to a random size, rolled a little,
    placed anywhere on a cluttered background, under random exposure and side lighting.

    Returns the BGR frame and where the face is (``SceneFace``).
    """
    width, height = size
    frame = _background(size, rng).astype(np.float32)
    side = int(rng.integers(side_range[0], side_range[1] + 1))
    tile = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    margin = int(np.ceil(side * 0.21))  # room for the rolled square's corners
    cx = float(rng.uniform(margin + side / 2, width - margin - side / 2))
    cy = float(rng.uniform(margin + side / 2, height - margin - side / 2))
    placed = SceneFace(cx, cy, side, float(rng.uniform(-max_roll_deg, max_roll_deg)))
    matrix = placed.tile_to_frame()
    warped = cv2.warpAffine(tile, matrix, size, flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.ones((side, side), np.float32), matrix, size, flags=cv2.INTER_LINEAR)
    frame = frame * (1 - mask) + warped * mask
    # Exposure and a side light over the whole scene, as a webcam in a room would see it.
    grid_x = np.linspace(-1, 1, width)[None, :]
    light = 1.0 + rng.uniform(-0.35, 0.35) * grid_x
    frame = 255.0 * np.power((frame * light).clip(0, 255) / 255.0, np.exp(rng.uniform(np.log(0.7), np.log(1.4))))
    frame = (frame + rng.normal(0, rng.uniform(0, 4), frame.shape)).clip(0, 255).astype(np.uint8)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), placed


def rescale_scene(frame: np.ndarray, placed: SceneFace, width: int) -> tuple[np.ndarray, SceneFace]:
    """The same scene as a camera capturing ``width`` pixels wide would deliver it (aspect kept).

    A browser asked for a smaller capture scales the whole view down (the field of view stays): the
    frame is shrunk with area averaging and the face's centre and side scaled with it.
    """
    height, full_width = frame.shape[:2]
    if width == full_width:
        return frame, placed
    if width < 16:
        raise ValueError(f"scene width must be at least 16 pixels, got {width}")
    factor = width / full_width
    size = (width, max(1, round(height * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    small = cv2.resize(frame, size, interpolation=interpolation)
    return small, SceneFace(placed.cx * factor, placed.cy * factor, max(1, round(placed.side * factor)),
                            placed.roll_deg)
