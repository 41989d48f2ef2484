"""Fitting the mood model on the labelled tracks, and judging music choices against those labels.

Everything here is numpy and deterministic (fixed fold assignment, Newton's method from zero), so
``python -m recommender.fit_moods`` writes the same file byte for byte. Folds are *by artist*: a model is
never tested on an artist it was fitted on (the labelled set has 503 artists for 630 tracks, and an
artist's tracks sound alike, so track-level folds would flatter every figure).

How each emotion is judged (``LABEL_TESTS``): the labelled moods it should pick ("aim") against the ones
that contradict it ("avoid"). sad, happy and angry follow the labels directly; the others have no label of
their own and are judged by their quadrant of Russell's circumplex (fear: aroused and unpleasant, so not
Calm and not Happy; disgust: unpleasant, so neither Happy nor Calm; surprise: aroused, so neither Sad nor
Calm). neutral sits at the circumplex's centre: no mood is its aim or its opposite, so it has no test
(its labelled mix is reported instead). ``LIFT_TEST`` judges the end of lift's path (calm and positive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.catalog import read_catalogue
from recommender.mood_model import (
    FEATURES, FORMS, MOODS, MoodModel, blended_distance, design_matrix, feature_ranks, softmax,
)
from recommender.moods import DEFAULT_POINTS, MoodPoint

FOLDS: int = 5
FOLD_SEED: int = 2026
L2_GRID: tuple[float, ...] = (0.0001, 0.001, 0.01, 0.1, 1.0)
ALPHA_GRID: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0)


@dataclass(frozen=True, slots=True)
class LabelTest:
    """The labelled moods an emotion should pick (``aim``) and those that contradict it (``avoid``)."""

    aim: tuple[str, ...]
    avoid: tuple[str, ...]

    @property
    def testable(self) -> bool:
        """False for an emotion no labelled mood contradicts (neutral)."""
        return bool(self.aim and self.avoid)


LABEL_TESTS: dict[str, LabelTest] = {
    "sad": LabelTest(("Sad",), ("Happy", "Energetic")),
    "happy": LabelTest(("Happy",), ("Sad", "Calm")),
    "angry": LabelTest(("Energetic",), ("Calm", "Sad")),
    "fear": LabelTest(("Energetic",), ("Calm", "Happy")),
    "disgust": LabelTest(("Sad", "Energetic"), ("Happy", "Calm")),
    "surprise": LabelTest(("Energetic", "Happy"), ("Sad", "Calm")),
    "neutral": LabelTest((), ()),
}
LIFT_TEST = LabelTest(("Calm", "Happy"), ("Sad", "Energetic"))
# the emotions whose mood has a label of its own: the model's blend is chosen on these
LABELLED_EMOTIONS: tuple[str, ...] = ("sad", "happy", "angry")


@dataclass(frozen=True, slots=True)
class LabelledCatalogue:
    """The catalogue's rank features and, for its labelled rows, mood index and artist."""

    ranks: np.ndarray  # (N, len(FEATURES)), ranks over the whole catalogue
    ids: list[str]
    labelled: np.ndarray  # rows with a mood label
    labels: np.ndarray  # (len(labelled),) index into MOODS
    artists: list[str]  # artist key of each labelled row


def read_labelled_catalogue(path: Path) -> LabelledCatalogue:
    """Read ``data/catalogue.csv.gz``: features ranked over every track, labels where the file has them."""
    rows = list(read_catalogue(path))
    columns = {name: np.array([np.nan if r[name] is None else r[name] for r in rows], dtype=np.float64)
               for name in FEATURES}
    labelled = [i for i, r in enumerate(rows) if r["mood"] in MOODS]
    return LabelledCatalogue(
        ranks=feature_ranks(columns), ids=[r["id"] for r in rows], labelled=np.array(labelled, dtype=np.int64),
        labels=np.array([MOODS.index(rows[i]["mood"]) for i in labelled], dtype=np.int64),
        artists=[rows[i]["primary_artist"] for i in labelled],
    )


def artist_folds(artists: Sequence[str], folds: int = FOLDS, seed: int = FOLD_SEED) -> np.ndarray:
    """Fold number of each item, the same for every track of an artist (artists dealt out in a fixed shuffle)."""
    unique = sorted(set(artists))
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[j]: pos % folds for pos, j in enumerate(order)}
    return np.array([fold_of[a] for a in artists], dtype=np.int64)


def fit_softmax(design: np.ndarray, labels: np.ndarray, l2: float, classes: int = len(MOODS)) -> np.ndarray:
    """Multinomial logistic regression by Newton's method: (terms, classes) coefficients.

    Minimises mean cross-entropy + l2/2 * |weights|^2 (the intercepts are barely penalised); deterministic.
    """
    n, terms = design.shape
    onehot = np.eye(classes)[labels]
    penalty = np.full(terms, float(l2))
    penalty[0] = 1e-6  # the intercept: a tiny penalty only fixes softmax's free shift
    penalty = np.tile(penalty, classes)
    weights = np.zeros(terms * classes)
    for _ in range(100):
        coef = weights.reshape(classes, terms).T
        proba = softmax(design @ coef)
        gradient = ((proba - onehot).T @ design).ravel() / n + penalty * weights
        hessian = np.empty((terms * classes, terms * classes))
        for a in range(classes):
            for b in range(classes):
                w = proba[:, a] * ((a == b) - proba[:, b])
                hessian[a * terms:(a + 1) * terms, b * terms:(b + 1) * terms] = (design * w[:, None]).T @ design / n
        step = np.linalg.solve(hessian + np.diag(penalty), gradient)
        weights -= step
        if np.abs(step).max() < 1e-10:
            break
    return weights.reshape(classes, terms).T


def out_of_fold_proba(ranks: np.ndarray, labels: np.ndarray, folds: np.ndarray, form: str, l2: float) -> np.ndarray:
    """P(mood) of each labelled track from the model fitted without its fold's artists."""
    proba = np.empty((len(labels), len(MOODS)))
    design = design_matrix(ranks, form)
    for fold in np.unique(folds):
        test = folds == fold
        coef = fit_softmax(design[~test], labels[~test], l2)
        proba[test] = softmax(design[test] @ coef)
    return proba


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve: the chance a positive outscores a negative (ties count half)."""
    positive = np.asarray(positive, dtype=bool)
    pos, neg = scores[positive], scores[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    ranks = np.empty(len(order))
    values = np.concatenate([pos, neg])[order]
    # average ranks over ties
    _, start, counts = np.unique(values, return_index=True, return_counts=True)
    average = start + (counts - 1) / 2.0 + 1
    ranks[order] = np.repeat(average, counts)
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def mood_distance(proba: np.ndarray, points: np.ndarray, centroids: np.ndarray, alpha: float,
                  point: MoodPoint) -> np.ndarray:
    """The selection's distance of each track to ``point`` (see ``recommender.mood_model``); lower fits better."""
    own = np.hypot(points[:, 0] - point.valence, points[:, 1] - point.energy)
    to_centroids = np.hypot(centroids[:, 0] - point.valence, centroids[:, 1] - point.energy)
    return blended_distance(proba, own, to_centroids, alpha)


def label_auc(distance: np.ndarray, labels: np.ndarray, test: LabelTest) -> float:
    """AUC of ``test``'s aim moods against its avoid moods, nearer counting as a better fit."""
    aim = np.isin(labels, [MOODS.index(m) for m in test.aim])
    avoid = np.isin(labels, [MOODS.index(m) for m in test.avoid])
    keep = aim | avoid
    return auc(-distance[keep], aim[keep])


def centroids_of(points: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Median rank valence/energy of each mood's tracks."""
    return np.array([np.median(points[labels == m], axis=0) for m in range(len(MOODS))])


@dataclass(frozen=True, slots=True)
class Choice:
    """What cross-validation chose, and the figures it chose by."""

    form: str
    l2: float
    alpha: float
    log_loss: dict[str, float]  # "form l2" -> mean held-out cross-entropy
    alpha_auc: dict[str, float]  # alpha -> mean held-out AUC over LABELLED_EMOTIONS


def choose(ranks: np.ndarray, labels: np.ndarray, folds: np.ndarray,
           points: Mapping[str, MoodPoint] = DEFAULT_POINTS) -> Choice:
    """Choose the model's form and L2 by held-out cross-entropy, then ``alpha`` by held-out AUC.

    Every figure is out of fold (by artist): the form is the one whose probabilities generalise best, and
    ``alpha`` the blend whose distances best separate sad, happy and angry from their opposites.
    """
    losses: dict[str, float] = {}
    best: tuple[float, str, float] | None = None
    for form in FORMS:
        for l2 in L2_GRID:
            proba = out_of_fold_proba(ranks, labels, folds, form, l2)
            loss = float(-np.log(np.clip(proba[np.arange(len(labels)), labels], 1e-12, None)).mean())
            losses[f"{form} {l2:g}"] = round(loss, 4)
            if best is None or loss < best[0] - 1e-9:
                best = (loss, form, l2)
    assert best is not None
    _, form, l2 = best
    proba = out_of_fold_proba(ranks, labels, folds, form, l2)
    valence_energy = ranks[:, :2]
    # centroids per fold, from the fold's training tracks only
    centroids = {int(f): centroids_of(valence_energy[folds != f], labels[folds != f]) for f in np.unique(folds)}
    alpha_auc: dict[str, float] = {}
    best_alpha: tuple[float, float] | None = None
    for alpha in ALPHA_GRID:
        distances = {e: np.empty(len(labels)) for e in LABELLED_EMOTIONS}
        for f, cents in centroids.items():
            test = folds == f
            for e in LABELLED_EMOTIONS:
                distances[e][test] = mood_distance(proba[test], valence_energy[test], cents, alpha, points[e])
        mean_auc = float(np.mean([label_auc(distances[e], labels, LABEL_TESTS[e]) for e in LABELLED_EMOTIONS]))
        alpha_auc[f"{alpha:g}"] = round(mean_auc, 4)
        if best_alpha is None or mean_auc > best_alpha[0] + 1e-9:
            best_alpha = (mean_auc, alpha)
    assert best_alpha is not None
    return Choice(form=form, l2=l2, alpha=best_alpha[1], log_loss=losses, alpha_auc=alpha_auc)


def fit_model(ranks: np.ndarray, labels: np.ndarray, artists: Sequence[str],
              points: Mapping[str, MoodPoint] = DEFAULT_POINTS, summary: bool = True) -> MoodModel:
    """Choose by artist-fold cross-validation, then fit on every given track: the model to serve."""
    folds = artist_folds(artists)
    choice = choose(ranks, labels, folds, points)
    coef = fit_softmax(design_matrix(ranks, choice.form), labels, choice.l2)
    info: dict[str, object] | None = None
    if summary:
        info = {
            "tracks": int(len(labels)),
            "artists": len(set(artists)),
            "per_mood": {m: int((labels == i).sum()) for i, m in enumerate(MOODS)},
            "folds": f"{FOLDS} by artist (seed {FOLD_SEED})",
            "chosen_by": "form and l2: held-out cross-entropy; alpha: held-out AUC of sad, happy, angry",
            "held_out_log_loss": choice.log_loss,
            "held_out_auc_by_alpha": choice.alpha_auc,
        }
    return MoodModel(form=choice.form, coefficients=coef, centroids=centroids_of(ranks[:, :2], labels),
                     alpha=choice.alpha, l2=choice.l2, summary=info)
