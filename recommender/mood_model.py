"""What a track sounds like: the fitted per-mood model that the selection serves (``data/mood_model.json``).

The catalogue's audio features (valence, energy, acousticness, danceability, tempo; rank-normalised over
the catalogue like the emotion points) go into a small multinomial logistic regression fitted on the 630
tracks that carry a mood label from playlists people made (Sad, Calm, Energetic, Happy). It gives every
track P(mood). The file is written by ``python -m recommender.fit_moods`` (``recommender.mood_fit``), never
by hand; Spotify's ``mode`` (major/minor) is not in the catalogue, so it cannot be used.

How the selection reads it: each mood has a *centroid*, the median rank valence/energy of its labelled
tracks. A track's distance to a point of the circumplex (an emotion's point, a waypoint of lift's path) is

    (1 - alpha) * sum_m P(m | track) * |point - centroid_m|  +  alpha * |point - track's own (valence, energy)|

the distance expected from the track's mood, blended with its own place. ``alpha`` is chosen by
cross-validation (``alpha = 1`` is the plain valence/energy distance the app used before the model).
Without a usable file the selection falls back to that plain distance and says so in the log.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import config

log = logging.getLogger(__name__)

FEATURES: tuple[str, ...] = ("valence", "energy", "acousticness", "danceability", "tempo")
MOODS: tuple[str, ...] = ("Sad", "Calm", "Energetic", "Happy")
FORMS: tuple[str, ...] = ("linear", "linear+squares")
MOOD_MODEL_PATH: Path = config.MOOD_MODEL_PATH


def rank_normalise(values: np.ndarray) -> np.ndarray:
    """Map values to [0, 1] by rank (ties share their average rank); NaN stays NaN.

    Rank space spreads the catalogue evenly, so emotion points can be read as quantiles.
    """
    out = np.full(values.shape, np.nan)
    known = ~np.isnan(values)
    count = int(known.sum())
    if count == 0:
        return out
    if count == 1:
        out[known] = 0.5
        return out
    _, inverse, counts = np.unique(values[known], return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    average_rank = ends - (counts + 1) / 2.0  # 0-based mean position of each tied group
    out[known] = average_rank[inverse] / (count - 1)
    return out


def feature_ranks(columns: Mapping[str, np.ndarray]) -> np.ndarray:
    """(N, len(FEATURES)) rank-normalised features from raw columns (NaN where a value is unknown)."""
    return np.column_stack([rank_normalise(np.asarray(columns[name], dtype=np.float64)) for name in FEATURES])


def design_matrix(ranks: np.ndarray, form: str) -> np.ndarray:
    """The regression's inputs: an intercept, the centred ranks and, for "linear+squares", their squares.

    A missing feature other than valence/energy counts as the catalogue's middle (rank 0.5).
    """
    centred = np.nan_to_num(np.asarray(ranks, dtype=np.float64) - 0.5)
    columns = [np.ones((len(centred), 1)), centred]
    if form == "linear+squares":
        columns.append(centred * centred)
    return np.hstack(columns)


def term_names(form: str) -> list[str]:
    """Names of ``design_matrix``'s columns for ``form``."""
    names = ["intercept", *FEATURES]
    if form == "linear+squares":
        names += [f"{name}^2" for name in FEATURES]
    return names


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large scores."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True, slots=True, eq=False)
class MoodModel:
    """P(mood | audio features) plus what the selection needs to place a track: centroids and ``alpha``."""

    form: str
    coefficients: np.ndarray  # (terms, len(MOODS)); row 0 is the intercept
    centroids: np.ndarray  # (len(MOODS), 2): median rank valence/energy of each mood's labelled tracks
    alpha: float  # weight of the track's own valence/energy point (1 = no model)
    l2: float = 0.0
    summary: Mapping[str, object] | None = None  # how it was fitted and chosen (for the file's readers)

    @property
    def uses_moods(self) -> bool:
        """False for the plain valence/energy distance (``alpha == 1``)."""
        return self.alpha < 1.0

    def predict_proba(self, ranks: np.ndarray) -> np.ndarray:
        """(N, len(MOODS)) probabilities for rows of rank-normalised ``FEATURES``."""
        return softmax(design_matrix(ranks, self.form) @ self.coefficients)

    def mood_distances(self, valence: float, energy: float) -> np.ndarray:
        """Distance from the point (valence, energy) to each mood's centroid."""
        return np.hypot(self.centroids[:, 0] - valence, self.centroids[:, 1] - energy)

    def to_json(self) -> str:
        """The file's text (stable: sorted, rounded, one trailing newline)."""
        body = {
            "written_by": "python -m recommender.fit_moods (do not edit by hand)",
            "features": list(FEATURES),
            "moods": list(MOODS),
            "form": self.form,
            "l2": self.l2,
            "alpha": self.alpha,
            "coefficients": {term: [round(float(v), 6) for v in row]
                             for term, row in zip(term_names(self.form), self.coefficients, strict=True)},
            "centroids": {mood: [round(float(v), 6) for v in self.centroids[i]] for i, mood in enumerate(MOODS)},
            "summary": self.summary or {},
        }
        # one line per list of numbers: the file reads as a table
        return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]",
                      json.dumps(body, indent=2)) + "\n"


def blended_distance(proba: np.ndarray, own: np.ndarray, to_centroids: np.ndarray, alpha: float) -> np.ndarray:
    """The selection's distance of tracks to a point: ``own`` (each track's distance to it), blended with
    the distance expected from the track's mood, ``proba @ to_centroids`` (each mood centroid's distance)."""
    if alpha >= 1.0:
        return own
    return (1.0 - alpha) * (proba @ to_centroids) + alpha * own


def plain_distance_model() -> MoodModel:
    """The selection without a mood model: distance to the track's own valence/energy point only."""
    return MoodModel(form="linear", coefficients=np.zeros((1 + len(FEATURES), len(MOODS))),
                     centroids=np.full((len(MOODS), 2), 0.5), alpha=1.0)


def model_from_json(text: str, source: str = "mood model") -> MoodModel:
    """Parse and check a mood-model file; ``ValueError`` naming what is wrong."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{source}: not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: expected a JSON object")
    if raw.get("features") != list(FEATURES) or raw.get("moods") != list(MOODS):
        raise ValueError(f"{source}: written for other features or moods; rerun python -m recommender.fit_moods")
    form = raw.get("form")
    if form not in FORMS:
        raise ValueError(f"{source}: unknown form {form!r}")
    terms = design_matrix(np.zeros((1, len(FEATURES))), form).shape[1]
    try:
        coefficients = np.array([raw["coefficients"][term] for term in term_names(form)], dtype=np.float64)
        centroids = np.array([raw["centroids"][mood] for mood in MOODS], dtype=np.float64)
        alpha, l2 = float(raw["alpha"]), float(raw.get("l2", 0.0))
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{source}: missing or malformed field ({error})") from None
    if coefficients.shape != (terms, len(MOODS)) or not np.isfinite(coefficients).all():
        raise ValueError(f"{source}: coefficients must be {terms} x {len(MOODS)} finite numbers")
    if centroids.shape != (len(MOODS), 2) or not ((centroids >= 0) & (centroids <= 1)).all():
        raise ValueError(f"{source}: each centroid must be [valence, energy] within [0, 1]")
    if not (math.isfinite(alpha) and 0.0 <= alpha <= 1.0):
        raise ValueError(f"{source}: alpha must be within [0, 1], got {alpha!r}")
    summary = raw.get("summary") if isinstance(raw.get("summary"), dict) else None
    return MoodModel(form=form, coefficients=coefficients, centroids=centroids, alpha=alpha, l2=l2,
                     summary=summary)


def load_mood_model(path: Path | None = None) -> MoodModel:
    """The model in ``path`` (``MOOD_MODEL_PATH``); ``ValueError`` / ``OSError`` if unreadable or malformed."""
    path = Path(path or MOOD_MODEL_PATH)
    return model_from_json(path.read_text(encoding="utf-8"), str(path))


@functools.cache
def default_mood_model() -> MoodModel:
    """The served model, read once; the plain valence/energy distance (logged) when the file is unusable."""
    try:
        return load_mood_model()
    except (OSError, ValueError) as error:
        log.warning("mood model unusable (%s); choosing music by valence/energy only", error)
        return plain_distance_model()
