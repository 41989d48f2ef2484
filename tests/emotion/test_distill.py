"""Soft labels from an ensemble (emotion.training.distill) and training a student on them (emotion.training.train)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import config
from emotion.training.data import load_raw_split
from emotion.training.distill import (
    SoftLabels,
    labels_fingerprint,
    load_soft_labels,
    save_soft_labels,
    shift_faces,
    teacher_probabilities,
    training_targets,
)
from emotion.classifier import EmotionClassifier
from tests.emotion.train_command import TINY_WIDTHS, run_train, train_dirs

ROOT = Path(__file__).resolve().parents[2]


def test_shift_moves_pixels_and_repeats_the_edge() -> None:
    faces = np.arange(2 * 48 * 48, dtype=np.uint16).reshape(2, 48, 48).astype(np.uint8)
    down = shift_faces(faces, 1, 0)
    assert down.shape == faces.shape
    assert np.array_equal(down[:, 1:], faces[:, :-1])  # content moved one row down
    assert np.array_equal(down[:, 0], faces[:, 0])  # the uncovered row repeats the edge
    left = shift_faces(faces, 0, -2)
    assert np.array_equal(left[:, :, :-2], faces[:, :, 2:])
    assert np.array_equal(shift_faces(faces, 0, 0), faces)


def test_targets_mix_the_true_label_with_the_soft_label() -> None:
    labels = np.array([0, 3])
    soft = np.full((2, 7), 1 / 7, np.float32)
    assert np.array_equal(training_targets(labels, None, 0.7), np.eye(7, dtype=np.float32)[labels])
    mixed = training_targets(labels, soft, 0.7)
    assert np.allclose(mixed.sum(axis=1), 1.0)
    assert mixed[0, 0] == pytest.approx(0.3 + 0.7 / 7)
    assert mixed[1, 0] == pytest.approx(0.7 / 7)


def test_soft_labels_made_for_other_labels_are_refused(tmp_path: Path) -> None:
    labels = np.array([0, 1, 2, 3])
    probs = np.full((4, 7), 1 / 7, np.float32)
    path = tmp_path / "soft.npz"
    save_soft_labels(path, SoftLabels(probs, ("a.tflite", "b.tflite"), labels_fingerprint(labels)))
    loaded = load_soft_labels(path, labels)
    assert loaded.teachers == ("a.tflite", "b.tflite") and np.allclose(loaded.probs, probs)
    with pytest.raises(ValueError, match="another training split"):
        load_soft_labels(path, np.array([0, 1, 2, 4]))
    with pytest.raises(FileNotFoundError, match="emotion.training.distill"):
        load_soft_labels(tmp_path / "missing.npz", labels)


def test_teacher_reads_faces_better_with_shifts_than_a_random_guess(public_test) -> None:
    images, labels = public_test[0][:300], public_test[1][:300]
    classifier = EmotionClassifier(config.TFLITE_MODEL_PATH)
    probs = teacher_probabilities(classifier, images)
    assert probs.shape == (300, 7) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    # The shifted reads are averaged, so they differ from the single centred read but agree mostly.
    centred = classifier.predict_proba(images)
    assert not np.allclose(probs, centred)
    assert np.mean(probs.argmax(1) == centred.argmax(1)) > 0.85
    assert np.mean(probs.argmax(1) == labels) > 0.5


@pytest.mark.needs_shared("fer2013")  # the subprocess reads FER2013
def test_distill_cli_writes_soft_labels_and_reuses_each_teachers_reading(tmp_path: Path) -> None:
    out = tmp_path / "soft.npz"
    cmd = [sys.executable, "-m", "emotion.training.distill", "--teachers", str(config.TFLITE_MODEL_PATH),
           "--out", str(out), "--limit", "64", "--cache-dir", str(tmp_path / "teacher_cache")]
    first = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "PublicTest" in first.stdout and out.exists()
    with np.load(out) as data:
        assert data["probs"].shape == (64, 7)
        assert np.allclose(data["probs"].sum(axis=1), 1.0, atol=1e-4)
    cached = sorted((tmp_path / "teacher_cache").glob("*.npy"))
    assert len(cached) == 2  # one teacher, two splits
    stamps = [p.stat().st_mtime_ns for p in cached]
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0
    assert [p.stat().st_mtime_ns for p in cached] == stamps

    missing = subprocess.run([*cmd[:4], str(tmp_path / "nope.tflite"), *cmd[5:]], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "not found" in missing.stderr
    unweighted = subprocess.run([*cmd, "--weights", "1", "2"], cwd=ROOT, capture_output=True, text=True,
                                timeout=300)
    assert unweighted.returncode == 2 and "one non-negative weight per teacher" in unweighted.stderr


def test_student_trains_on_soft_labels_and_records_them(tmp_path: Path) -> None:
    _, labels = load_raw_split(config.FER2013_PATH, "train")
    soft = np.full((len(labels), 7), 1 / 7, np.float32)
    good, bad = tmp_path / "soft.npz", tmp_path / "other.npz"
    save_soft_labels(good, SoftLabels(soft, ("t.tflite",), labels_fingerprint(labels)))
    save_soft_labels(bad, SoftLabels(soft[:-1], ("t.tflite",), labels_fingerprint(labels[:-1])))
    dirs = train_dirs(tmp_path)

    refused = run_train("--soft-labels", str(bad), *dirs)
    assert refused.returncode == 2 and "another training split" in refused.stderr

    done = run_train("--epochs", "1", "--soft-labels", str(good), "--distill-weight", "0.6", *TINY_WIDTHS, *dirs)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "distilling: 60% of each target" in done.stdout
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    assert state["config"]["soft_labels"] == str(good)
    assert state["config"]["distill_weight"] == pytest.approx(0.6)
