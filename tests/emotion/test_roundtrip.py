"""The round trip puts FER2013 faces into webcam-like frames and reads them back through the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.classifier import EmotionClassifier
from emotion.detector import YuNetDetector
from emotion.pipeline import FramePipeline
from emotion.training.roundtrip import round_trip
from emotion.training.synthetic import compose_scene


def test_composed_scene_puts_one_findable_face_at_the_returned_centre(public_test) -> None:
    rng = np.random.default_rng(3)
    detector = YuNetDetector()
    hits = 0
    for face in public_test[0][:30]:
        frame, placed = compose_scene(face, rng)
        cx, cy = placed.cx, placed.cy
        assert 110 <= placed.side <= 300 and abs(placed.roll_deg) <= 10
        assert frame.shape == (480, 640, 3) and frame.dtype == np.uint8
        found = detector.detect(frame)
        hits += any(x <= cx <= x + w and y <= cy <= y + h for (x, y, w, h) in (d.box for d in found))
    assert hits >= 20


def test_round_trip_compares_the_same_faces(pipeline: FramePipeline, classifier: EmotionClassifier,
                                            public_test) -> None:
    images, labels = public_test[0][:60], public_test[1][:60]
    result = round_trip(pipeline, classifier, images, labels, seed=1)
    assert result.faces == 60
    assert 0.5 <= result.detected <= 1.0
    assert result.report["n"] == round(result.detected * 60)
    # The pipeline reads most faces as the direct crop does; a broken crop would fall to chance (~25 %).
    assert result.round_trip_accuracy > 0.45
    assert result.gap_points == round(100 * (result.direct_accuracy - result.round_trip_accuracy), 2)
    summary = result.as_dict()
    bands = summary["by_face_side"].values()
    assert sum(b["faces"] for b in bands) == result.report["n"]
    weighted = sum(b["faces"] * b["round_trip_accuracy"] for b in bands) / result.report["n"]
    assert weighted == pytest.approx(result.round_trip_accuracy, abs=1e-3)
    assert set(summary["per_class_recall"]) == {"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}


def test_scene_placement_cuts_the_face_back_out(public_test) -> None:
    """The returned placement is exact: undoing it recovers the face (what bench/framing_gap.py uses)."""
    import cv2

    from bench.framing_gap import exact_square

    rng = np.random.default_rng(5)
    for face in public_test[0][:10]:
        frame, placed = compose_scene(face, rng)
        back = exact_square(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), placed)
        inner = (slice(4, 44), slice(4, 44))  # the tile's edge blends with the scene
        assert np.corrcoef(back[inner].ravel().astype(float), face[inner].ravel().astype(float))[0, 1] > 0.9


def test_a_smaller_capture_shows_the_same_view_with_fewer_pixels(public_test) -> None:
    """``rescale_scene`` is what a browser asked for a smaller capture delivers: the whole view, scaled."""
    from emotion.training.synthetic import rescale_scene

    rng = np.random.default_rng(11)
    detector = YuNetDetector()
    found = 0
    for face in public_test[0][:12]:
        frame, placed = compose_scene(face, rng)
        small, seen = rescale_scene(frame, placed, 320)
        assert small.shape == (240, 320, 3) and small.dtype == np.uint8
        assert (seen.cx, seen.cy, seen.side) == pytest.approx((placed.cx / 2, placed.cy / 2, placed.side / 2), abs=0.51)
        boxes = [d.box for d in detector.detect(small)]
        found += any(x <= seen.cx <= x + w and y <= seen.cy <= y + h for (x, y, w, h) in boxes)
        assert rescale_scene(frame, placed, 640) == (frame, placed)  # the scene's own width: unchanged
    assert found >= 8
    with pytest.raises(ValueError, match="at least 16"):
        rescale_scene(frame, placed, 8)


def test_the_round_trip_reads_scenes_at_the_asked_width(pipeline: FramePipeline, classifier: EmotionClassifier,
                                                        public_test) -> None:
    images, labels = public_test[0][:40], public_test[1][:40]
    full = round_trip(pipeline, classifier, images, labels, seed=2)
    small = round_trip(pipeline, classifier, images, labels, seed=2, scene_width=320)
    assert small.scene_width == 320 and small.as_dict()["scene_width"] == 320
    assert "read at 320 px wide" in small.as_dict()["scene"] and "read at" not in full.as_dict()["scene"]
    # The same scenes: the detector works on a 320-px copy either way, so it finds nearly the same faces,
    # and the faces (55-150 px at 320) are still larger than the classifier's 48 px.
    assert abs(small.detected - full.detected) <= 0.1
    assert small.round_trip_accuracy > 0.45
