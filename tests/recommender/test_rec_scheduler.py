"""The weekly scheduler: due rule, the lease between processes, and the background thread."""

from __future__ import annotations

import shutil
import threading
import time
from datetime import timedelta

from fake_spotify_api import new_tracks
from sqlalchemy import text

from recommender import schema
from recommender.db import get_engine, open_engine
from recommender.playlists import add_playlist, list_playlists, remove_playlist
from recommender.scheduler import acquire_lease, due_reason, release_lease, run_if_due, start_scheduler
from recommender.sync import last_sync_runs, sync_all


def _serve_own(fake_spotify, own_playlists):
    for i, pid in enumerate(own_playlists.values()):
        fake_spotify.add_playlist(pid, f"P{i}", new_tracks(10 * i, 3))


def test_runs_when_due_and_not_again_within_the_interval(engine, fake_spotify, own_playlists, fast_policy):
    _serve_own(fake_spotify, own_playlists)
    credentials = fake_spotify.credentials()

    first = run_if_due(engine, lambda: credentials, 7, policy=fast_policy)
    assert first.ran and first.reason == "no completed sync yet" and first.report.status == "success"
    second = run_if_due(engine, lambda: credentials, 7, policy=fast_policy)
    assert not second.ran and second.reason == "not due"

    # eight days later the weekly sync is due again
    with engine.begin() as conn:
        conn.execute(schema.sync_runs.update().values(finished_at=schema.utcnow() - timedelta(days=8)))
    third = run_if_due(engine, lambda: credentials, 7, policy=fast_policy)
    assert third.ran and "older than 7 days" in third.reason
    assert [r.trigger for r in last_sync_runs(engine)] == ["scheduler", "scheduler"]


def test_failed_runs_do_not_count_as_done(engine, fake_spotify, own_playlists, fast_policy):
    _serve_own(fake_spotify, own_playlists)
    bad = fake_spotify.credentials(client_secret="wrong")
    assert run_if_due(engine, lambda: bad, 7, policy=fast_policy).report.status == "failed"
    assert due_reason(engine, 7) == "no completed sync yet"


def test_deferred_run_is_due_once_retry_after_passed(engine, fake_spotify, own_playlists, fast_policy):
    _serve_own(fake_spotify, own_playlists)
    credentials = fake_spotify.credentials()
    assert run_if_due(engine, lambda: credentials, 7, policy=fast_policy).ran
    fake_spotify.fail("/v1/playlists/", 429, headers={"Retry-After": "600"})
    # a manual sync is rate limited and defers its playlists
    for playlist in fake_spotify.playlists.values():
        playlist.set_tracks(new_tracks(900, 2))
    assert sync_all(engine, credentials, policy=fast_policy).counts["deferred"] == 3
    assert due_reason(engine, 7) is None  # deferred, but Retry-After has not passed
    with engine.begin() as conn:
        conn.execute(text("UPDATE sync_runs SET started_at = :t, finished_at = :t WHERE retry_after_s IS NOT NULL"),
                     {"t": schema.utcnow() - timedelta(seconds=601)})
    assert "Retry-After has passed" in (due_reason(engine, 7) or "")


def test_no_credentials_means_no_run(engine):
    outcome = run_if_due(engine, lambda: None, 7)
    assert not outcome.ran and "credentials" in outcome.reason
    assert last_sync_runs(engine) == []


def test_lease_keeps_other_processes_out_until_released_or_expired(engine, db_url):
    other = open_engine(db_url)  # another server process on the same database
    assert acquire_lease(engine, "process-a", lease_s=60)
    assert acquire_lease(engine, "process-a", lease_s=60)  # re-entrant for its holder
    assert not acquire_lease(other, "process-b", lease_s=60)
    release_lease(other, "process-b")  # releasing someone else's lease does nothing
    assert not acquire_lease(other, "process-b", lease_s=60)
    release_lease(engine, "process-a")
    assert acquire_lease(other, "process-b", lease_s=60)
    # a holder that died: its lease runs out
    assert acquire_lease(engine, "process-a", now=schema.utcnow() + timedelta(seconds=61))
    other.dispose()


def test_two_processes_due_at_once_sync_once(engine, db_url, fake_spotify, own_playlists, fast_policy):
    _serve_own(fake_spotify, own_playlists)
    credentials = fake_spotify.credentials()
    engines = [engine, open_engine(db_url)]
    outcomes = []
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        barrier.wait()
        outcomes.append(run_if_due(engines[i], lambda: credentials, 7, holder=f"process-{i}", policy=fast_policy))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.ran for o in outcomes) == [False, True]
    assert len(last_sync_runs(engine)) == 1
    engines[1].dispose()


def test_background_thread_starts_once_and_syncs(engine, fake_spotify, own_playlists):
    _serve_own(fake_spotify, own_playlists)
    credentials = fake_spotify.credentials()
    handle = start_scheduler(engine, lambda: credentials, 7, check_every_s=0.05, first_check_after_s=0.0)
    try:
        assert start_scheduler(engine, lambda: None, 7) is handle  # Streamlit reruns: still one thread
        deadline = time.monotonic() + 15
        while not last_sync_runs(engine) or last_sync_runs(engine)[0].finished_at is None:
            assert time.monotonic() < deadline, "the scheduler did not sync"
            time.sleep(0.05)
        time.sleep(0.3)  # several more checks: not due, so no second run
        assert len(last_sync_runs(engine)) == 1 and last_sync_runs(engine)[0].status == "success"
        assert handle.alive
    finally:
        handle.stop()
    assert not handle.alive


def test_scheduler_given_a_url_opens_the_database_in_its_thread(tmp_path, template_db, fake_spotify):
    missing = f"sqlite:///{tmp_path / 'not-a-folder'}"
    (tmp_path / "not-a-folder").write_text("x")  # the URL's "file" is unusable: the thread keeps trying
    started = time.monotonic()
    broken = start_scheduler(f"{missing}/moodtune.db", lambda: None, 7, check_every_s=0.05, first_check_after_s=0.0)
    assert time.monotonic() - started < 0.5  # the caller never waits for the database
    time.sleep(0.3)
    assert broken.alive  # survives "database unavailable" and tries again
    broken.stop()

    path = tmp_path / "by-url.db"
    shutil.copyfile(template_db, path)
    url = f"sqlite:///{path}"
    engine = get_engine(url)
    for playlist in list_playlists(engine):
        remove_playlist(engine, playlist.id)
    add_playlist(engine, "happy", "TestPlaylist0000000001")
    fake_spotify.add_playlist("TestPlaylist0000000001", "P", new_tracks(0, 3))
    credentials = fake_spotify.credentials()
    handle = start_scheduler(url, lambda: credentials, 7, check_every_s=0.05, first_check_after_s=0.0)
    try:
        deadline = time.monotonic() + 15
        while not last_sync_runs(engine) or last_sync_runs(engine)[0].finished_at is None:
            assert time.monotonic() < deadline, "the scheduler did not sync"
            time.sleep(0.05)
        assert last_sync_runs(engine)[0].status == "success"
    finally:
        handle.stop()
