"""Loading FER2013 from the shared compressed array file, split by its own Usage column.

The reference file is ``fer2013_ferplus.npz`` (the original lossless pixels and FER+'s annotator votes);
``fer2013.npz`` (the JPEG copy with a per-image contrast stretch) reads the same way, without votes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotion.preprocess import normalize_faces

# The ``usage`` codes of ../shared/data/fer2013*.npz.
SPLITS: dict[str, int] = {"train": 0, "public": 1, "private": 2}


@dataclass(frozen=True)
class FaceSet:
    """Contrast-normalised 48x48 faces (uint8, N x 48 x 48) and their labels (int, EMOTIONS order)."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def load_raw_split(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Raw (un-normalised) faces and labels of one split (``train``, ``public`` or ``private``).

    For the served classifier, which normalises faces itself as it does webcam crops.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    if not Path(path).exists():
        raise FileNotFoundError(f"FER2013 not found at {path} (see ../shared/README.md)")
    with np.load(path) as data:
        mask = data["usage"] == SPLITS[split]
        return data["images"][mask], data["labels"][mask].astype(np.int64)


def load_split(path: Path, split: str) -> FaceSet:
    """Load one split (``train``, ``public`` or ``private``) of FER2013, normalised for the CNN."""
    images, labels = load_raw_split(path, split)
    return FaceSet(normalize_faces(images), labels)



def load_votes(path: Path, split: str) -> np.ndarray | None:
    """FER+'s annotator votes (N x 10, ``emotion.training.ferplus.VOTE_COLUMNS``) of one split, or ``None``
    for a file without them (the older ``fer2013.npz``)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    with np.load(path) as data:
        if "ferplus_votes" not in data.files:
            return None
        return data["ferplus_votes"][data["usage"] == SPLITS[split]].astype(np.int64)
