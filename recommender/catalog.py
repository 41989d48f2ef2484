"""The bundled music catalogue: reading it, seeding the database from it, and browsing tracks.

``data/catalogue.csv.gz`` is built by ``scripts/build_catalogue.py`` (provenance in ``data/README.md``);
``data/seed_songs.csv`` and ``data/seed_playlists.csv`` hold the prototype's songs and playlists.
The database is seeded when it is created and re-seeded whenever those files change (their SHA-256 is
kept in ``meta``), which adds new tracks and updates audio features without undoing a sync's work.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, select

import config
from recommender import schema
from recommender.index import TrackIndex, get_index
from recommender.models import Track
from recommender.moods import MoodMap, normalise_emotion
from recommender.tx import read_tx

log = logging.getLogger(__name__)

CATALOGUE_COLUMNS: tuple[str, ...] = (
    "id", "name", "artists", "album", "genre", "popularity", "valence", "energy",
    "danceability", "tempo", "acousticness", "duration_ms", "mood", "source",
)
_INT_COLUMNS = ("popularity", "duration_ms")
_FLOAT_COLUMNS = ("valence", "energy", "danceability", "tempo", "acousticness")
# A catalogue refresh rewrites what the catalogue is the authority on (audio features, genre, mood)
# but only fills gaps in what a sync knows better (names, popularity, length, cover image).
_CATALOGUE_OWNS = ("valence", "energy", "danceability", "tempo", "acousticness", "genre", "mood")
_SYNC_OWNS = ("name", "artists", "primary_artist", "album", "popularity", "duration_ms", "source")

SEEDED_PLAYLISTS_KEY = "seeded_playlists"
BUNDLE_SHA_KEY = "bundle_sha256"


def artist_key(artists: str) -> str:
    """The comparison key for "no artist twice": the first artist, case-folded."""
    return artists.split(",")[0].strip().casefold()


@dataclass(frozen=True, slots=True)
class Bundle:
    """Paths of the bundled data files (tests point these at small or modified copies)."""

    catalogue: Path = config.CATALOGUE_PATH
    seed_songs: Path = config.SEED_SONGS_PATH
    seed_playlists: Path = config.SEED_PLAYLISTS_PATH
    paths: tuple[Path, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", (self.catalogue, self.seed_songs, self.seed_playlists))

    def missing(self) -> list[Path]:
        """The bundled files that do not exist."""
        return [path for path in self.paths if not path.is_file()]

    def fingerprint(self) -> str:
        """SHA-256 over the three files (changes whenever any of them is rebuilt differently)."""
        digest = hashlib.sha256()
        for path in self.paths:
            digest.update(path.read_bytes())
        return digest.hexdigest()


def _typed(value: str, column: str) -> Any:
    if value == "":
        return None
    if column in _INT_COLUMNS:
        return int(float(value))
    if column in _FLOAT_COLUMNS:
        return float(value)
    return value


def read_catalogue(path: Path = config.CATALOGUE_PATH) -> Iterator[dict[str, Any]]:
    """Rows of the bundled catalogue, typed and shaped like the ``tracks`` table."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            out = {col: _typed(row[col], col) for col in CATALOGUE_COLUMNS}
            out["album"] = out["album"] or ""
            out["primary_artist"] = artist_key(row["artists"])
            yield out


def _read_plain_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def seed_bundled(conn: Connection, bundle: Bundle | None = None) -> bool:
    """Load the bundled files into the database (inside the caller's write transaction).

    Does nothing when the files are unchanged since the last seed. Seed playlists are added only once,
    so a playlist the user removed stays removed. Returns True when anything was written.
    """
    bundle = bundle or Bundle()
    missing = bundle.missing()
    if missing:
        # the app still works from synced playlists; say what is missing and how to rebuild it
        log.warning("bundled data missing (%s); run scripts/build_catalogue.py", ", ".join(map(str, missing)))
        return False
    fingerprint = bundle.fingerprint()
    if schema.get_meta(conn, BUNDLE_SHA_KEY) == fingerprint:
        return False
    now = schema.utcnow()
    rows = [{**row, "updated_at": now} for row in read_catalogue(bundle.catalogue)]
    schema.upsert(
        conn, schema.tracks, rows, ["id"],
        update=(*_CATALOGUE_OWNS, *_SYNC_OWNS), fill_missing=_SYNC_OWNS,
    )
    # seed songs are reference data with no user edits: replace them wholesale
    conn.execute(delete(schema.seed_songs))
    songs = [
        {**row, "emotion": normalise_emotion(row["emotion"]), "position": int(row["position"])}
        for row in _read_plain_csv(bundle.seed_songs)
    ]
    if songs:
        conn.execute(schema.seed_songs.insert(), songs)
    playlists = [
        {"id": row["id"], "emotion": normalise_emotion(row["emotion"]), "name": row["name"],
         "source": "seed", "added_at": now, "track_count": 0}
        for row in _read_plain_csv(bundle.seed_playlists)
    ]
    if schema.get_meta(conn, SEEDED_PLAYLISTS_KEY) is None:
        schema.upsert(conn, schema.playlists, playlists, ["id", "emotion"], update=())
        schema.set_meta(conn, SEEDED_PLAYLISTS_KEY, now.isoformat())
    else:
        _refresh_seed_playlists(conn, playlists)
    schema.set_meta(conn, BUNDLE_SHA_KEY, fingerprint)
    schema.bump_data_version(conn)
    log.info("seeded %d catalogue tracks and %d seed songs", len(rows), len(songs))
    return True


def _refresh_seed_playlists(conn: Connection, seeds: list[dict[str, Any]]) -> None:
    """Bring seeded playlists a sync has never touched up to date with a new bundle.

    A seed mapping the bundle dropped goes (the prototype's sad playlist no longer doubles as disgust's);
    a never-synced seed takes the bundle's new name. User playlists, synced ones and seeds the user
    removed are left as they are (removed seeds are not added back).
    """
    p = schema.playlists.c
    wanted = {(row["id"], row["emotion"]): row["name"] for row in seeds}
    stored = conn.execute(select(p.id, p.emotion, p.name).where(p.source == "seed", p.last_synced.is_(None))).all()
    for row in stored:
        key = (row.id, row.emotion)
        if key not in wanted:
            conn.execute(delete(schema.playlists).where(p.id == row.id, p.emotion == row.emotion))
        elif wanted[key] != row.name:
            conn.execute(schema.playlists.update().where(p.id == row.id, p.emotion == row.emotion)
                         .values(name=wanted[key]))


def search_tracks(
    engine: Engine,
    query: str = "",
    emotion: str | None = None,
    limit: int = 50,
    offset: int = 0,
    *,
    moods: MoodMap | None = None,
) -> list[Track]:
    """Tracks whose name, artists or album contain ``query`` (case-insensitive), most popular first.

    With ``emotion``, only tracks that belong to it: in one of its playlists, or with audio features
    closest to its point (``recommender.moods``). ``limit``/``offset`` page through the result.
    """
    index, rows = _matching_rows(engine, query, emotion, moods)
    return [index.track(int(i)) for i in rows[max(offset, 0): max(offset, 0) + max(limit, 0)]]


def count_tracks(engine: Engine, query: str = "", emotion: str | None = None, *, moods: MoodMap | None = None) -> int:
    """Number of tracks in the database, or of those ``search_tracks`` would page through."""
    if not query and emotion is None:
        with read_tx(engine, "count tracks") as conn:
            return int(conn.execute(select(func.count()).select_from(schema.tracks)).scalar() or 0)
    return len(_matching_rows(engine, query, emotion, moods)[1])


def _matching_rows(
    engine: Engine, query: str, emotion: str | None, moods: MoodMap | None
) -> tuple[TrackIndex, np.ndarray]:
    # The in-memory index answers this without SQL: "belongs to an emotion" depends on the configurable
    # mood points, which the database does not store.
    index = get_index(engine, moods)
    rows = index.rows_for_emotion(normalise_emotion(emotion)) if emotion else np.arange(len(index.ids))
    needle = query.strip().casefold()
    if needle:
        rows = np.array([i for i in rows.tolist() if needle in index.haystack[i]], dtype=np.int64)
    return index, rows[np.argsort(index.browse_rank[rows], kind="stable")]
