"""Secrets and ICE servers, and the Library's "Sync now" with credentials Spotify refuses."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from app_helpers import page_text, point_spotify_at
from streamlit.testing.v1 import AppTest

import config
from ui.settings import ice_servers

TURN = {"urls": ["turn:turn.example.com:3478"], "username": "u", "credential": "c"}


def test_ice_servers_from_secrets_win() -> None:
    assert ice_servers({"ice_servers": [TURN]}) == ([TURN], "secrets")


def test_ice_servers_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "ICE_SERVERS_JSON", json.dumps([TURN]))
    assert ice_servers({}) == ([TURN], "environment")
    monkeypatch.setattr(config, "ICE_SERVERS_JSON", "[]")
    assert ice_servers({}) == ([], "environment")


def test_ice_servers_default_and_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "ICE_SERVERS_JSON", None)
    servers, source = ice_servers({"ice_servers": "turn:nope"})  # not a list of tables: ignored
    assert source == "default" and servers[0]["urls"][0].startswith("stun:")
    monkeypatch.setattr(config, "ICE_SERVERS_JSON", "{broken")
    assert ice_servers({})[1] == "default"


class _RefusingTokenService(BaseHTTPRequestHandler):
    """Spotify's token endpoint refusing the client, as it does for a wrong id or secret."""

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.dumps({"error": "invalid_client", "error_description": "Invalid client"}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def refusing_spotify(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingTokenService)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    point_spotify_at(monkeypatch, f"http://127.0.0.1:{server.server_address[1]}", "wrong-id", "wrong-secret")
    yield
    server.shutdown()
    server.server_close()


def run_until(at: AppTest, done: Callable[[AppTest], bool], timeout_s: float = 60) -> AppTest:
    """Rerun the page (as the sync fragment's timer does in a browser) until ``done`` or the timeout."""
    deadline = time.monotonic() + timeout_s
    while not done(at):
        assert time.monotonic() < deadline, page_text(at)
        time.sleep(0.3)
        at.run()
    return at


def test_sync_with_refused_credentials_is_explained(seeded_db: str, refusing_spotify: None,
                                                    open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/library.py")
    at.button(key="sync-now").click().run()
    assert not at.exception
    run_until(at, lambda page: "refused the app credentials" in page_text(page) + texts(page))
    assert any("problems" in w.value for w in at.warning)
    at.run()  # the run is recorded and shown as the last sync
    assert "Failed" in page_text(at)


def texts(at: AppTest) -> str:
    """Everything shown with st.text (plain text)."""
    return "\n".join(str(t.value) for t in at.text)


# --- issue 23: "Sync now" against a drip-feed Spotify, and a password with an unencoded @ ------------------
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recommender"))
from fake_spotify_api import new_tracks, playlist_id, serve  # noqa: E402

from recommender.db import open_engine  # noqa: E402
from recommender.playlists import add_playlist, list_playlists, remove_playlist  # noqa: E402
from recommender.sync import last_sync_runs  # noqa: E402
from ui.library import start_sync  # noqa: E402


@pytest.fixture
def dripping_spotify(seeded_db: str) -> Iterator[tuple[object, object]]:
    """(engine, fake): the app's database with three test playlists, and a Spotify that answers one byte
    every 2 s (each read gets a byte, so a per-read timeout never fires)."""
    engine = open_engine(seeded_db)
    for playlist in list_playlists(engine):
        remove_playlist(engine, playlist.id)
    for emotion, n in (("happy", 1), ("sad", 2), ("angry", 3)):
        add_playlist(engine, emotion, playlist_id(n))
    for fake in serve():
        for n in (1, 2, 3):
            fake.add_playlist(playlist_id(n), f"P{n}", new_tracks(10 * n, 3))
        fake.drip_s = 2.0
        yield engine, fake
    engine.dispose()


def test_sync_now_ends_at_its_deadline_against_a_drip_feed(dripping_spotify) -> None:
    engine, fake = dripping_spotify
    started = time.monotonic()
    job = start_sync(engine, fake.credentials(), deadline_s=8)
    assert job.thread is not None
    job.thread.join(8 + 10)
    assert not job.running, "Sync now was still running long after its deadline"
    assert time.monotonic() - started < 8 + 4
    assert job.outcome is not None and job.outcome.report is not None
    assert last_sync_runs(engine, 1)[0].finished_at is not None


def test_cancel_stops_sync_now_within_five_seconds_mid_request(dripping_spotify) -> None:
    engine, fake = dripping_spotify
    job = start_sync(engine, fake.credentials(), deadline_s=300)
    deadline = time.monotonic() + 15
    while fake.dripping == 0:  # Spotify is half-way through an answer
        assert time.monotonic() < deadline
        time.sleep(0.1)
    pressed = time.monotonic()
    job.cancel()
    assert job.thread is not None
    job.thread.join(10)
    assert not job.running and time.monotonic() - pressed < 5
    assert job.outcome is not None and job.outcome.report is not None
    assert job.outcome.report.status == "cancelled"
    # the lease was given back: the next "Sync now" may start at once
    fake.drip_s = 0
    again = start_sync(engine, fake.credentials(), deadline_s=60)
    assert again.thread is not None
    again.thread.join(60)
    assert again.outcome is not None and again.outcome.ran, again.outcome


def test_a_password_with_an_unencoded_at_never_reaches_the_page_or_the_log(
        monkeypatch: pytest.MonkeyPatch, open_page: Callable[[str], AppTest], caplog: pytest.LogCaptureFixture) -> None:
    url = "postgresql+psycopg://moodtune:p@ss/w0rd%@127.0.0.1:1/moodtune"
    monkeypatch.setenv("MOODTUNE_DB_URL", url)
    monkeypatch.setattr(config, "DB_URL", url)
    caplog.set_level(logging.DEBUG)
    at = open_page("pages/library.py")
    assert not at.exception
    shown = page_text(at) + texts(at)
    assert "percent-encode the password" in shown, shown
    # everything the page sent to the browser (its element tree), and the server's log
    sent = str([element.proto for element in at.get("markdown") + at.get("alert") + at.get("text")])
    for secret in ("p@ss", "ss/w0rd", "w0rd"):
        assert secret not in shown and secret not in sent and secret not in caplog.text
