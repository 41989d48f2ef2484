"""Choosing music for an emotion: "match" the mood, or "lift" it (the iso principle).

Both modes work on the in-memory index (``recommender.index``), in rank-normalised valence/energy space
(emotion points from ``recommender.moods``):

* **match** – the tracks nearest the emotion's point, nearest first.
* **lift** – the music-therapy iso principle: start where the listener is and move them gradually.
  ``n`` waypoints are spaced evenly on the line from the emotion's point to ``MoodMap.lift_target``
  (positive, calm); each picks the nearest unused track, so the list is ordered toward the target.

Rules common to both: distances are compared in steps of ``TIE_STEP`` and, within a step, more popular
tracks win (popularity is the tie-breaker, never a pull away from the mood); no artist appears twice;
ids in ``exclude`` (tracks already shown this session) come last, used only when the pool runs out;
each track's distance gets a random nudge of up to ``VARIETY`` so repeated calls differ, while a fixed
``seed`` makes the result repeatable. Tracks without audio features are placed at the emotion of the
playlists holding them (``index.build_index``) with an ``IMPUTED_PENALTY``, so they mix in with close
tracks instead of crowding out tracks whose features are known to fit.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from sqlalchemy import Engine

from recommender.index import TrackIndex, get_index
from recommender.models import Recommendation
from recommender.moods import MoodMap, MoodPoint, check_mode, default_moods, normalise_emotion

VARIETY: float = 0.05
TIE_STEP: float = 0.01
IMPUTED_PENALTY: float = 0.08
EXCLUDED_PENALTY: float = 10.0  # larger than any distance in the unit square: excluded go last
SEED_SONGS: int = 5
# candidates examined per pick; artist clashes beyond this many are rare, and a full pass follows if not
_SHORTLIST: int = 64


def recommend(
    engine: Engine,
    emotion: str,
    mode: str = "match",
    n: int = 10,
    exclude: Collection[str] = (),
    seed: int | None = None,
    *,
    moods: MoodMap | None = None,
    seed_songs: int = SEED_SONGS,
) -> Recommendation:
    """Playlists, ``n`` ranked tracks and a few prototype seed songs for ``emotion``.

    ``mode`` is "match" or "lift"; ``exclude`` holds track ids already shown (skipped until the pool
    runs out); ``seed`` makes the choice repeatable (None: different each call). Fewer than ``n``
    tracks come back only when the catalogue has fewer distinct artists to offer.
    Raises ``ValueError`` for an unknown emotion or mode, ``DatabaseUnavailable`` if the database
    cannot be read.
    """
    emotion = normalise_emotion(emotion)
    check_mode(mode)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    moods = moods or default_moods()
    index = get_index(engine, moods)
    rng = np.random.default_rng(seed)

    base = _base_penalty(index, exclude, rng)
    start = moods.point(emotion)
    if mode == "match":
        rows = _pick_match(index, start, base, n)
    else:
        rows = _pick_lift(index, start, moods.lift_target, base, n)

    songs = index.seed_songs.get(emotion, [])
    chosen_songs = sorted(rng.choice(len(songs), size=min(seed_songs, len(songs)), replace=False)) if songs else []
    return Recommendation(
        emotion=emotion,
        mode=mode,
        playlists=list(index.playlists.get(emotion, [])),
        tracks=[index.track(int(i)) for i in rows],
        seed_songs=[songs[i] for i in chosen_songs],
    )


def _base_penalty(index: TrackIndex, exclude: Collection[str], rng: np.random.Generator) -> np.ndarray:
    """Per-track amount added to every distance: variety nudge, imputed/excluded penalties, inf if unplaceable."""
    n = len(index.ids)
    penalty = rng.uniform(0.0, VARIETY, size=n)
    penalty[index.imputed] += IMPUTED_PENALTY
    if exclude:
        penalty[index.rows_of(exclude)] += EXCLUDED_PENALTY
    penalty[np.isnan(index.points[:, 0])] = np.inf
    return penalty


def _ranked(index: TrackIndex, score: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` best scores, ordered by (distance step, most popular first)."""
    k = min(k, len(score))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    rows = np.argpartition(score, k - 1)[:k] if k < len(score) else np.arange(len(score))
    rows = rows[np.isfinite(score[rows])]
    popularity = np.nan_to_num(index.popularity[rows], nan=0.0)
    order = np.lexsort((-popularity, np.floor(score[rows] / TIE_STEP)))
    return rows[order]


def _distance(index: TrackIndex, point: MoodPoint) -> np.ndarray:
    dv = index.points[:, 0] - point.valence
    de = index.points[:, 1] - point.energy
    return np.sqrt(dv * dv + de * de)


def _pick_match(index: TrackIndex, point: MoodPoint, base: np.ndarray, n: int) -> list[int]:
    if n == 0:
        return []
    score = _distance(index, point) + base
    picked: list[int] = []
    artists: set[int] = set()
    k = max(_SHORTLIST, 4 * n)
    while True:
        for row in _ranked(index, score, k):
            code = int(index.artist_codes[row])
            if code not in artists and row not in picked:
                artists.add(code)
                picked.append(int(row))
                if len(picked) == n:
                    return picked
        if k >= len(score):  # every candidate seen: fewer distinct artists than n
            return picked
        picked, artists, k = [], set(), len(score)


def _pick_lift(index: TrackIndex, start: MoodPoint, target: MoodPoint, base: np.ndarray, n: int) -> list[int]:
    score_base = base.copy()
    used_artists = np.zeros(int(index.artist_codes.max(initial=-1)) + 1, dtype=bool)
    picked: list[int] = []
    for step in range(n):
        t = step / (n - 1) if n > 1 else 0.0
        waypoint = MoodPoint(
            start.valence + (target.valence - start.valence) * t,
            start.energy + (target.energy - start.energy) * t,
        )
        score = _distance(index, waypoint) + score_base
        score[used_artists[index.artist_codes]] = np.inf
        ranked = _ranked(index, score, _SHORTLIST)
        if len(ranked) == 0:
            break  # no artist left
        row = int(ranked[0])
        picked.append(row)
        used_artists[index.artist_codes[row]] = True
    return picked
