"""Where each emotion sits in valence/energy space: the one mapping the recommender uses.

Coordinates are *quantiles* of the catalogue (0 = lowest valence/energy in the catalogue, 1 = highest),
because the selection rank-normalises the audio features first: popular music leans energetic (energy
median 0.68), so the raw 0–1 values of the circumplex would push every emotion toward the same loud
corner. The defaults are the published emotion points on Russell's circumplex of affect rescaled to
0–1 (see ../shared/README.md); ``disgust`` is not on Russell's circumplex and sits between angry and sad.

The selection measures a track's distance to these points partly through the mood the model hears in it
(``recommender.mood_model``: each labelled mood sits at the median point of its tracks), so the points
keep their meaning while the music is judged on every audio feature.

``LIFT_TARGET`` is where "lift" mode ends: positive and calm (the music-therapy iso principle starts
near the listener's mood and moves toward it).

Override any point with a JSON file named by ``MOODTUNE_MOODS_FILE`` (``config.MOODS_PATH``)::

    {"sad": [0.15, 0.30], "lift_target": [0.85, 0.25]}
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path

import config
from emotion.labels import EMOTIONS

# The prototype (and its seed_songs/*.csv files) used adjectives; the app uses FER2013's nouns.
EMOTION_ALIASES: dict[str, str] = {"disgusted": "disgust", "fearful": "fear", "surprised": "surprise"}

MODES: tuple[str, ...] = ("match", "lift")

# Emotions the mood model (``recommender.mood_model``) does not place: neutral is the circumplex's centre,
# which none of the labelled moods (Sad, Calm, Energetic, Happy) describes, and the nearest of their
# centroids would make neutral music Happy. Its music stays chosen by valence/energy alone.
MOODLESS: frozenset[str] = frozenset({"neutral"})


@dataclass(frozen=True, slots=True)
class MoodPoint:
    """A point in (rank-normalised) valence/energy space, both in [0, 1]."""

    valence: float
    energy: float

    def __post_init__(self) -> None:
        for name in ("valence", "energy"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value!r}")


DEFAULT_POINTS: dict[str, MoodPoint] = {
    "angry": MoodPoint(0.24, 0.79),
    "disgust": MoodPoint(0.20, 0.60),
    "fear": MoodPoint(0.33, 0.82),
    "happy": MoodPoint(0.91, 0.76),
    "sad": MoodPoint(0.18, 0.37),
    "surprise": MoodPoint(0.58, 0.95),
    "neutral": MoodPoint(0.50, 0.50),
}
DEFAULT_LIFT_TARGET = MoodPoint(0.80, 0.30)


@dataclass(frozen=True, slots=True)
class MoodMap:
    """Emotion -> point mapping plus the lift mode's destination."""

    points: dict[str, MoodPoint] = field(default_factory=lambda: dict(DEFAULT_POINTS))
    lift_target: MoodPoint = DEFAULT_LIFT_TARGET

    def point(self, emotion: str) -> MoodPoint:
        """The point of ``emotion`` (aliases such as 'fearful' accepted)."""
        return self.points[normalise_emotion(emotion)]


def normalise_emotion(emotion: str) -> str:
    """Return the FER2013 label for ``emotion`` (case-insensitive, prototype aliases accepted).

    Raises ``ValueError`` naming the valid labels for anything else.
    """
    key = emotion.strip().lower()
    key = EMOTION_ALIASES.get(key, key)
    if key not in EMOTIONS:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}")
    return key


def check_mode(mode: str) -> str:
    """Return ``mode`` if it is a known selection mode, else raise ``ValueError``."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    return mode


def load_moods(path: str | Path | None = config.MOODS_PATH) -> MoodMap:
    """The default mapping with the overrides from the JSON file at ``path`` (if any) applied."""
    moods = MoodMap()
    if not path:
        return moods
    # read as config validated it: bounded, from a regular file only (a FIFO or /dev/zero must not hang)
    raw = config.read_small_json(path)
    problem = config.moods_file_problem(raw)
    if problem is not None or not isinstance(raw, dict):
        raise ValueError(f"{path}: {problem}")
    points = dict(moods.points)
    target = moods.lift_target
    for key, value in raw.items():
        if not (isinstance(value, list) and len(value) == 2):
            raise ValueError(f"{path}: {key!r} must be [valence, energy], got {value!r}")
        point = MoodPoint(float(value[0]), float(value[1]))
        if key == "lift_target":
            target = point
        else:
            points[normalise_emotion(key)] = point
    return replace(moods, points=points, lift_target=target)


@functools.cache
def default_moods() -> MoodMap:
    """The process-wide mapping: defaults plus ``MOODTUNE_MOODS_FILE`` (read once)."""
    return load_moods()


def moods_key(moods: MoodMap) -> tuple[object, ...]:
    """A hashable identity for a mapping (cache key for anything derived from it)."""
    points = tuple(sorted((name, p.valence, p.energy) for name, p in moods.points.items()))
    return points, moods.lift_target.valence, moods.lift_target.energy
