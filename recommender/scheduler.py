"""Weekly sync: a background thread per server process, coordinated through a lease row in the database.

``start_scheduler`` starts (once per process and database) a daemon thread that wakes every
``check_every_s`` seconds and calls ``run_if_due``. A sync runs when the last completed one (status
success or partial) is older than ``interval_days`` (``MOODTUNE_SYNC_INTERVAL_DAYS``, default 7), or when
a rate-limited run's ``Retry-After`` has passed. Before syncing, a process must take the ``sync_lease``
row with one conditional UPDATE (atomic in SQLite and PostgreSQL alike), so when several app processes
share a database exactly one of them syncs. The lease is short (``config.SYNC_LEASE_S``, 60 s) and renewed
by a heartbeat thread (``config.SYNC_LEASE_RENEW_S``, 15 s) while the holder lives, so the lease of a
holder that was killed, or could not give it back (a full disk), lapses within a minute. Lease times are
the database server's clock, never this machine's; completed runs dated in the future (a clock that was
wrong) are ignored, with a warning, when deciding whether a sync is due.

Without a long-running server, use cron instead (daily is fine: ``--if-due`` applies the same rule)::

    17 4 * * * cd /path/to/moodtune && python -m recommender.cli --if-due --quiet >> sync.log 2>&1
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, or_, select

import config
from recommender import schema
from recommender.db import get_engine
from recommender.errors import DatabaseUnavailable
from recommender.spotify import RetryPolicy, SpotifyCredentials
from recommender.spotify import RunLimits
from recommender.sync import COMPLETED_STATUSES, Progress, SyncReport, mark_abandoned, sync_all
from recommender.tx import read_tx, write_tx

log = logging.getLogger(__name__)

LEASE_NAME = "sync"
# a completed run finishing later than this past the database's "now" was dated by a wrong clock
FUTURE_TOLERANCE = timedelta(minutes=10)
DEFAULT_CHECK_EVERY_S = 900.0
# identifies this process in the lease row (host + pid + random, as pids repeat across containers)
PROCESS_HOLDER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

CredentialsProvider = Callable[[], SpotifyCredentials | None]


@dataclass(frozen=True, slots=True)
class ScheduleOutcome:
    """Whether ``run_if_due`` synced, why (or why not), and the sync's report when it ran."""

    ran: bool
    reason: str
    report: SyncReport | None = None


def due_reason(engine: Engine, interval_days: float, now: datetime | None = None) -> str | None:
    """Why a sync is due now (a sentence), or None when it is not.

    ``now`` defaults to the database's clock. Runs that finished in the future (beyond a tolerance for
    clocks that differ a little) are ignored and logged: one such run must not stop the syncs for a year.
    """
    s = schema.sync_runs.c
    with read_tx(engine, "read the sync history") as conn:
        now = now or schema.db_utcnow(conn)
        horizon = now + FUTURE_TOLERANCE
        last_done = conn.execute(
            select(func.max(s.finished_at)).where(s.status.in_(COMPLETED_STATUSES), s.finished_at <= horizon)
        ).scalar()
        latest = conn.execute(
            select(s.finished_at, s.retry_after_s).where(s.finished_at.is_not(None), s.finished_at <= horizon)
            .order_by(s.id.desc()).limit(1)
        ).first()
        future = conn.execute(select(func.count()).where(s.finished_at > horizon)).scalar() or 0
    if future:
        log.warning("%d sync run(s) are dated after now (%s UTC by the database's clock): a clock was wrong when "
                    "they were recorded; they are ignored when deciding whether a sync is due", future,
                    f"{now:%Y-%m-%d %H:%M}")
    if last_done is None:
        return "no completed sync yet"
    if now - last_done >= timedelta(days=interval_days):
        return f"last completed sync {last_done:%Y-%m-%d %H:%M} UTC is older than {interval_days:g} days"
    deferred_until = (
        latest.finished_at + timedelta(seconds=latest.retry_after_s)
        if latest is not None and latest.retry_after_s is not None else None
    )
    if deferred_until is not None and now >= deferred_until:
        return "a rate-limited sync deferred playlists and its Retry-After has passed"
    return None


def acquire_lease(engine: Engine, holder: str, lease_s: float | None = None, now: datetime | None = None) -> bool:
    """Take the sync lease for ``holder`` if it is free, expired or already ours; True on success.

    ``lease_s`` defaults to ``config.SYNC_LEASE_S``; ``now`` to the database's clock.
    """
    lease_s = config.SYNC_LEASE_S if lease_s is None else lease_s
    lease = schema.sync_lease
    with write_tx(engine, "take the sync lease") as conn:
        now = now or schema.db_utcnow(conn)
        schema.upsert(conn, lease, [{"name": LEASE_NAME, "holder": None, "expires_at": None}], ["name"], update=())
        before = conn.execute(select(lease.c.holder, lease.c.expires_at).where(lease.c.name == LEASE_NAME)).first()
        taken = conn.execute(
            lease.update()
            .where(lease.c.name == LEASE_NAME)
            .where(or_(lease.c.holder.is_(None), lease.c.expires_at.is_(None), lease.c.expires_at < now,
                       lease.c.holder == holder))
            .values(holder=holder, expires_at=now + timedelta(seconds=lease_s))
        )
        if taken.rowcount == 1:
            # runs older than a lease belong to a holder whose lease expired: it died mid-sync. So does every run
            # started before another holder's lease ran out (one killed before its first renewal, too): only the
            # lease's holder runs a sync.
            after_s = lease_s
            if before is not None and before.holder not in (None, holder) and before.expires_at is not None:
                after_s = min(lease_s, max(0.0, (now - before.expires_at).total_seconds()))
            mark_abandoned(conn, now, after_s)
        return taken.rowcount == 1


def renew_lease(engine: Engine, holder: str, lease_s: float | None = None) -> bool:
    """Extend ``holder``'s lease to ``lease_s`` from now (the database's clock); False if it is not theirs."""
    lease_s = config.SYNC_LEASE_S if lease_s is None else lease_s
    lease = schema.sync_lease
    with write_tx(engine, "renew the sync lease") as conn:
        renewed = conn.execute(
            lease.update().where(lease.c.name == LEASE_NAME, lease.c.holder == holder)
            .values(expires_at=schema.db_utcnow(conn) + timedelta(seconds=lease_s))
        )
        return renewed.rowcount == 1


class LeaseHeartbeat:
    """Renews a held lease every ``renew_s`` seconds on its own thread while the holder lives.

    When a renewal finds the lease taken by someone else (this process stalled longer than the lease),
    the run is cancelled through ``limits``: two syncs must not write at once. A renewal that fails
    (database unavailable) is retried at the next beat; the lease lapses if none succeeds in time.
    """

    def __init__(self, engine: Engine, holder: str, lease_s: float, renew_s: float,
                 limits: RunLimits | None = None) -> None:
        self.engine, self.holder, self.lease_s, self.limits = engine, holder, lease_s, limits
        self.renew_s = min(renew_s, lease_s / 3)
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="moodtune-sync-lease", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.renew_s):
            try:
                if renew_lease(self.engine, self.holder, self.lease_s):
                    continue
            except DatabaseUnavailable as error:
                log.warning("could not renew the sync lease (%s); trying again in %.0f s", error, self.renew_s)
                continue
            self.lost = True
            log.warning("the sync lease was taken over by another process: stopping this sync")
            if self.limits is not None:
                self.limits.cancel.set()
            return

    def __enter__(self) -> LeaseHeartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


# Syncs running in this process, so that a server stopping (SIGTERM to Streamlit, then interpreter exit)
# interrupts them and gives their leases back instead of leaving them to lapse: holder -> (engine, limits, done)
_ACTIVE: dict[str, tuple[Engine, RunLimits, threading.Event]] = {}
_ACTIVE_LOCK = threading.Lock()
STOP_WAIT_S = 5.0  # how long exit waits for interrupted syncs to record themselves and release


@contextlib.contextmanager
def _active_sync(engine: Engine, holder: str, limits: RunLimits) -> Iterator[None]:
    done = threading.Event()
    with _ACTIVE_LOCK:
        _ACTIVE[holder] = (engine, limits, done)
    try:
        yield
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.pop(holder, None)
        done.set()


@atexit.register
def stop_active_syncs(why: str = "the server is stopping") -> None:
    """Interrupt this process's running syncs and give their leases back (runs at interpreter exit)."""
    with _ACTIVE_LOCK:
        active = dict(_ACTIVE)
    for engine, limits, _done in active.values():
        limits.interrupt(why)
    for holder, (engine, _limits, done) in active.items():
        if not done.wait(STOP_WAIT_S):
            _release_quietly(engine, holder)


def _release_quietly(engine: Engine, holder: str) -> None:
    """Give the lease back; if the database refuses (full disk, server down) it lapses by itself."""
    try:
        release_lease(engine, holder)
    except DatabaseUnavailable as error:
        log.warning("could not release the sync lease (%s); it lapses within %.0f s", error, config.SYNC_LEASE_S)


def release_lease(engine: Engine, holder: str) -> None:
    """Give the lease back (only if ``holder`` still holds it)."""
    lease = schema.sync_lease
    with write_tx(engine, "release the sync lease") as conn:
        conn.execute(
            lease.update().where(lease.c.name == LEASE_NAME, lease.c.holder == holder)
            .values(holder=None, expires_at=None)
        )


def run_if_due(
    engine: Engine,
    credentials_provider: CredentialsProvider,
    interval_days: float = config.SYNC_INTERVAL_DAYS,
    *,
    holder: str = PROCESS_HOLDER,
    lease_s: float | None = None,
    policy: RetryPolicy | None = None,
    trigger: str = "scheduler",
    limits: RunLimits | None = None,
) -> ScheduleOutcome:
    """Sync if due and no other process is syncing; never raises for Spotify problems (see the report)."""
    reason = due_reason(engine, interval_days)
    if reason is None:
        return ScheduleOutcome(False, "not due")
    credentials = credentials_provider()
    if credentials is None:
        return ScheduleOutcome(False, "no Spotify credentials configured")
    lease_s = config.SYNC_LEASE_S if lease_s is None else lease_s
    limits = limits or RunLimits.within(config.SYNC_DEADLINE_S)
    if not acquire_lease(engine, holder, lease_s):
        return ScheduleOutcome(False, "another process holds the sync lease")
    with _active_sync(engine, holder, limits):
        try:
            with LeaseHeartbeat(engine, holder, lease_s, config.SYNC_LEASE_RENEW_S, limits):
                # another process may have finished a sync between our check and taking the lease
                reason = due_reason(engine, interval_days)
                if reason is None:
                    return ScheduleOutcome(False, "not due")
                log.info("scheduled sync: %s", reason)
                report = sync_all(engine, credentials, trigger=trigger, policy=policy, limits=limits)
                return ScheduleOutcome(True, reason, report)
        finally:
            _release_quietly(engine, holder)


ANOTHER_SYNC_RUNNING = "Another sync is running right now (from this or another server); try again when it has finished."


def sync_with_lease(
    engine: Engine,
    credentials: SpotifyCredentials | None,
    progress: Progress | None = None,
    *,
    trigger: str = "manual",
    policy: RetryPolicy | None = None,
    limits: RunLimits | None = None,
    lease_s: float | None = None,
) -> ScheduleOutcome:
    """Sync now, unless another sync holds the lease (then ``ran`` is False and ``reason`` says so).

    "Sync now" and the command line take the same lease as the scheduler, so two syncs never run at once.
    """
    if credentials is None:
        report = sync_all(engine, None, progress)
        return ScheduleOutcome(False, report.message, report)
    holder = f"{PROCESS_HOLDER}:{trigger}:{uuid.uuid4().hex[:8]}"
    lease_s = config.SYNC_LEASE_S if lease_s is None else lease_s
    limits = limits or RunLimits.within(config.SYNC_DEADLINE_S)
    if not acquire_lease(engine, holder, lease_s):
        return ScheduleOutcome(False, ANOTHER_SYNC_RUNNING)
    with _active_sync(engine, holder, limits):  # (exit waits for it, release included)
        try:
            with LeaseHeartbeat(engine, holder, lease_s, config.SYNC_LEASE_RENEW_S, limits):
                report = sync_all(engine, credentials, progress, trigger=trigger, policy=policy, limits=limits)
            return ScheduleOutcome(True, "requested", report)
        finally:
            _release_quietly(engine, holder)


@dataclass(slots=True)
class SchedulerHandle:
    """The running scheduler thread; ``stop()`` ends it at its next wake-up."""

    thread: threading.Thread
    stop_event: threading.Event = field(default_factory=threading.Event)

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the thread to finish and wait up to ``timeout`` seconds."""
        self.stop_event.set()
        self.thread.join(timeout)

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self.thread.is_alive()


_HANDLES: dict[str, SchedulerHandle] = {}
_HANDLES_LOCK = threading.Lock()


def start_scheduler(
    database: Engine | str,
    credentials_provider: CredentialsProvider,
    interval_days: float = config.SYNC_INTERVAL_DAYS,
    *,
    check_every_s: float = DEFAULT_CHECK_EVERY_S,
    first_check_after_s: float = 30.0,
) -> SchedulerHandle:
    """Start the sync thread for ``database`` unless this process already runs one; return its handle.

    ``database`` is an engine or a URL. Given a URL, the thread opens the database itself (and keeps
    trying at each check while it is unavailable), so starting the scheduler never waits for a slow or
    unreachable database. Streamlit re-runs the app script on every interaction: calling this each time
    is fine.
    """
    key = database if isinstance(database, str) else database.url.render_as_string(hide_password=False)
    with _HANDLES_LOCK:
        handle = _HANDLES.get(key)
        if handle is not None and handle.alive:
            return handle
        stop = threading.Event()

        def loop() -> None:
            wait = first_check_after_s
            while not stop.wait(wait):
                wait = check_every_s
                try:
                    engine = get_engine(database) if isinstance(database, str) else database
                    outcome = run_if_due(engine, credentials_provider, interval_days)
                    if outcome.ran:
                        log.info("scheduled sync finished: %s", outcome.report.message if outcome.report else "")
                except DatabaseUnavailable as error:
                    log.warning("scheduled sync check skipped: %s; trying again in %.0f s", error, check_every_s)
                except Exception as error:  # noqa: BLE001 - the thread must survive a bad night
                    log.warning("scheduled sync check failed (%s: %s); trying again in %.0f s",
                                type(error).__name__, error, check_every_s)
                    log.debug("scheduled sync check failed", exc_info=True)

        thread = threading.Thread(target=loop, name="moodtune-sync-scheduler", daemon=True)
        handle = SchedulerHandle(thread, stop)
        _HANDLES[key] = handle
        thread.start()
        return handle
