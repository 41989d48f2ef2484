"""Opening the music database: engine, SQLite settings, schema upgrade and first-use seeding.

SQLite (a file under ``data/``) is the embedded default; any SQLAlchemy URL works through
``MOODTUNE_DB_URL`` (PostgreSQL is how several app servers share one database). For SQLite the
engine uses WAL (readers never wait for the sync's writer), a busy timeout, and ``BEGIN IMMEDIATE``
for write transactions so concurrent writers queue instead of failing half-way.

Failures the user can fix (locked, missing folder, unwritable, not a database, schema from a newer
release) are raised as ``DatabaseUnavailable`` with a message to show; nothing else is caught.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.pool import StaticPool

import config
from recommender.catalog import Bundle, seed_bundled
from recommender.errors import DatabaseUnavailable, db_errors
from recommender.schema import migrate
from recommender.tx import WRITE_OPTION, write_tx

__all__ = ["DatabaseUnavailable", "get_engine", "open_engine"]

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _is_memory(database: str | None) -> bool:
    return not database or database == ":memory:" or database.startswith("file::memory:")


def _install_sqlite_hooks(engine: Engine, busy_timeout_s: float, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook below issue BEGIN: the sqlite3 module's own implicit
        # transactions do not cover DDL, and migrations must be atomic.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        if not memory:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, and much faster
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def open_engine(
    url: str,
    *,
    busy_timeout_s: float = config.DB_BUSY_TIMEOUT_S,
    bundle: Bundle | None = None,
    initialise: bool = True,
) -> Engine:
    """Create a new engine for ``url`` and (with ``initialise``) upgrade and seed the database.

    Unlike ``get_engine`` nothing is cached: every call gives a separate engine with its own pool, like
    another process would have. Raises ``DatabaseUnavailable`` when the database cannot be used.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {}
    sqlite = parsed.get_backend_name() == "sqlite"
    memory = sqlite and _is_memory(parsed.database)
    with db_errors(parsed, "open the music database"):
        if sqlite:
            kwargs["connect_args"] = {"timeout": busy_timeout_s, "check_same_thread": False}
            if memory:
                kwargs["poolclass"] = StaticPool  # one shared connection, or each would see its own db
            else:
                Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
    if sqlite:
        _install_sqlite_hooks(engine, busy_timeout_s, memory)
    if initialise:
        try:
            # one transaction: a second process waits here, then finds the work done
            with write_tx(engine, "create or upgrade the music database") as conn:
                migrate(conn)
                seed_bundled(conn, bundle)
        except BaseException:
            engine.dispose()
            raise
    return engine


def get_engine(url: str | None = None) -> Engine:
    """The shared engine for ``url`` (default ``config.DB_URL``), created, upgraded and seeded once.

    Safe to call from several threads (Streamlit sessions): the first caller initialises, the others
    get the same engine. Raises ``DatabaseUnavailable`` with a readable message when the database is
    locked for longer than the busy timeout, cannot be created, or is not a Moodtune database; the next
    call tries again.
    """
    url = url or config.DB_URL
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = open_engine(url)
            _ENGINES[url] = engine
        return engine
