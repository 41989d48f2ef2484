"""Issue 23, 2 and 5: syncs that end. A Spotify that drips one byte every 2 s is bounded per request and by
the run's deadline and Cancel; SIGTERM releases the lease, a SIGKILLed holder's lease lapses; runs dated in
the future do not stop the schedule; leases use the database's clock; what Spotify sends is capped; messages
say what is wrong."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fake_spotify_api import CLIENT_ID, CLIENT_SECRET, make_track, new_tracks, playlist_id
from pg_cluster import Cluster
from sqlalchemy import func, select

from recommender import schema
from recommender.db import open_engine
from recommender.errors import DatabaseUnavailable
from recommender.playlists import add_playlist, list_playlists, remove_playlist
from recommender.scheduler import acquire_lease, due_reason, release_lease, sync_with_lease
from recommender.spotify import RetryPolicy, RunLimits
from recommender.sync import MAX_NAME_CHARS, last_sync_runs, sync_all

ROOT = Path(__file__).resolve().parents[2]
DRIP_S = 2.0  # one byte every 2 s: each read gets data in time, the answer never completes


@pytest.fixture
def sqlite_engine(sqlite_url):
    """An engine on a private SQLite copy with the test playlists A, B, C (for file-level checks)."""
    eng = open_engine(sqlite_url, busy_timeout_s=1.0)
    for playlist in list_playlists(eng):
        remove_playlist(eng, playlist.id)
    for emotion, n in (("happy", 1), ("sad", 2), ("angry", 3)):
        add_playlist(eng, emotion, playlist_id(n))
    yield eng
    eng.dispose()


SQLITE_PLAYLISTS = {"A": playlist_id(1), "B": playlist_id(2), "C": playlist_id(3)}


def _serve(fake, own_playlists, count: int = 5):
    for i, pid in enumerate(own_playlists.values()):
        fake.add_playlist(pid, f"Playlist {i}", new_tracks(100 * i, count))


def _in_thread(fn):
    """Run ``fn`` on a daemon thread; returns (thread, results list, start time)."""
    results: list = []
    thread = threading.Thread(target=lambda: results.append(fn()), daemon=True)
    started = time.monotonic()
    thread.start()
    return thread, results, started


def test_a_drip_feed_spotify_is_given_up_per_request(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists)
    fake_spotify.drip_s = DRIP_S
    policy = RetryPolicy(attempts=2, backoff_s=0.1, timeout_s=3.0)
    thread, reports, started = _in_thread(
        lambda: sync_all(engine, fake_spotify.credentials(), policy=policy, limits=RunLimits.within(120)))
    thread.join(20)
    assert not thread.is_alive(), "a request that never completes was waited for without end"
    assert time.monotonic() - started < 12
    report = reports[0]
    assert [r.status for r in report.results] == ["failed", "deferred", "deferred"], report.message
    assert "no complete answer within 3 s" in report.results[0].message


def test_cancel_cuts_a_request_in_flight(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists)
    fake_spotify.drip_s = DRIP_S
    limits = RunLimits.within(600)
    thread, reports, _ = _in_thread(lambda: sync_all(
        engine, fake_spotify.credentials(), policy=RetryPolicy(attempts=3, timeout_s=300), limits=limits))
    deadline = time.monotonic() + 15
    while fake_spotify.dripping == 0:  # the playlist request is half-way through its answer
        assert time.monotonic() < deadline
        time.sleep(0.1)
    cancelled = time.monotonic()
    limits.cancel.set()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - cancelled < 5
    assert reports[0].status == "cancelled" and last_sync_runs(engine, 1)[0].status == "cancelled"


def test_the_run_deadline_cuts_a_request_in_flight(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists)
    fake_spotify.drip_s = DRIP_S
    thread, reports, started = _in_thread(lambda: sync_all(
        engine, fake_spotify.credentials(), policy=RetryPolicy(attempts=3, timeout_s=300),
        limits=RunLimits.within(4)))
    thread.join(15)
    assert not thread.is_alive() and time.monotonic() - started < 4 + 3
    assert {r.status for r in reports[0].results} == {"deferred"} and "time limit" in reports[0].message


# --- the command line: deadline, SIGTERM, SIGKILL ---------------------------------------------------------
def _cli_env(fake, db_url: str, **extra: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MOODTUNE_", "SPOTIPY_"))}
    return {**clean, "PYTHONPATH": str(ROOT), "MOODTUNE_DB_URL": db_url,
            "SPOTIPY_CLIENT_ID": CLIENT_ID, "SPOTIPY_CLIENT_SECRET": CLIENT_SECRET,
            "MOODTUNE_SPOTIFY_API_URL": f"{fake.base_url}/v1/",
            "MOODTUNE_SPOTIFY_TOKEN_URL": f"{fake.base_url}/api/token", **extra}


def _start_cli(fake, db_url: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "recommender.cli"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_cli_env(fake, db_url, **extra))


def _wait_until_syncing(engine, fake, process, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not (fake.dripping and last_sync_runs(engine, 1) and last_sync_runs(engine, 1)[0].status == "running"):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the sync did not start"
        time.sleep(0.2)


SHORT_LEASE = {"MOODTUNE_SYNC_LEASE_S": "4", "MOODTUNE_SYNC_LEASE_RENEW_S": "1",
               "MOODTUNE_SPOTIFY_TIMEOUT_S": "300"}


def test_the_command_line_ends_at_its_deadline_against_a_drip_feed(sqlite_engine, fake_spotify):
    engine = sqlite_engine
    _serve(fake_spotify, SQLITE_PLAYLISTS)
    fake_spotify.drip_s = DRIP_S
    url = engine.url.render_as_string(hide_password=False)
    process = _start_cli(fake_spotify, url, MOODTUNE_SYNC_DEADLINE_S="10", MOODTUNE_SPOTIFY_TIMEOUT_S="300")
    try:
        _wait_until_syncing(engine, fake_spotify, process)  # (Python's start-up is not the sync's time)
        syncing = time.monotonic()
        out, err = process.communicate(timeout=40)
    finally:
        process.kill()
    assert time.monotonic() - syncing < 10 + 4, "the 10 s deadline did not stop the command line"
    assert "Traceback" not in err and "time limit" in out, out + err
    assert process.returncode in (1, 3)  # every playlist deferred: failed; some read: partial
    run = last_sync_runs(engine, 1)[0]
    assert run.finished_at is not None and (run.finished_at - run.started_at).total_seconds() < 10 + 3


def test_sigterm_releases_the_lease_and_records_the_run_as_interrupted(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists)
    fake_spotify.drip_s = DRIP_S
    url = engine.url.render_as_string(hide_password=False)
    process = _start_cli(fake_spotify, url, **SHORT_LEASE)
    try:
        _wait_until_syncing(engine, fake_spotify, process)
        time.sleep(6)  # longer than the 4 s lease: the heartbeat keeps it while the holder lives
        assert not acquire_lease(engine, "another-server"), "a living holder's lease lapsed"
        stopped = time.monotonic()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert time.monotonic() - stopped < 5
    assert process.returncode == 128 + signal.SIGTERM and "Traceback" not in err, err
    assert "SIGTERM received" in err
    run = last_sync_runs(engine, 1)[0]
    assert run.status == "interrupted" and run.finished_at is not None and "SIGTERM" in (run.message or "")
    assert acquire_lease(engine, "the-next-sync"), "the stopped sync kept the lease"


def test_ctrl_c_stops_the_command_line_without_a_traceback(sqlite_engine, fake_spotify):
    engine = sqlite_engine
    _serve(fake_spotify, SQLITE_PLAYLISTS)
    fake_spotify.drip_s = DRIP_S
    process = _start_cli(fake_spotify, engine.url.render_as_string(hide_password=False), **SHORT_LEASE)
    try:
        _wait_until_syncing(engine, fake_spotify, process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGINT and "Traceback" not in err and "KeyboardInterrupt" not in err
    assert last_sync_runs(engine, 1)[0].status == "interrupted"
    assert acquire_lease(engine, "the-next-sync")


def test_a_sigkilled_holder_s_lease_lapses_and_the_next_sync_runs(engine, fake_spotify, own_playlists, monkeypatch):
    _serve(fake_spotify, own_playlists)
    fake_spotify.drip_s = DRIP_S
    url = engine.url.render_as_string(hide_password=False)
    process = _start_cli(fake_spotify, url, **SHORT_LEASE)
    try:
        _wait_until_syncing(engine, fake_spotify, process)
        process.kill()  # SIGKILL: no handler runs, nothing is released
        process.communicate(timeout=15)
    finally:
        process.kill()
    killed = time.monotonic()
    assert not acquire_lease(engine, "next", lease_s=4)  # still held right after the kill
    while not acquire_lease(engine, "next", lease_s=4):
        assert time.monotonic() - killed < 4 + 3, "the dead holder's lease did not lapse"
        time.sleep(0.2)
    release_lease(engine, "next")
    fake_spotify.drip_s = 0
    monkeypatch.setattr("config.SYNC_LEASE_S", 4.0)
    outcome = sync_with_lease(engine, fake_spotify.credentials(), policy=RetryPolicy(backoff_s=0.01))
    assert outcome.ran and outcome.report is not None and outcome.report.status == "success"
    assert [r.status for r in last_sync_runs(engine, 2)] == ["success", "abandoned"]


SERVER = """
import sys, threading, time
from recommender.db import get_engine
from recommender.scheduler import sync_with_lease
from recommender.spotify import load_credentials
engine = get_engine()
# "Sync now" on a server thread (daemon, like Streamlit's script threads), then the server stops
threading.Thread(target=lambda: sync_with_lease(engine, load_credentials(), trigger="manual"), daemon=True).start()
sys.stdin.readline()
print("stopping", flush=True)
"""


def test_a_server_that_stops_interrupts_its_sync_and_releases_the_lease(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists)
    fake_spotify.drip_s = DRIP_S
    env = _cli_env(fake_spotify, engine.url.render_as_string(hide_password=False), MOODTUNE_SYNC_LEASE_S="600",
                   MOODTUNE_SPOTIFY_TIMEOUT_S="300")
    process = subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, text=True, env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until_syncing(engine, fake_spotify, process)
        out, err = process.communicate("stop\n", timeout=20)  # the main thread returns: the interpreter exits
    finally:
        process.kill()
    assert process.returncode == 0 and "Traceback" not in err, err
    assert last_sync_runs(engine, 1)[0].status == "interrupted"
    assert acquire_lease(engine, "the-next-sync"), "a stopped server kept a 10-minute lease"


# --- clocks -------------------------------------------------------------------------------------------
def test_a_completed_run_dated_in_the_future_does_not_stop_the_schedule(engine, caplog):
    caplog.set_level(logging.WARNING)
    next_year = schema.utcnow() + timedelta(days=365)
    with engine.begin() as conn:
        conn.execute(schema.sync_runs.insert().values(started_at=next_year, finished_at=next_year, status="success",
                                                      trigger="scheduler"))
    assert due_reason(engine, 7) == "no completed sync yet"
    assert "dated after now" in caplog.text


def test_a_server_with_a_fast_clock_cannot_take_a_held_lease(engine, monkeypatch):
    assert acquire_lease(engine, "server-a", lease_s=60)
    # server B's own clock is 61 minutes ahead: by its clock, A's lease expired long ago
    fast = schema.utcnow() + timedelta(minutes=61)
    monkeypatch.setattr(schema, "utcnow", lambda: fast)
    assert not acquire_lease(engine, "server-b", lease_s=60)
    with engine.connect() as conn:
        expires = conn.execute(select(schema.sync_lease.c.expires_at)).scalar()
        now = schema.db_utcnow(conn)
    assert timedelta(seconds=50) < expires - now <= timedelta(seconds=61)  # A's lease, by the database's clock


# --- what Spotify sends ----------------------------------------------------------------------------------
def test_huge_names_and_control_characters_are_capped_when_stored(sqlite_url, sqlite_engine, fake_spotify):
    engine, own_playlists = sqlite_engine, SQLITE_PLAYLISTS
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    size_before = path.stat().st_size
    plain = "Café ☕ – naïve 日本語 “quoted” 🎵"  # text that must come back exactly as sent
    # 120 tracks: more than one page of playlist items, 90 MB of names in all
    huge = [make_track(f"HugeName{n:014d}", "x" * 250_000, "y" * 250_000) for n in range(120)]
    for track in huge:
        track["album"]["name"] = "z" * 250_000
    huge[0]["name"] = plain
    huge[1]["name"] = "Bad\x00name\x1b[31m with\ncontrols\x7f\x85"
    ids = list(own_playlists.values())
    fake_spotify.add_playlist(ids[0], "P" * 1_000_000, huge)
    fake_spotify.add_playlist(ids[1], "Normal", new_tracks(0, 3))
    fake_spotify.add_playlist(ids[2], "Normal 2", new_tracks(10, 3))
    report = sync_all(engine, fake_spotify.credentials(), policy=RetryPolicy(backoff_s=0.01, timeout_s=60))
    assert report.status == "success", report.message
    with engine.connect() as conn:
        longest = conn.execute(select(func.max(func.length(schema.tracks.c.name)),
                                      func.max(func.length(schema.tracks.c.artists)),
                                      func.max(func.length(schema.tracks.c.album)))).one()
        names = dict(conn.execute(select(schema.tracks.c.id, schema.tracks.c.name)
                                  .where(schema.tracks.c.id.in_([huge[0]["id"], huge[1]["id"]]))).all())
        playlist_name = conn.execute(select(func.max(func.length(schema.playlists.c.name)))).scalar()
    assert max(longest) <= MAX_NAME_CHARS and playlist_name <= MAX_NAME_CHARS
    assert names[huge[0]["id"]] == plain
    assert names[huge[1]["id"]] == "Badname[31m withcontrols"
    engine.dispose()
    assert path.stat().st_size - size_before < 5_000_000  # not the 250 MB the names would take


# --- messages -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("change", "expected"), [
    ({"username": "nosuchrole"}, "no such user (role)"),
    ({"database": "nosuchdatabase"}, "the database does not exist"),
])
def test_a_missing_database_or_role_is_not_called_unreachable(pg_server: Cluster, change, expected):
    from sqlalchemy import make_url

    url = make_url(pg_server.url).set(**change).render_as_string(hide_password=False)
    with pytest.raises(DatabaseUnavailable) as caught:
        open_engine(url)
    assert expected in str(caught.value) and "cannot be reached" not in str(caught.value), str(caught.value)


def test_the_command_line_never_reports_success_on_a_damaged_file(sqlite_url, sqlite_engine, fake_spotify):
    engine = sqlite_engine
    _serve(fake_spotify, SQLITE_PLAYLISTS)
    assert sync_all(engine, fake_spotify.credentials(), policy=RetryPolicy(backoff_s=0.01)).status == "success"
    engine.dispose()
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    data = bytearray(path.read_bytes())
    start = len(data) // 2  # the middle of the file: catalogue pages, not the playlists the sync touches
    data[start: start + 65536] = b"\xff" * 65536
    path.write_bytes(bytes(data))
    result = subprocess.run([sys.executable, "-m", "recommender.cli", "--quiet"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env=_cli_env(fake_spotify, sqlite_url))
    assert "Sync success" not in result.stdout, result.stdout
    assert result.returncode == 4 and "damaged" in result.stderr and "Traceback" not in result.stderr
