"""Opening, upgrading and failing databases: real SQLite files in temp dirs."""

from __future__ import annotations

import gzip
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text

import config
from recommender import schema
from recommender.catalog import Bundle, count_tracks, search_tracks
from recommender.db import get_engine, open_engine
from recommender.errors import DatabaseUnavailable, SchemaTooNew
from recommender.playlists import add_playlist, list_playlists, remove_playlist


def _lines(path: Path) -> int:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return sum(1 for _ in handle) - 1


def test_first_use_creates_and_seeds_the_file(tmp_path):
    path = tmp_path / "sub" / "fresh.db"
    engine = get_engine(f"sqlite:///{path}")

    assert path.is_file()
    assert get_engine(f"sqlite:///{path}") is engine
    assert count_tracks(engine) == _lines(config.CATALOGUE_PATH)
    playlists = list_playlists(engine)
    assert {p.emotion for p in playlists} == {"angry", "fear", "happy", "sad", "surprise", "neutral"}
    assert len({p.id for p in playlists}) == 6  # sad no longer doubles as disgust's
    assert all(p.name.split()[0].lower() in (p.emotion, "spotify") for p in playlists)  # readable names
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert schema.current_version(conn) == schema.LATEST_VERSION
        seeds = conn.execute(text("SELECT count(*) FROM seed_songs")).scalar()
    assert seeds == sum(1 for _ in config.SEED_SONGS_PATH.open(encoding="utf-8")) - 1
    engine.dispose()


def _in_threads(open_it: Callable[[], Engine], count: int) -> list[Engine]:
    """Call ``open_it`` from ``count`` threads at once; return the engines (any error fails the test)."""
    engines: list[Engine] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        try:
            engines.append(open_it())
        except Exception as error:  # noqa: BLE001 - collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return engines


def test_get_engine_from_many_threads_initialises_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'threads.db'}"
    engines = _in_threads(lambda: get_engine(url), 6)
    assert len({id(e) for e in engines}) == 1
    assert count_tracks(engines[0]) == _lines(config.CATALOGUE_PATH)
    engines[0].dispose()


def test_separate_engines_racing_on_a_new_file_seed_it_once(tmp_path):
    # like two app processes starting together: separate pools, one file
    url = f"sqlite:///{tmp_path / 'race.db'}"
    # Seeding 14k tracks can outlast the interactive 5 s busy timeout on a loaded 2-core machine; the
    # point here is that the waiting engines then find it seeded once, not a race to the default timeout.
    engines = _in_threads(lambda: open_engine(url, busy_timeout_s=60.0), 3)
    assert len(list_playlists(engines[0])) == 6 and count_tracks(engines[0]) == _lines(config.CATALOGUE_PATH)
    for engine in engines:
        engine.dispose()


def test_old_schema_is_upgraded_in_place(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = open_engine(url, initialise=False)
    with old.begin() as conn:  # a version-1 database with a user's playlist and a synced track
        schema.migrate(conn, target=1)
        conn.execute(text("INSERT INTO tracks (id, name, artists, album) VALUES "
                          "('OldTrack00000000000001', 'Old song', 'Some Band, Guest', 'Old album')"))
        conn.execute(text("INSERT INTO playlists (id, emotion, name, track_count) VALUES "
                          "('MyPlaylist000000000001', 'sad', 'My sad list', 1)"))
        conn.execute(text("INSERT INTO playlist_tracks VALUES ('MyPlaylist000000000001', 'OldTrack00000000000001', 0)"))
        conn.execute(text("INSERT INTO sync_runs (started_at, status) VALUES ('2025-01-01 00:00:00', 'success')"))
    old.dispose()

    engine = open_engine(url)

    with engine.connect() as conn:
        assert schema.current_version(conn) == schema.LATEST_VERSION
        row = conn.execute(select(schema.tracks).where(schema.tracks.c.id == "OldTrack00000000000001")).one()
        runs = conn.execute(text("SELECT count(*) FROM sync_runs")).scalar()
    assert row.name == "Old song" and row.primary_artist == "some band"
    sad = list_playlists(engine, "sad")
    assert "MyPlaylist000000000001" in {p.id for p in sad} and runs == 1
    assert count_tracks(engine) == _lines(config.CATALOGUE_PATH) + 1  # seeded on top, nothing lost
    assert "OldTrack00000000000001" in {t.id for t in search_tracks(engine, "old song", limit=500)}
    engine.dispose()


def test_newer_schema_is_refused_not_touched(db_url):
    engine = open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(schema.schema_version.update().values(version=schema.LATEST_VERSION + 1))
    engine.dispose()
    with pytest.raises(SchemaTooNew, match="newer than this Moodtune"):
        open_engine(db_url)


def test_foreign_database_is_left_alone(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE tracks (x INTEGER)")
    with pytest.raises(DatabaseUnavailable, match="not created by Moodtune"):
        open_engine(f"sqlite:///{path}")
    with sqlite3.connect(path) as raw:
        assert [r[0] for r in raw.execute("SELECT name FROM sqlite_master")] == ["tracks"]


def test_locked_database_gives_a_clear_error(sqlite_url):
    engine = open_engine(sqlite_url, busy_timeout_s=0.2)
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing and does not let go
    try:
        with pytest.raises(DatabaseUnavailable, match="locked") as caught:
            add_playlist(engine, "happy", "https://open.spotify.com/playlist/37i9dQZF1DXdPec7aLTmlC?si=x")
        assert "moodtune.db" in str(caught.value)
        assert count_tracks(engine) > 0  # readers are not blocked by the writer (WAL)
    finally:
        holder.rollback()
        holder.close()
    add_playlist(engine, "happy", "37i9dQZF1DXdPec7aLTmlC")  # works once the lock is gone
    engine.dispose()


def test_locked_new_database_fails_to_open_cleanly(tmp_path):
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseUnavailable, match="locked"):
            open_engine(f"sqlite:///{path}", busy_timeout_s=0.2)
    finally:
        holder.rollback()
        holder.close()


def test_unusable_locations_give_clear_errors(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseUnavailable, match="Could not open the music database"):
        open_engine(f"sqlite:///{blocker / 'moodtune.db'}")
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseUnavailable, match="not a valid SQLite database"):
        open_engine(f"sqlite:///{garbage}")


def test_an_older_seed_is_renamed_and_its_dropped_mapping_goes(tmp_path, small_bundle):
    url = f"sqlite:///{tmp_path / 'old-seed.db'}"
    old_csv = small_bundle.seed_playlists.read_text()
    small_bundle.seed_playlists.write_text(
        "emotion,id,name\nsad,1n6cpWo9ant4WguEo91KZh,Prototype playlist: sad\n"
        "disgust,1n6cpWo9ant4WguEo91KZh,Prototype playlist: disgusted\n"
        "happy,0deORnapZgrxFY4nsKr9JA,Prototype playlist: happy\n")
    engine = open_engine(url, bundle=small_bundle)
    remove_playlist(engine, "0deORnapZgrxFY4nsKr9JA")  # the user removed one seed
    engine.dispose()
    small_bundle.seed_playlists.write_text(old_csv)  # this release's seeds
    engine = open_engine(url, bundle=Bundle(small_bundle.catalogue, small_bundle.seed_songs,
                                            small_bundle.seed_playlists))
    names = {(p.emotion, p.name) for p in list_playlists(engine)}
    assert names == {("sad", "Sad mix (from the original Moodtune)")}  # renamed; disgust dropped; happy stays removed
    engine.dispose()


def test_removed_seed_playlist_stays_removed_and_bundle_updates_merge(tmp_path, small_bundle, catalogue_rows):
    url = f"sqlite:///{tmp_path / 'bundle.db'}"
    engine = open_engine(url, bundle=small_bundle)
    assert count_tracks(engine) == 30
    remove_playlist(engine, "https://open.spotify.com/playlist/0l9dAmBrUJLylii66JOsHB")
    first = catalogue_rows[0]["id"]
    with engine.begin() as conn:  # a sync later learned a fresher popularity and a cover
        conn.execute(schema.tracks.update().where(schema.tracks.c.id == first).values(popularity=99, image_url="x"))
    engine.dispose()

    # a new release ships a catalogue with one more track
    with gzip.open(small_bundle.catalogue, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    extra = next(r for r in catalogue_rows[30:] if r["duration_ms"] is None)
    lines.append(",".join([extra["id"], "Extra song", "Extra Artist", "", "", "40", "0.5", "0.5", "", "", "",
                           "", "", "tt"]))
    with gzip.open(small_bundle.catalogue, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    engine = open_engine(url, bundle=Bundle(small_bundle.catalogue, small_bundle.seed_songs,
                                            small_bundle.seed_playlists))

    assert count_tracks(engine) == 31
    assert "0l9dAmBrUJLylii66JOsHB" not in {p.id for p in list_playlists(engine)}
    kept = search_tracks(engine, catalogue_rows[0]["name"])
    assert any(t.id == first and t.popularity == 99 and t.image_url == "x" for t in kept)
    engine.dispose()
