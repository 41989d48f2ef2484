"""Secrets and ICE servers, and the Library's "Sync now" with credentials Spotify refuses."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from app_helpers import page_text
from streamlit.testing.v1 import AppTest

import config
from emotion.labels import EMOTIONS
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
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "wrong-id")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "wrong-secret")
    monkeypatch.setenv("MOODTUNE_SPOTIFY_TOKEN_URL", f"{base}/api/token")
    monkeypatch.setenv("MOODTUNE_SPOTIFY_API_URL", f"{base}/v1/")
    yield
    server.shutdown()
    server.server_close()


def test_sync_with_refused_credentials_is_explained(seeded_db: str, refusing_spotify: None,
                                                    open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/library.py")
    at.button(key="sync-now").click().run()
    assert not at.exception
    problems = " ".join(w.value for w in at.warning)
    assert "refused the app credentials" in problems, problems
    at.run()  # the run is recorded and shown as the last sync
    assert "**failed**" in page_text(at)


def _submit(at: AppTest, emotion: str) -> None:
    """Press the "Add" button of ``emotion``'s form (the forms come in EMOTIONS order)."""
    buttons = [b for b in at.button if b.label == "Add"]
    assert len(buttons) == len(EMOTIONS)
    buttons[EMOTIONS.index(emotion)].click().run()


def _label(at: AppTest, emotion: str) -> str:
    return next(e.label for e in at.expander if f" {emotion} " in e.label)


def test_playlists_can_be_added_and_removed(seeded_db: str, open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/library.py")
    assert "1 playlist" in _label(at, "happy")
    at.text_input(key="add-text-happy").set_value("https://open.spotify.com/playlist/37i9dQZF1DXdPec7aLTmlC?si=x")
    _submit(at, "happy")
    assert not at.exception and not at.error
    assert "2 playlist" in _label(at, "happy")
    at.button(key="rm-happy-37i9dQZF1DXdPec7aLTmlC").click().run()
    assert "1 playlist" in _label(at, "happy")


def test_invalid_playlist_link_is_explained(seeded_db: str, open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/library.py")
    at.text_input(key="add-text-sad").set_value("https://open.spotify.com/track/4CNSKwiJTxrYCtFIOqVXGw")
    _submit(at, "sad")
    assert not at.exception
    assert any("playlist" in e.value for e in at.error), [e.value for e in at.error]
    assert "1 playlist" in _label(at, "sad")
