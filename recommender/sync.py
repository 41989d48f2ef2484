"""Refreshing the emotion playlists from Spotify into the database.

``sync_all`` reads every configured playlist (all pages of its items) and stores it in **one transaction
per playlist**: the pages are fetched first and written only when all arrived, so a failure midway
(network, 5xx after retries, a crash) leaves that playlist's previous contents in place. A playlist whose
``snapshot_id`` has not changed is skipped. Spotify refusing one playlist (403/404) is reported for it and
the others still sync; a long 429 defers the rest of the run instead of waiting for hours. Each run is
recorded in ``sync_runs`` (see ``last_sync_runs``).

Audio features are not requested: the Web API no longer gives them to new apps. Tracks the bundled
catalogue knows keep their features; new ones are placed by their playlist's emotion.

Command line: ``python -m recommender.cli`` (``--help`` for options; exit codes in ``recommender.cli``).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

import config
from recommender import schema
from recommender.catalog import artist_key
from recommender.index import invalidate
from recommender.models import is_embed_only
from recommender.spotify import (
    PlaylistUnavailable,
    RateLimited,
    RetryPolicy,
    RunLimits,
    SpotifyAuthError,
    SpotifyClient,
    SpotifyCredentials,
    SpotifyError,
    SpotifyUnavailable,
    SyncStopped,
)
from recommender.errors import DatabaseUnavailable
from recommender.tx import read_tx, write_tx

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

# per-playlist outcomes
SYNCED, UNCHANGED, REFUSED, DEFERRED, FAILED = "synced", "unchanged", "refused", "deferred", "failed"
# run outcomes
SUCCESS, PARTIAL, RUN_FAILED, NO_CREDENTIALS, RUNNING, INTERRUPTED, ABANDONED, CANCELLED = (
    "success", "partial", "failed", "no_credentials", "running", "interrupted", "abandoned", "cancelled",
)
# a run still "running" after this long was left by a process that died (runs end well before: see
# config.SYNC_DEADLINE_S), matching the sync lease's length
ABANDON_AFTER_S = 3600.0
COMPLETED_STATUSES: tuple[str, ...] = (SUCCESS, PARTIAL)  # runs that count as "the sync happened"

NO_CREDENTIALS_MESSAGE = (
    "Spotify sync is not configured: set SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET (and, for your own "
    "playlists, MOODTUNE_SPOTIFY_REFRESH_TOKEN from `python -m recommender.authorize`) in the environment "
    "or .streamlit/secrets.toml. Music keeps coming from the database meanwhile."
)


@dataclass(frozen=True, slots=True)
class PlaylistSyncResult:
    """What happened to one playlist: status is synced/unchanged/refused/deferred/failed."""

    playlist_id: str
    name: str
    emotions: tuple[str, ...]
    status: str
    tracks: int = 0
    message: str = ""
    http_status: int | None = None


@dataclass(frozen=True, slots=True)
class SyncReport:
    """The outcome of ``sync_all``: status is success/partial/failed/no_credentials."""

    status: str
    message: str
    results: list[PlaylistSyncResult] = field(default_factory=list)
    tracks_upserted: int = 0
    retry_after_s: float | None = None
    run_id: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Number of playlists per outcome (keys: synced, unchanged, refused, deferred, failed)."""
        found = Counter(r.status for r in self.results)
        return {key: found.get(key, 0) for key in (SYNCED, UNCHANGED, REFUSED, DEFERRED, FAILED)}

    @property
    def ok(self) -> bool:
        """True when every playlist was synced or unchanged."""
        return self.status == SUCCESS


@dataclass(frozen=True, slots=True)
class SyncRun:
    """A row of ``sync_runs``: one past sync."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    trigger: str | None
    playlists_total: int
    playlists_synced: int
    playlists_skipped: int
    playlists_refused: int
    playlists_deferred: int
    playlists_failed: int
    tracks_upserted: int
    retry_after_s: float | None
    message: str | None
    details: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Target:
    playlist_id: str
    name: str
    emotions: tuple[str, ...]
    snapshot_id: str | None
    synced_before: bool


def _targets(engine: Engine) -> list[_Target]:
    """The playlists to read from Spotify: every configured one except the embed-only ones."""
    p = schema.playlists.c
    grouped: dict[str, list[Any]] = {}
    with read_tx(engine, "list playlists to sync") as conn:
        for row in conn.execute(select(p.id, p.emotion, p.name, p.snapshot_id, p.last_synced).order_by(p.id)):
            if not is_embed_only(row.id):
                grouped.setdefault(row.id, []).append(row)
    return [
        _Target(pid, rows[0].name, tuple(sorted(r.emotion for r in rows)), rows[0].snapshot_id,
                any(r.last_synced is not None for r in rows))
        for pid, rows in grouped.items()
    ]


def _objects(value: object) -> list[dict[str, Any]]:
    """The JSON objects in ``value`` if it is a list (anything else in an API answer is ignored)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


# Caps on what Spotify sends before it is stored: its own limits are far lower (names of a few hundred
# characters), so anything longer is an attack or a bug, and unbounded text would grow the database and
# every page that shows it.
MAX_NAME_CHARS = 300  # track, artist, album and playlist names
MAX_ARTISTS = 20
MAX_URL_CHARS = 1000  # cover image URLs (a longer one is dropped)
MAX_SNAPSHOT_CHARS = 200
# control characters (NUL, escapes, line breaks, C1 controls) are removed; everything else is kept as it is
_CONTROLS = dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0)])


def clean_text(value: object, limit: int = MAX_NAME_CHARS) -> str | None:
    """``value`` without control characters and cut to ``limit`` characters; None if not a non-blank string."""
    if not isinstance(value, str):
        return None
    cleaned = value[: limit * 4].translate(_CONTROLS).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned or None


def _text(value: object) -> str | None:
    return clean_text(value)


def _number(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _image_url(album: dict[str, Any]) -> str | None:
    images = [img for img in _objects(album.get("images")) if _text(img.get("url"))]
    if not images:
        return None
    # the one nearest 300 px wide: sharp in a table, far smaller than the 640 px cover
    url = min(images, key=lambda img: abs((_number(img.get("width")) or 300) - 300))["url"]
    return url if len(url) <= MAX_URL_CHARS and clean_text(url, MAX_URL_CHARS) == url else None


def track_row(track: object, now: datetime) -> dict[str, Any] | None:
    """A ``tracks`` row from a Web API track object; None for local files, episodes, id-less or malformed items."""
    if not isinstance(track, dict) or track.get("type", "track") != "track" or track.get("is_local"):
        return None
    track_id = _text(track.get("id"))
    if track_id is None or len(track_id) > 64:
        return None
    names = [name for a in _objects(track.get("artists"))[:MAX_ARTISTS] if (name := _text(a.get("name")))]
    artists = clean_text(", ".join(names), MAX_NAME_CHARS) or "Unknown artist"
    album = track.get("album") if isinstance(track.get("album"), dict) else {}
    return {
        "id": track_id,
        "name": _text(track.get("name")) or "(untitled)",
        "artists": artists,
        "primary_artist": artist_key(artists),
        "album": _text(album.get("name")) or "",
        "duration_ms": _number(track.get("duration_ms")),
        # since February 2026 Development Mode apps may not get popularity: None keeps the known value
        "popularity": _number(track.get("popularity")),
        "image_url": _image_url(album),
        "source": "spotify",
        "updated_at": now,
    }


def _store(engine: Engine, target: _Target, meta: dict[str, Any], items: Iterable[dict[str, Any]]) -> int:
    """Replace the playlist's tracks in one transaction; return how many distinct tracks it now has."""
    now = schema.utcnow()
    ordered: list[str] = []
    rows: dict[str, dict[str, Any]] = {}
    for entry in items:
        # the February 2026 API renamed playlist items' "track" to "item"; accept both
        row = track_row(entry.get("item") or entry.get("track"), now)
        if row is not None:
            ordered.append(row["id"])
            rows.setdefault(row["id"], row)
    pt = schema.playlist_tracks
    with write_tx(engine, f"store playlist {target.playlist_id}") as conn:
        schema.upsert(
            conn, schema.tracks, list(rows.values()), ["id"],
            update=("name", "artists", "primary_artist", "album", "duration_ms", "popularity", "image_url",
                    "updated_at"),
            keep_known=("duration_ms", "popularity", "image_url"),
        )
        conn.execute(delete(pt).where(pt.c.playlist_id == target.playlist_id))
        if ordered:
            conn.execute(pt.insert(), [
                {"playlist_id": target.playlist_id, "track_id": tid, "position": pos}
                for pos, tid in enumerate(ordered)
            ])
        conn.execute(
            schema.playlists.update().where(schema.playlists.c.id == target.playlist_id).values(
                name=_text(meta.get("name")) or target.name,
                snapshot_id=clean_text(meta.get("snapshot_id"), MAX_SNAPSHOT_CHARS),
                last_synced=now, track_count=len(ordered),
            )
        )
        schema.bump_data_version(conn)
    return len(rows)


def _mark_unchanged(engine: Engine, target: _Target, meta: dict[str, Any]) -> None:
    with write_tx(engine, f"update playlist {target.playlist_id}") as conn:
        conn.execute(
            schema.playlists.update().where(schema.playlists.c.id == target.playlist_id).values(
                name=_text(meta.get("name")) or target.name, last_synced=schema.utcnow()
            )
        )
        schema.bump_data_version(conn)


def _sync_one(engine: Engine, client: SpotifyClient, target: _Target) -> PlaylistSyncResult:
    meta = client.playlist(target.playlist_id)
    name = _text(meta.get("name")) or target.name
    snapshot = clean_text(meta.get("snapshot_id"), MAX_SNAPSHOT_CHARS)
    if target.synced_before and snapshot and snapshot == target.snapshot_id:
        _mark_unchanged(engine, target, meta)
        return PlaylistSyncResult(target.playlist_id, name, target.emotions, UNCHANGED,
                                  message="unchanged since the last sync (same snapshot)")
    # fetch every page before writing anything: a failure here leaves the stored copy untouched
    items = list(client.playlist_items(target.playlist_id))
    count = _store(engine, target, meta, items)
    return PlaylistSyncResult(target.playlist_id, name, target.emotions, SYNCED, tracks=count,
                              message=f"{count} tracks")


def _run_status(results: list[PlaylistSyncResult]) -> str:
    good = sum(r.status in (SYNCED, UNCHANGED) for r in results)
    if good == len(results):
        return SUCCESS
    return PARTIAL if good else RUN_FAILED


def _summary(status: str, results: list[PlaylistSyncResult], tracks: int, abort: str | None) -> str:
    if abort:
        return abort
    if not results:
        return "No playlists are configured; nothing to sync."
    counts = Counter(r.status for r in results)
    parts = [f"{counts[k]} {k}" for k in (SYNCED, UNCHANGED, REFUSED, DEFERRED, FAILED) if counts[k]]
    problems = [f"{r.name}: {r.message}" for r in results if r.status in (REFUSED, DEFERRED, FAILED)]
    text = f"Sync {status}: {', '.join(parts)} ({tracks} tracks stored)."
    return text + ("\n" + "\n".join(problems) if problems else "")


def check_not_damaged(engine: Engine) -> None:
    """Raise ``DatabaseUnavailable`` when a SQLite file is damaged (``PRAGMA quick_check``).

    A sync touches only a few pages: without this, a file whose catalogue pages are broken would report
    "Sync success" while every screen that reads music says the file is damaged.
    """
    if engine.dialect.name != "sqlite":
        return
    with read_tx(engine, "check the music database") as conn:
        problems = [row[0] for row in conn.exec_driver_sql("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise DatabaseUnavailable(
            f"Could not sync into the music database ({engine.url.database}): the file is not a valid SQLite "
            f"database (damaged or truncated): {'; '.join(str(p) for p in problems)[:300]}. Restore it from a "
            "backup, or delete it to start again from the bundled catalogue."
        )


def _stop_reason(limits: RunLimits, cancelled: bool) -> str:
    """Why the playlists not yet read wait for the next sync."""
    if limits.interrupted:
        return f"interrupted ({limits.interrupted}): left for the next sync"
    return "cancelled: left for the next sync" if cancelled else "deferred: this sync reached its time limit"


def mark_abandoned(conn: Connection, now: datetime | None = None, after_s: float = ABANDON_AFTER_S) -> int:
    """Mark runs left "running" by a process that died (started over ``after_s`` ago); return how many."""
    now = now or schema.utcnow()
    s = schema.sync_runs
    return int(conn.execute(
        s.update().where(s.c.status == RUNNING, s.c.started_at < now - timedelta(seconds=after_s)).values(
            status=ABANDONED, finished_at=now,
            message="Abandoned: the process running this sync stopped before it finished (its lease expired).",
        )
    ).rowcount or 0)


def _start_run(engine: Engine, trigger: str, total: int) -> tuple[int, datetime]:
    with write_tx(engine, "record the sync run") as conn:
        # the database's clock: runs are compared with leases and with runs recorded by other machines
        started = schema.db_utcnow(conn)
        mark_abandoned(conn, started)
        run_id = conn.execute(
            schema.sync_runs.insert().values(started_at=started, status=RUNNING, trigger=trigger,
                                             playlists_total=total)
        ).inserted_primary_key[0]
    return int(run_id), started


def _finish_run(engine: Engine, run_id: int, report: SyncReport) -> None:
    counts = report.counts
    with write_tx(engine, "record the sync run") as conn:
        conn.execute(
            schema.sync_runs.update().where(schema.sync_runs.c.id == run_id).values(
                finished_at=schema.db_utcnow(conn), status=report.status, message=report.message,
                playlists_synced=counts[SYNCED], playlists_skipped=counts[UNCHANGED],
                playlists_refused=counts[REFUSED], playlists_deferred=counts[DEFERRED],
                playlists_failed=counts[FAILED], tracks_upserted=report.tracks_upserted,
                retry_after_s=report.retry_after_s,
                details=json.dumps([asdict(r) for r in report.results]),
            )
        )


def sync_all(
    engine: Engine,
    credentials: SpotifyCredentials | None,
    progress: Progress | None = None,
    *,
    trigger: str = "manual",
    policy: RetryPolicy | None = None,
    limits: RunLimits | None = None,
) -> SyncReport:
    """Refresh every configured playlist from Spotify; see the module docstring for the guarantees.

    ``progress(fraction, message)`` is called before each playlist and once at the end (the message
    holds playlist names from Spotify: show it as plain text). ``limits`` bounds the run (default: a
    deadline of ``config.SYNC_DEADLINE_S``): when it is cancelled or out of time, or when Spotify stops
    answering, the playlists not yet read are deferred to the next run. Without credentials nothing is
    contacted and the report's status is ``no_credentials`` with a message saying how to configure them.
    Raises ``DatabaseUnavailable`` only if the database cannot record the run.
    """
    def tell(fraction: float, message: str) -> None:
        if progress is not None:
            progress(min(1.0, max(0.0, fraction)), message)

    if credentials is None:
        tell(1.0, NO_CREDENTIALS_MESSAGE)
        return SyncReport(NO_CREDENTIALS, NO_CREDENTIALS_MESSAGE)

    limits = limits or RunLimits.within(config.SYNC_DEADLINE_S)
    check_not_damaged(engine)
    targets = _targets(engine)
    run_id, started = _start_run(engine, trigger, len(targets))
    results: list[PlaylistSyncResult] = []
    retry_after: float | None = None
    stop_reason: str | None = None  # why the remaining playlists are deferred
    abort: str | None = None
    status = INTERRUPTED
    try:
        client = SpotifyClient(credentials, policy, limits=limits)
        for i, target in enumerate(targets):
            tell(i / max(len(targets), 1), f"Syncing {target.name} ({i + 1}/{len(targets)})")
            if stop_reason is None and (limits.cancel.is_set() or limits.remaining() <= 0):
                stop_reason = _stop_reason(limits, limits.cancel.is_set())
            if retry_after is not None or stop_reason is not None:
                message = stop_reason or f"deferred: rate limited for {retry_after:.0f} s"
                results.append(PlaylistSyncResult(target.playlist_id, target.name, target.emotions, DEFERRED,
                                                  message=message))
                continue
            try:
                results.append(_sync_one(engine, client, target))
            except PlaylistUnavailable as error:
                results.append(PlaylistSyncResult(target.playlist_id, target.name, target.emotions, REFUSED,
                                                  message=str(error), http_status=error.status))
            except RateLimited as error:
                retry_after = error.retry_after_s
                results.append(PlaylistSyncResult(target.playlist_id, target.name, target.emotions, DEFERRED,
                                                  message=str(error), http_status=429))
            except SyncStopped as error:
                stop_reason = _stop_reason(limits, error.cancelled)
                results.append(PlaylistSyncResult(target.playlist_id, target.name, target.emotions, DEFERRED,
                                                  message=stop_reason))
            except SpotifyAuthError as error:
                # every further request would be refused the same way
                results.append(PlaylistSyncResult(target.playlist_id, target.name, target.emotions, FAILED,
                                                  message=str(error)))
                abort = str(error)
                break
            except Exception as error:  # noqa: BLE001 - one playlist's failure must not stop the others
                message = str(error) if isinstance(error, SpotifyError) else f"{type(error).__name__}: {error}"
                log.warning("sync of playlist %s failed: %s", target.playlist_id, message)
                log.debug("sync of playlist %s failed", target.playlist_id, exc_info=True)
                results.append(PlaylistSyncResult(target.playlist_id, target.name, target.emotions, FAILED,
                                                  message=message))
                if isinstance(error, SpotifyUnavailable):
                    # Spotify is down or not answering: asking for every other playlist would only wait
                    stop_reason = "deferred: Spotify was not answering, so this playlist waits for the next sync"
        status = RUN_FAILED if abort else _run_status(results)
        if status != SUCCESS and limits.cancel.is_set():
            status = INTERRUPTED if limits.interrupted else CANCELLED
    finally:
        tracks = sum(r.tracks for r in results)
        report = SyncReport(
            status=status, message=_summary(status, results, tracks, abort), results=results,
            tracks_upserted=tracks, retry_after_s=retry_after, run_id=run_id, started_at=schema.as_utc(started),
            finished_at=schema.as_utc(schema.utcnow()),
        )
        _finish_run(engine, run_id, report)
        invalidate(engine)
    tell(1.0, report.message)
    return report


def last_sync_runs(engine: Engine, limit: int = 10) -> list[SyncRun]:
    """The most recent sync runs, newest first."""
    s = schema.sync_runs.c
    with read_tx(engine, "read the sync history") as conn:
        rows = conn.execute(select(schema.sync_runs).order_by(s.started_at.desc(), s.id.desc()).limit(limit))
        return [
            SyncRun(
                id=r.id, started_at=schema.as_utc(r.started_at) or r.started_at,
                finished_at=schema.as_utc(r.finished_at), status=r.status, trigger=r.trigger,
                playlists_total=r.playlists_total, playlists_synced=r.playlists_synced,
                playlists_skipped=r.playlists_skipped, playlists_refused=r.playlists_refused,
                playlists_deferred=r.playlists_deferred, playlists_failed=r.playlists_failed,
                tracks_upserted=r.tracks_upserted, retry_after_s=r.retry_after_s, message=r.message,
                details=json.loads(r.details) if r.details else [],
            )
            for r in rows
        ]
