"""FER+'s ten annotators per FER2013 image, used in a class-aware way.

``fer2013_ferplus.npz`` (see ../shared/README.md) carries, per row, how many of FER+'s 10 annotators chose
each of: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF (not a face);
-1 where the row was not matched. FER+'s majority disagrees with the FER2013 label on 37% of the images, most
on fear (87%) and disgust (69%), and FER+ has almost no fear or disgust left: fine-tuning toward its votes as
they are made a model read posed fear and disgust far worse. So the votes are used only within FER2013's
class structure:

* faces FER+ calls "not a face" by a majority (NF >= 5) are dropped from training;
* each face's target blends its FER2013 label with the votes (mapped to the seven labels, contempt counted
  as disgust) by a share that shrinks for the classes FER+ makes rare: ``blend * min(1, FER+'s count of the
  class / FER2013's count)``, measured on the training split, so fear and disgust keep their labels;
* each face is weighted by how many annotators agree with its label, and the class weights are then
  re-normalised over those weights, so agreement reorders faces *within* a class but no class loses weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion.labels import NUM_CLASSES, label_index

VOTE_COLUMNS: tuple[str, ...] = ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                                 "contempt", "unknown", "NF")
# FER+'s emotion columns in FER2013's label space; contempt has no FER2013 class and is closest to disgust.
_TO_LABEL: dict[str, str] = {"neutral": "neutral", "happiness": "happy", "surprise": "surprise",
                             "sadness": "sad", "anger": "angry", "disgust": "disgust", "fear": "fear",
                             "contempt": "disgust"}
NOT_A_FACE_VOTES: int = 5


def votes_to_labels_matrix() -> np.ndarray:
    """A (10, 7) matrix mapping FER+ vote columns onto FER2013's seven labels (unknown and NF map nowhere)."""
    m = np.zeros((len(VOTE_COLUMNS), NUM_CLASSES), dtype=np.float32)
    for i, column in enumerate(VOTE_COLUMNS):
        if column in _TO_LABEL:
            m[i, label_index(_TO_LABEL[column])] = 1.0
    return m


def vote_distribution(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per face: the annotators' distribution over the seven labels and whether it exists.

    A face has none when it was not matched (-1) or got no emotion vote (all unknown / not a face).
    """
    v = np.clip(votes.astype(np.float32), 0, None) @ votes_to_labels_matrix()
    total = v.sum(axis=1, keepdims=True)
    valid = (votes.min(axis=1) >= 0) & (total[:, 0] > 0)
    dist = np.where(total > 0, v / np.maximum(total, 1e-9), 0.0).astype(np.float32)
    return dist, valid


def majority_labels(votes: np.ndarray) -> np.ndarray:
    """FER+'s majority label per face in FER2013's seven labels (contempt as disgust); -1 where it has none:
    unmatched, no emotion vote, or the largest column is "unknown" or "not a face"."""
    dist, valid = vote_distribution(votes)
    clipped = np.clip(votes, 0, None)
    emotion_top = clipped[:, :8].max(axis=1)
    other_top = clipped[:, 8:].max(axis=1)
    label = np.argmax(dist, axis=1)
    return np.where(valid & (emotion_top > other_top), label, -1).astype(np.int64)


@dataclass(frozen=True)
class VoteRecipe:
    """How the votes shape training: the largest share of the target the votes may take, and how strongly a
    face's weight follows its annotators' agreement with its label (0 = not at all, 1 = weight = agreement)."""

    blend: float = 0.3
    agreement_weight: float = 0.5


def class_blend_shares(labels: np.ndarray, votes: np.ndarray, blend: float) -> np.ndarray:
    """Per class, the share of the target the votes may take: ``blend`` scaled down where FER+'s majority
    has fewer faces of the class than FER2013's labels (fear and disgust), measured on these faces."""
    fer_counts = np.bincount(labels, minlength=NUM_CLASSES).astype(np.float64)
    majority = majority_labels(votes)
    plus_counts = np.bincount(majority[majority >= 0], minlength=NUM_CLASSES).astype(np.float64)
    ratio = np.minimum(1.0, plus_counts / np.maximum(fer_counts, 1.0))
    return (blend * ratio).astype(np.float32)


@dataclass(frozen=True)
class VoteTargets:
    """What training uses: which faces to keep, their target distributions and their sample weights."""

    keep: np.ndarray
    targets: np.ndarray
    sample_weights: np.ndarray
    blend_shares: np.ndarray


def vote_targets(labels: np.ndarray, votes: np.ndarray, class_weights: np.ndarray,
                 recipe: VoteRecipe = VoteRecipe()) -> VoteTargets:
    """Targets and sample weights for training on FER2013 labels with FER+ votes (see the module docstring).

    ``class_weights`` are the per-class loss weights without votes; the result's weights keep each class's
    total weight equal to what those give, over the kept faces.
    """
    votes = np.asarray(votes)
    keep = ~((votes[:, VOTE_COLUMNS.index("NF")] >= NOT_A_FACE_VOTES) & (votes.min(axis=1) >= 0))
    labels, votes = labels[keep], votes[keep]
    onehot = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    dist, valid = vote_distribution(votes)
    shares = class_blend_shares(labels, votes, recipe.blend)
    share = np.where(valid, shares[labels], 0.0)[:, None]
    targets = ((1.0 - share) * onehot + share * dist).astype(np.float32)

    agreement = np.where(valid, dist[np.arange(len(labels)), labels], 1.0)  # unmatched: trust the label
    raw = (1.0 - recipe.agreement_weight) + recipe.agreement_weight * agreement
    weights = np.empty(len(labels), dtype=np.float32)
    for c in range(NUM_CLASSES):
        in_class = labels == c
        if in_class.any():
            # the class keeps its total weight (count x class weight); agreement only reorders inside it
            weights[in_class] = raw[in_class] * class_weights[c] * in_class.sum() / raw[in_class].sum()
    return VoteTargets(keep, targets, weights, shares)
