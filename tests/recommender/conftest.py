"""Fixtures for the recommender tests: real SQLite files in temp dirs, a real PostgreSQL server, and a real
fake Spotify server.

``db_url`` and ``engine`` are parametrised by engine: every test that uses them runs on SQLite and on
PostgreSQL (see ``pg_cluster.py`` for where the server comes from; ``pg_server``, one per session, is in
tests/conftest.py). Their PostgreSQL half is marked ``postgres`` by tests/conftest.py, so
``-m "not postgres"`` runs the SQLite half alone.
"""

from __future__ import annotations

import csv
import gzip
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, make_url

# the fake server module sits beside this file, the project two levels up: importable whatever
# pytest's import mode or working directory
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[2]))

import config  # noqa: E402
from fake_spotify_api import FakeSpotify, playlist_id, serve  # noqa: E402
from pg_cluster import Cluster, create_database, drop_database  # noqa: E402
from recommender.catalog import Bundle, read_catalogue  # noqa: E402
from recommender.db import open_engine  # noqa: E402
from recommender.playlists import add_playlist, list_playlists, remove_playlist  # noqa: E402
from recommender.spotify import RetryPolicy  # noqa: E402


@pytest.fixture(scope="session")
def catalogue_rows() -> list[dict[str, Any]]:
    """The bundled catalogue, as ``tracks`` rows."""
    return list(read_catalogue(config.CATALOGUE_PATH))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database seeded from the real bundled catalogue, built once and copied per test."""
    path = tmp_path_factory.mktemp("template") / "moodtune.db"
    engine = open_engine(f"sqlite:///{path}")
    engine.dispose()  # closing the last connection checkpoints the WAL into the main file
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server: Cluster) -> Iterator[str]:
    """Name of a database on ``pg_server`` seeded from the real bundled catalogue (copied per test)."""
    url = create_database(pg_server.url)
    open_engine(url).dispose()
    yield make_url(url).database or ""
    drop_database(pg_server.url, url)


def _private_copy(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("template_db")
        path = tmp_path / "moodtune.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    server: Cluster = request.getfixturevalue("pg_server")
    url = create_database(server.url, template=request.getfixturevalue("pg_template"))
    request.addfinalizer(lambda: drop_database(server.url, url))
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a private copy of the seeded database, on SQLite and on PostgreSQL."""
    return _private_copy(request, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path, template_db: Path) -> str:
    """URL of a private copy of the seeded database as a SQLite file (for file-level tests)."""
    path = tmp_path / "moodtune.db"
    shutil.copyfile(template_db, path)
    return f"sqlite:///{path}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the private copy (upgraded/seeded check runs, finding nothing to do)."""
    eng = open_engine(db_url, busy_timeout_s=1.0)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def shared_engine(request: pytest.FixtureRequest, template_db: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One engine per database kind for tests that only read: the selection index is built once."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("shared") / "moodtune.db"
        shutil.copyfile(template_db, path)
        url = f"sqlite:///{path}"
    else:
        server: Cluster = request.getfixturevalue("pg_server")
        url = create_database(server.url, template=request.getfixturevalue("pg_template"))
    eng = open_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture
def fake_spotify() -> Iterator[FakeSpotify]:
    """A fake Spotify Web API on 127.0.0.1, fresh for each test."""
    yield from serve()


@pytest.fixture
def fast_policy() -> RetryPolicy:
    """Retries with millisecond backoff so failure tests stay fast; waits up to 2 s on a 429."""
    return RetryPolicy(attempts=4, backoff_s=0.01, backoff_max_s=0.05, max_retry_after_s=2.0, timeout_s=5.0)


@pytest.fixture
def own_playlists(engine: Engine) -> dict[str, str]:
    """Replace the seeded playlists with test ones: A -> happy, B -> sad and neutral, C -> angry."""
    for playlist in list_playlists(engine):
        remove_playlist(engine, playlist.id)
    ids = {"A": playlist_id(1), "B": playlist_id(2), "C": playlist_id(3)}
    add_playlist(engine, "happy", ids["A"])
    add_playlist(engine, "sad", ids["B"])
    add_playlist(engine, "neutral", ids["B"])
    add_playlist(engine, "angry", ids["C"])
    return ids


@pytest.fixture
def small_bundle(tmp_path: Path, catalogue_rows: list[dict[str, Any]]) -> Bundle:
    """A bundle with only 30 catalogue tracks (for pool-exhaustion and re-seed tests)."""
    folder = tmp_path / "bundle"
    folder.mkdir()
    columns = ["id", "name", "artists", "album", "genre", "popularity", "valence", "energy",
               "danceability", "tempo", "acousticness", "duration_ms", "mood", "source"]
    with gzip.open(folder / "catalogue.csv.gz", "wt", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in catalogue_rows[:30]:
            writer.writerow({k: ("" if row[k] is None else row[k]) for k in columns})
    shutil.copyfile(config.SEED_SONGS_PATH, folder / "seed_songs.csv")
    shutil.copyfile(config.SEED_PLAYLISTS_PATH, folder / "seed_playlists.csv")
    return Bundle(folder / "catalogue.csv.gz", folder / "seed_songs.csv", folder / "seed_playlists.csv")
