"""Spotify sync through real spotipy against the fake Web API, into real SQLite and PostgreSQL databases."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import pytest
from fake_spotify_api import (
    AUTH_CODE,
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    FakeSpotify,
    catalogue_tracks,
    make_track,
    new_track_id,
    new_tracks,
)
from sqlalchemy import Engine, select, text

import config
from recommender import schema
from recommender.authorize import authorization_url, exchange_code
from recommender.playlists import list_playlists
from recommender.spotify import RetryPolicy, SpotifyCredentials, load_credentials, read_secrets_file
from recommender.sync import last_sync_runs, sync_all


def stored_ids(engine: Engine, playlist_id: str) -> list[str]:
    """Track ids of a playlist as stored, in playlist order."""
    pt = schema.playlist_tracks.c
    with engine.connect() as conn:
        return list(conn.scalars(select(pt.track_id).where(pt.playlist_id == playlist_id).order_by(pt.position)))


def track_row(engine: Engine, track_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(schema.tracks).where(schema.tracks.c.id == track_id)).first()


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() or 0)


def ids_of(tracks: list[dict[str, Any]]) -> list[str]:
    return [t["id"] for t in tracks]


@pytest.fixture
def three_playlists(fake_spotify: FakeSpotify, own_playlists: dict[str, str], catalogue_rows: list[dict[str, Any]]
                    ) -> dict[str, list[dict[str, Any]]]:
    """Serve A (catalogue tracks, no popularity from the API), B (new tracks), C (a mix)."""
    contents = {
        "A": catalogue_tracks(catalogue_rows, 0, 12, popularity=None),
        "B": new_tracks(0, 15),
        "C": catalogue_tracks(catalogue_rows, 100, 5) + new_tracks(100, 5),
    }
    for key, tracks in contents.items():
        fake_spotify.add_playlist(own_playlists[key], f"Playlist {key}", tracks)
    return contents


def test_full_sync_stores_every_playlist_in_order(engine, fake_spotify, own_playlists, three_playlists,
                                                  catalogue_rows, fast_policy):
    tracks_before = count(engine, "tracks")
    seen: list[tuple[float, str]] = []
    report = sync_all(engine, fake_spotify.credentials(), lambda f, m: seen.append((f, m)), policy=fast_policy)

    assert report.status == "success", report.message
    assert report.counts["synced"] == 3
    for key, tracks in three_playlists.items():
        assert stored_ids(engine, own_playlists[key]) == ids_of(tracks)
    # B serves two emotions: both rows carry the synced name, snapshot and count
    b_rows = [p for p in list_playlists(engine) if p.id == own_playlists["B"]]
    assert {p.emotion for p in b_rows} == {"sad", "neutral"}
    assert all(p.name == "Playlist B" and p.track_count == 15 and p.last_synced is not None for p in b_rows)
    assert {p.snapshot_id for p in b_rows} == {fake_spotify.playlists[own_playlists["B"]].snapshot_id}
    # new tracks were added; catalogue tracks kept their audio features and (API gave none) popularity
    assert count(engine, "tracks") == tracks_before + 15 + 5
    first = catalogue_rows[0]
    row = track_row(engine, first["id"])
    assert row.valence == pytest.approx(first["valence"]) and row.popularity == first["popularity"]
    assert row.image_url.endswith("-300")
    assert track_row(engine, new_track_id(0)).valence is None
    # progress went from 0 to 1 and the run was recorded
    assert seen[0][0] == 0.0 and seen[-1][0] == 1.0
    runs = last_sync_runs(engine)
    assert runs[0].id == report.run_id and runs[0].status == "success" and runs[0].playlists_synced == 3
    assert {d["playlist_id"] for d in runs[0].details} == set(own_playlists.values())


def test_pagination_follows_next_links(engine, fake_spotify, own_playlists, fast_policy):
    fake_spotify.max_page = 40
    big = new_tracks(0, 230)
    fake_spotify.add_playlist(own_playlists["A"], "Big", big)
    fake_spotify.add_playlist(own_playlists["B"], "B", [])
    fake_spotify.add_playlist(own_playlists["C"], "C", new_tracks(500, 1))

    report = sync_all(engine, fake_spotify.credentials(), policy=fast_policy)

    assert report.status == "success", report.message
    assert stored_ids(engine, own_playlists["A"]) == ids_of(big)
    assert len(fake_spotify.requests_to(f"{own_playlists['A']}/items")) == 6  # ceil(230 / 40)
    assert stored_ids(engine, own_playlists["B"]) == []


def test_429_then_success_waits_the_retry_after(engine, fake_spotify, own_playlists, three_playlists, fast_policy):
    fake_spotify.fail(f"/v1/playlists/{own_playlists['A']}/items", 429, headers={"Retry-After": "1"})
    started = time.monotonic()
    report = sync_all(engine, fake_spotify.credentials(), policy=fast_policy)

    assert report.status == "success", report.message
    assert time.monotonic() - started >= 1.0
    assert stored_ids(engine, own_playlists["A"]) == ids_of(three_playlists["A"])


def test_long_429_defers_instead_of_sleeping(engine, fake_spotify, own_playlists, three_playlists, fast_policy):
    first = sorted(own_playlists.values())[0]
    fake_spotify.fail(f"/v1/playlists/{first}", 429, headers={"Retry-After": "7200"})
    started = time.monotonic()
    report = sync_all(engine, fake_spotify.credentials(), policy=fast_policy)

    assert time.monotonic() - started < 5  # spotipy's own retry would have slept two hours
    assert report.counts["deferred"] == 3 and report.status == "failed"
    assert report.retry_after_s == 7200
    assert len(fake_spotify.requests_to("/v1/playlists/")) == 1  # nothing asked after the 429
    run = last_sync_runs(engine, 1)[0]
    assert run.playlists_deferred == 3 and run.retry_after_s == 7200 and "7200" in (run.message or "")


def test_500_then_success(engine, fake_spotify, own_playlists, three_playlists, fast_policy):
    fake_spotify.fail(f"/v1/playlists/{own_playlists['C']}/items", 500, times=2)
    fake_spotify.fail(f"/v1/playlists/{own_playlists['B']}", 503)
    report = sync_all(engine, fake_spotify.credentials(), policy=fast_policy)

    assert report.status == "success", report.message
    assert stored_ids(engine, own_playlists["C"]) == ids_of(three_playlists["C"])
    assert len(fake_spotify.requests_to(f"{own_playlists['C']}/items")) == 3


def test_token_service_hiccup_is_retried(engine, fake_spotify, own_playlists, three_playlists, fast_policy):
    fake_spotify.fail("/api/token", 503)
    report = sync_all(engine, fake_spotify.credentials(refresh_token=REFRESH_TOKEN), policy=fast_policy)
    assert report.status == "success", report.message
    assert fake_spotify.grants == ["refresh_token"]  # the 503 was answered before any grant was checked


def test_bad_client_secret_is_a_clear_error_and_changes_nothing(engine, fake_spotify, own_playlists,
                                                                three_playlists, fast_policy):
    report = sync_all(engine, fake_spotify.credentials(client_secret="wrong"), policy=fast_policy)

    assert report.status == "failed"
    assert "SPOTIPY_CLIENT_SECRET" in report.message and "invalid_client" in report.message
    assert len(report.results) == 1  # stopped after the first refusal instead of repeating it
    assert all(stored_ids(engine, pid) == [] for pid in own_playlists.values())
    assert last_sync_runs(engine, 1)[0].status == "failed"


def test_revoked_refresh_token_points_to_authorize(engine, fake_spotify, own_playlists, three_playlists, fast_policy):
    report = sync_all(engine, fake_spotify.credentials(refresh_token="revoked"), policy=fast_policy)

    assert report.status == "failed"
    assert "python -m recommender.authorize" in report.message
    assert fake_spotify.grants == ["refresh_token"]


@pytest.mark.parametrize(
    ("overrides", "grant"),
    [({"refresh_token": REFRESH_TOKEN}, "refresh_token"),  # Authorization Code flow with secret
     ({"refresh_token": REFRESH_TOKEN, "client_secret": None}, "refresh_token"),  # PKCE
     ({}, "client_credentials")],
)
def test_each_auth_flow_syncs(engine, fake_spotify, own_playlists, three_playlists, fast_policy, overrides, grant):
    credentials = fake_spotify.credentials(**overrides)
    report = sync_all(engine, credentials, policy=fast_policy)

    assert report.status == "success", report.message
    assert fake_spotify.grants == [grant]  # one token for the whole run


def test_pkce_token_without_scope_never_prompts(engine, fake_spotify, own_playlists, three_playlists, fast_policy):
    fake_spotify.omit_scope = True
    report = sync_all(engine, fake_spotify.credentials(refresh_token=REFRESH_TOKEN, client_secret=None),
                      policy=fast_policy)
    assert report.status == "success", report.message


def test_refused_playlists_are_reported_and_the_others_sync(engine, fake_spotify, own_playlists, three_playlists,
                                                            fast_policy):
    fake_spotify.refused[own_playlists["A"]] = 404
    fake_spotify.refused[own_playlists["C"]] = 403
    report = sync_all(engine, fake_spotify.credentials(), policy=fast_policy)

    assert report.status == "partial"
    by_id = {r.playlist_id: r for r in report.results}
    assert by_id[own_playlists["A"]].status == "refused" and by_id[own_playlists["A"]].http_status == 404
    assert by_id[own_playlists["C"]].http_status == 403 and "February 2026" in by_id[own_playlists["C"]].message
    assert stored_ids(engine, own_playlists["B"]) == ids_of(three_playlists["B"])
    assert last_sync_runs(engine, 1)[0].playlists_refused == 2


def test_failure_midway_keeps_the_previous_contents(engine, fake_spotify, own_playlists, three_playlists,
                                                    fast_policy):
    fake_spotify.max_page = 5
    assert sync_all(engine, fake_spotify.credentials(), policy=fast_policy).status == "success"
    before = stored_ids(engine, own_playlists["B"])
    # the playlist changes, and its second page then keeps failing
    fake_spotify.playlists[own_playlists["B"]].set_tracks(new_tracks(300, 12))
    fake_spotify.fail(f"{own_playlists['B']}/items?offset=5", 500, times=10)
    report = sync_all(engine, fake_spotify.credentials(), policy=fast_policy)

    assert report.status == "partial"
    failed = [r for r in report.results if r.status == "failed"]
    assert [r.playlist_id for r in failed] == [own_playlists["B"]] and "500" in failed[0].message
    assert stored_ids(engine, own_playlists["B"]) == before
    assert track_row(engine, new_track_id(300)) is None  # not even the first page's tracks
    assert last_sync_runs(engine, 1)[0].playlists_failed == 1


def test_database_failure_inside_the_write_rolls_back(engine, fake_spotify, own_playlists, three_playlists,
                                                      fast_policy):
    assert sync_all(engine, fake_spotify.credentials(), policy=fast_policy).status == "success"
    before = stored_ids(engine, own_playlists["B"])
    fake_spotify.playlists[own_playlists["B"]].set_tracks(new_tracks(400, 10))
    # a real failure half-way through the INSERTs of the new list (like a full disk)
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text("CREATE TRIGGER fail_midway BEFORE INSERT ON playlist_tracks "
                              "WHEN NEW.position = 6 BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
        else:
            conn.execute(text("CREATE FUNCTION fail_midway() RETURNS trigger AS $$ BEGIN "
                              "RAISE EXCEPTION 'disk full' USING ERRCODE = '53100'; END $$ LANGUAGE plpgsql"))
            conn.execute(text("CREATE TRIGGER fail_midway BEFORE INSERT ON playlist_tracks FOR EACH ROW "
                              "WHEN (NEW.position = 6) EXECUTE FUNCTION fail_midway()"))
    report = sync_all(engine, fake_spotify.credentials(), policy=fast_policy)

    assert report.status == "partial"
    assert stored_ids(engine, own_playlists["B"]) == before
    assert track_row(engine, new_track_id(400)) is None  # the track upserts were rolled back too
    assert [p.track_count for p in list_playlists(engine, "sad")] == [len(before)]


def test_rerun_after_changes_leaves_no_duplicates(engine, fake_spotify, own_playlists, three_playlists, fast_policy):
    credentials = fake_spotify.credentials()
    sync_all(engine, credentials, policy=fast_policy)
    tracks_after_first = count(engine, "tracks")
    playlist = fake_spotify.playlists[own_playlists["B"]]
    playlist.set_tracks([*reversed(playlist.tracks), playlist.tracks[0]])  # reorder + a repeat

    report = sync_all(engine, credentials, policy=fast_policy)

    assert report.counts == {"synced": 1, "unchanged": 2, "refused": 0, "deferred": 0, "failed": 0}
    assert stored_ids(engine, own_playlists["B"]) == ids_of(playlist.tracks)
    assert count(engine, "tracks") == tracks_after_first
    assert count(engine, "playlist_tracks") == 12 + 16 + 10


def test_unchanged_snapshot_is_skipped_without_reading_items(engine, fake_spotify, own_playlists, three_playlists,
                                                             fast_policy):
    credentials = fake_spotify.credentials()
    sync_all(engine, credentials, policy=fast_policy)
    items_requests = len(fake_spotify.requests_to("/items"))

    report = sync_all(engine, credentials, policy=fast_policy)

    assert report.status == "success" and report.counts["unchanged"] == 3
    assert len(fake_spotify.requests_to("/items")) == items_requests
    assert last_sync_runs(engine, 1)[0].playlists_skipped == 3


def test_items_that_are_not_tracks_are_skipped(engine, fake_spotify, own_playlists, fast_policy):
    local = make_track("LocalFile000000000000x", "My mp3", "Me")
    local["is_local"] = True
    episode = dict(make_track("Episode000000000000000", "A podcast", "Host"), type="episode")
    good = new_tracks(0, 2)
    fake_spotify.add_playlist(own_playlists["A"], "Mixed", [good[0], local, episode, good[1]])
    fake_spotify.add_playlist(own_playlists["B"], "B", [])
    fake_spotify.add_playlist(own_playlists["C"], "C", [])

    assert sync_all(engine, fake_spotify.credentials(), policy=fast_policy).status == "success"
    assert stored_ids(engine, own_playlists["A"]) == ids_of(good)


def test_without_credentials_nothing_is_contacted(engine):
    messages: list[str] = []
    report = sync_all(engine, None, lambda f, m: messages.append(m))

    assert report.status == "no_credentials"
    assert "SPOTIPY_CLIENT_ID" in report.message and messages == [report.message]
    assert last_sync_runs(engine) == []


def test_credentials_from_mapping():
    assert SpotifyCredentials.from_mapping({}) is None
    assert SpotifyCredentials.from_mapping({"SPOTIPY_CLIENT_ID": "id"}) is None  # no way to authenticate
    secrets = {"SPOTIPY_CLIENT_ID": " id ", "SPOTIPY_CLIENT_SECRET": "s3cret", "spotify": {"nested": "x"},
               "MOODTUNE_SPOTIFY_API_URL": "http://127.0.0.1:9/v1"}
    creds = SpotifyCredentials.from_mapping(secrets)
    assert creds is not None and creds.client_id == "id" and creds.flow == "client_credentials"
    assert creds.api_url == "http://127.0.0.1:9/v1/" and creds.token_url == config.SPOTIFY_TOKEN_URL
    assert "s3cret" not in repr(creds)
    pkce = SpotifyCredentials.from_mapping({"SPOTIPY_CLIENT_ID": "id", "MOODTUNE_SPOTIFY_REFRESH_TOKEN": "r"})
    assert pkce is not None and pkce.flow == "pkce"


def test_authorize_exchanges_the_code_for_a_refresh_token(fake_spotify):
    url, manager = authorization_url(fake_spotify.credentials())
    assert url.startswith("https://accounts.spotify.com/authorize?") and f"client_id={CLIENT_ID}" in url
    redirected = f"http://127.0.0.1:8888/callback?code={AUTH_CODE}"
    assert exchange_code(manager, redirected) == REFRESH_TOKEN
    assert fake_spotify.grants == ["authorization_code"]


def _run_module(module: str, args: list[str], extra_env: dict[str, str], stdin: str = ""
                ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIPY_", "MOODTUNE_SPOTIFY"))}
    env.update(extra_env)
    return subprocess.run([sys.executable, "-m", module, *args], input=stdin,
                          cwd=config.ROOT, env=env, capture_output=True, text=True, timeout=60)


def _cli(args: list[str], db_url: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run_module("recommender.cli", ["--db", db_url, *args], extra_env)


def _fake_env(fake_spotify: FakeSpotify) -> dict[str, str]:
    return {"SPOTIPY_CLIENT_ID": CLIENT_ID, "SPOTIPY_CLIENT_SECRET": CLIENT_SECRET,
            "MOODTUNE_SPOTIFY_API_URL": f"{fake_spotify.base_url}/v1/",
            "MOODTUNE_SPOTIFY_TOKEN_URL": f"{fake_spotify.base_url}/api/token"}


def test_authorize_command_prints_the_refresh_token(fake_spotify):
    fake_spotify.add_playlist("MyOwnPlaylist000000001", "Rainy day", [])
    done = _run_module("recommender.authorize", ["--no-browser"], _fake_env(fake_spotify),
                       stdin=f"http://127.0.0.1:8888/callback?code={AUTH_CODE}\n")
    assert done.returncode == 0, done.stderr
    assert f'MOODTUNE_SPOTIFY_REFRESH_TOKEN = "{REFRESH_TOKEN}"' in done.stdout
    assert "MyOwnPlaylist000000001  Rainy day" in done.stdout
    refused = _run_module("recommender.authorize", ["--no-browser"], _fake_env(fake_spotify),
                          stdin="http://127.0.0.1:8888/callback?code=wrong\n")
    assert refused.returncode == 1 and "invalid_grant" in refused.stderr
    pkce_env = {k: v for k, v in _fake_env(fake_spotify).items() if k != "SPOTIPY_CLIENT_SECRET"}
    pkce = _run_module("recommender.authorize", ["--no-browser"], pkce_env,
                       stdin=f"http://127.0.0.1:8888/callback?code={AUTH_CODE}\n")
    assert pkce.returncode == 0 and "code_challenge=" in pkce.stdout, pkce.stderr  # PKCE with a client id only
    assert f'"{REFRESH_TOKEN}"' in pkce.stdout


def test_cli_exit_codes(db_url, fake_spotify, catalogue_rows):
    missing = _cli([], db_url, {})
    assert missing.returncode == 2 and "SPOTIPY_CLIENT_ID" in missing.stderr

    # the seeded playlists: the Spotify-owned chart is embed-only, so the default library can succeed
    seeded = [("angry", "0l9dAmBrUJLylii66JOsHB"), ("fear", "4cllEPvFdoX6NIVWPKai9I"),
              ("happy", "0deORnapZgrxFY4nsKr9JA"), ("neutral", "4kvSlabrnfRCQWfN0MgtgA"),
              ("sad", "1n6cpWo9ant4WguEo91KZh")]
    for emotion, pid in seeded:
        fake_spotify.add_playlist(pid, emotion, catalogue_tracks(catalogue_rows, 0, 3))
    fake_spotify.refused["37i9dQZEVXbMDoHDwVN2tF"] = 404
    fake_spotify.refused["4kvSlabrnfRCQWfN0MgtgA"] = 403  # one of them is refused: partial
    env = _fake_env(fake_spotify)
    partial = _cli(["--quiet"], db_url, env)
    assert partial.returncode == 3, partial.stdout + partial.stderr
    assert "4 synced" in partial.stdout and "1 refused" in partial.stdout
    assert not fake_spotify.requests_to("37i9dQZEVXbMDoHDwVN2tF")  # embed-only: never asked for

    not_due = _cli(["--if-due"], db_url, env)
    assert not_due.returncode == 0 and "not due" in not_due.stdout.lower()
    history = _cli(["--history", "3"], db_url, {})
    assert history.returncode == 0 and "partial" in history.stdout and "cli" in history.stdout


def test_cli_reads_streamlit_secrets(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('SPOTIPY_CLIENT_ID = "from-file"\nSPOTIPY_CLIENT_SECRET = "s"\n[section]\nkey = "x"\n')
    assert read_secrets_file(secrets) == {"SPOTIPY_CLIENT_ID": "from-file", "SPOTIPY_CLIENT_SECRET": "s"}
    assert read_secrets_file(tmp_path / "missing.toml") == {}
    credentials = load_credentials(secrets)
    assert credentials is not None and credentials.client_id == "from-file"


def test_policy_backoff_doubles_up_to_the_cap():
    policy = RetryPolicy(backoff_s=0.5, backoff_max_s=3.0)
    assert [policy.backoff(i) for i in range(1, 5)] == [0.5, 1.0, 2.0, 3.0]
