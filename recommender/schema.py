"""Database tables, their migrations, and small helpers shared by every writer.

The schema is versioned explicitly: ``schema_version`` holds one integer, and ``MIGRATIONS[i]`` brings
a database from version ``i`` to ``i + 1``. Opening an old file runs the missing steps inside one
transaction, so a database is upgraded in place (never dropped and re-created) and a failed upgrade
leaves it as it was. Each migration spells out its own DDL instead of using the current ``METADATA``,
so that editing today's tables can never change what an old step does.

Times are stored as naive UTC (SQLite has no time zones); ``as_utc`` re-attaches UTC when reading.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    cast,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite

from recommender.errors import DatabaseUnavailable, SchemaTooNew
from recommender.tx import WRITER_LOCK_KEY

# --- the current tables (what the code queries) -----------------------------------------------------
METADATA = MetaData()

tracks = Table(
    "tracks",
    METADATA,
    Column("id", String(64), primary_key=True),  # Spotify track id
    Column("name", Text, nullable=False),
    Column("artists", Text, nullable=False),  # display string "A, B"
    Column("album", Text, nullable=False, default=""),
    Column("duration_ms", Integer),
    Column("popularity", Integer),
    Column("valence", Float),
    Column("energy", Float),
    Column("danceability", Float),
    Column("tempo", Float),
    Column("image_url", Text),
    Column("updated_at", DateTime),
    # added in version 2
    Column("primary_artist", Text),  # first artist, lower-cased: "no artist twice" compares this
    Column("genre", Text),
    Column("acousticness", Float),
    Column("mood", String(16)),  # Happy/Sad/Calm/Energetic for the moods-set rows
    Column("source", String(16)),  # 'tt' / 'moods' (bundled catalogue) or 'spotify' (seen by a sync)
)

playlists = Table(
    "playlists",
    METADATA,
    Column("id", String(64), nullable=False),  # Spotify playlist id
    Column("emotion", String(16), nullable=False),
    Column("name", Text, nullable=False),
    Column("last_synced", DateTime),
    Column("snapshot_id", Text),
    Column("track_count", Integer, nullable=False, default=0),
    # added in version 2
    Column("source", String(16), nullable=False, default="user"),  # 'seed' or 'user'
    Column("added_at", DateTime),
    # one playlist may serve several emotions (the prototype used one for sad and disgust)
    PrimaryKeyConstraint("id", "emotion"),
)

playlist_tracks = Table(
    "playlist_tracks",
    METADATA,
    Column("playlist_id", String(64), nullable=False),
    Column("track_id", String(64), ForeignKey("tracks.id"), nullable=False),
    Column("position", Integer, nullable=False),
    PrimaryKeyConstraint("playlist_id", "position"),
    Index("ix_playlist_tracks_track", "track_id"),
)

sync_runs = Table(
    "sync_runs",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(24), nullable=False),
    Column("playlists_synced", Integer, nullable=False, default=0),
    Column("playlists_failed", Integer, nullable=False, default=0),
    Column("tracks_upserted", Integer, nullable=False, default=0),
    Column("message", Text),
    # added in version 2
    Column("trigger", String(16)),  # 'manual', 'cli', 'scheduler'
    Column("playlists_total", Integer, nullable=False, default=0),
    Column("playlists_skipped", Integer, nullable=False, default=0),
    Column("playlists_refused", Integer, nullable=False, default=0),
    Column("playlists_deferred", Integer, nullable=False, default=0),
    Column("retry_after_s", Float),  # set when Spotify rate-limited the run and work was deferred
    Column("details", Text),  # JSON: one entry per playlist
)

# added in version 2 ----------------------------------------------------------------------------------
seed_songs = Table(
    "seed_songs",
    METADATA,
    Column("emotion", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("album", Text, nullable=False, default=""),
    Column("artist", Text, nullable=False, default=""),
    PrimaryKeyConstraint("emotion", "position"),
)

sync_lease = Table(
    "sync_lease",
    METADATA,
    Column("name", String(32), primary_key=True),
    Column("holder", Text),
    Column("expires_at", DateTime),
)

meta = Table(
    "meta",
    METADATA,
    Column("key", String(64), primary_key=True),
    Column("value", Text),
)

schema_version = Table("schema_version", METADATA, Column("version", Integer, nullable=False))


# --- migrations -----------------------------------------------------------------------------------
def _v1_core_tables(conn: Connection) -> None:
    """Version 1: the four tables of the first release."""
    old = MetaData()
    Table(
        "tracks",
        old,
        Column("id", String(64), primary_key=True),
        Column("name", Text, nullable=False),
        Column("artists", Text, nullable=False),
        Column("album", Text, nullable=False),
        Column("duration_ms", Integer),
        Column("popularity", Integer),
        Column("valence", Float),
        Column("energy", Float),
        Column("danceability", Float),
        Column("tempo", Float),
        Column("image_url", Text),
        Column("updated_at", DateTime),
    )
    Table(
        "playlists",
        old,
        Column("id", String(64), nullable=False),
        Column("emotion", String(16), nullable=False),
        Column("name", Text, nullable=False),
        Column("last_synced", DateTime),
        Column("snapshot_id", Text),
        Column("track_count", Integer, nullable=False, server_default="0"),
        PrimaryKeyConstraint("id", "emotion"),
    )
    Table(
        "playlist_tracks",
        old,
        Column("playlist_id", String(64), nullable=False),
        Column("track_id", String(64), ForeignKey("tracks.id"), nullable=False),
        Column("position", Integer, nullable=False),
        PrimaryKeyConstraint("playlist_id", "position"),
        Index("ix_playlist_tracks_track", "track_id"),
    )
    Table(
        "sync_runs",
        old,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("started_at", DateTime, nullable=False),
        Column("finished_at", DateTime),
        Column("status", String(24), nullable=False),
        Column("playlists_synced", Integer, nullable=False, server_default="0"),
        Column("playlists_failed", Integer, nullable=False, server_default="0"),
        Column("tracks_upserted", Integer, nullable=False, server_default="0"),
        Column("message", Text),
    )
    old.create_all(conn)


def _add_columns(conn: Connection, table: str, columns: Sequence[tuple[str, str]]) -> None:
    for name, ddl_type in columns:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl_type}"))


def _v2_sync_bookkeeping(conn: Connection) -> None:
    """Version 2: catalogue extras, playlist origin, detailed sync runs, seed songs, lease, meta."""
    _add_columns(
        conn,
        "tracks",
        [("primary_artist", "TEXT"), ("genre", "TEXT"), ("acousticness", "FLOAT"),
         ("mood", "VARCHAR(16)"), ("source", "VARCHAR(16)")],
    )
    # backfill so "no artist twice" works for rows written by version 1 (the first artist, case-folded;
    # done in Python because splitting strings differs between SQL dialects)
    rows = conn.execute(text("SELECT id, artists FROM tracks WHERE primary_artist IS NULL")).all()
    if rows:
        conn.execute(
            text("UPDATE tracks SET primary_artist = :key WHERE id = :id"),
            [{"id": r.id, "key": r.artists.split(",")[0].strip().casefold()} for r in rows],
        )
    _add_columns(
        conn,
        "playlists",
        [("source", "VARCHAR(16) NOT NULL DEFAULT 'user'"), ("added_at", "TIMESTAMP")],
    )
    _add_columns(
        conn,
        "sync_runs",
        [("trigger", "VARCHAR(16)"), ("playlists_total", "INTEGER NOT NULL DEFAULT 0"),
         ("playlists_skipped", "INTEGER NOT NULL DEFAULT 0"),
         ("playlists_refused", "INTEGER NOT NULL DEFAULT 0"),
         ("playlists_deferred", "INTEGER NOT NULL DEFAULT 0"),
         ("retry_after_s", "FLOAT"), ("details", "TEXT")],
    )
    new = MetaData()
    Table(
        "seed_songs",
        new,
        Column("emotion", String(16), nullable=False),
        Column("position", Integer, nullable=False),
        Column("name", Text, nullable=False),
        Column("album", Text, nullable=False, server_default=""),
        Column("artist", Text, nullable=False, server_default=""),
        PrimaryKeyConstraint("emotion", "position"),
    )
    Table("sync_lease", new, Column("name", String(32), primary_key=True), Column("holder", Text),
          Column("expires_at", DateTime))
    Table("meta", new, Column("key", String(64), primary_key=True), Column("value", Text))
    new.create_all(conn)


MIGRATIONS: tuple[Callable[[Connection], None], ...] = (_v1_core_tables, _v2_sync_bookkeeping)
LATEST_VERSION: int = len(MIGRATIONS)


def current_version(conn: Connection) -> int:
    """The schema version of the connected database; 0 for an empty one.

    Raises ``DatabaseUnavailable`` when the database has tables but none of ours (not a Moodtune db).
    """
    names = set(inspect(conn).get_table_names())
    if "schema_version" not in names:
        if "tracks" in names or "playlists" in names:
            raise DatabaseUnavailable(
                "the database has music tables but no schema_version table; it was not created by "
                "Moodtune, so it is left untouched (point MOODTUNE_DB_URL at another database)"
            )
        return 0
    return int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)


def migrate(conn: Connection, target: int = LATEST_VERSION) -> tuple[int, int]:
    """Upgrade the schema to ``target`` inside the caller's transaction; return (from, to) versions."""
    if conn.dialect.name == "postgresql":
        # several app servers may start at once; serialise the upgrade (released at commit)
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY})
    found = current_version(conn)
    if found > LATEST_VERSION:
        raise SchemaTooNew(
            f"the database schema is version {found}, newer than this Moodtune ({LATEST_VERSION}); "
            "upgrade the app instead of using an older one with this database"
        )
    if found == 0:
        schema_version.to_metadata(MetaData()).create(conn)
        conn.execute(schema_version.insert().values(version=0))
    for version in range(found, target):
        MIGRATIONS[version](conn)
        conn.execute(schema_version.update().values(version=version + 1))
    return found, max(found, target)


# --- helpers --------------------------------------------------------------------------------------
def utcnow() -> datetime:
    """Now, as the naive UTC datetime the database stores."""
    return datetime.now(UTC).replace(tzinfo=None)


def db_utcnow(conn: Connection) -> datetime:
    """Now by the database server's clock, as naive UTC: one clock for every process that shares it.

    Leases compare times written by different machines; their own clocks may disagree by minutes.
    """
    if conn.dialect.name == "sqlite":
        value = conn.exec_driver_sql("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')").scalar()
        return datetime.fromisoformat(str(value))
    if conn.dialect.name == "postgresql":
        value = conn.exec_driver_sql("SELECT clock_timestamp() AT TIME ZONE 'UTC'").scalar()
        return value.replace(tzinfo=None)
    return utcnow()


def as_utc(value: datetime | None) -> datetime | None:
    """A stored naive-UTC datetime as an aware one (None stays None)."""
    return None if value is None else value.replace(tzinfo=UTC)


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Iterable[str],
    update: Iterable[str],
    keep_known: Iterable[str] = (),
    fill_missing: Iterable[str] = (),
) -> None:
    """Insert ``rows``; on a key conflict update the ``update`` columns.

    Columns in ``keep_known`` are only overwritten by non-null values (Spotify may omit popularity;
    that must not erase what the catalogue knows). Columns in ``fill_missing`` are only written where
    the stored value is null (a catalogue refresh must not undo fresher values from a sync).
    """
    if not rows:
        return
    dialect = {"sqlite": sqlite, "postgresql": postgresql}.get(conn.dialect.name)
    if dialect is None:
        raise NotImplementedError(f"upsert is implemented for SQLite and PostgreSQL, not {conn.dialect.name}")
    stmt = dialect.insert(table)
    keep, fill = set(keep_known), set(fill_missing)
    set_: dict[str, Any] = {}
    for col in update:
        if col in keep:
            set_[col] = func.coalesce(stmt.excluded[col], table.c[col])
        elif col in fill:
            set_[col] = func.coalesce(table.c[col], stmt.excluded[col])
        else:
            set_[col] = stmt.excluded[col]
    stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=set_) if set_ else (
        stmt.on_conflict_do_nothing(index_elements=list(keys))
    )
    conn.execute(stmt, list(rows))


def get_meta(conn: Connection, key: str) -> str | None:
    """Value of ``key`` in the meta table (None if unset)."""
    return conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()


def set_meta(conn: Connection, key: str, value: str) -> None:
    """Set ``key`` in the meta table."""
    upsert(conn, meta, [{"key": key, "value": value}], ["key"], ["value"])


DATA_VERSION_KEY = "data_version"


def data_version(conn: Connection) -> int:
    """Counter bumped by every write that changes tracks or playlists (the selection index's cache key)."""
    return int(get_meta(conn, DATA_VERSION_KEY) or 0)


def bump_data_version(conn: Connection) -> int:
    """Increment the data version inside the caller's write transaction; return the new value.

    One atomic UPDATE (not a read followed by a write), so concurrent writers never lose an increment.
    """
    value = cast(cast(meta.c.value, Integer) + 1, Text)
    bumped = conn.execute(meta.update().where(meta.c.key == DATA_VERSION_KEY).values(value=value))
    if bumped.rowcount == 0:
        upsert(conn, meta, [{"key": DATA_VERSION_KEY, "value": "0"}], ["key"], update=())
        conn.execute(meta.update().where(meta.c.key == DATA_VERSION_KEY).values(value=value))
    return data_version(conn)
