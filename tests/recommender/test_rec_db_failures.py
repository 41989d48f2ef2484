"""Every way the database can fail to open or hang becomes one clear ``DatabaseUnavailable``; writers on
PostgreSQL are serialised like SQLite's; a read-only database still serves music."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest
from pg_cluster import Cluster, create_database, drop_database
from sqlalchemy import create_engine, text

import config
from tests.silent_tcp import silent_tcp_server
from recommender import schema
from recommender.catalog import count_tracks
from recommender.db import get_engine, open_engine
from recommender.errors import DatabaseUnavailable
from recommender.playlists import add_playlist, list_playlists
from recommender.selection import recommend

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://moodtune:s3cret@db.example:notaport/moodtune", "URL cannot be understood"),
        ("this is not a url", "URL cannot be understood"),
        ("mysql://moodtune:s3cret@127.0.0.1/moodtune", "driver is not installed"),
        ("nosuchdb://moodtune:s3cret@127.0.0.1/moodtune", "not supported"),
    ],
)
def test_bad_urls_and_missing_drivers_are_clear_and_hide_the_password(url, expected):
    with pytest.raises(DatabaseUnavailable, match=expected) as caught:
        open_engine(url)
    assert "s3cret" not in str(caught.value)


def test_a_bare_postgresql_url_uses_the_installed_psycopg_driver(pg_server: Cluster):
    bare = pg_server.url.replace("postgresql+psycopg://", "postgresql://")
    url = create_database(bare)
    try:
        engine = open_engine(url)
        assert engine.dialect.driver == "psycopg" and count_tracks(engine) > 1000
        engine.dispose()
    finally:
        drop_database(pg_server.url, url)


def test_truncated_sqlite_file_is_a_clear_error(tmp_path, template_db):
    path = tmp_path / "truncated.db"
    data = template_db.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # a copy cut short (full disk, interrupted upload)
    with pytest.raises(DatabaseUnavailable, match="not a valid SQLite database"):
        open_engine(f"sqlite:///{path}")


@pytest.fixture
def silent_server():
    """A TCP server that accepts connections and never says a word (a hung database server)."""
    with silent_tcp_server() as port:
        yield f"postgresql+psycopg://moodtune:s3cret@127.0.0.1:{port}/moodtune"


def test_a_server_that_never_answers_times_out_with_a_clear_message(silent_server, monkeypatch):
    monkeypatch.setattr(config, "DB_CONNECT_TIMEOUT_S", 2.0)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="did not answer in time") as caught:
        open_engine(silent_server)
    assert time.monotonic() - started < 10
    assert "s3cret" not in str(caught.value)


def test_get_engine_does_not_make_other_databases_wait(silent_server, tmp_path, template_db, monkeypatch):
    monkeypatch.setattr(config, "DB_CONNECT_TIMEOUT_S", 4.0)
    hung = threading.Thread(target=lambda: pytest.raises(DatabaseUnavailable, get_engine, silent_server))
    hung.start()
    time.sleep(0.3)  # the first call is now waiting on the silent server
    local = tmp_path / "local.db"
    shutil.copyfile(template_db, local)
    started = time.monotonic()
    engine = get_engine(f"sqlite:///{local}")
    assert time.monotonic() - started < 2.0, "get_engine waited for another URL's connection"
    hung.join()
    # a failure is remembered briefly: the next page gets the message at once, not after another timeout
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="did not answer in time"):
        get_engine(silent_server)
    assert time.monotonic() - started < 0.5
    engine.dispose()


def test_a_held_table_lock_on_postgresql_becomes_the_clear_message(pg_server, pg_template):
    url = create_database(pg_server.url, template=pg_template)
    engine = open_engine(url, busy_timeout_s=0.5)
    holder = create_engine(url)
    try:
        with holder.connect() as conn:
            conn.execute(text("BEGIN"))
            conn.execute(text("LOCK TABLE playlists IN ACCESS EXCLUSIVE MODE"))  # a long migration elsewhere
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailable, match="did not answer in time"):
                list_playlists(engine)
            assert time.monotonic() - started < 5
            conn.execute(text("ROLLBACK"))
        assert list_playlists(engine)  # fine again once the lock is gone
    finally:
        holder.dispose()
        engine.dispose()
        drop_database(pg_server.url, url)


# --- writers from several processes -------------------------------------------------------------------
_BUMPER = textwrap.dedent("""
    import sys
    from recommender import schema
    from recommender.db import open_engine
    from recommender.tx import write_tx
    engine = open_engine(sys.argv[1], initialise=False, busy_timeout_s=30)
    for _ in range(int(sys.argv[2])):
        with write_tx(engine) as conn:
            schema.bump_data_version(conn)
""")


def _run_processes(script: str, args_list: list[list[str]], timeout: float = 120) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{Path(__file__).parent}"}
    procs = [subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for args in args_list]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_data_version_bumps_from_several_processes_are_never_lost(db_url, engine):
    with engine.connect() as conn:
        before = schema.data_version(conn)
    results = _run_processes(_BUMPER, [[db_url, "25"] for _ in range(4)])
    assert all(r.returncode == 0 for r in results), [r.stderr[-2000:] for r in results]
    with engine.connect() as conn:
        assert schema.data_version(conn) == before + 100


_SYNCER = textwrap.dedent("""
    import sys
    from fake_spotify_api import FakeSpotify
    from recommender.db import open_engine
    from recommender.spotify import RetryPolicy, SpotifyCredentials
    from recommender.sync import sync_all
    engine = open_engine(sys.argv[1], initialise=False, busy_timeout_s=30)
    credentials = SpotifyCredentials(client_id="fake-client-id", client_secret="fake-client-secret",
                                     api_url=sys.argv[2] + "/v1/", token_url=sys.argv[2] + "/api/token")
    report = sync_all(engine, credentials, policy=RetryPolicy(backoff_s=0.01, timeout_s=10))
    print(report.status)
    print(report.message, file=sys.stderr)
""")


def test_concurrent_syncs_with_diverging_contents_both_succeed(db_url, engine, fake_spotify, own_playlists):
    from fake_spotify_api import new_tracks

    for key, pid in own_playlists.items():
        fake_spotify.add_playlist(pid, f"Playlist {key}", new_tracks(100 * ord(key), 40))
    # each request sees a different version of B: the two syncs store diverging contents at once
    playlist_b = fake_spotify.playlists[own_playlists["B"]]
    original = playlist_b.set_tracks
    flips = iter(range(10**6))

    def diverge(pid: str) -> None:
        if pid == own_playlists["B"]:
            original(new_tracks(5000 + 100 * (next(flips) % 3), 40 + next(flips) % 7))

    fake_spotify.before_items = diverge
    for _round in range(3):
        results = _run_processes(_SYNCER, [[db_url, fake_spotify.base_url] for _ in range(3)])
        assert all(r.returncode == 0 for r in results), [r.stderr[-3000:] for r in results]
        assert [r.stdout.strip() for r in results] == ["success"] * 3, [r.stderr for r in results]
    stored = {p.id: p.track_count for p in list_playlists(engine)}
    with engine.connect() as conn:
        positions = conn.execute(text("SELECT count(*), count(DISTINCT position) FROM playlist_tracks "
                                      "WHERE playlist_id = :p"), {"p": own_playlists["B"]}).one()
    assert positions[0] == positions[1] == stored[own_playlists["B"]]


# --- read-only deployments ------------------------------------------------------------------------------
_READER = textwrap.dedent("""
    import sys
    from recommender.db import open_engine
    from recommender.selection import recommend
    engine = open_engine(sys.argv[1])
    rec = recommend(engine, "happy", n=5, seed=1)
    print(len(rec.tracks), len(rec.playlists))
""")


def test_read_only_file_in_a_read_only_folder_still_serves_music(template_db):
    folder = Path(tempfile.mkdtemp(prefix="moodtune-readonly-"))
    path = folder / "moodtune.db"
    shutil.copyfile(template_db, path)
    path.chmod(0o444)
    folder.chmod(0o555)
    command = [sys.executable, "-c", _READER, f"sqlite:///{path}"]
    if os.geteuid() == 0:
        # root may write anywhere: drop that privilege, so file permissions apply as for a deployment's user
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--inh-caps=-all",
                   "--", *command]
    before = sorted(p.name for p in folder.iterdir())
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout.split() == ["5", "1"]
        assert sorted(p.name for p in folder.iterdir()) == before  # no WAL or journal files were needed
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def test_writes_to_a_read_only_database_say_so(tmp_path, template_db):
    path = tmp_path / "moodtune.db"
    shutil.copyfile(template_db, path)
    engine = open_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert recommend(engine, "sad", n=3, seed=1).tracks
    with pytest.raises(DatabaseUnavailable, match="read-only"):
        add_playlist(engine, "happy", "37i9dQZF1DXdPec7aLTmlC")
    engine.dispose()
