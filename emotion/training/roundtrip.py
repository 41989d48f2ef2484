"""Round-trip accuracy: FER2013 faces placed into webcam-like frames, read back through ``FramePipeline``.

The direct-crop accuracy classifies each 48x48 FER2013 face as it is; the round trip puts the same face
into a larger frame (random size, place, small roll, cluttered background, exposure and side light) and
runs exactly what the Live screen runs: detection, calibrated crop, classifier. The gap between the two,
on the faces the detector found, is what the pipeline's framing loses. Synthetic: it catches geometry
mismatches, it does not replace real photographs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emotion.classifier import EmotionClassifier
from emotion.training.metrics import classification_report
from emotion.pipeline import FramePipeline
from emotion.training.synthetic import compose_scene, rescale_scene


# Face sizes in the composed 640x480 scenes (110-300 px): far, middle and near (in 640-px terms at any
# scene width: a smaller capture shows the same view with fewer pixels).
SIDE_BANDS: tuple[tuple[int, int], ...] = ((110, 169), (170, 234), (235, 300))


@dataclass(frozen=True)
class RoundTrip:
    """The round trip's outcome over ``faces`` faces."""

    faces: int
    detected: float  # fraction of faces the detector found (a box containing the face's centre)
    direct_accuracy: float  # classifier on the 48x48 faces themselves, over the detected faces
    round_trip_accuracy: float  # through the whole pipeline, over the same detected faces
    report: dict  # the round trip's classification report (per-class recall included)
    # Per band of face size in the frame: faces found, direct and round-trip accuracy.
    by_face_side: dict[str, dict[str, float]] = field(default_factory=dict)
    scene_width: int = 640  # the width the scenes were read at (composed at 640x480, then scaled)

    @property
    def gap_points(self) -> float:
        """Direct minus round-trip accuracy, in percentage points."""
        return round(100.0 * (self.direct_accuracy - self.round_trip_accuracy), 2)

    def as_dict(self) -> dict:
        return {
            "faces": self.faces,
            "detected": round(self.detected, 4),
            "direct_accuracy": round(self.direct_accuracy, 4),
            "round_trip_accuracy": round(self.round_trip_accuracy, 4),
            "gap_points": self.gap_points,
            "per_class_recall": {k: v["recall"] for k, v in self.report["per_class"].items()},
            "by_face_side": self.by_face_side,
            "scene": "640x480, face 110-300 px, roll +-10 deg, cluttered background, exposure, side light"
                     + ("" if self.scene_width == 640 else f"; read at {self.scene_width} px wide"),
            "scene_width": self.scene_width,
        }


def round_trip(pipeline: FramePipeline, classifier: EmotionClassifier, images: np.ndarray, labels: np.ndarray,
               seed: int = 0, scene_width: int = 640) -> RoundTrip:
    """Place each face in its own frame, read it back, and compare with classifying it directly.

    ``scene_width``: read each 640x480 scene as a camera capturing that many pixels wide delivers it
    (the same view, scaled down: what a smaller ``media_stream_constraints`` capture costs). The same
    ``seed`` gives the same scenes at every width.
    """
    rng = np.random.default_rng(seed)
    found_probs, found_index, found_side = [], [], []
    for i, face in enumerate(images):
        frame, placed = compose_scene(face, rng)
        frame, seen = rescale_scene(frame, placed, scene_width)
        for reading in pipeline.process(frame):
            x, y, w, h = reading.box
            if x <= seen.cx <= x + w and y <= seen.cy <= y + h:
                found_probs.append(reading.probs)
                found_index.append(i)
                found_side.append(placed.side)
                break
    index = np.array(found_index, dtype=int)
    if len(index) == 0:
        raise ValueError("the detector found none of the faces")
    truth = labels[index]
    direct_right = np.argmax(classifier.predict_proba(images[index]), axis=1) == truth
    trip_right = np.argmax(np.stack(found_probs), axis=1) == truth
    report = classification_report(truth, np.stack(found_probs))
    sides = np.array(found_side)
    by_side = {}
    for lo, hi in SIDE_BANDS:
        band = (sides >= lo) & (sides <= hi)
        if band.any():
            by_side[f"{lo}-{hi} px"] = {"faces": int(band.sum()),
                                        "direct_accuracy": round(float(direct_right[band].mean()), 4),
                                        "round_trip_accuracy": round(float(trip_right[band].mean()), 4)}
    return RoundTrip(
        faces=len(images),
        detected=len(index) / len(images),
        direct_accuracy=float(direct_right.mean()),
        round_trip_accuracy=report["accuracy"],
        report=report,
        by_face_side=by_side,
        scene_width=scene_width,
    )
