"""Issue 23, 1: the SQLite file deleted or replaced (a restored backup) while the app runs. A write after the
swap reaches the file now at the path, or is refused with a message; it is never "saved" into the unlinked
old file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from recommender.db import get_engine, open_engine
from recommender.errors import DatabaseUnavailable
from recommender.playlists import add_playlist, list_playlists
from recommender.tx import read_tx

NEW_IDS = [f"SwapPlaylist{n:010d}" for n in range(6)]


def _path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _on_disk(path: Path) -> set[str]:
    """Playlist ids in the file at ``path``, read by a fresh connection (what a restart would see)."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {row[0] for row in conn.execute("SELECT id FROM playlists")}
    finally:
        conn.close()


def _backup(path: Path, to: Path) -> None:
    """What an operator's backup job does: SQLite's online backup (consistent while the app writes)."""
    source, target = sqlite3.connect(path), sqlite3.connect(to)
    source.backup(target)
    target.close()
    source.close()


def _restore(backup: Path, path: Path) -> None:
    """Put a backup in place the usual way: copy beside, then rename onto the path (atomic)."""
    shutil.copyfile(backup, path.with_suffix(".restoring"))
    os.replace(path.with_suffix(".restoring"), path)


def test_a_restored_backup_is_used_at_once_and_writes_reach_it(sqlite_url, tmp_path):
    engine = get_engine(sqlite_url)  # the app's shared engine, as a running server holds it
    path = _path(sqlite_url)
    add_playlist(engine, "happy", NEW_IDS[0])
    _backup(path, tmp_path / "backup.db")
    add_playlist(engine, "happy", NEW_IDS[1])  # made after the backup: the restore takes it back
    before = {p.id for p in list_playlists(engine)}

    _restore(tmp_path / "backup.db", path)
    seen = {p.id for p in list_playlists(engine)}
    assert seen == before - {NEW_IDS[1]}, "the app still reads the replaced file"
    add_playlist(engine, "sad", NEW_IDS[2])  # "Added": it must be on disk
    on_disk = _on_disk(path)
    assert NEW_IDS[2] in on_disk and NEW_IDS[0] in on_disk and NEW_IDS[1] not in on_disk
    assert {p.id for p in list_playlists(engine)} == on_disk


def test_a_deleted_file_refuses_writes_with_a_message_until_it_is_back(sqlite_url, tmp_path):
    engine = open_engine(sqlite_url)
    path = _path(sqlite_url)
    add_playlist(engine, "happy", NEW_IDS[0])
    _backup(path, tmp_path / "backup.db")
    path.unlink()
    for _ in range(3):  # every attempt is refused, none pretends to succeed
        with pytest.raises(DatabaseUnavailable, match="was deleted or moved while Moodtune was running") as caught:
            add_playlist(engine, "sad", NEW_IDS[3])
        assert "nothing was saved" in str(caught.value)
    assert not path.exists(), "an empty database was created behind the operator's back"
    _restore(tmp_path / "backup.db", path)
    add_playlist(engine, "sad", NEW_IDS[3])
    assert {NEW_IDS[0], NEW_IDS[3]} <= _on_disk(path)
    engine.dispose()


def test_a_swap_while_another_thread_reads_the_old_file_refuses_then_recovers(sqlite_url, tmp_path):
    engine = open_engine(sqlite_url)
    path = _path(sqlite_url)
    _backup(path, tmp_path / "backup.db")
    inside, release = threading.Event(), threading.Event()

    def long_read() -> None:
        with read_tx(engine) as conn:
            conn.execute(text("SELECT count(*) FROM tracks")).scalar()
            inside.set()
            release.wait(10)

    reader = threading.Thread(target=long_read)
    reader.start()
    assert inside.wait(10)
    _restore(tmp_path / "backup.db", path)
    with pytest.raises(DatabaseUnavailable, match="was replaced") as caught:
        add_playlist(engine, "angry", NEW_IDS[4])
    assert "nothing was saved" in str(caught.value) and "Try again" in str(caught.value)
    release.set()
    reader.join(10)
    add_playlist(engine, "angry", NEW_IDS[4])  # the old file is closed now: the write reaches the new one
    assert NEW_IDS[4] in _on_disk(path)
    engine.dispose()


def test_many_writes_across_repeated_restores_are_all_where_the_app_says(sqlite_url, tmp_path):
    engine = get_engine(sqlite_url)
    path = _path(sqlite_url)
    _backup(path, tmp_path / "backup.db")
    for n, new_id in enumerate(NEW_IDS):
        if n % 2 == 0:
            _restore(tmp_path / "backup.db", path)
        add_playlist(engine, "neutral", new_id)
        assert new_id in _on_disk(path)
