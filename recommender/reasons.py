""""Why this track": a few plain words from the same features the selection used.

Each audio feature is read as a rank in the catalogue (0 = lowest, 1 = highest, as the selection sees it);
the features furthest from the middle are named, most telling first ("slow, acoustic, melancholy"), and
the mood the model hears is added when it is fairly sure ("sounds sad"). A track that only a synced
playlist places says so ("from your sad playlist").
"""

from __future__ import annotations

import math

from recommender.index import TrackIndex
from recommender.mood_model import FEATURES, MOODS

# (word when low in the catalogue, word when high), per feature; None: nothing plain to say (music that is
# hard to dance to ranges from metal to ballads)
FEATURE_WORDS: dict[str, tuple[str | None, str | None]] = {
    "valence": ("melancholy", "cheerful"),
    "energy": ("calm", "energetic"),
    "acousticness": ("electric", "acoustic"),
    "danceability": (None, "danceable"),
    "tempo": ("slow", "fast"),
}
EXTREME: float = 0.25  # a feature is named when its rank is within this of either end
MAX_WORDS: int = 3
SURE: float = 0.5  # the model's mood is named at this probability or more


def feature_words(ranks: dict[str, float], max_words: int = MAX_WORDS) -> list[str]:
    """Words for the features whose rank is near either end, the most extreme first."""
    named = []
    for name in FEATURES:
        rank = ranks.get(name, math.nan)
        if math.isnan(rank) or EXTREME < rank < 1.0 - EXTREME:
            continue
        low, high = FEATURE_WORDS[name]
        word = high if rank >= 0.5 else low
        if word:
            named.append((abs(rank - 0.5), word))
    named.sort(key=lambda item: -item[0])  # stable: equal extremes keep the features' order
    return [word for _, word in named[:max_words]]


def describe(ranks: dict[str, float], mood: str | None = None, playlist_of: str | None = None) -> str:
    """The reason line: feature words, the model's mood (if any) and the playlist it came from (if any)."""
    words = feature_words(ranks)
    parts = [", ".join(words) if words else "moderate in every way"]
    if mood and mood.lower() not in words:
        parts.append(f"sounds {mood.lower()}")
    if playlist_of:
        parts.append(f"in your {playlist_of} playlist")
    return " · ".join(parts)


def track_reason(index: TrackIndex, row: int, emotion: str) -> str:
    """Why the track at ``row`` was chosen for ``emotion``, in a few words."""
    in_playlist = bool(emotion in index.members and index.members[emotion][row])
    if not index.has_features[row]:
        return f"from your {emotion} playlist" if in_playlist else ""
    ranks = {name: float(index.feature_ranks[row, j]) for j, name in enumerate(FEATURES)}
    mood = None
    if index.mood_model.uses_moods:
        proba = index.mood_proba[row]
        best = int(proba.argmax())
        mood = MOODS[best] if proba[best] >= SURE else None
    return describe(ranks, mood, emotion if in_playlist else None)
