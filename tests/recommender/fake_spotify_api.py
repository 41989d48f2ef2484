"""A small fake of the Spotify Web API and token service, served over real HTTP on 127.0.0.1.

It implements what the sync uses – ``POST /api/token`` (client credentials, refresh token with client
secret or PKCE client id, authorization code), ``GET /v1/playlists/{id}``, ``GET /v1/playlists/{id}/items``
with offset/limit paging and absolute ``next`` links, ``GET /v1/me/playlists`` – with Spotify's JSON
shapes and error bodies. Tests script failures (429 with Retry-After, 5xx, ...) per path and read the
request log to check what the client did.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from recommender.spotify import SpotifyCredentials

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
REFRESH_TOKEN = "fake-refresh-token"
AUTH_CODE = "fake-auth-code"


def make_track(track_id: str, name: str, artist: str, popularity: int | None = 50) -> dict[str, Any]:
    """A Web API track object."""
    track: dict[str, Any] = {
        "id": track_id,
        "type": "track",
        "name": name,
        "artists": [{"name": artist, "id": f"artist-{artist}"}],
        "album": {"name": f"{name} (album)", "images": [
            {"url": f"https://i.scdn.co/image/{track_id}-640", "width": 640, "height": 640},
            {"url": f"https://i.scdn.co/image/{track_id}-300", "width": 300, "height": 300},
            {"url": f"https://i.scdn.co/image/{track_id}-64", "width": 64, "height": 64},
        ]},
        "duration_ms": 180000,
        "is_local": False,
    }
    if popularity is not None:
        track["popularity"] = popularity
    return track


def playlist_id(n: int) -> str:
    """A valid-looking 22-character Spotify id for test playlist ``n``."""
    return f"TestPlaylist{n:010d}"


def new_track_id(n: int) -> str:
    """A 22-character id the catalogue does not have (a track without audio features)."""
    return f"NewTrack{n:014d}"


def catalogue_tracks(
    rows: list[dict[str, Any]], start: int, count: int, popularity: int | None = None
) -> list[dict[str, Any]]:
    """API track objects for catalogue rows (tracks whose audio features the database knows)."""
    return [make_track(r["id"], r["name"], r["artists"], popularity) for r in rows[start: start + count]]


def new_tracks(start: int, count: int) -> list[dict[str, Any]]:
    """API track objects the catalogue does not know, each by its own artist."""
    return [make_track(new_track_id(i), f"New song {i}", f"New artist {i}") for i in range(start, start + count)]


@dataclass
class FakePlaylist:
    """A playlist the fake serves; change ``tracks`` with ``set_tracks`` to get a new snapshot."""

    id: str
    name: str
    tracks: list[dict[str, Any]] = field(default_factory=list)
    snapshot_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def set_tracks(self, tracks: list[dict[str, Any]]) -> None:
        """Replace the contents (Spotify gives every change a new snapshot id)."""
        self.tracks = list(tracks)
        self.snapshot_id = uuid.uuid4().hex


@dataclass
class Scripted:
    """A canned response for the next request whose path+query contains ``match``."""

    match: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class FakeSpotify:
    """The server's state; ``base_url`` is set once started (see ``serve``)."""

    def __init__(self) -> None:
        self.playlists: dict[str, FakePlaylist] = {}
        self.refused: dict[str, int] = {}  # playlist id -> 403/404
        self.max_page = 100
        self.omit_scope = False  # answer user-token requests without "scope" (spotipy's PKCE then re-prompts)
        self.scripted: list[Scripted] = []
        self.before_items: Callable[[str], None] | None = None  # called with the playlist id before each items page
        self.stall_s = 0.0  # wait this long before answering any API request (a server that hangs)
        self.drip_s = 0.0  # answer API requests one byte every drip_s seconds (status line, headers, body)
        self.dripping = 0  # answers being dripped right now
        self.closed = threading.Event()  # set when the server stops: drips end
        self.self_next: set[str] = set()  # playlists whose items pages link "next" to themselves
        self.log: list[tuple[str, str]] = []  # (method, path?query)
        self.grants: list[str] = []  # grant_type of every token request
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self.base_url = ""

    # --- test helpers ---------------------------------------------------------------------------
    def add_playlist(self, playlist_id: str, name: str, tracks: list[dict[str, Any]]) -> FakePlaylist:
        """Serve a playlist with these track objects."""
        playlist = FakePlaylist(playlist_id, name, list(tracks))
        self.playlists[playlist_id] = playlist
        return playlist

    def answer_raw(self, match: str, body: bytes, status: int = 200, times: int = 1) -> None:
        """Answer the next ``times`` requests matching ``match`` with these bytes (malformed JSON...)."""
        for _ in range(times):
            self.scripted.append(Scripted(match, status, {}, body))

    def fail(self, match: str, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next ``times`` requests matching ``match`` with ``status`` (Spotify's error body)."""
        body = {"error": {"status": status, "message": f"scripted {status}"}}
        for _ in range(times):
            self.scripted.append(Scripted(match, status, dict(headers or {}), body))

    def credentials(self, **overrides: Any) -> SpotifyCredentials:
        """Credentials pointing at this server (client credentials flow unless overridden)."""
        values: dict[str, Any] = {
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "api_url": f"{self.base_url}/v1/", "token_url": f"{self.base_url}/api/token",
        }
        values.update(overrides)
        return SpotifyCredentials(**values)

    def requests_to(self, fragment: str) -> list[str]:
        """Logged GET paths containing ``fragment``."""
        return [path for method, path in self.log if method == "GET" and fragment in path]

    # --- request handling -------------------------------------------------------------------------
    def take_scripted(self, path: str) -> Scripted | None:
        with self._lock:
            for i, item in enumerate(self.scripted):
                if item.match in path:
                    return self.scripted.pop(i)
        return None

    def token(self, headers: Any, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        self.grants.append(grant)
        basic = headers.get("Authorization", "")
        client_ok = basic == "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        pkce_ok = not basic and form.get("client_id") == CLIENT_ID
        if grant == "client_credentials" and not client_ok:
            return 400, {"error": "invalid_client", "error_description": "Invalid client"}
        if grant in ("refresh_token", "authorization_code") and not (client_ok or pkce_ok):
            return 400, {"error": "invalid_client", "error_description": "Invalid client"}
        if grant == "refresh_token" and form.get("refresh_token") != REFRESH_TOKEN:
            return 400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
        if grant == "authorization_code" and form.get("code") != AUTH_CODE:
            return 400, {"error": "invalid_grant", "error_description": "Invalid authorization code"}
        if grant not in ("client_credentials", "refresh_token", "authorization_code"):
            return 400, {"error": "unsupported_grant_type"}
        access = uuid.uuid4().hex
        self._tokens.add(access)
        body: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": 3600}
        if grant != "client_credentials" and not self.omit_scope:  # Spotify repeats the granted scope
            body["scope"] = "playlist-read-private playlist-read-collaborative"
        if grant == "authorization_code":
            body["refresh_token"] = REFRESH_TOKEN
        return 200, body

    def api(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        parts = [p for p in path.split("/") if p]  # ["v1", "playlists", id, "items"]
        if parts[:2] == ["v1", "me"] and parts[2:] == ["playlists"]:
            items = [{"id": p.id, "name": p.name} for p in self.playlists.values()]
            return 200, {"items": items, "total": len(items), "next": None}
        if len(parts) < 3 or parts[:2] != ["v1", "playlists"]:
            return 404, {"error": {"status": 404, "message": "Service not found"}}
        playlist_id = parts[2]
        if playlist_id in self.refused:
            status = self.refused[playlist_id]
            message = "Forbidden" if status == 403 else "Resource not found"
            return status, {"error": {"status": status, "message": message}}
        playlist = self.playlists.get(playlist_id)
        if playlist is None:
            return 404, {"error": {"status": 404, "message": "Resource not found"}}
        href = f"{self.base_url}/v1/playlists/{playlist_id}"
        if len(parts) == 3:
            total = len(playlist.tracks)
            return 200, {"id": playlist.id, "name": playlist.name, "snapshot_id": playlist.snapshot_id,
                         "owner": {"id": "owner"}, "items": {"href": f"{href}/items", "total": total}}
        if parts[3] in ("items", "tracks"):
            if self.before_items is not None:
                self.before_items(playlist_id)
            limit = min(int(query.get("limit", ["100"])[0]), self.max_page)
            offset = int(query.get("offset", ["0"])[0])
            chunk = playlist.tracks[offset: offset + limit]
            nxt = offset + limit
            return 200, {
                "href": f"{href}/items?offset={offset}&limit={limit}",
                # the February 2026 shape ("item") alongside the older one ("track")
                "items": [{"added_at": "2026-01-01T00:00:00Z", "item": t, "track": t} for t in chunk],
                "limit": limit, "offset": offset, "total": len(playlist.tracks),
                "next": (f"{href}/items?offset={offset}&limit={limit}" if playlist_id in self.self_next
                         else f"{href}/items?offset={nxt}&limit={limit}" if nxt < len(playlist.tracks) else None),
                "previous": None,
            }
        return 404, {"error": {"status": 404, "message": "Service not found"}}


def _handler(state: FakeSpotify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _drip(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            """Send the whole answer one byte every ``state.drip_s`` (each read gets a byte: no read timeout)."""
            head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}", "Content-Type: application/json",
                    f"Content-Length: {len(data)}", *(f"{k}: {v}" for k, v in headers.items())]
            raw = ("\r\n".join(head) + "\r\n\r\n").encode() + data
            self.close_connection = True
            with state._lock:
                state.dripping += 1
            try:
                for i in range(len(raw)):
                    self.wfile.write(raw[i:i + 1])
                    self.wfile.flush()
                    if state.closed.wait(state.drip_s):
                        return
            except OSError:  # the client gave up and closed the connection
                return
            finally:
                with state._lock:
                    state.dripping -= 1

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
            if state.drip_s and self.command == "GET":
                self._drip(status, data, dict(headers or {}))
                return
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            try:
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout under test)
                self.close_connection = True

        def _scripted(self) -> bool:
            item = state.take_scripted(self.path)
            if item is None:
                return False
            self._send(item.status, item.body, item.headers)
            return True

        def do_POST(self) -> None:
            state.log.append(("POST", self.path))
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self._scripted():
                return
            if urlparse(self.path).path != "/api/token":
                self._send(404, {"error": "not found"})
                return
            status, body = state.token(self.headers, form)
            self._send(status, body)

        def do_GET(self) -> None:
            state.log.append(("GET", self.path))
            if state.stall_s:
                time.sleep(state.stall_s)
            if self._scripted():
                return
            auth = self.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in state._tokens:
                self._send(401, {"error": {"status": 401, "message": "Invalid access token"}})
                return
            url = urlparse(self.path)
            status, body = state.api(url.path, parse_qs(url.query))
            self._send(status, body)

    return Handler


def serve() -> Iterator[FakeSpotify]:
    """Run a fresh fake on a free port in a thread for the duration of the generator."""
    state = FakeSpotify()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-spotify", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.closed.set()
        server.shutdown()
        server.server_close()
