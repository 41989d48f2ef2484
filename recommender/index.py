"""In-memory numpy index of the catalogue: what makes a recommendation a few milliseconds, not a query.

The index holds every track's rank-normalised audio features, its (valence, energy) point, what the mood
model (``recommender.mood_model``) hears in it, popularity and artist as arrays, plus the playlists and
seed songs per emotion. It is built once per engine and mood mapping and rebuilt
when the database's ``data_version`` changes: writers in this process invalidate it at once, and other
processes' writes (a sync run by cron) are noticed within ``RECHECK_S`` seconds.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, select

from emotion.labels import EMOTIONS
from recommender import schema
from recommender.models import Playlist, SeedSong, Track
from recommender.mood_model import (  # noqa: F401 (rank_normalise: where callers have always found it)
    FEATURES, MoodModel, blended_distance, default_mood_model, feature_ranks, rank_normalise,
)
from recommender.moods import MOODLESS, MoodMap, MoodPoint, default_moods, moods_key
from recommender.tx import read_tx

RECHECK_S: float = 5.0


def _floats(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


@dataclass(frozen=True, slots=True, eq=False)
class TrackIndex:
    """Immutable snapshot of the tracks, their mood-space points and the per-emotion extras."""

    version: int
    ids: list[str]
    names: list[str]
    artists: list[str]
    albums: list[str]
    image_urls: list[str | None]
    popularity: np.ndarray  # float, NaN = unknown
    valence: np.ndarray  # raw audio features, NaN = unknown
    energy: np.ndarray
    danceability: np.ndarray
    tempo: np.ndarray
    duration_ms: np.ndarray
    artist_codes: np.ndarray  # int, equal for the same first artist
    points: np.ndarray  # (N, 2) rank-normalised valence/energy; NaN without audio features
    feature_ranks: np.ndarray  # (N, len(FEATURES)) rank-normalised audio features; NaN where unknown
    mood_model: MoodModel
    mood_proba: np.ndarray  # (N, len(MOODS)) P(mood | features); meaningless where has_features is False
    has_features: np.ndarray  # bool
    valence_rank: np.ndarray  # points' columns as contiguous float32 arrays, 0 where unknown (for selection)
    energy_rank: np.ndarray
    popularity_or_zero: np.ndarray
    nearest_emotion: np.ndarray  # int index into EMOTIONS of the best-fitting emotion, -1 without features
    members: dict[str, np.ndarray]  # emotion -> bool mask of tracks in its playlists
    featureless_members: dict[str, np.ndarray]  # emotion -> members without audio features
    playlists: dict[str, list[Playlist]]
    seed_songs: dict[str, list[SeedSong]]
    haystack: list[str]  # "name artists album", case-folded, for search
    browse_rank: np.ndarray  # position in "most popular first, then by name" order
    row_of: dict[str, int]

    def track(self, i: int) -> Track:
        """The ``Track`` at row ``i``."""

        def opt_float(arr: np.ndarray) -> float | None:
            return None if np.isnan(arr[i]) else float(arr[i])

        def opt_int(arr: np.ndarray) -> int | None:
            return None if np.isnan(arr[i]) else int(arr[i])

        return Track(
            id=self.ids[i], name=self.names[i], artists=self.artists[i], album=self.albums[i],
            popularity=opt_int(self.popularity), valence=opt_float(self.valence),
            energy=opt_float(self.energy), danceability=opt_float(self.danceability),
            tempo=opt_float(self.tempo), duration_ms=opt_int(self.duration_ms), image_url=self.image_urls[i],
        )

    def rows_for_emotion(self, emotion: str) -> np.ndarray:
        """Rows that belong to ``emotion``: in its playlists or nearest to its point."""
        mask = self.nearest_emotion == EMOTIONS.index(emotion)
        if emotion in self.members:
            mask = mask | self.members[emotion]
        return np.flatnonzero(mask)

    def rows_of(self, track_ids: Iterable[str]) -> np.ndarray:
        """Rows of the given track ids that are in the index (unknown ids are ignored)."""
        rows = [self.row_of[t] for t in track_ids if t in self.row_of]
        return np.array(rows, dtype=np.int64)


def _load_playlists(conn: Connection) -> dict[str, list[Playlist]]:
    out: dict[str, list[Playlist]] = {}
    query = select(schema.playlists).order_by(schema.playlists.c.emotion, schema.playlists.c.added_at,
                                              schema.playlists.c.id)
    for row in conn.execute(query).mappings():
        out.setdefault(row["emotion"], []).append(playlist_from_row(row))
    return out


def playlist_from_row(row: Mapping[str, Any]) -> Playlist:
    """A ``Playlist`` from a ``playlists`` row mapping."""
    return Playlist(
        id=row["id"], emotion=row["emotion"], name=row["name"],
        last_synced=schema.as_utc(row["last_synced"]), snapshot_id=row["snapshot_id"],
        track_count=int(row["track_count"] or 0),
    )


def blend_for(model: MoodModel, emotion: str) -> float:
    """The model's blend ``alpha`` for ``emotion`` (1, valence/energy only, for the ``MOODLESS`` ones)."""
    return 1.0 if emotion in MOODLESS else model.alpha


def mood_distance(model: MoodModel, proba: np.ndarray, points: np.ndarray, point: MoodPoint,
                  alpha: float | None = None) -> np.ndarray:
    """How far each track sits from ``point`` for the selection (``recommender.mood_model``); lower fits better.

    ``alpha`` overrides the model's blend (lift's path and the ``MOODLESS`` emotions use their own).
    """
    own = np.hypot(points[:, 0] - point.valence, points[:, 1] - point.energy)
    alpha = model.alpha if alpha is None else alpha
    return blended_distance(proba, own, model.mood_distances(point.valence, point.energy), alpha)


def build_index(conn: Connection, moods: MoodMap, model: MoodModel | None = None) -> TrackIndex:
    """Read the database once and build the arrays (``model``: the served mood model by default)."""
    model = model or default_mood_model()
    version = schema.data_version(conn)
    t = schema.tracks.c
    rows = conn.execute(
        select(t.id, t.name, t.artists, t.album, t.image_url, t.popularity, t.valence, t.energy,
               t.danceability, t.tempo, t.acousticness, t.duration_ms, t.primary_artist).order_by(t.id)
    ).all()
    ids = [r.id for r in rows]
    row_of = {track_id: i for i, track_id in enumerate(ids)}
    n = len(ids)
    raw = {name: _floats([getattr(r, name) for r in rows]) for name in FEATURES}
    valence, energy = raw["valence"], raw["energy"]
    ranks = feature_ranks(raw) if n else np.empty((0, len(FEATURES)))
    points = np.ascontiguousarray(ranks[:, :2])

    members: dict[str, np.ndarray] = {}
    pt = schema.playlist_tracks.c
    pl = schema.playlists.c
    membership = conn.execute(
        select(pl.emotion, pt.track_id).join(schema.playlists, pl.id == pt.playlist_id).distinct()
    ).all()
    for emotion, track_id in membership:
        if emotion in EMOTIONS and track_id in row_of:
            members.setdefault(emotion, np.zeros(n, dtype=bool))[row_of[track_id]] = True

    # Tracks without audio features (most tracks a sync brings: the API no longer gives new apps audio
    # features) belong to the emotions of the playlists holding them; selection places them there.
    has_features = ~(np.isnan(points[:, 0]) | np.isnan(points[:, 1])) if n else np.zeros(0, dtype=bool)
    featureless_members = {emotion: mask & ~has_features for emotion, mask in members.items()}

    mood_proba = model.predict_proba(ranks).astype(np.float32)  # float32: the selection's hot loop
    nearest = np.full(n, -1, dtype=np.int64)
    if has_features.any():
        fits = np.column_stack([
            mood_distance(model, mood_proba[has_features], points[has_features], moods.points[e], blend_for(model, e))
            for e in EMOTIONS
        ])
        nearest[has_features] = fits.argmin(axis=1)

    _, artist_codes = np.unique([r.primary_artist or r.artists.casefold() for r in rows] or [""],
                                return_inverse=True)
    popularity = _floats([r.popularity for r in rows])
    names = [r.name for r in rows]
    order = sorted(range(n), key=lambda i: (-(0 if np.isnan(popularity[i]) else popularity[i]), names[i].casefold()))
    browse_rank = np.empty(n, dtype=np.int64)
    browse_rank[order] = np.arange(n)

    seed_songs: dict[str, list[SeedSong]] = {}
    s = schema.seed_songs.c
    for row in conn.execute(select(s.emotion, s.name, s.artist, s.album).order_by(s.emotion, s.position)):
        seed_songs.setdefault(row.emotion, []).append(
            SeedSong(emotion=row.emotion, name=row.name, artist=row.artist, album=row.album)
        )

    return TrackIndex(
        version=version, ids=ids, names=names, artists=[r.artists for r in rows],
        albums=[r.album for r in rows], image_urls=[r.image_url for r in rows], popularity=popularity,
        valence=valence, energy=energy, danceability=_floats([r.danceability for r in rows]),
        tempo=_floats([r.tempo for r in rows]), duration_ms=_floats([r.duration_ms for r in rows]),
        artist_codes=np.asarray(artist_codes[:n], dtype=np.int64), points=points, feature_ranks=ranks,
        mood_model=model, mood_proba=mood_proba, has_features=has_features,
        valence_rank=np.ascontiguousarray(np.nan_to_num(points[:, 0]), dtype=np.float32),
        energy_rank=np.ascontiguousarray(np.nan_to_num(points[:, 1]), dtype=np.float32),
        popularity_or_zero=np.nan_to_num(popularity),
        nearest_emotion=nearest, members=members, featureless_members=featureless_members,
        playlists=_load_playlists(conn), seed_songs=seed_songs,
        haystack=[f"{r.name} {r.artists} {r.album}".casefold() for r in rows], browse_rank=browse_rank,
        row_of=row_of,
    )


@dataclass(slots=True)
class _Entry:
    key: tuple[object, ...]
    index: TrackIndex
    checked_at: float


class _IndexCache:
    """One index per (engine, mood mapping), rebuilt when the data version moves."""

    def __init__(self) -> None:
        self._entries: weakref.WeakKeyDictionary[Engine, dict[tuple[object, ...], _Entry]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def get(self, engine: Engine, moods: MoodMap) -> TrackIndex:
        key = moods_key(moods)
        entry = self._entries.get(engine, {}).get(key)
        now = time.monotonic()
        if entry is not None and now - entry.checked_at < RECHECK_S:
            return entry.index
        # one builder at a time: concurrent Streamlit sessions would otherwise all rebuild together
        with self._lock:
            entry = self._entries.get(engine, {}).get(key)
            if entry is not None and time.monotonic() - entry.checked_at < RECHECK_S:
                return entry.index
            with read_tx(engine, "load the music catalogue") as conn:
                if entry is not None and schema.data_version(conn) == entry.index.version:
                    entry.checked_at = time.monotonic()
                    return entry.index
                index = build_index(conn, moods)
            self._entries.setdefault(engine, {})[key] = _Entry(key, index, time.monotonic())
            return index

    def invalidate(self, engine: Engine) -> None:
        with self._lock:
            for entry in self._entries.get(engine, {}).values():
                entry.checked_at = float("-inf")


_CACHE = _IndexCache()


def get_index(engine: Engine, moods: MoodMap | None = None) -> TrackIndex:
    """The current index for ``engine`` (built or refreshed when needed)."""
    return _CACHE.get(engine, moods or default_moods())


def invalidate(engine: Engine) -> None:
    """Make the next ``get_index`` re-check the data version (call after writing tracks/playlists)."""
    _CACHE.invalidate(engine)
