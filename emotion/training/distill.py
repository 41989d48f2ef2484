"""Soft labels from an ensemble of trained models: ``python -m emotion.training.distill --teachers a.tflite b.tflite``.

Models trained from different seeds make different mistakes, so their averaged probabilities beat each
one alone; serving several would cost several times the time per face. Instead their averaged
probabilities on the training faces become soft targets for one student (``python -m emotion.training.train
--soft-labels ...``). Each teacher reads every face with flips and small shifts — test-time
augmentation we cannot afford when serving, but can afford once, offline, for the targets.

Writes an ``.npz`` of (N, 7) probabilities in the Training split's order, with the teachers' names and a
fingerprint of the labels so a file made for another copy of FER2013 is refused. Prints each teacher's
and the ensemble's PublicTest accuracy (PrivateTest is never read here).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import config
from emotion.classifier import EmotionClassifier
from emotion.training.data import load_raw_split
from emotion.labels import NUM_CLASSES
from emotion.training.metrics import accuracy

# Pixel offsets read by each teacher (each also mirrored by the classifier's flip TTA). One pixel in
# each direction: +0.7 points on PublicTest for the served model, against +0.6 for two pixels.
TEACHER_SHIFTS: tuple[tuple[int, int], ...] = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


@dataclass(frozen=True)
class SoftLabels:
    """Averaged teacher probabilities for the Training split, and what made them."""

    probs: np.ndarray  # float32 (N, 7), rows sum to 1
    teachers: tuple[str, ...]
    labels_fingerprint: str


def labels_fingerprint(labels: np.ndarray) -> str:
    """A short hash of the label sequence: soft labels only fit the split (and order) they were made for."""
    return hashlib.sha256(np.asarray(labels, np.int64).tobytes()).hexdigest()[:16]


def shift_faces(faces: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Faces moved by (dy, dx) pixels, the uncovered border filled by repeating the edge."""
    pad = max(abs(dy), abs(dx))
    if pad == 0:
        return faces
    size = faces.shape[1]
    padded = np.pad(faces, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
    return padded[:, pad - dy : pad - dy + size, pad - dx : pad - dx + size]


def teacher_probabilities(classifier: EmotionClassifier, faces: np.ndarray,
                          shifts: tuple[tuple[int, int], ...] = TEACHER_SHIFTS) -> np.ndarray:
    """One teacher's probabilities for uint8 faces (N, 48, 48), averaged over ``shifts`` (and flips)."""
    total = np.zeros((len(faces), NUM_CLASSES), np.float64)
    for dy, dx in shifts:
        total += classifier.predict_proba_batched(shift_faces(faces, dy, dx), batch=512)
    return (total / len(shifts)).astype(np.float32)


def ensemble_probabilities(models: list[Path], faces: np.ndarray, cache_dir: Path | None = None,
                           num_threads: int = 1) -> list[np.ndarray]:
    """Each teacher's TTA probabilities for ``faces`` (average them for the ensemble).

    With ``cache_dir``, each teacher's result is kept under a hash of its model file and of the faces,
    so adding a teacher to an ensemble does not read every face again with the old ones (minutes each).
    """
    results = []
    for path in models:
        cached = None
        if cache_dir is not None:
            key = hashlib.sha256(Path(path).read_bytes() + faces.tobytes()).hexdigest()[:20]
            cached = cache_dir / f"{key}.npy"
            if cached.exists():
                results.append(np.load(cached))
                continue
        probs = teacher_probabilities(EmotionClassifier(path, flip_tta=True, num_threads=num_threads), faces)
        if cached is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            np.save(cached, probs)
        results.append(probs)
    return results


def save_soft_labels(path: Path, soft: SoftLabels) -> None:
    """Write soft labels as an ``.npz`` (probabilities, teacher names, label fingerprint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez(fh, probs=soft.probs, teachers=np.array(soft.teachers),
                 labels_fingerprint=np.array(soft.labels_fingerprint))


def load_soft_labels(path: Path, labels: np.ndarray) -> SoftLabels:
    """Read soft labels and check they were made for exactly these training labels."""
    if not Path(path).exists():
        raise FileNotFoundError(f"soft labels not found at {path}; make them with python -m emotion.training.distill")
    with np.load(path) as data:
        soft = SoftLabels(data["probs"].astype(np.float32), tuple(str(t) for t in data["teachers"]),
                          str(data["labels_fingerprint"]))
    if soft.probs.shape != (len(labels), NUM_CLASSES) or soft.labels_fingerprint != labels_fingerprint(labels):
        raise ValueError(f"soft labels in {path} were made for another training split "
                         f"({soft.probs.shape[0]} faces); make them again with python -m emotion.training.distill")
    return soft


def training_targets(labels: np.ndarray, soft: np.ndarray | None, distill_weight: float) -> np.ndarray:
    """Per-face target distributions: the one-hot label, mixed with the teachers' soft label if given."""
    onehot = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    if soft is None or distill_weight <= 0.0:
        return onehot
    return ((1.0 - distill_weight) * onehot + distill_weight * soft).astype(np.float32)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teachers", type=Path, nargs="+", required=True, help="TFLite models to average")
    p.add_argument("--weights", type=float, nargs="+", default=None,
                   help="one weight per teacher for the average (default: equal; chosen on PublicTest)")
    p.add_argument("--out", type=Path, default=config.CHECKPOINT_DIR / "soft_labels.npz")
    p.add_argument("--cache-dir", type=Path, default=config.CHECKPOINT_DIR / "teacher_cache",
                   help="each teacher's reading of each split, kept to mix other ensembles quickly")
    p.add_argument("--data", type=Path, default=config.FER2013_PATH)
    p.add_argument("--threads", type=int, default=1, help="interpreter threads per teacher")
    p.add_argument("--limit", type=int, default=None, help="only the first N faces of each split (tests)")
    args = p.parse_args(argv)
    for path in args.teachers:
        if not path.exists():
            print(f"teacher model not found: {path}", file=sys.stderr)
            return 2
    weights = np.ones(len(args.teachers)) if args.weights is None else np.asarray(args.weights, np.float64)
    if len(weights) != len(args.teachers) or np.any(weights < 0) or weights.sum() <= 0:
        print("--weights needs one non-negative weight per teacher", file=sys.stderr)
        return 2
    weights = weights / weights.sum()

    public_faces, public_labels = load_raw_split(args.data, "public")
    train_faces, train_labels = load_raw_split(args.data, "train")
    if args.limit:
        public_faces, public_labels = public_faces[: args.limit], public_labels[: args.limit]
        train_faces, train_labels = train_faces[: args.limit], train_labels[: args.limit]

    cache = args.cache_dir
    public = ensemble_probabilities(args.teachers, public_faces, cache, args.threads)
    for path, probs in zip(args.teachers, public):
        print(f"teacher {path}: PublicTest {accuracy(public_labels, probs):.4f} (flip + shift TTA)", flush=True)
    mixed = np.tensordot(weights, np.asarray(public), axes=1)
    print(f"ensemble of {len(public)}: PublicTest {accuracy(public_labels, mixed):.4f}", flush=True)

    train = np.tensordot(weights, np.asarray(ensemble_probabilities(args.teachers, train_faces, cache,
                                                                      args.threads)), axes=1).astype(np.float32)
    print(f"ensemble on the Training faces: accuracy {accuracy(train_labels, train):.4f}", flush=True)
    save_soft_labels(args.out, SoftLabels(train, tuple(str(t) for t in args.teachers),
                                          labels_fingerprint(train_labels)))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
