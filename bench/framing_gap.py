"""Where the round trip loses accuracy: ``python bench/framing_gap.py [--faces N]``.

Each PublicTest face is composed into a 640x480 scene exactly as ``python -m emotion.training.evaluate``'s round
trip does, and classified three ways on the faces YuNet finds:

- **direct**: the 48x48 FER2013 face itself;
- **exact square**: the face's own square cut back out of the scene with the known placement (undoes
  the roll, keeps the scene's light, noise and resampling) — what a perfect crop would give;
- **pipeline**: the served path (YuNet box, calibrated crop, levelled by the eye landmarks).

Direct minus exact square is what the scene's photometry and resampling cost; exact square minus
pipeline is what framing costs. The pipeline's loss is also split by how the served crop frames the
face (``zoom`` = the face's own square over the served crop's side: below 1 the crop reaches past the
FER2013 image into the scene). Prints the table; ``--write`` records it in ``bench/framing_gap.json``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

import config  # noqa: E402
from bench._timing import add_output_options, write_figures  # noqa: E402
from emotion.classifier import EmotionClassifier  # noqa: E402
from emotion.detector import YuNetDetector, crop_face, served_framing  # noqa: E402
from emotion.training.data import load_raw_split  # noqa: E402
from emotion.geometry import serving_geometry  # noqa: E402
from emotion.preprocess import FACE_SIZE  # noqa: E402
from emotion.training.synthetic import compose_scene  # noqa: E402

ZOOM_BANDS: tuple[tuple[float, float], ...] = ((0.0, 0.9), (0.9, 1.0), (1.0, 1.1), (1.1, 9.0))


def exact_square(gray: np.ndarray, placed) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The face's own square cut back out of the scene with the known placement, at 48x48."""
    back = cv2.invertAffineTransform(placed.tile_to_frame())
    tile = cv2.warpAffine(gray, back, (placed.side, placed.side), flags=cv2.INTER_LINEAR)
    return cv2.resize(tile, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--faces", type=int, default=2000, help="PublicTest faces (from the first)")
    p.add_argument("--seed", type=int, default=0, help="the scenes' seed (the round trip uses 0)")
    add_output_options(p, "framing_gap")
    args = p.parse_args(argv)
    config.exit_on_settings_problems("bench/framing_gap.py")
    images, labels = load_raw_split(config.FER2013_PATH, "public")
    images, labels = images[: args.faces], labels[: args.faces]
    detector, classifier, geometry = YuNetDetector(), EmotionClassifier.load(), serving_geometry()
    rng = np.random.default_rng(args.seed)
    index, exact, served, zoom = [], [], [], []
    for i, face in enumerate(images):
        frame, placed = compose_scene(face, rng)
        hits = [d for d in sorted(detector.detect(frame), key=lambda d: d.area, reverse=True)
                if d.box[0] <= placed.cx <= d.box[0] + d.box[2] and d.box[1] <= placed.cy <= d.box[1] + d.box[3]]
        if not hits:
            continue
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        index.append(i)
        exact.append(exact_square(gray, placed))
        served.append(crop_face(gray, hits[0], geometry))
        zoom.append(placed.side / served_framing(hits[0], geometry)[0])
    truth = labels[np.array(index)]

    def right(faces: np.ndarray) -> np.ndarray:
        return np.argmax(classifier.predict_proba(faces), axis=1) == truth

    direct_ok, exact_ok, served_ok = right(images[np.array(index)]), right(np.stack(exact)), right(np.stack(served))
    zoom_arr = np.array(zoom)
    bands = {}
    for lo, hi in ZOOM_BANDS:
        band = (zoom_arr >= lo) & (zoom_arr < hi)
        if band.any():
            bands[f"zoom {lo:.1f}-{hi:.1f}"] = {
                "faces": int(band.sum()),
                "direct": round(float(direct_ok[band].mean()), 4),
                "pipeline": round(float(served_ok[band].mean()), 4),
            }
    figures = {
        "faces": len(images), "found": len(index),
        "direct": round(float(direct_ok.mean()), 4),
        "exact_square": round(float(exact_ok.mean()), 4),
        "pipeline": round(float(served_ok.mean()), 4),
        "by_zoom": bands,
        "weights": config.TFLITE_MODEL_PATH.name,
        "geometry": serving_geometry().meta.get("date", ""),
    }
    print(f"{len(index)} of {len(images)} faces found")
    print(f"direct {figures['direct']:.4f} | exact square {figures['exact_square']:.4f} "
          f"(scene costs {100 * (figures['direct'] - figures['exact_square']):.1f} points) | pipeline "
          f"{figures['pipeline']:.4f} (framing costs {100 * (figures['exact_square'] - figures['pipeline']):.1f})")
    for name, b in bands.items():
        print(f"  {name}: {b['faces']:5d} faces, direct {b['direct']:.3f}, pipeline {b['pipeline']:.3f}, "
              f"gap {100 * (b['direct'] - b['pipeline']):.1f} points")
    write_figures(args, "framing_gap", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
