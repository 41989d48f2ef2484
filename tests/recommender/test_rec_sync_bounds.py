"""The sync is bounded: deadlines, cancel, retry budget, page loops, malformed answers, one log line per
failure, abandoned runs, the lease for manual syncs, and no password in ``--help``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fake_spotify_api import new_tracks

from recommender import schema
from recommender.scheduler import ANOTHER_SYNC_RUNNING, acquire_lease, release_lease, sync_with_lease
from recommender.spotify import RetryPolicy, RunLimits
from recommender.sync import last_sync_runs, sync_all

ROOT = Path(__file__).resolve().parents[2]


def _serve(fake_spotify, own_playlists, count: int = 5):
    for i, pid in enumerate(own_playlists.values()):
        fake_spotify.add_playlist(pid, f"Playlist {i}", new_tracks(100 * i, count))


def _statuses(report) -> list[str]:
    return [r.status for r in report.results]


def test_a_spotify_that_never_answers_is_given_up_quickly(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists)
    fake_spotify.stall_s = 3.0  # accepts the connection, never answers within the timeout
    policy = RetryPolicy(attempts=4, backoff_s=0.05, timeout_s=0.5)
    started = time.monotonic()
    report = sync_all(engine, fake_spotify.credentials(), policy=policy)
    elapsed = time.monotonic() - started
    # one playlist is tried (4 x 0.5 s); the others wait for the next sync instead of 4 x 0.5 s each
    assert _statuses(report) == ["failed", "deferred", "deferred"], report.message
    assert "not answering" in report.results[1].message
    assert elapsed < 6, elapsed


def test_the_run_stops_at_its_deadline(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists)
    fake_spotify.stall_s = 0.6
    policy = RetryPolicy(attempts=1, timeout_s=5)
    started = time.monotonic()
    report = sync_all(engine, fake_spotify.credentials(), policy=policy, limits=RunLimits.within(1.0))
    assert time.monotonic() - started < 4
    assert "deferred" in _statuses(report) and "time limit" in report.message


def test_cancel_stops_a_waiting_sync_at_once(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists)
    fake_spotify.fail("/v1/playlists/", 500, times=100)
    policy = RetryPolicy(attempts=10, backoff_s=5.0, backoff_max_s=5.0, timeout_s=5)
    limits = RunLimits.within(600)
    reports = []
    thread = threading.Thread(target=lambda: reports.append(
        sync_all(engine, fake_spotify.credentials(), policy=policy, limits=limits)))
    thread.start()
    deadline = time.monotonic() + 30
    while not fake_spotify.requests_to("/v1/playlists/"):  # the first try failed: now waiting 5 s to retry
        assert time.monotonic() < deadline, "the sync never asked Spotify"
        time.sleep(0.02)
    started = time.monotonic()
    limits.cancel.set()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 1.5
    assert set(_statuses(reports[0])) == {"deferred"} and reports[0].message.startswith("Sync cancelled")
    assert last_sync_runs(engine, 1)[0].finished_at is not None


def test_total_retry_time_is_capped(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists)
    fake_spotify.fail("/v1/playlists/", 503, times=1000)
    policy = RetryPolicy(attempts=50, backoff_s=0.2, backoff_max_s=0.2, retry_budget_s=0.5, timeout_s=5)
    started = time.monotonic()
    report = sync_all(engine, fake_spotify.credentials(), policy=policy)
    assert time.monotonic() - started < 3  # not 50 attempts x 0.2 s per playlist
    assert report.status == "failed"


def test_a_next_link_to_itself_is_caught(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists, count=120)
    looping = own_playlists["A"]
    fake_spotify.self_next.add(looping)
    reports = []
    thread = threading.Thread(target=lambda: reports.append(
        sync_all(engine, fake_spotify.credentials(), policy=RetryPolicy(backoff_s=0.01))), daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the sync kept following a next link that points to itself"
    by_id = {r.playlist_id: r for r in reports[0].results}
    assert by_id[looping].status == "failed" and "already read" in by_id[looping].message
    assert by_id[own_playlists["C"]].status == "synced"
    assert len(fake_spotify.requests_to(f"{looping}/items")) <= 3


@pytest.mark.parametrize("body", [b"null", b"[1, 2, 3]", b"<html>busy</html>", b'{"name": 5, "snapshot_id": []}'])
def test_malformed_answers_are_failures_not_attribute_errors(engine, fake_spotify, own_playlists, body):
    _serve(fake_spotify, own_playlists)
    fake_spotify.answer_raw(f"/v1/playlists/{own_playlists['A']}?", body)
    fake_spotify.answer_raw(f"/v1/playlists/{own_playlists['A']}/items", body)
    report = sync_all(engine, fake_spotify.credentials(), policy=RetryPolicy(backoff_s=0.01))
    text = report.message
    assert "AttributeError" not in text and "NoneType" not in text, text
    assert {r.status for r in report.results if r.playlist_id != own_playlists["A"]} == {"synced"}


def test_items_that_are_not_objects_are_skipped(engine, fake_spotify, own_playlists):
    import json

    _serve(fake_spotify, own_playlists)
    page = {"items": [None, 7, {"item": None}, {"item": {"id": ["x"]}},
                      {"item": {"id": "GoodTrack0000000000001", "name": "Fine", "artists": "not a list",
                                "album": "not an object", "popularity": "high"}}], "next": None}
    fake_spotify.answer_raw(f"/v1/playlists/{own_playlists['A']}/items", json.dumps(page).encode())
    report = sync_all(engine, fake_spotify.credentials(), policy=RetryPolicy(backoff_s=0.01))
    assert report.status == "success", report.message
    result = next(r for r in report.results if r.playlist_id == own_playlists["A"])
    assert result.tracks == 1


def test_one_log_line_per_failure_and_no_traceback(engine, fake_spotify, own_playlists, caplog):
    _serve(fake_spotify, own_playlists)
    fake_spotify.fail("/v1/playlists/", 502, times=1000)
    policy = RetryPolicy(attempts=3, backoff_s=0.01, timeout_s=5)
    caplog.set_level(logging.INFO)
    sync_all(engine, fake_spotify.credentials(), policy=policy)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # the other two were deferred, not failed
    assert all(r.exc_info is None for r in warnings)
    assert not [r for r in caplog.records if r.name.startswith("spotipy") and r.levelno >= logging.WARNING]


def test_runs_left_running_are_marked_abandoned_when_the_lease_expires(engine):
    long_ago = schema.utcnow() - timedelta(hours=2)
    with engine.begin() as conn:
        conn.execute(schema.sync_runs.insert().values(started_at=long_ago, status="running", trigger="scheduler"))
        conn.execute(schema.sync_runs.insert().values(started_at=schema.utcnow(), status="running",
                                                      trigger="manual"))
    assert acquire_lease(engine, "next-server", lease_s=3600)
    release_lease(engine, "next-server")
    runs = last_sync_runs(engine, 5)
    assert [r.status for r in runs] == ["running", "abandoned"]  # the fresh one may still be alive
    assert runs[1].finished_at is not None and "Abandoned" in (runs[1].message or "")


def test_a_holder_killed_before_its_first_renewal_leaves_no_run_running(engine):
    """Its run started after it took the lease, so less than a lease before the take-over: still abandoned."""
    took = schema.utcnow()
    assert acquire_lease(engine, "killed-early", lease_s=4, now=took)
    with engine.begin() as conn:
        conn.execute(schema.sync_runs.insert().values(started_at=took + timedelta(seconds=1), status="running",
                                                      trigger="scheduler"))
    assert not acquire_lease(engine, "next-server", lease_s=4, now=took + timedelta(seconds=3.9))  # still held
    assert acquire_lease(engine, "next-server", lease_s=4, now=took + timedelta(seconds=4.1))  # it ran out
    assert [r.status for r in last_sync_runs(engine, 5)] == ["abandoned"]


def test_sync_now_respects_a_running_sync(engine, fake_spotify, own_playlists):
    _serve(fake_spotify, own_playlists)
    assert acquire_lease(engine, "the-scheduler-elsewhere")
    outcome = sync_with_lease(engine, fake_spotify.credentials(), policy=RetryPolicy(backoff_s=0.01))
    assert not outcome.ran and outcome.reason == ANOTHER_SYNC_RUNNING and not last_sync_runs(engine)
    release_lease(engine, "the-scheduler-elsewhere")
    outcome = sync_with_lease(engine, fake_spotify.credentials(), policy=RetryPolicy(backoff_s=0.01))
    assert outcome.ran and outcome.report is not None and outcome.report.status == "success"
    assert acquire_lease(engine, "after")  # given back


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "recommender.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT), **env})


def test_help_never_prints_the_database_password():
    result = _cli(["--help"], {"MOODTUNE_DB_URL": "postgresql+psycopg://moodtune:s3cret@db.example/moodtune"})
    assert result.returncode == 0 and "db.example" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr


def test_database_errors_on_the_command_line_hide_the_password():
    result = _cli(["--history", "1", "--db", "postgresql+psycopg://moodtune:s3cret@127.0.0.1:1/moodtune"], {})
    assert result.returncode == 4 and "cannot be reached" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr


def test_quiet_cli_prints_one_line_per_failure_without_tracebacks(db_url, fake_spotify, catalogue_rows):
    fake_spotify.fail("/v1/playlists/", 500, times=1000)
    env = {"SPOTIPY_CLIENT_ID": "fake-client-id", "SPOTIPY_CLIENT_SECRET": "fake-client-secret",
           "MOODTUNE_SPOTIFY_API_URL": f"{fake_spotify.base_url}/v1/",
           "MOODTUNE_SPOTIFY_TOKEN_URL": f"{fake_spotify.base_url}/api/token"}
    result = _cli(["--quiet", "--db", db_url], env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if "failed" in line]) <= 1, result.stderr


def test_bad_settings_stop_the_command_line_with_a_clear_message():
    result = _cli(["--history", "1"], {"MOODTUNE_SYNC_INTERVAL_DAYS": "abc"})
    assert result.returncode == 2 and "MOODTUNE_SYNC_INTERVAL_DAYS='abc' is not a number" in result.stderr
    assert "Traceback" not in result.stderr
