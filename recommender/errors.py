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


AMBIGUOUS_URL_MESSAGE = (
    "the database URL holds more than one '@' before the host, so the password cannot be told apart from "
    "the host (check MOODTUNE_DB_URL): percent-encode the password, writing @ as %40, : as %3A, / as %2F "
    "and % as %25, e.g. postgresql+psycopg://user:p%40ss@host:5432/moodtune"
)


def _authority(url: str) -> tuple[str, str, str] | None:
    """(``scheme://``, what may hold user and password, the rest) of a URL string; None without ``://``.

    The first part ends at the last ``@`` before the query: everything before it is treated as secret.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    before_query = rest.split("?", 1)[0]
    at = before_query.rfind("@")
    if at < 0:
        return scheme + sep, "", rest
    return scheme + sep, rest[:at], rest[at:]


def ambiguous_url(url: str) -> bool:
    """True when a server URL has more than one ``@`` before its query: an unencoded ``@`` in the password.

    SQLAlchemy (which splits the URL for the driver) ends the password at the first ``@`` and would take
    the rest of the password for the host, so such a URL is refused rather than guessed at. SQLite URLs
    name a file and carry no password; an ``@`` in the file's path is fine.
    """
    parts = _authority(url)
    if parts is None or parts[0].lower().startswith("sqlite"):
        return False
    return parts[1].count("@") >= 1  # the user part itself holds an "@": at least two in all


def redact_url(url: URL | str) -> str:
    """A database URL safe to print or log: the password is replaced by ``***``.

    A string that does not parse as a URL is not echoed at all (it may hold a password anywhere); an
    ambiguous one (an unencoded ``@`` in the password) shows neither user nor password. ``%`` is kept as
    it is: callers that format the text (argparse's help) must escape it.
    """
    if isinstance(url, str) and ambiguous_url(url):
        scheme, _secret, rest = _authority(url) or ("", "", "")
        return f"{scheme}***{_hide_query_password(rest)}"
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except (exc.ArgumentError, ValueError):
        return "an unparseable URL"
    if "password" in parsed.query:
        parsed = parsed.update_query_dict({"password": "***"})
    return parsed.render_as_string(hide_password=True)


def _hide_query_password(rest: str) -> str:
    path, sep, query = rest.partition("?")
    if not sep:
        return rest
    kept = ["password=***" if item.lower().startswith("password=") else item for item in query.split("&")]
    return f"{path}?{'&'.join(kept)}"


def describe_url(url: URL | str) -> str:
    """A readable name for a database: the file path for SQLite, the URL without password otherwise."""
    if isinstance(url, str) and ambiguous_url(url):
        return redact_url(url)
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except (exc.ArgumentError, ValueError):
        return redact_url(str(url))
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return redact_url(parsed)


def driver_message(error: BaseException) -> str:
    """The driver's own message (first line), without SQLAlchemy's appended SQL and background link."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _reason(error: BaseException) -> str:
    """Turn a driver message into the likely cause, in words."""
    text = str(getattr(error, "orig", None) or error).lower()
    if isinstance(error, exc.TimeoutError) or "timeout" in text or "timed out" in text:
        return ("it did not answer in time (the server is slow or unreachable, or another process holds a "
                "lock); try again in a moment")
    if "locked" in text or "busy" in text:
        return "it is locked by another process or thread (still busy after waiting)"
    if "unable to open" in text or "no such file" in text or "not a directory" in text:
        return "the file cannot be opened or created (check the path and its folder's permissions)"
    if "readonly" in text or "read-only" in text or "permission" in text:
        return "it is read-only for this process"
    if "not a database" in text or "malformed" in text or "file is not a database" in text:
        return "the file is not a valid SQLite database (damaged or truncated)"
    # before "cannot be reached": libpq words these as "connection ... failed: FATAL: ..." too
    if "role" in text and "does not exist" in text:
        return "the database server has no such user (role); check the user name in MOODTUNE_DB_URL"
    if "database" in text and "does not exist" in text:
        return "the database does not exist on the server (create it first, or check its name in MOODTUNE_DB_URL)"
    if "password authentication failed" in text or "authentication failed" in text:
        return "the database server refused the user name or password"
    if "no pg_hba.conf entry" in text:
        return "the database server does not accept connections from this host for this user (pg_hba.conf)"
    if ("could not connect" or "connection refused" in text or "connection failed" in text
            or "could not translate host" in text or "name or service not known" in text
            or "server closed the connection" in text or "terminating connection" in text):
        return "the database server cannot be reached"
    if "password authentication failed" in text or "authentication" in text:
        return "the database server refused the user name or password"
    if "does not exist" in text and "database" in text:
        return "the database does not exist on the server (create it first)"
    return f"the database reported: {driver_message(error)}"


def _unavailable(url: URL | str, action: str, reason: str) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"Could not {action} ({describe_url(url)}): {reason}.")


@contextmanager
def db_errors(url: URL | str, action: str) -> Iterator[None]:
    """Re-raise driver/OS failures inside the block as ``DatabaseUnavailable`` with a human message.

    Covers everything that makes a database unusable: unreachable or slow servers (timeouts), locks,
    damaged files, a URL that does not parse, a driver that is not installed. Programming errors (bad
    SQL, integrity errors from a bug) are not translated: hiding them would make bugs look like outages.
    """
    try:
        yield
    except DatabaseUnavailable:
        raise
    except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError) as error:
        raise _unavailable(url, action, _reason(error)) from error
    except exc.DatabaseError as error:
        text = str(error).lower()
        if "not a database" in text or "malformed" in text or "timeout" in text or "read-only" in text:
            raise _unavailable(url, action, _reason(error)) from error
        raise
    except exc.NoSuchModuleError as error:
        raise _unavailable(url, action, f"this kind of database is not supported ({error})") from error
    except exc.ArgumentError as error:
        raise _unavailable(url, action, "the database URL cannot be understood (check MOODTUNE_DB_URL; "
                                        "e.g. postgresql+psycopg://user:password@host:5432/moodtune)") from error
    except ImportError as error:
        raise _unavailable(url, action, f"its database driver is not installed ({error}); "
                                        "pip install -r requirements.txt") from error
    except OSError as error:
        raise _unavailable(url, action, str(error)) from error
