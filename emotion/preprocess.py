"""Face-crop preprocessing shared by training and serving.

The FER2013 copy we train on carries a per-image contrast stretch (see ../shared/README.md), so every
face — training image or webcam crop — goes through the same percentile stretch before the CNN.
Keeping this in one function is what makes training and serving identical.
"""

from __future__ import annotations

import numpy as np

FACE_SIZE: int = 48
# Percentiles for the contrast stretch: robust to a few specular or shadow pixels.
LOW_PERCENTILE: float = 1.0
HIGH_PERCENTILE: float = 99.0


def normalize_faces(faces: np.ndarray) -> np.ndarray:
    """Stretch each face's contrast so its 1st..99th percentile spans 0..255.

    ``faces`` is uint8 (N, H, W) or (H, W); returns uint8 of the same shape. A flat image (no
    contrast at all) is returned unchanged rather than amplifying noise.
    """
    arr = np.asarray(faces)
    if arr.dtype != np.uint8:
        raise ValueError(f"faces must be uint8 grayscale, got dtype {arr.dtype}")
    single = arr.ndim == 2
    batch = arr[None] if single else arr
    if batch.ndim != 3:
        raise ValueError(f"faces must have shape (N, H, W) or (H, W), got {arr.shape}")
    flat = batch.reshape(len(batch), -1).astype(np.float32)
    lo, hi = np.percentile(flat, [LOW_PERCENTILE, HIGH_PERCENTILE], axis=1)
    span = hi - lo
    flat_images = span < 8.0  # nearly uniform: leave as is
    scale = np.where(flat_images, 1.0, 255.0 / np.maximum(span, 1e-6))
    offset = np.where(flat_images, 0.0, lo)
    out = (flat - offset[:, None]) * scale[:, None]
    out = np.clip(out, 0, 255).round().astype(np.uint8).reshape(batch.shape)
    return out[0] if single else out
