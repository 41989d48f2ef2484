"""Measure the crop geometry from data: ``python -m emotion.training.calibrate``.

Runs the serving detector (YuNet, exactly as the app runs it) over FER2013 *training* faces, each
upscaled to a webcam-like size (64-440 px in a 640x480 frame) and placed in the frame, and measures
where the FER2013 image square lies relative to the detector's box: its side over the box's size, its
centre's offset, and the eyes' roll. YuNet's box fits faces of different sizes differently, so the
medians are kept per box size (``by_size``) and become the serving crop; the spread around them
becomes the training augmentation. Writes ``models/crop_geometry.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

import config
from emotion.training.data import load_raw_split
from emotion.detector import Detection, YuNetDetector
from emotion.geometry import CropGeometry, SizePoint, Spread

FRAME_SIZE: tuple[int, int] = (640, 480)
# Face sizes shown in the 640x480 frame: a face across the room to one filling the frame's height.
FACE_SIDES: tuple[int, int] = (64, 440)
SIZE_BINS = 16


def spread_of(values: np.ndarray) -> Spread:
    """The 2.5/25/50/75/97.5th percentiles of ``values``, rounded for a readable file."""
    p = np.percentile(values, [2.5, 25, 50, 75, 97.5])
    return Spread(*(round(float(v), 4) for v in p))


def face_in_frame(face: np.ndarray, side: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int]]:
    """A BGR webcam-sized frame with ``face`` upscaled to ``side`` pixels at a random place on a soft
    noisy background. Returns the frame and the face square as (x, y, side)."""
    width, height = FRAME_SIZE
    background = rng.normal(rng.uniform(60, 190), 14, (height // 8, width // 8)).clip(0, 255).astype(np.uint8)
    frame = cv2.resize(background, (width, height), interpolation=cv2.INTER_CUBIC)
    x = int(rng.integers(10, width - side - 10))
    y = int(rng.integers(10, height - side - 10))
    frame[y : y + side, x : x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), (x, y, side)


def box_reference(box: tuple[int, int, int, int]) -> float:
    """The detector box's size used by the geometry: the geometric mean of its width and height."""
    return float(np.sqrt(box[2] * box[3]))


def roll_degrees(detection: Detection) -> float | None:
    """The eyes' roll in degrees (positive: the subject's left eye lower in the image), if known."""
    if detection.right_eye is None or detection.left_eye is None:
        return None
    (rx, ry), (lx, ly) = detection.right_eye, detection.left_eye
    return float(np.degrees(np.arctan2(ly - ry, lx - rx)))


def measure(images: np.ndarray, sides: tuple[int, int], seed: int) -> dict[str, np.ndarray]:
    """Show each face at a random side in ``sides`` (inclusive) and detect it; return per-face
    measurements for the faces found (``box_px`` is the box's size in the detector's pixels)."""
    detector = YuNetDetector()
    rng = np.random.default_rng(seed)
    rows: list[tuple[float, ...]] = []
    for face in images:
        frame, (x, y, side) = face_in_frame(face, int(rng.integers(sides[0], sides[1] + 1)), rng)
        centre = (x + side / 2.0, y + side / 2.0)
        found = [d for d in detector.detect(frame)
                 if d.box[0] <= centre[0] <= d.box[0] + d.box[2] and d.box[1] <= centre[1] <= d.box[1] + d.box[3]]
        if not found:
            continue
        d = max(found, key=lambda det: det.area)
        bx, by, bw, bh = d.box
        ref = box_reference(d.box)
        roll = roll_degrees(d)
        rows.append((side / ref, (centre[0] - (bx + bw / 2.0)) / ref, (centre[1] - (by + bh / 2.0)) / ref,
                     np.nan if roll is None else roll, side / bw, side / bh, ref / d.detector_scale))
    names = ("scale", "offset_x", "offset_y", "roll", "scale_by_width", "scale_by_height", "box_px")
    table = np.array(rows, dtype=np.float64).reshape(-1, len(names))
    return {name: table[:, i] for i, name in enumerate(names)}


def size_table(m: dict[str, np.ndarray], bins: int) -> tuple[SizePoint, ...]:
    """Medians of scale and vertical offset in ``bins`` equal-count bins of box size (detector pixels).

    Serving knows only the box, so these are medians *given the box's size*. In the smallest and largest
    bins that is biased by the range of sizes shown (a box larger than any face shown can only be one
    that overshot its face), so those two bins are dropped when there are enough.
    """
    order = np.argsort(m["box_px"])
    points = []
    for chunk in np.array_split(order, max(1, min(bins, len(order) // 20))):
        points.append(SizePoint(round(float(np.median(m["box_px"][chunk])), 2),
                                round(float(np.median(m["scale"][chunk])), 4),
                                round(float(np.median(m["offset_y"][chunk])), 4)))
    if len(points) >= 5:
        points = points[1:-1]
    # Equal box sizes in neighbouring bins (a coarse detector) would break interpolation: keep the first.
    return tuple(p for i, p in enumerate(points) if i == 0 or p.box_px > points[i - 1].box_px)


def calibrate(data_path: Path, count: int, sides: tuple[int, int], seed: int, bins: int = SIZE_BINS) -> CropGeometry:
    """Measure ``count`` random training faces and return the geometry (medians per size + spread)."""
    train, _ = load_raw_split(data_path, "train")
    pick = np.random.default_rng(seed).choice(len(train), size=min(count, len(train)), replace=False)
    started = time.time()
    m = measure(train[pick], sides, seed)
    found = len(m["scale"])
    if found < 20:
        raise ValueError(f"the detector found only {found} of {len(pick)} faces: too few to calibrate")
    by_size = size_table(m, bins)
    pooled_scale, pooled_offset_y = float(np.median(m["scale"])), float(np.median(m["offset_y"]))
    sized = CropGeometry(by_size=by_size)
    at_size = np.array([sized.framing_at(b) for b in m["box_px"]])
    # What training must cover is each face's framing around its own size's median.
    scale_residual = m["scale"] / at_size[:, 0] * pooled_scale
    offset_y_residual = m["offset_y"] - at_size[:, 1] + pooled_offset_y
    # Which box size predicts the face square best: the one whose ratio varies least (coefficient of
    # variation). Kept in the file so the choice is visible.
    cv = {name: float(np.std(m[key]) / np.mean(m[key]))
          for name, key in (("sqrt(w*h)", "scale"), ("width", "scale_by_width"), ("height", "scale_by_height"))}
    roll = m["roll"][~np.isnan(m["roll"])]
    return CropGeometry(
        scale=round(pooled_scale, 4),
        offset_x=0.0,  # faces are left/right symmetric (and the model is trained with flips)
        offset_y=round(pooled_offset_y, 4),
        # FER2013's own faces are already upright by their eyes (see roll_deg_spread: a few degrees), so
        # serving crops are levelled to match them; training then only needs the measured residual roll.
        level=True,
        scale_spread=spread_of(scale_residual),
        offset_x_spread=spread_of(m["offset_x"]),
        offset_y_spread=spread_of(offset_y_residual),
        roll_deg_spread=spread_of(roll),
        by_size=by_size,
        meta={
            "command": "python -m emotion.training.calibrate",
            "detector": "YuNet (models/face_detection_yunet.onnx), detection on a 320-px-wide copy",
            "faces_tried": int(len(pick)),
            "faces_found": found,
            "detection_rate": round(found / max(len(pick), 1), 4),
            "face_sides_px": list(sides),
            "frame": list(FRAME_SIZE),
            "reference": "sqrt(w*h) of the detector box",
            "scale_spread_without_size_table": asdict(spread_of(m["scale"])),
            "coefficient_of_variation": {k: round(v, 4) for k, v in cv.items()},
            "offset_x_median_measured": round(float(np.median(m["offset_x"])), 4),
            "seconds": round(time.time() - started, 1),
            "date": time.strftime("%Y-%m-%d"),
        },
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=config.FER2013_PATH)
    p.add_argument("--count", type=int, default=10000, help="training faces to measure")
    p.add_argument("--sides", type=str, default=f"{FACE_SIDES[0]},{FACE_SIDES[1]}",
                   help="smallest,largest face side in pixels in the 640x480 frame")
    p.add_argument("--bins", type=int, default=SIZE_BINS, help="box-size bins of the size table")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=config.CROP_GEOMETRY_PATH)
    args = p.parse_args(argv)
    config.exit_on_settings_problems("emotion.training.calibrate")
    try:
        lo, hi = (int(v) for v in args.sides.split(","))
        if not 24 <= lo <= hi <= min(FRAME_SIZE) - 20:
            raise ValueError
    except ValueError:
        p.error(f"--sides must be two whole numbers 24 <= smallest <= largest <= {min(FRAME_SIZE) - 20}")
    geometry = calibrate(args.data, args.count, (lo, hi), args.seed, args.bins)
    args.out.write_text(geometry.to_json())
    print(geometry.to_json())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
