"""Secrets and ICE servers, and the Library's "Sync now" with credentials Spotify refuses."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
