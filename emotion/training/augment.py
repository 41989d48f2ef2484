"""Training augmentation: framing drawn from the measured crop-geometry spread, plus webcam conditions.

Framing: the app crops at the *median* geometry of ``models/crop_geometry.json``, but for any one face
the detector box sits a little differently. Each training face is therefore re-framed as a serving crop
would frame it, with scale, shift and roll drawn from the measured distribution (inverse-CDF sampling
through its percentiles), not from hand-picked ranges.

Webcam conditions: exposure (gamma), uneven lighting, low resolution / blur, sensor noise and JPEG
artefacts. Last comes the same per-face contrast stretch the classifier applies when serving
(``emotion.preprocess.normalize_faces``), so the network sees exactly what it will be served.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from emotion.geometry import FramingTables
from emotion.preprocess import FACE_SIZE, HIGH_PERCENTILE, LOW_PERCENTILE


@dataclass(frozen=True)
class WebcamConditions:
    """Probabilities and ranges of the photometric augmentations (webcam-like conditions)."""

    gamma_range: tuple[float, float] = (0.7, 1.45)
    lighting_p: float = 0.5
    lighting_max: float = 0.6  # brightness ratio across the face from a side light, up to 1 +- this
    lowres_p: float = 0.3
    lowres_min_px: int = 14  # a face only this many pixels wide, upscaled to 48
    noise_p: float = 0.4
    noise_max_sigma: float = 8.0
    jpeg_p: float = 0.3
    jpeg_quality: tuple[int, int] = (25, 90)
    # Where a smaller-than-FER2013 framing reaches past the image's edge, a camera shows whatever is
    # around the face: mirrored face texture for some faces, an unrelated backdrop for others.
    backdrop_p: float = 0.5


def _sample(table: np.ndarray, n: tf.Tensor) -> tf.Tensor:
    index = tf.random.uniform([n], 0, len(table), dtype=tf.int32)
    return tf.gather(tf.constant(table), index)


def random_backdrops(n: tf.Tensor) -> tf.Tensor:
    """Smooth random surroundings (float N x 48 x 48 x 1, 0..255): a level, a blotchy low-frequency
    pattern and a little grain, like an out-of-focus room behind a face."""
    level = tf.random.uniform([n, 1, 1, 1], 15.0, 240.0)
    blotch = tf.image.resize(tf.random.uniform([n, 4, 4, 1], -1.0, 1.0), [FACE_SIZE, FACE_SIZE], method="bicubic")
    amplitude = tf.random.uniform([n, 1, 1, 1], 0.0, 60.0)
    grain = tf.random.normal([n, FACE_SIZE, FACE_SIZE, 1], 0.0, 1.0) * tf.random.uniform([n, 1, 1, 1], 0.0, 6.0)
    return tf.clip_by_value(level + amplitude * blotch + grain, 0.0, 255.0)


def reframe(images: tf.Tensor, tables: FramingTables, backdrop_p: float = 0.0) -> tf.Tensor:
    """Random flip plus one affine warp per image: measured zoom, shift and roll (float N x 48 x 48 x 1).

    Pixels from beyond the FER2013 image are mirrored in from its edge, or, for a ``backdrop_p`` share
    of the faces, taken from a random backdrop.
    """
    n = tf.shape(images)[0]
    size = float(FACE_SIZE)
    centre = (size - 1.0) / 2.0
    flip = tf.where(tf.random.uniform([n]) < 0.5, -1.0, 1.0)
    zoom = _sample(tables.zoom, n)
    roll = _sample(tables.roll_deg, n) * flip * (math.pi / 180.0)
    mirror = tf.where(tf.random.uniform([n]) < 0.5, -1.0, 1.0)  # the x shift's sign: faces are symmetric
    shift_x = _sample(tables.shift_x, n) * mirror * size
    shift_y = _sample(tables.shift_y, n) * size
    # Output pixel p shows input pixel A (p - c - shift) + c, with A = R(roll) diag(flip, 1) / zoom.
    cos, sin = tf.cos(roll) / zoom, tf.sin(roll) / zoom
    a0, a1, b0, b1 = cos * flip, -sin, sin * flip, cos
    a2 = centre - a0 * (centre + shift_x) - a1 * (centre + shift_y)
    b2 = centre - b0 * (centre + shift_x) - b1 * (centre + shift_y)
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=[FACE_SIZE, FACE_SIZE], fill_value=0.0,
        interpolation="BILINEAR", fill_mode="REFLECT",
    )
    if backdrop_p <= 0.0:
        return warped
    inside = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.ones_like(images), transforms=transforms, output_shape=[FACE_SIZE, FACE_SIZE],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )
    inside = tf.maximum(inside, 1.0 - _chosen(n, backdrop_p))  # faces that keep the mirrored edge
    return inside * warped + (1.0 - inside) * random_backdrops(n)


def _chosen(n: tf.Tensor, p: float) -> tf.Tensor:
    return tf.cast(tf.random.uniform([n, 1, 1, 1]) < p, tf.float32)


def webcam_conditions(images: tf.Tensor, cond: WebcamConditions) -> tf.Tensor:
    """Exposure, side lighting, low resolution, noise and JPEG on float 0..255 images (N x 48 x 48 x 1)."""
    n = tf.shape(images)[0]
    x = tf.clip_by_value(images, 0.0, 255.0) / 255.0
    log_gamma = tf.random.uniform([n, 1, 1, 1], math.log(cond.gamma_range[0]), math.log(cond.gamma_range[1]))
    x = tf.pow(x, tf.exp(log_gamma))
    # Side lighting: a linear brightness ramp across the face in a random direction.
    angle = tf.random.uniform([n, 1, 1, 1], 0.0, 2.0 * math.pi)
    grid = tf.linspace(-1.0, 1.0, FACE_SIZE)
    gx, gy = grid[None, None, :, None], grid[None, :, None, None]
    ramp = tf.cos(angle) * gx + tf.sin(angle) * gy
    strength = tf.random.uniform([n, 1, 1, 1], 0.0, cond.lighting_max) * _chosen(n, cond.lighting_p)
    x = x * (1.0 + strength * ramp)
    # Low resolution: the face was only a few pixels wide in the frame and was upscaled.
    small = tf.random.uniform([], cond.lowres_min_px, FACE_SIZE, dtype=tf.int32)
    lowres = tf.image.resize(tf.image.resize(x, [small, small], antialias=True), [FACE_SIZE, FACE_SIZE])
    pick = _chosen(n, cond.lowres_p)
    x = pick * lowres + (1.0 - pick) * x
    sigma = tf.random.uniform([n, 1, 1, 1], 0.0, cond.noise_max_sigma / 255.0) * _chosen(n, cond.noise_p)
    x = tf.clip_by_value(x + sigma * tf.random.normal(tf.shape(x)), 0.0, 1.0)
    quality = tf.random.uniform([n], cond.jpeg_quality[0], cond.jpeg_quality[1], dtype=tf.int32)
    jpeg = tf.map_fn(lambda args: tf.image.adjust_jpeg_quality(args[0], args[1]), (x, quality),
                     fn_output_signature=tf.float32)
    pick = _chosen(n, cond.jpeg_p)
    x = pick * tf.reshape(jpeg, tf.shape(x)) + (1.0 - pick) * x
    return x * 255.0


def _percentile(sorted_values: tf.Tensor, q: float) -> tf.Tensor:
    """``np.percentile``'s default (linear) method on rows that are already sorted."""
    count = sorted_values.shape[-1]
    position = q / 100.0 * (count - 1)
    lo = int(math.floor(position))
    hi = min(lo + 1, count - 1)
    frac = position - lo
    return sorted_values[:, lo] + frac * (sorted_values[:, hi] - sorted_values[:, lo])


def normalize_faces_tf(images: tf.Tensor) -> tf.Tensor:
    """The serving contrast stretch (``normalize_faces``) in TensorFlow, on float N x 48 x 48 x 1.

    Rounds to whole grey levels as the uint8 serving path does.
    """
    pixels = tf.round(tf.clip_by_value(images, 0.0, 255.0))
    flat = tf.sort(tf.reshape(pixels, [tf.shape(images)[0], FACE_SIZE * FACE_SIZE]), axis=1)
    lo = _percentile(flat, LOW_PERCENTILE)
    hi = _percentile(flat, HIGH_PERCENTILE)
    span = hi - lo
    flat_image = span < 8.0
    scale = tf.where(flat_image, 1.0, 255.0 / tf.maximum(span, 1e-6))[:, None, None, None]
    offset = tf.where(flat_image, 0.0, lo)[:, None, None, None]
    return tf.round(tf.clip_by_value((pixels - offset) * scale, 0.0, 255.0))


def augment_batch(images: tf.Tensor, tables: FramingTables, cond: WebcamConditions) -> tf.Tensor:
    """One training batch: measured re-framing, webcam conditions, then the serving contrast stretch."""
    return normalize_faces_tf(webcam_conditions(reframe(images, tables, cond.backdrop_p), cond))
