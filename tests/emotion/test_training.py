"""The training script really trains, checkpoints, resumes and exports (a few batches, not the model).

TensorFlow only ever runs in subprocesses here: once imported it makes a later import of aiortc's
libsrtp binding crash the process (segmentation fault), and the app tests import aiortc.
"""

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emotion.training.runs import new_run_id, run_seed
from tests.emotion.train_command import ROOT, TINY_WIDTHS, run_train, train_dirs


@pytest.fixture(scope="module")
def first_epoch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """A two-epoch smoke run that a tiny time budget stops after its first epoch, as a session ending would:
    run once (TensorFlow's start costs tens of seconds here); each test resumes its own copy of it."""
    folder = tmp_path_factory.mktemp("first-epoch")
    return folder, run_train("--epochs", "2", "--max-minutes", "0.001", *TINY_WIDTHS, *train_dirs(folder))


def copy_of_first_epoch(first_epoch: tuple[Path, subprocess.CompletedProcess], tmp_path: Path) -> list[str]:
    """This test's copy of the checkpoint and models folders that the first epoch left; their CLI arguments."""
    folder, first = first_epoch
    assert first.returncode == 0, first.stderr[-2000:]
    for name in ("ckpt", "models"):
        shutil.copytree(folder / name, tmp_path / name)
    return train_dirs(tmp_path)


@pytest.mark.needs_shared("fer2013")  # the subprocess reads FER2013
def test_smoke_training_checkpoints_and_resumes(first_epoch, tmp_path: Path) -> None:
    dirs = copy_of_first_epoch(first_epoch, tmp_path)
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    assert state["epoch"] == 1
    assert (tmp_path / "ckpt" / "last.keras").exists()

    second = run_train("--resume", *dirs)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming run" in second.stdout
    state2 = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    assert state2["epoch"] == 2 and state2["config"]["run_id"] == state["config"]["run_id"]
    with (tmp_path / "models" / "history.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert len({r["run_id"] for r in rows}) == 1
    assert all(0.0 <= float(r["public_acc"]) <= 1.0 for r in rows)


EXPORT_CHECK = """
import sys
import keras
import numpy as np
from emotion.classifier import EmotionClassifier
from emotion.training.export import export_tflite
from emotion.training.model import build_model
from emotion.preprocess import normalize_faces

model = build_model(widths=(8, 8, 16, 16), dense_units=16)
rng = np.random.default_rng(0)
# Non-trivial batch-norm statistics, so a broken export cannot match by chance.
for layer in model.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
        n = layer.moving_mean.shape[0]
        layer.moving_mean.assign(rng.normal(0, 0.5, n).astype("float32"))
        layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype("float32"))
size = export_tflite(model, sys.argv[1])
faces = rng.integers(0, 255, (3, 48, 48)).astype(np.uint8)
served = EmotionClassifier(sys.argv[1], flip_tta=False).predict_proba(faces)
reference = model(normalize_faces(faces).astype("float32")[..., None], training=False).numpy()
print(size, float(np.abs(served - reference).max()), int(np.isfinite(served).all()))
"""


def test_exported_tflite_matches_keras(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", EXPORT_CHECK, str(tmp_path / "m.tflite")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    size, max_difference, finite = done.stdout.split()[-3:]
    assert int(size) > 1000
    assert int(finite) == 1
    assert float(max_difference) < 1e-4


def test_each_new_run_draws_its_own_seed_unless_told() -> None:
    """A fixed seed made every warm-started run replay the same shuffles and augmented faces."""
    first, second = run_seed("20261125-210428", None), run_seed("20261125-214023", None)
    assert first != second and run_seed("20261125-210428", None) == first
    assert run_seed("20261125-210428", 7) == 7
    assert 0 <= first < 2**31 - 1
    assert run_seed(new_run_id(), None) != first  # a run started now is not the one of 2026-11-25


@pytest.mark.needs_shared("fer2013")  # the subprocess reads FER2013
def test_resume_can_replan_the_schedule(first_epoch, tmp_path: Path) -> None:
    """A session with more or less time than planned: ``--resume --epochs N`` re-plans the cosine to end at N."""
    dirs = copy_of_first_epoch(first_epoch, tmp_path)
    assert json.loads((tmp_path / "ckpt" / "state.json").read_text())["epoch"] == 1

    second = run_train("--resume", "--epochs", "3", *dirs)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "re-planned: the schedule now ends at epoch 3 (was 2)" in second.stdout
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    assert state["epoch"] == 3 and state["config"]["epochs"] == 3
