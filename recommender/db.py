"""Opening the music database: engine, SQLite/PostgreSQL settings, schema upgrade and first-use seeding.

SQLite (a file under ``data/``) is the embedded default; PostgreSQL (``MOODTUNE_DB_URL=
postgresql+psycopg://user:password@host:5432/moodtune``) is how several app servers share one database.
For SQLite the engine uses WAL (readers never wait for the sync's writer), a busy timeout, and ``BEGIN
IMMEDIATE`` for write transactions so concurrent writers queue instead of failing half-way. For
PostgreSQL it sets connect, lock and statement timeouts, so a slow or unreachable server becomes a
message within seconds instead of a page that hangs; ``recommender.tx`` serialises its writers.

Opening only writes when it must (a new or older schema, a changed bundle): a read-only database file in
a read-only folder still serves music. Every failure to open, whatever its cause (locked, missing folder,
unwritable, damaged file, unparseable URL, missing driver, unreachable or silent server, schema from a
newer release), is raised as ``DatabaseUnavailable`` with a message to show.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import URL, Engine, create_engine, event, exc, make_url
from sqlalchemy.pool import StaticPool

import config
from recommender import schema
from recommender.catalog import BUNDLE_SHA_KEY, Bundle, seed_bundled
from recommender.errors import AMBIGUOUS_URL_MESSAGE, DatabaseUnavailable, ambiguous_url, db_errors, redact_url
from recommender.schema import migrate
from recommender.tx import WRITE_OPTION, read_tx, write_tx

__all__ = ["DatabaseUnavailable", "get_engine", "open_engine", "parse_db_url"]

log = logging.getLogger(__name__)

_ENGINES: dict[str, Engine] = {}
_FAILURES: dict[str, tuple[float, DatabaseUnavailable]] = {}
_URL_LOCKS: dict[str, threading.Lock] = {}
_REGISTRY_LOCK = threading.Lock()  # guards the three dicts above; never held while connecting


def _is_memory(database: str | None) -> bool:
    return not database or database == ":memory:" or database.startswith("file::memory:")


def parse_db_url(url: str | URL) -> URL:
    """``url`` as a SQLAlchemy URL; a bare ``postgresql://`` means the pinned psycopg (3) driver.

    Raises ``DatabaseUnavailable`` (never echoing the text, which may hold a password) when it does not parse,
    or when an unencoded ``@`` in the password makes it ambiguous (see ``errors.ambiguous_url``).
    """
    if isinstance(url, str) and ambiguous_url(url):
        raise DatabaseUnavailable(f"Could not open the music database ({redact_url(url)}): {AMBIGUOUS_URL_MESSAGE}.")
    try:
        with db_errors(url if isinstance(url, URL) else redact_url(url), "open the music database"):
            parsed = make_url(url)
    except ValueError as error:  # e.g. a port that is not a number
        raise DatabaseUnavailable(
            "Could not open the music database: its URL cannot be understood (check MOODTUNE_DB_URL; e.g. "
            "postgresql+psycopg://user:password@host:5432/moodtune)"
        ) from error
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_read_only(path: Path) -> tuple[bool, bool]:
    """(read-only, immutable) for an existing SQLite file this process may not write.

    A read-only file in a writable folder opens with ``mode=ro`` (SQLite can still make its WAL index); in
    a read-only folder it must be opened ``immutable`` (no lock or WAL files can be created there).
    """
    if not path.is_file():
        return False, False
    folder_writable = os.access(path.parent, os.W_OK)
    if os.access(path, os.W_OK) and folder_writable:
        return False, False
    return True, not folder_writable


def _install_sqlite_hooks(engine: Engine, busy_timeout_s: float, memory: bool, read_only: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN: the sqlite3 module's own implicit
        # transactions do not cover DDL, and migrations must be atomic.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        if not memory and not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, and much faster
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


FileId = tuple[int, int]  # (device, inode): what a path names at one moment


class SqliteFileGuard:
    """Notices when the SQLite path no longer names the file the engine's connections opened.

    An operator may delete the database file, or replace it with a restored backup (a rename onto the
    path), while the app runs. Open connections would go on reading and writing the old, unlinked file:
    every write "succeeds" and is lost. So before each transaction (the pool's checkout) the path's
    device and inode are compared with those of the file the connection opened:

    * the path names another file: the connection is dropped and a new one opens the new file. Every
      connection to the old file is closed first (the last one to close checkpoints the old file's WAL
      and removes its -wal/-shm files, which the new file must not inherit); while another thread is
      still inside a transaction on the old file, the new transaction is refused with a message instead.
    * the path names nothing: the transaction is refused with a message saying what happened (a new,
      empty file is never created behind the operator's back once the database existed).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.armed = False  # set once the database exists: from then on the file must stay
        self._open: dict[int, FileId | None] = {}  # id(DBAPI connection) -> the file it opened
        self._lock = threading.Lock()
        self._replaced = False  # the path was seen naming another file: its -wal/-shm are the old file's
        self.engine: Engine | None = None

    def file_id(self) -> FileId | None:
        """What the path names now; None when it names nothing."""
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return found.st_dev, found.st_ino

    def missing(self) -> DatabaseUnavailable:
        return DatabaseUnavailable(
            f"The music database file {self.path} was deleted or moved while Moodtune was running, so nothing "
            "was saved. Put the file (or a backup) back at that path and Moodtune uses it at once; or restart "
            "Moodtune to start a new database."
        )

    def busy(self) -> DatabaseUnavailable:
        return DatabaseUnavailable(
            f"The music database file {self.path} was replaced (a restored backup?) while another request was "
            "still using the old one, so nothing was saved. Try again in a moment: the new file is then used."
        )

    def opened(self, dbapi_conn: Any, record: Any) -> None:
        """Pool "connect": remember which file this connection opened."""
        found = self.file_id()
        record.info["moodtune_file"] = found
        with self._lock:
            self._open[id(dbapi_conn)] = found

    def closed(self, dbapi_conn: Any, *_args: Any) -> None:
        """Pool "close" / "close_detached"."""
        with self._lock:
            self._open.pop(id(dbapi_conn), None)

    def before_connect(self) -> None:
        """Before a new connection: refuse when the file is gone, or while the old file is still open."""
        current = self.file_id()
        if self.armed and current is None:
            raise self.missing()
        if self._stale(current):
            with self._lock:
                self._replaced = True
            if self.engine is not None:
                self.engine.pool.dispose()  # closes the idle connections to the old file
        if self._stale(current):
            raise self.busy()
        with self._lock:
            replaced, self._replaced = self._replaced, False
            sharing = any(opened == current for opened in self._open.values())
        if replaced and not sharing:
            # SQLite leaves a moved file's WAL in place when its last connection closes (it cannot
            # checkpoint into a file that is no longer at the path); the new file must not read it as its own
            for suffix in ("-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _stale(self, current: FileId | None) -> bool:
        with self._lock:
            return any(opened != current for opened in self._open.values())

    def at_checkout(self, _dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        """Pool "checkout", before every transaction: is the connection's file still the path's?"""
        current = self.file_id()
        if current is None and self.armed:
            raise self.missing()
        if current != record.info.get("moodtune_file"):
            with self._lock:
                self._replaced = True
            log.warning("the music database file %s was replaced while the app ran: reopening it", self.path)
            # the pool closes this connection and opens a new one (before_connect checks the others)
            raise exc.DisconnectionError("the database file was replaced")


_GUARDS: weakref.WeakKeyDictionary[Engine, SqliteFileGuard] = weakref.WeakKeyDictionary()


def _guard_file(engine: Engine, path: Path, *, dialect_connect: bool) -> SqliteFileGuard:
    guard = SqliteFileGuard(path.resolve())
    guard.engine = engine
    event.listen(engine, "connect", guard.opened)
    event.listen(engine, "close", guard.closed)
    event.listen(engine, "close_detached", guard.closed)
    event.listen(engine, "checkout", guard.at_checkout)
    if dialect_connect:
        event.listen(engine, "do_connect", lambda *_args: guard.before_connect())
    _GUARDS[engine] = guard
    return guard


def _sqlite_engine(parsed: URL, busy_timeout_s: float) -> tuple[Engine, bool]:
    """The engine for a SQLite URL, and whether it is read-only."""
    memory = _is_memory(parsed.database)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": busy_timeout_s, "check_same_thread": False}}
    read_only = False
    if memory:
        kwargs["poolclass"] = StaticPool  # one shared connection, or each would see its own db
    elif parsed.query.get("uri") in ("true", "1") or (parsed.database or "").startswith("file:"):
        # the URL says how to open it (e.g. sqlite:///file:/srv/moodtune.db?mode=ro&uri=true)
        read_only = parsed.query.get("mode") == "ro"
    else:
        path = Path(parsed.database or "")
        read_only, immutable = _sqlite_read_only(path)
        if read_only:
            uri = f"file:{quote(str(path.resolve()))}?mode=ro" + ("&immutable=1" if immutable else "")

            def connect() -> sqlite3.Connection:
                return sqlite3.connect(uri, uri=True, timeout=busy_timeout_s, check_same_thread=False)

            kwargs = {"creator": connect}
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)
    _install_sqlite_hooks(engine, busy_timeout_s, memory, read_only)
    if not memory and "creator" not in kwargs and not (
            parsed.query.get("uri") in ("true", "1") or (parsed.database or "").startswith("file:")):
        _guard_file(engine, Path(parsed.database or ""), dialect_connect=True)
    elif "creator" in kwargs:  # a read-only file opened by path: noticing a swap still matters for reads
        _guard_file(engine, Path(parsed.database or ""), dialect_connect=False)
    return engine, read_only


def _postgres_engine(parsed: URL, busy_timeout_s: float) -> Engine:
    """The engine for a PostgreSQL URL, with timeouts (settings in the URL's query win)."""
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = max(2, round(config.DB_CONNECT_TIMEOUT_S))  # libpq's minimum is 2
    if "options" not in parsed.query:
        connect_args["options"] = (
            f"-c lock_timeout={int(busy_timeout_s * 1000)} "
            f"-c statement_timeout={int(config.DB_STATEMENT_TIMEOUT_S * 1000)} "
            f"-c idle_in_transaction_session_timeout={int(config.DB_STATEMENT_TIMEOUT_S * 2000)}"
        )
    connect_args.setdefault("application_name", "moodtune")
    # pre-ping: a pooled connection to a restarted server is replaced instead of failing a page;
    # pool_timeout: a session waits this long for a free connection, not SQLAlchemy's 30 s
    return create_engine(parsed, connect_args=connect_args, pool_pre_ping=True,
                         pool_timeout=max(busy_timeout_s, 1.0))


def _is_current(engine: Engine, bundle: Bundle) -> bool:
    """True when the database needs no upgrade and holds the bundled files as they are now."""
    with read_tx(engine, "open the music database") as conn:
        if schema.current_version(conn) != schema.LATEST_VERSION:
            return False
        return bool(bundle.missing()) or schema.get_meta(conn, BUNDLE_SHA_KEY) == bundle.fingerprint()


def open_engine(
    url: str | URL,
    *,
    busy_timeout_s: float = config.DB_BUSY_TIMEOUT_S,
    bundle: Bundle | None = None,
    initialise: bool = True,
) -> Engine:
    """Create a new engine for ``url`` and (with ``initialise``) upgrade and seed the database if needed.

    Unlike ``get_engine`` nothing is cached: every call gives a separate engine with its own pool, like
    another process would have. Raises ``DatabaseUnavailable`` when the database cannot be used.
    """
    parsed = parse_db_url(url)
    bundle = bundle or Bundle()
    read_only = False
    with db_errors(parsed, "open the music database"):
        if parsed.get_backend_name() == "sqlite":
            engine, read_only = _sqlite_engine(parsed, busy_timeout_s)
        elif parsed.get_backend_name() == "postgresql":
            engine = _postgres_engine(parsed, busy_timeout_s)
        else:
            engine = create_engine(parsed)
    if not initialise:
        return engine
    try:
        # most opens find the database current: a read, so read-only deployments work
        try:
            current = _is_current(engine, bundle)
        except DatabaseUnavailable as error:
            # a new SQLite file being created by another process can refuse readers for a moment; the
            # write transaction below waits for it properly (busy timeout)
            if read_only or "locked" not in str(error):
                raise
            current = False
        if not current:
            if read_only:
                raise DatabaseUnavailable(
                    f"Could not open the music database ({parsed.database}): it is read-only for this process "
                    "and needs an upgrade first; open it once with write access (or make it writable)"
                )
            # one transaction: a second process waits here, then finds the work done
            with write_tx(engine, "create or upgrade the music database") as conn:
                migrate(conn)
                seed_bundled(conn, bundle)
        elif read_only:
            log.info("music database %s opened read-only", parsed.database)
        if engine in _GUARDS:
            _GUARDS[engine].armed = True  # the file exists now: its disappearance is an error from here on
    except BaseException:
        engine.dispose()
        raise
    return engine


def _url_lock(key: str) -> threading.Lock:
    with _REGISTRY_LOCK:
        return _URL_LOCKS.setdefault(key, threading.Lock())


def get_engine(url: str | None = None) -> Engine:
    """The shared engine for ``url`` (default ``config.DB_URL``), created, upgraded and seeded once.

    Safe to call from several threads (Streamlit sessions): the first caller for a URL initialises, the
    others for that URL wait for it and get the same engine; other URLs never wait for it. Raises
    ``DatabaseUnavailable`` with a readable message when the database cannot be used; for the next
    ``config.DB_RETRY_S`` seconds the same error is raised at once (a page must not wait for a dead
    server's timeout on every rerun), then the next call tries again.
    """
    url = url or config.DB_URL
    with _REGISTRY_LOCK:
        engine = _ENGINES.get(url)
    if engine is not None:
        return engine
    with _url_lock(url):
        with _REGISTRY_LOCK:
            engine = _ENGINES.get(url)
            failure = _FAILURES.get(url)
        if engine is not None:
            return engine
        if failure is not None and time.monotonic() - failure[0] < config.DB_RETRY_S:
            raise DatabaseUnavailable(str(failure[1]))
        try:
            engine = open_engine(url)
        except DatabaseUnavailable as error:
            with _REGISTRY_LOCK:
                _FAILURES[url] = (time.monotonic(), error)
            log.warning("music database unavailable: %s", error)
            raise
        with _REGISTRY_LOCK:
            _ENGINES[url] = engine
            _FAILURES.pop(url, None)
        return engine
