"""Choosing music for an emotion: "match" the mood, or "lift" it (the iso principle).

Both modes work on the in-memory index (``recommender.index``). Emotions sit at points of rank-normalised
valence/energy space (``recommender.moods``); a track's distance to a point blends the distance expected
from the mood the model hears in it (P(Sad/Calm/Energetic/Happy) from all its audio features, each mood
at the centroid of its labelled tracks) with its own valence/energy distance (``recommender.mood_model``;
measured by ``bench/music_fit.py``):

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
playlist holds them (so they come first); at most ``PLAYLIST_ONLY_SHARE`` of a list is such tracks, so a
large synced playlist cannot push out the tracks whose features are known to fit. Every track comes with
a short reason ("slow, acoustic, melancholy", ``recommender.reasons``).
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
from sqlalchemy import Engine

from recommender.index import TrackIndex, blend_for, get_index
from recommender.mood_model import blended_distance
from recommender.models import Recommendation
from recommender.moods import MoodMap, MoodPoint, check_mode, default_moods, normalise_emotion
from recommender.reasons import track_reason

VARIETY: float = 0.05
TIE_STEP: float = 0.01
PLAYLIST_ONLY_SHARE: float = 0.3
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
    rows = choose_rows(index, emotion, mode, n, exclude, rng, moods)

    songs = index.seed_songs.get(emotion, [])
    chosen_songs = sorted(rng.choice(len(songs), size=min(seed_songs, len(songs)), replace=False)) if songs else []
    return Recommendation(
        emotion=emotion,
        mode=mode,
        playlists=list(index.playlists.get(emotion, [])),
        tracks=[index.track(int(i)) for i in rows],
        seed_songs=[songs[i] for i in chosen_songs],
        reasons={index.ids[i]: track_reason(index, i, emotion) for i in rows},
    )


def choose_rows(index: TrackIndex, emotion: str, mode: str, n: int, exclude: Collection[str],
                rng: np.random.Generator, moods: MoodMap) -> list[int]:
    """Index rows of the ``n`` tracks for ``emotion`` in ``mode`` (``recommend`` without the database).

    Rows whose ``has_features`` is False and that are in no playlist of ``emotion`` are never chosen
    (``bench/music_fit.py`` uses this to hold tracks out).
    """
    pool = _Pool(index, emotion, moods.point(emotion), exclude, rng, n)
    return pool.match() if mode == "match" else pool.lift(moods.lift_target)


class _Pool:
    """The candidates for one request: their points, moods, extra costs, artists.

    Featureless playlist tracks of the emotion sit on the emotion's point; at most ``cap`` of them may
    be picked.
    """

    def __init__(self, index: TrackIndex, emotion: str, start: MoodPoint, exclude: Collection[str],
                 rng: np.random.Generator, n: int) -> None:
        self.start, self.n = start, n
        self.alpha = blend_for(index.mood_model, emotion)
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
        penalty = rng.random(size, dtype=np.float32) * np.float32(VARIETY)
        if exclude:
            penalty[index.rows_of(exclude)] += EXCLUDED_PENALTY
        penalty[~(index.has_features | self.featureless)] = np.inf
        self.penalty = penalty
        self.artist_codes = index.artist_codes
        self.popularity = index.popularity_or_zero
        self.model, self.proba = index.mood_model, index.mood_proba

    def score(self, point: MoodPoint, alpha: float | None = None) -> np.ndarray:
        """Distance of every candidate to ``point`` plus its penalty (``alpha``: the emotion's blend by default).

        Featureless playlist tracks sit on the emotion's point in every respect (their mood is the
        playlist's), so their distance is just the point's distance to the emotion's.
        """
        alpha = self.alpha if alpha is None else alpha
        dv = self.valence - np.float32(point.valence)
        de = self.energy - np.float32(point.energy)
        own = np.sqrt(dv * dv + de * de)
        to_centroids = self.model.mood_distances(point.valence, point.energy).astype(np.float32)
        distance = blended_distance(self.proba, own, to_centroids, np.float32(alpha))
        if self.cap and alpha < 1.0:
            distance = np.where(self.featureless, own, distance)
        return distance + self.penalty

    def ranked(self, score: np.ndarray, k: int) -> np.ndarray:
        """Positions of the ``k`` best finite scores, ordered by (distance step, most popular first)."""
        k = min(k, len(score))
        if k <= 0:
            return np.empty(0, dtype=np.int64)
        if k == 1:  # lift's waypoints: a plain minimum is several times cheaper than a partition
            best = np.array([int(np.argmin(score))])
            return best[np.isfinite(score[best])]
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
        """One track per waypoint on the line from the emotion's point to ``target``.

        The blend moves along with the waypoints: the start is the emotion's match (the mood model's
        blend), the end is the plain valence/energy target, since no labelled mood is "calm and
        positive" (the tracks people labelled Calm are among the catalogue's lowest in valence).
        """
        alpha = self.alpha
        used_artists = np.zeros(int(self.artist_codes.max(initial=-1)) + 1, dtype=bool)
        picked: list[int] = []
        featureless = 0
        for step in range(self.n):
            t = step / (self.n - 1) if self.n > 1 else 0.0
            waypoint = MoodPoint(
                self.start.valence + (target.valence - self.start.valence) * t,
                self.start.energy + (target.energy - self.start.energy) * t,
            )
            score = self.score(waypoint, alpha + (1.0 - alpha) * t)
            score[used_artists[self.artist_codes]] = np.inf
            if featureless >= self.cap:
                score[self.featureless] = np.inf
            ranked = self.ranked(score, 1)
            if not len(ranked):
                break  # no artist left anywhere
            pos = int(ranked[0])
            picked.append(int(self.rows[pos]))
            used_artists[self.artist_codes[pos]] = True
            featureless += int(self.featureless[pos])
        return picked
