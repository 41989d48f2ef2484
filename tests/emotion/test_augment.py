"""Training augmentation (TensorFlow, so in a subprocess): what the network sees is what it is served."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import numpy as np, tensorflow as tf
from emotion.training.augment import WebcamConditions, augment_batch, normalize_faces_tf, reframe
from emotion.geometry import FramingTables, framing_tables, serving_geometry
from emotion.preprocess import normalize_faces

rng = np.random.default_rng(0)
raw = rng.integers(0, 256, (32, 48, 48)).astype(np.uint8)
raw[:6] = raw[:6] // 5 + 90            # low contrast: stretched
raw[6] = 120                           # flat: left alone
ours = normalize_faces_tf(tf.constant(raw[..., None].astype("float32"))).numpy()[..., 0]
print("stretch_diff", float(np.abs(ours - normalize_faces(raw)).max()))

# Identity framing (zoom 1, no shift, no roll) only mirrors: each output is the face or its mirror.
one = np.ones(256, np.float32); zero = np.zeros(256, np.float32)
faces = rng.integers(0, 256, (16, 48, 48, 1)).astype("float32")
out = reframe(tf.constant(faces), FramingTables(one, zero, zero, zero)).numpy()
same = [min(np.abs(o - f).max(), np.abs(o - f[:, ::-1]).max()) for o, f in zip(out, faces)]
print("identity_diff", float(max(same)))

# Zoomed out to half size: the surroundings are mirrored face (black here) or, with backdrop_p=1, a
# backdrop; the face itself stays in the middle either way.
black = tf.zeros((16, 48, 48, 1))
half = FramingTables(one * 0.5, zero, zero, zero)
mirrored = reframe(black, half, backdrop_p=0.0).numpy()
backdrop = reframe(black, half, backdrop_p=1.0).numpy()
print("mirrored_border", float(mirrored[:, :6].max()), "backdrop_border", float(backdrop[:, :6].mean()),
      "backdrop_centre", float(backdrop[:, 16:32, 16:32].max()))

batch = augment_batch(tf.constant(faces), framing_tables(serving_geometry()), WebcamConditions())
b = batch.numpy()
print("shape", b.shape, "range", float(b.min()), float(b.max()), "whole", float(np.abs(b - np.round(b)).max()))
print("changed", float(np.mean(np.abs(b - faces) > 1)))
"""


def test_augmentation_matches_serving_contrast_and_keeps_faces_when_framing_is_identity() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    values = dict(line.split(" ", 1) for line in done.stdout.strip().splitlines())
    assert float(values["stretch_diff"]) <= 1.0  # float rounding at .5 may differ by one grey level
    assert float(values["identity_diff"]) < 1e-3
    assert values["shape"].startswith("(16, 48, 48, 1)")
    low, high = (float(v) for v in values["shape"].split("range ")[1].split(" whole")[0].split())
    assert low == 0.0 and high == 255.0  # stretched to the full range, like a served face
    assert float(values["shape"].split("whole ")[1]) == 0.0  # whole grey levels, like uint8 serving
    assert float(values["changed"]) > 0.5
    border = values["mirrored_border"].split()
    assert float(border[0]) == 0.0  # mirrored black stays black
    assert float(border[2]) > 10.0  # a backdrop shows around the face
    assert float(border[4]) < 1e-3  # and never over it
