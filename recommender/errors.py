"""Database errors the app can show to a person, and the translation from driver errors to them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc
from sqlalchemy.engine import URL, make_url


class DatabaseUnavailable(RuntimeError):
    """The music database cannot be used right now; ``str(error)`` is a message for a person."""


class SchemaTooNew(DatabaseUnavailable):
    """The database was written by a newer Moodtune (its schema version is above this code's)."""


def describe_url(url: URL | str) -> str:
    """A readable name for a database: the file path for SQLite, the URL without password otherwise."""
    url = make_url(url) if isinstance(url, str) else url
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def _reason(error: BaseException) -> str:
    """Turn a driver message into the likely cause, in words."""
    text = str(getattr(error, "orig", None) or error).lower()
    if "locked" in text or "busy" in text:
        return "it is locked by another process or thread (still busy after waiting)"
    if "unable to open" in text or "no such file" in text or "not a directory" in text:
        return "the file cannot be opened or created (check the path and its folder's permissions)"
    if "readonly" in text or "read-only" in text or "permission" in text:
        return "it is read-only for this process"
    if "not a database" in text or "malformed" in text:
        return "the file is not a valid SQLite database"
    if "could not connect" in text or "connection refused" in text:
        return "the database server cannot be reached"
    return f"the database reported: {str(getattr(error, 'orig', None) or error).strip()}"


@contextmanager
def db_errors(url: URL | str, action: str) -> Iterator[None]:
    """Re-raise driver/OS failures inside the block as ``DatabaseUnavailable`` with a human message.

    Programming errors (bad SQL, integrity errors from a bug) are not translated: hiding them would
    make bugs look like outages.
    """
    try:
        yield
    except DatabaseUnavailable:
        raise
    except (exc.OperationalError, exc.InterfaceError) as error:
        raise DatabaseUnavailable(f"Could not {action} ({describe_url(url)}): {_reason(error)}.") from error
    except exc.DatabaseError as error:
        if "not a database" in str(error).lower():
            raise DatabaseUnavailable(f"Could not {action} ({describe_url(url)}): {_reason(error)}.") from error
        raise
    except OSError as error:
        raise DatabaseUnavailable(f"Could not {action} ({describe_url(url)}): {error}.") from error
