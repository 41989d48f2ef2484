"""YuNet versus the Haar cascade: recall, false positives and speed. ``python bench/detectors.py``.

Frames (640x480): the shared astronaut photo (1 face), the two shared photos without faces, a blank
frame, and 40 frames of 1-2 upscaled FER2013 PublicTest faces at known places. One thread, after
warm-up. Prints the table; ``--write`` records it in ``bench/detectors.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import config  # noqa: E402
from bench._timing import add_output_options, per_item, single_thread, time_calls, write_figures  # noqa: E402
from emotion.training.data import load_raw_split  # noqa: E402
from emotion.detector import HaarDetector, YuNetDetector  # noqa: E402
from emotion.training.synthetic import photo_frame, place_faces  # noqa: E402

Box = tuple[int, int, int, int]


def labelled_frames() -> list[tuple[str, np.ndarray, list[Box]]]:
    """(kind, 640x480 frame, true face boxes)."""
    astronaut = cv2.imread(str(config.TEST_FACES_DIR / "happy_astronaut.png"))
    frame = photo_frame(astronaut)
    # The face's box in the letterboxed frame (photo box ~ x 175-270, y 60-175 at 512 px, scaled 480/512).
    s, x0 = 480 / 512, (640 - 480) // 2
    frames = [("photo", frame, [(x0 + round(175 * s), round(60 * s), round(95 * s), round(115 * s))])]
    for path in sorted(config.TEST_FACES_DIR.glob("noface_*.png")):
        frames.append(("no-face photo", photo_frame(cv2.imread(str(path))), []))
    frames.append(("blank", np.full((480, 640, 3), 128, np.uint8), []))
    public, _ = load_raw_split(config.FER2013_PATH, "public")
    rng = np.random.default_rng(7)
    for i in range(40):
        count = 1 + i % 2
        picks = rng.choice(len(public), count, replace=False)
        frame, boxes = place_faces([public[j] for j in picks], face_px=int(rng.integers(150, 230)), seed=i)
        frames.append(("FER faces", frame, boxes))
    return frames


def _centre_inside(outer: Box, inner: Box) -> bool:
    cx, cy = inner[0] + inner[2] / 2, inner[1] + inner[3] / 2
    return outer[0] <= cx <= outer[0] + outer[2] and outer[1] <= cy <= outer[1] + outer[3]


def score(detector, frames) -> dict:  # type: ignore[no-untyped-def]
    """Recall (a true face whose centre lies in a detection, and vice versa) and false positives."""
    found = total = false_pos = 0
    for _, frame, truth in frames:
        detections = [d.box for d in detector.detect(frame)]
        matched = [any(_centre_inside(t, d) and _centre_inside(d, t) for d in detections) for t in truth]
        found += sum(matched)
        total += len(truth)
        false_pos += sum(not any(_centre_inside(t, d) and _centre_inside(d, t) for t in truth) for d in detections)
    speed = per_item(time_calls(lambda: [detector.detect(f) for _, f, _ in frames[:4]], repeats=30), 4)
    return {
        "recall": round(found / total, 3),
        "faces": total,
        "false_positives": false_pos,
        "frames": len(frames),
        "median_ms_per_frame": round(speed["median_ms"], 2),
        "p95_ms_per_frame": round(speed["p95_ms"], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_output_options(parser, "detectors")
    args = parser.parse_args(argv)
    single_thread()
    frames = labelled_frames()
    results = {
        "yunet (default)": score(YuNetDetector(), frames),
        "haar frontalface_default (1.1, 5)": score(HaarDetector(), frames),
        "note": "640x480 frames, detection on a 320-pixel-wide copy, one OpenCV thread; speed over the photo, "
                "no-face and blank frames",
    }
    for name, r in results.items():
        if isinstance(r, dict):
            print(f"{name:36s} recall {r['recall']:.3f} of {r['faces']} faces, {r['false_positives']} false "
                  f"positives in {r['frames']} frames, {r['median_ms_per_frame']:.2f} ms/frame (median)")
    write_figures(args, "detectors", results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
