"""Transactions with readable errors: every database access in the package goes through these two."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

from recommender.errors import db_errors

# Execution option read by db.py's "begin" hook: on SQLite a writer starts with BEGIN IMMEDIATE, so it
# waits (busy timeout) for the write lock up front instead of failing half-way when a read transaction
# cannot be upgraded to a write one.
WRITE_OPTION = "moodtune_write"
# PostgreSQL advisory lock taken by every write transaction (released at commit/rollback): the code was
# written for one writer at a time, which SQLite gives for free; on PostgreSQL, at READ COMMITTED,
# two writers could otherwise lose an update or collide on a primary key.
WRITER_LOCK_KEY = 74211


@contextmanager
def write_tx(engine: Engine, action: str = "write to the music database") -> Iterator[Connection]:
    """A connection inside one write transaction: committed on success, rolled back on any error.

    Writers are serialised: SQLite's BEGIN IMMEDIATE, PostgreSQL's transaction-level advisory lock (its
    wait is bounded by the server's ``lock_timeout``). Driver failures (locked, unwritable, timeouts...)
    leave as ``DatabaseUnavailable``.
    """
    with db_errors(engine.url, action), engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITER_LOCK_KEY})
            yield conn


@contextmanager
def read_tx(engine: Engine, action: str = "read the music database") -> Iterator[Connection]:
    """A connection inside one read transaction (a consistent snapshot in WAL mode)."""
    with db_errors(engine.url, action), engine.connect() as conn, conn.begin():
        yield conn
