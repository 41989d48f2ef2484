"""The round trip puts FER2013 faces into webcam-like frames and reads them back through the pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from emotion.classifier import EmotionClassifier
from emotion.detector import YuNetDetector
from emotion.pipeline import FramePipeline
from emotion.roundtrip import round_trip
from emotion.synthetic import compose_scene


def test_composed_scene_puts_one_findable_face_at_the_returned_centre(public_test) -> None:
    rng = np.random.default_rng(3)
    detector = YuNetDetector()
    hits = 0
    for face in public_test[0][:30]:
        frame, (cx, cy), side = compose_scene(face, rng)
        assert 110 <= side <= 300
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
