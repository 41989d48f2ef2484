"""Library's "Test connection" against the fake Spotify over real HTTP on 127.0.0.1: every outcome, within its
time limit, with no key in the result or the log."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from fake_spotify_api import CLIENT_SECRET, REFRESH_TOKEN, FakeSpotify

from recommender.spotify_check import (
    ENVIRONMENT,
    RATE_LIMITED,
    REJECTED,
    SECRETS,
    SPOTIFY_ERROR,
    TIMED_OUT,
    UNREACHABLE,
    WORKS,
    check_connection,
    find_keys,
)
from tests.silent_tcp import silent_tcp_server


@pytest.fixture(autouse=True)
def every_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # requests', urllib3's and spotipy's lines too


def no_key_in(text: str) -> bool:
    return CLIENT_SECRET not in text and REFRESH_TOKEN not in text and "wrong-secret" not in text


def test_good_keys_work_with_one_token_request(fake_spotify: FakeSpotify, caplog: pytest.LogCaptureFixture) -> None:
    check = check_connection(fake_spotify.credentials(), timeout_s=3)
    assert check.outcome == WORKS and check.works and check.status == 200
    assert fake_spotify.grants == ["client_credentials"]  # asked the token service, nothing else
    assert check.host == fake_spotify.base_url.removeprefix("http://")
    assert no_key_in(repr(check)) and no_key_in(caplog.text)
    assert "Spotify connection test: works" in caplog.text


def test_a_refresh_token_is_checked_through_its_own_flow(fake_spotify: FakeSpotify) -> None:
    assert check_connection(fake_spotify.credentials(refresh_token=REFRESH_TOKEN), timeout_s=3).works
    assert fake_spotify.grants == ["refresh_token"]
    revoked = check_connection(fake_spotify.credentials(refresh_token="revoked"), timeout_s=3)
    assert (revoked.outcome, revoked.reason) == (REJECTED, "invalid_grant")


def test_a_wrong_secret_is_rejected_as_an_invalid_client(fake_spotify: FakeSpotify,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    check = check_connection(fake_spotify.credentials(client_secret="wrong-secret"), timeout_s=3)
    assert (check.outcome, check.reason, check.status) == (REJECTED, "invalid_client", 400)
    assert no_key_in(repr(check)) and no_key_in(caplog.text)


def test_a_rate_limit_gives_the_wait(fake_spotify: FakeSpotify) -> None:
    fake_spotify.fail("/api/token", 429, headers={"Retry-After": "120"})
    check = check_connection(fake_spotify.credentials(), timeout_s=3)
    assert (check.outcome, check.retry_after_s) == (RATE_LIMITED, 120)
    assert fake_spotify.grants == []  # one request, not retried


def test_a_server_error_is_spotifys_problem(fake_spotify: FakeSpotify) -> None:
    fake_spotify.fail("/api/token", 503)
    check = check_connection(fake_spotify.credentials(), timeout_s=3)
    assert (check.outcome, check.status) == (SPOTIFY_ERROR, 503)


def test_an_answer_that_is_not_json_is_spotifys_problem(fake_spotify: FakeSpotify) -> None:
    fake_spotify.answer_raw("/api/token", b"<html>captive portal</html>")
    assert check_connection(fake_spotify.credentials(), timeout_s=3).outcome == SPOTIFY_ERROR


def test_nothing_listening_is_unreachable_at_once(fake_spotify: FakeSpotify) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    started = time.monotonic()
    check = check_connection(fake_spotify.credentials(token_url=f"http://127.0.0.1:{port}/api/token"), timeout_s=3)
    assert check.outcome == UNREACHABLE and time.monotonic() - started < 2


def test_a_silent_server_times_out_within_the_limit(fake_spotify: FakeSpotify,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    with silent_tcp_server() as port:
        started = time.monotonic()
        check = check_connection(fake_spotify.credentials(token_url=f"http://127.0.0.1:{port}/api/token"),
                                 timeout_s=1.0)
        took = time.monotonic() - started
    assert check.outcome == TIMED_OUT and 0.9 < took < 2.5, took
    assert no_key_in(caplog.text)


def test_keys_are_found_in_secrets_before_the_environment() -> None:
    found = find_keys({"SPOTIPY_CLIENT_ID": "a", "SPOTIPY_CLIENT_SECRET": "  "},
                      {"SPOTIPY_CLIENT_ID": "b", "SPOTIPY_CLIENT_SECRET": "c"})
    assert (found.client_id, found.client_secret, found.refresh_token) == (SECRETS, ENVIRONMENT, None)
    assert found.usable
    assert not find_keys({"SPOTIPY_CLIENT_ID": "a"}, {}).usable
    assert not find_keys({"SPOTIPY_CLIENT_SECRET": "a"}, {"MOODTUNE_SPOTIFY_REFRESH_TOKEN": "r"}).usable
    assert find_keys({"SPOTIPY_CLIENT_ID": "a"}, {"MOODTUNE_SPOTIFY_REFRESH_TOKEN": "r"}).usable
