"""A database that cannot be opened never breaks the screens that need no music, and is one clear message
where music is needed. The background sync starts without waiting for the database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_helpers import page_text

from tests.silent_tcp import silent_tcp_server

import config
from recommender import db


@pytest.fixture(autouse=True)
def fresh_engines(monkeypatch: pytest.MonkeyPatch) -> None:
    """No engine or remembered failure from an earlier test; the background sync thread on, as deployed."""
    monkeypatch.setattr(db, "_ENGINES", {})
    monkeypatch.setattr(db, "_FAILURES", {})
    monkeypatch.setattr(config, "START_SCHEDULER", True)
    monkeypatch.setattr(config, "DB_CONNECT_TIMEOUT_S", 2.0)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A 'database server' that accepts connections and never answers."""
    with silent_tcp_server() as port:
        yield f"postgresql+psycopg://moodtune:s3cret@127.0.0.1:{port}/moodtune"


def _use(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("MOODTUNE_DB_URL", url)
    monkeypatch.setattr(config, "DB_URL", url)


def _truncated(tmp_path: Path, seeded_db_file: Path) -> str:
    path = tmp_path / "truncated.db"
    data = seeded_db_file.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return f"sqlite:///{path}"


BROKEN = {
    "missing driver": lambda tmp, seeded: "mysql://moodtune:s3cret@127.0.0.1/moodtune",
    "unparseable URL": lambda tmp, seeded: "postgresql://moodtune:s3cret@db:notaport/moodtune",
    "truncated file": _truncated,
    "unreachable server": lambda tmp, seeded: "postgresql+psycopg://moodtune:s3cret@127.0.0.1:1/moodtune",
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_screens_without_music_work_and_library_says_why(kind, monkeypatch, tmp_path, seeded_db_file, open_page):
    _use(monkeypatch, BROKEN[kind](tmp_path, seeded_db_file))
    for page in ("pages/about.py", "pages/model.py", "pages/live.py"):
        at = open_page(page)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert "s3cret" not in page_text(at)
    at = open_page("pages/library.py")
    assert not at.exception, [e.value for e in at.exception]
    errors = " ".join(e.value for e in at.error)
    assert "The music database is unavailable: Could not open the music database" in errors, errors
    assert "s3cret" not in page_text(at) and "Traceback" not in page_text(at)
    assert "Live and Snapshot screens still read emotions" in page_text(at)


def test_a_silent_database_server_does_not_hold_up_the_about_page(silent_server, monkeypatch, open_page):
    _use(monkeypatch, silent_server)
    started = time.monotonic()
    at = open_page("pages/about.py")
    assert not at.exception
    assert time.monotonic() - started < 15  # the scheduler opens the database in its own thread
    started = time.monotonic()
    at = open_page("pages/library.py")
    assert "did not answer in time" in " ".join(e.value for e in at.error)
    assert time.monotonic() - started < 20


def test_streamlit_never_shows_visitors_tracebacks() -> None:
    import tomllib

    settings = tomllib.loads((Path(config.ROOT) / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["showErrorDetails"] == "none"
