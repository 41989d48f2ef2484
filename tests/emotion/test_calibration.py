"""'Calibrate to my face': a resting face that reads sad or angry is corrected, and nothing else moves much."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import config
from emotion.calibration import (CalibrationError, NeutralReference, calibrate, file_sha256, load_reference,
                                 measure_reference)
from emotion.labels import EMOTIONS, NUM_CLASSES, label_index


def _dist(**shares: float) -> np.ndarray:
    """A distribution with the named shares and the rest spread evenly over the other emotions."""
    p = np.zeros(NUM_CLASSES)
    for name, share in shares.items():
        p[label_index(name)] = share
    rest = [i for i in range(NUM_CLASSES) if p[i] == 0]
    p[rest] = (1.0 - p.sum()) / len(rest)
    return p


@pytest.fixture
def reference() -> NeutralReference:
    rng = np.random.default_rng(0)
    # many resting faces that read mostly neutral, with person-to-person spread
    faces = np.array([_dist(neutral=0.7, sad=0.1) for _ in range(400)])
    faces = faces * np.exp(rng.normal(0, 1.0, faces.shape))  # about the spread of real resting faces
    return measure_reference(faces / faces.sum(axis=1, keepdims=True), "x")


def test_a_resting_face_that_reads_sad_reads_neutral_after_calibration(reference: NeutralReference) -> None:
    resting = np.array([_dist(sad=0.42, neutral=0.38)] * 15)
    cal = calibrate(resting, reference)
    before = resting[0]
    after = cal.apply(before)
    assert EMOTIONS[int(np.argmax(before))] == "sad"
    assert EMOTIONS[int(np.argmax(after))] == "neutral"
    assert after.sum() == pytest.approx(1.0, abs=1e-5)


def test_clear_expressions_keep_their_label_after_calibration(reference: NeutralReference) -> None:
    cal = calibrate(np.array([_dist(sad=0.42, neutral=0.38)] * 15), reference)
    for name in ("happy", "surprise", "angry"):
        reading = _dist(**{name: 0.8})
        assert EMOTIONS[int(np.argmax(cal.apply(reading)))] == name
    batch = cal.apply(np.array([_dist(happy=0.8), _dist(angry=0.8)]))
    assert batch.shape == (2, NUM_CLASSES)


def test_the_offsets_never_exceed_the_measured_spread_of_resting_faces(reference: NeutralReference) -> None:
    # a face whose every emotion reads far below the average resting face's: the offsets would be ~ -6
    extreme = np.array([[1e-4] * (NUM_CLASSES - 1) + [1 - 6e-4]] * 20)
    cal = calibrate(extreme, reference)
    assert np.all(np.abs(cal.offsets) <= reference.max_offset + 1e-9)
    assert np.any(np.isclose(np.abs(cal.offsets), reference.max_offset))


def test_too_few_readings_give_a_sentence_not_a_calibration(reference: NeutralReference) -> None:
    with pytest.raises(CalibrationError, match="relaxed face"):
        calibrate(np.array([_dist(neutral=0.8)] * 2), reference)
    with pytest.raises(CalibrationError):
        calibrate(np.zeros((0, NUM_CLASSES)), reference)
    nan = np.full((10, NUM_CLASSES), np.nan)
    with pytest.raises(CalibrationError):
        calibrate(nan, reference)


def test_a_reference_for_another_model_or_a_damaged_file_is_ignored(tmp_path: Path,
                                                                    reference: NeutralReference) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(b"model-a")
    ref_path = tmp_path / "ref.json"
    good = NeutralReference(reference.mean_log_probs, reference.max_offset, 400, file_sha256(model))
    ref_path.write_text(json.dumps(good.as_dict()))
    assert load_reference(ref_path, model) is not None
    model.write_bytes(b"model-b")  # retrained: the reference no longer describes it
    assert load_reference(ref_path, model) is None
    ref_path.write_text("{not json")
    assert load_reference(ref_path) is None
    ref_path.write_text(json.dumps({"mean_log_probs": [0] * 6, "max_offset": [1] * 7}))
    assert load_reference(ref_path) is None


def test_the_committed_reference_describes_the_served_model() -> None:
    reference = load_reference(config.NEUTRAL_REFERENCE_PATH, config.TFLITE_MODEL_PATH)
    assert reference is not None, "run python -m emotion.training.neutral_reference after changing the model"
    assert EMOTIONS[int(np.argmax(reference.mean_log_probs))] == "neutral"
    assert reference.faces > 500  # PublicTest has 626 neutral faces


def test_the_calibrator_looks_for_three_seconds_then_corrects_later_readings(reference: NeutralReference) -> None:
    from emotion.calibration import FaceCalibrator

    calibrator = FaceCalibrator(reference, look_s=3.0)
    resting = _dist(sad=0.42, neutral=0.38)
    assert calibrator.state(0.0).kind == "off"
    calibrator.start(10.0)
    t = 10.0
    while t < 13.2:
        out = calibrator.correct(resting, t)
        if t < 13.0:
            assert calibrator.state(t).kind == "looking" and np.allclose(out, resting)  # not corrected yet
        t += 0.2
    assert calibrator.state(t).kind == "on"
    assert EMOTIONS[int(np.argmax(calibrator.correct(resting, t)))] == "neutral"
    assert calibrator.correct(None, t) is None
    calibrator.clear()
    assert calibrator.state(t).kind == "off" and np.allclose(calibrator.correct(resting, t), resting)


def test_a_look_without_a_face_fails_with_a_sentence_and_keeps_readings_raw(reference: NeutralReference) -> None:
    from emotion.calibration import FaceCalibrator

    calibrator = FaceCalibrator(reference, look_s=3.0)
    calibrator.start(0.0)
    for i in range(20):
        calibrator.correct(None, i * 0.2)
    state = calibrator.state(4.0)
    assert state.kind == "failed" and "relaxed face" in state.message
    reading = _dist(sad=0.5)
    assert np.allclose(calibrator.correct(reading, 5.0), reading)


def test_a_look_that_was_an_expression_is_refused_not_calibrated_away(reference: NeutralReference) -> None:
    """Smiling through the 'neutral' look would teach the app that this face smiles at rest."""
    assert reference.refuse_above is not None
    with pytest.raises(CalibrationError, match="looked happy"):
        calibrate(np.array([_dist(happy=0.9)] * 15), reference)
    calibrate(np.array([_dist(sad=0.42, neutral=0.38)] * 15), reference)  # a resting face that reads sad: fine
