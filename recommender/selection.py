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
``seed`` makes the result repeatable. Tracks without audio features (most of what a sync brings, since
the API stopped giving features to new apps) count as sitting exactly on the point of the emotion whose
playlist holds them; at most ``PLAYLIST_ONLY_SHARE`` of a list is such tracks, so a large synced
playlist cannot push out the tracks whose features are known to fit.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
from sqlalchemy import Engine

from recommender.index import TrackIndex, get_index
from recommender.models import Recommendation
from recommender.moods import MoodMap, MoodPoint, check_mode, default_moods, normalise_emotion

VARIETY: float = 0.05
TIE_STEP: float = 0.01
PLAYLIST_ONLY_SHARE: float = 0.3
EXCLUDED_PENALTY: float = 10.0  # larger than any distance in the unit square: excluded go last
SEED_SONGS: int = 5
# candidates examined per pick; artist clashes beyond this many are rare, and a full pass follows if not
_SHORTLIST: int = 64
# lift mode: how far from the start-target line (distance + penalty) a track may be to be considered first
_CORRIDOR: float = 0.15


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

    pool = _Pool(index, emotion, moods.point(emotion), exclude, rng, n)
    rows = pool.match() if mode == "match" else pool.lift(moods.lift_target)

    songs = index.seed_songs.get(emotion, [])
    chosen_songs = sorted(rng.choice(len(songs), size=min(seed_songs, len(songs)), replace=False)) if songs else []
    return Recommendation(
        emotion=emotion,
        mode=mode,
        playlists=list(index.playlists.get(emotion, [])),
        tracks=[index.track(int(i)) for i in rows],
        seed_songs=[songs[i] for i in chosen_songs],
    )


class _Pool:
    """The candidates for one request (all tracks, or a subset): their points, extra costs, artists.

    Featureless playlist tracks of the emotion sit on the emotion's point; at most ``cap`` of them may
    be picked.
    """

    def __init__(self, index: TrackIndex, emotion: str, start: MoodPoint, exclude: Collection[str],
                 rng: np.random.Generator, n: int) -> None:
        self.start, self.n = start, n
        size = len(index.ids)
        self.rows = np.arange(size)
        self.featureless = index.featureless_members.get(emotion, np.zeros(size, dtype=bool))
        self.cap = math.ceil(n * PLAYLIST_ONLY_SHARE) if self.featureless.any() else 0
        # separate contiguous valence/energy arrays: the arithmetic below is the hot loop
        self.valence, self.energy = index.valence_rank, index.energy_rank
        if self.cap:
            self.valence = np.where(self.featureless, start.valence, self.valence)
            self.energy = np.where(self.featureless, start.energy, self.energy)
        # the variety nudge, excluded tracks last, and tracks that cannot be placed never
        penalty = rng.uniform(0.0, VARIETY, size=size)
        if exclude:
            penalty[index.rows_of(exclude)] += EXCLUDED_PENALTY
        penalty[~(index.has_features | self.featureless)] = np.inf
        self.penalty = penalty
        self.artist_codes = index.artist_codes
        self.popularity = index.popularity_or_zero

    def subset(self, mask: np.ndarray) -> _Pool:
        """The same pool restricted to ``mask`` (rows keep their catalogue numbers)."""
        keep = np.flatnonzero(mask)
        sub = object.__new__(_Pool)
        sub.start, sub.n, sub.cap = self.start, self.n, self.cap
        for name in ("rows", "featureless", "valence", "energy", "penalty", "artist_codes", "popularity"):
            setattr(sub, name, getattr(self, name).take(keep))
        return sub

    def score(self, point: MoodPoint) -> np.ndarray:
        """Distance of every candidate to ``point`` plus its penalty."""
        dv = self.valence - point.valence
        de = self.energy - point.energy
        return np.sqrt(dv * dv + de * de) + self.penalty

    def ranked(self, score: np.ndarray, k: int) -> np.ndarray:
        """Positions of the ``k`` best finite scores, ordered by (distance step, most popular first)."""
        k = min(k, len(score))
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        best = np.argpartition(score, k - 1)[:k] if k < len(score) else np.arange(len(score))
        best = best[np.isfinite(score[best])]
        return best[np.lexsort((-self.popularity[best], np.floor(score[best] / TIE_STEP)))]

    def match(self) -> list[int]:
        """The nearest tracks to the emotion's point, one per artist."""
        if self.n == 0:
            return []
        score = self.score(self.start)
        k = max(_SHORTLIST, 4 * self.n)
        while True:
            picked: list[int] = []
            artists: set[int] = set()
            featureless = 0
            for pos in self.ranked(score, k):
                code = int(self.artist_codes[pos])
                if code in artists or (self.featureless[pos] and featureless >= self.cap):
                    continue
                artists.add(code)
                featureless += int(self.featureless[pos])
                picked.append(int(self.rows[pos]))
                if len(picked) == self.n:
                    return picked
            if k >= len(score):  # every candidate seen: fewer distinct artists than n
                return picked
            k = len(score)

    def lift(self, target: MoodPoint) -> list[int]:
        """One track per waypoint on the line from the emotion's point to ``target``."""
        # Only tracks near the line can win a waypoint: scoring that corridor instead of the whole
        # catalogue makes each step ~10x cheaper. A step that finds nothing there uses the full pool.
        corridor = self.subset(self._near_segment(target) <= _CORRIDOR)
        used_artists = np.zeros(int(self.artist_codes.max(initial=-1)) + 1, dtype=bool)
        picked: list[int] = []
        featureless = 0
        for step in range(self.n):
            t = step / (self.n - 1) if self.n > 1 else 0.0
            waypoint = MoodPoint(
                self.start.valence + (target.valence - self.start.valence) * t,
                self.start.energy + (target.energy - self.start.energy) * t,
            )
            for pool in (corridor, self):
                score = pool.score(waypoint)
                score[used_artists[pool.artist_codes]] = np.inf
                if featureless >= self.cap:
                    score[pool.featureless] = np.inf
                ranked = pool.ranked(score, 1)
                if len(ranked):
                    break
            else:
                break  # no artist left anywhere
            pos = int(ranked[0])
            picked.append(int(pool.rows[pos]))
            used_artists[pool.artist_codes[pos]] = True
            featureless += int(pool.featureless[pos])
        return picked

    def _near_segment(self, target: MoodPoint) -> np.ndarray:
        """Each candidate's distance to the start-target segment, plus its penalty."""
        dx, dy = target.valence - self.start.valence, target.energy - self.start.energy
        length2 = dx * dx + dy * dy or 1.0
        rel_v, rel_e = self.valence - self.start.valence, self.energy - self.start.energy
        t = np.clip((rel_v * dx + rel_e * dy) / length2, 0.0, 1.0)
        off_v, off_e = rel_v - t * dx, rel_e - t * dy
        return np.sqrt(off_v * off_v + off_e * off_e) + self.penalty
