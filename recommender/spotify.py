"""Talking to the Spotify Web API through spotipy: credentials, auth flows, timeouts and retries.

Credentials come from a mapping (the app passes ``{**os.environ, **st.secrets}``):

* ``SPOTIPY_CLIENT_ID`` + ``SPOTIPY_CLIENT_SECRET`` + ``MOODTUNE_SPOTIFY_REFRESH_TOKEN``: Authorization
  Code flow, refreshed silently (reads the owner's own and collaborative playlists – what an app in
  Development Mode may read since February 2026). Get the refresh token once with
  ``python -m recommender.authorize``.
* ``SPOTIPY_CLIENT_ID`` + ``MOODTUNE_SPOTIFY_REFRESH_TOKEN`` without a secret: the same through PKCE.
* ``SPOTIPY_CLIENT_ID`` + ``SPOTIPY_CLIENT_SECRET`` only: client-credentials flow (enough for apps with
  extended API access, which can read any public playlist).

``MOODTUNE_SPOTIFY_API_URL`` / ``MOODTUNE_SPOTIFY_TOKEN_URL`` point spotipy at another API (tests, proxies).

Retries: spotipy's own retry adapter is switched off, because on 429 it sleeps for the whole
``Retry-After`` (Spotify sends hours when an app is over its quota), which would freeze a Streamlit
session. ``SpotifyClient`` waits at most ``RetryPolicy.max_retry_after_s``; a longer wait is raised as
``RateLimited`` so the sync can defer the rest and say so. 5xx answers and network errors are retried
with exponential backoff; every request has a total deadline (``RetryPolicy.timeout_s`` for connecting,
the headers and the whole body, enforced by ``RequestWatch``: requests' own timeout only bounds each
read). A client is bounded as a whole too: its retries may wait ``RetryPolicy.retry_budget_s`` in total,
and ``RunLimits`` (a deadline and a cancel event) stop it between requests, during any wait and in the
middle of a request (its socket is shut down), raising ``SyncStopped``. Item pages are capped
(``MAX_ITEM_PAGES``) and a ``next`` link seen before is refused, so a looping API cannot page forever.
Answers that are not the JSON objects expected are ``SpotifyError``s, never ``AttributeError``s.
"""

from __future__ import annotations

import email.utils
import logging
import os
import socket
import threading
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import requests
import requests.adapters
import spotipy
import urllib3
import urllib3.connection
from spotipy.cache_handler import MemoryCacheHandler
from spotipy.exceptions import SpotifyException, SpotifyOauthError
from spotipy.oauth2 import SpotifyClientCredentials, SpotifyOAuth, SpotifyPKCE

import config

log = logging.getLogger(__name__)

SCOPE = "playlist-read-private playlist-read-collaborative"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8888/callback"
PAGE_SIZE = 100  # the most Spotify returns per page of playlist items
MAX_ITEM_PAGES = 110  # Spotify playlists hold at most 10,000 items: 100 pages of 100, with a margin

# spotipy logs every HTTP error itself (with the response body); the sync reports each failure once
logging.getLogger("spotipy").setLevel(logging.CRITICAL)

ENV_CLIENT_ID = "SPOTIPY_CLIENT_ID"
ENV_CLIENT_SECRET = "SPOTIPY_CLIENT_SECRET"
ENV_REFRESH_TOKEN = "MOODTUNE_SPOTIFY_REFRESH_TOKEN"
ENV_REDIRECT_URI = "SPOTIPY_REDIRECT_URI"
ENV_API_URL = "MOODTUNE_SPOTIFY_API_URL"
ENV_TOKEN_URL = "MOODTUNE_SPOTIFY_TOKEN_URL"

# OAuth error codes that mean "these credentials are wrong", as opposed to a passing server problem
AUTH_ERRORS = {"invalid_client", "invalid_grant", "unauthorized_client", "invalid_request", "unsupported_grant_type"}

T = TypeVar("T")


class SpotifyError(RuntimeError):
    """A Spotify request failed; ``str(error)`` is a message for a person."""


class SpotifyAuthError(SpotifyError):
    """Spotify refused the credentials (wrong id/secret, revoked refresh token, expired access)."""


class SpotifyUnavailable(SpotifyError):
    """Spotify kept failing (5xx, timeouts, network) after the retries."""


class RateLimited(SpotifyError):
    """Spotify asked to wait longer than we are willing to (``retry_after_s`` seconds)."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SyncStopped(SpotifyError):
    """The run's deadline passed or it was cancelled; nothing more is requested."""

    def __init__(self, message: str, cancelled: bool) -> None:
        super().__init__(message)
        self.cancelled = cancelled


@dataclass(frozen=True, slots=True)
class RunLimits:
    """Bounds of one run: a deadline (``time.monotonic()`` value) and an event that cancels it.

    ``interrupt(why)`` cancels too, and records that the process is being stopped (SIGTERM, Ctrl-C): the
    run is then recorded as "interrupted" rather than "cancelled".
    """

    deadline: float = float("inf")
    cancel: threading.Event = field(default_factory=threading.Event)
    interruptions: list[str] = field(default_factory=list)

    def interrupt(self, why: str) -> None:
        """Stop the run because the process is being stopped (``why``: e.g. "SIGTERM")."""
        self.interruptions.append(why)
        self.cancel.set()

    @property
    def interrupted(self) -> str | None:
        """Why the run was interrupted, or None."""
        return self.interruptions[0] if self.interruptions else None

    @classmethod
    def within(cls, seconds: float, cancel: threading.Event | None = None) -> RunLimits:
        """Limits ending ``seconds`` from now."""
        return cls(time.monotonic() + seconds, cancel or threading.Event())

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once it has passed)."""
        return self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise ``SyncStopped`` if the run was cancelled or is out of time."""
        if self.cancel.is_set():
            raise SyncStopped("the sync was cancelled", cancelled=True)
        if self.remaining() <= 0:
            raise SyncStopped("the sync reached its time limit", cancelled=False)


class PlaylistUnavailable(SpotifyError):
    """Spotify refused one playlist: 404 (gone / not visible) or 403 (not allowed for this app)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def setting_text(mapping: Mapping[str, Any], key: str) -> str | None:
    """The stripped string under ``key`` in secrets or the environment, or None when absent or blank."""
    value = mapping.get(key)
    # st.secrets may hold nested sections; only plain strings are credentials
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


@dataclass(frozen=True, slots=True)
class SpotifyCredentials:
    """What the app needs to call Spotify; secrets are kept out of ``repr``."""

    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    redirect_uri: str = DEFAULT_REDIRECT_URI
    api_url: str = config.SPOTIFY_API_URL
    token_url: str = config.SPOTIFY_TOKEN_URL

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> SpotifyCredentials | None:
        """Read the standard variables from ``mapping``; None when they do not allow any flow.

        A client id is needed, plus a client secret, a refresh token, or both.
        """
        client_id = setting_text(mapping, ENV_CLIENT_ID)
        secret = setting_text(mapping, ENV_CLIENT_SECRET)
        refresh = setting_text(mapping, ENV_REFRESH_TOKEN)
        if client_id is None or (secret is None and refresh is None):
            return None
        api_url = setting_text(mapping, ENV_API_URL) or config.SPOTIFY_API_URL
        return cls(
            client_id=client_id,
            client_secret=secret,
            refresh_token=refresh,
            redirect_uri=setting_text(mapping, ENV_REDIRECT_URI) or DEFAULT_REDIRECT_URI,
            api_url=api_url if api_url.endswith("/") else api_url + "/",
            token_url=setting_text(mapping, ENV_TOKEN_URL) or config.SPOTIFY_TOKEN_URL,
        )

    @property
    def flow(self) -> str:
        """'authorization_code', 'pkce' (both via refresh token) or 'client_credentials'."""
        if self.refresh_token:
            return "authorization_code" if self.client_secret else "pkce"
        return "client_credentials"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: attempts per request, backoff for 5xx/network errors, longest 429 wait."""

    attempts: int = 4
    backoff_s: float = 0.5
    backoff_max_s: float = 8.0
    max_retry_after_s: float = config.SPOTIFY_MAX_RETRY_AFTER_S
    timeout_s: float = config.SPOTIFY_TIMEOUT_S
    retry_budget_s: float = 120.0  # most seconds one client spends waiting between retries, in total

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based), doubling each time."""
        return min(self.backoff_max_s, self.backoff_s * 2 ** (attempt - 1))


class _ServerTokenCache(MemoryCacheHandler):
    """In-memory token cache that keeps the granted scope on refreshed tokens.

    spotipy's PKCE manager drops ``scope`` from refreshed tokens unless the server repeats it, and a
    token without scope makes spotipy start an interactive login; a server process must never do that.
    """

    def save_token_to_cache(self, token_info: dict[str, Any]) -> None:
        if token_info is not None and not token_info.get("scope"):
            token_info = {**token_info, "scope": SCOPE}
        super().save_token_to_cache(token_info)


# --- a total deadline per HTTP request ---------------------------------------------------------------
# requests' timeout bounds each socket read, not the request: a server sending one byte every few seconds
# never trips it. So every request runs under a watch that shuts its socket down when the request's own
# limit passes, or the run is cancelled or out of time; the blocked read then returns at once.
_CURRENT_WATCH = threading.local()


class RequestWatch:
    """Bounds one HTTP request as a whole (connect, headers, whole body) and lets a cancel cut it short."""

    POLL_S = 0.1

    def __init__(self, seconds: float, cancel: threading.Event | None = None) -> None:
        self.seconds = max(0.0, seconds)
        self.deadline = time.monotonic() + self.seconds
        self.cancel = cancel or threading.Event()
        self.fired: str | None = None  # "cancelled" or "time limit" once it cut the request
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def register(self, sock: socket.socket | None) -> None:
        """Watch ``sock`` (the request's connection): shut down at once if the watch already fired."""
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            fired = self.fired
        if fired:
            _shut(sock)

    def _fire(self, why: str) -> None:
        with self._lock:
            self.fired = why
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def _watch(self) -> None:
        while not self._done.wait(min(self.POLL_S, max(0.0, self.deadline - time.monotonic()))):
            if self.cancel.is_set():
                self._fire("cancelled")
                return
            if time.monotonic() >= self.deadline:
                self._fire("time limit")
                return

    def __enter__(self) -> RequestWatch:
        _CURRENT_WATCH.watch = self
        self._thread = threading.Thread(target=self._watch, name="moodtune-request-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        _CURRENT_WATCH.watch = None
        self._done.set()
        if self._thread is not None:
            self._thread.join()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a read blocked in another thread; close() would not
    except OSError:
        pass


def _register_socket(sock: socket.socket | None) -> None:
    watch: RequestWatch | None = getattr(_CURRENT_WATCH, "watch", None)
    if watch is not None:
        watch.register(sock)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _register_socket(self.sock)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:  # a kept-alive connection is watched here
        _register_socket(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _register_socket(self.sock)

    def getresponse(self, *args: Any, **kwargs: Any) -> Any:
        _register_socket(self.sock)
        return super().getresponse(*args, **kwargs)


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connections report their sockets to the current ``RequestWatch``."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def watched_session() -> requests.Session:
    """A session (no retries) whose requests a ``RequestWatch`` can bound and cut short."""
    session = requests.Session()
    for prefix in ("https://", "http://"):
        session.mount(prefix, WatchedAdapter())
    return session


def _no_interactive_login(*_args: Any, **_kwargs: Any) -> str:
    raise SpotifyOauthError(
        "Spotify asked for an interactive login, which a server cannot do", error="invalid_grant",
        error_description="the stored refresh token was not accepted",
    )


def make_auth_manager(
    credentials: SpotifyCredentials, session: requests.Session, timeout_s: float, *, interactive: bool = False
) -> Any:
    """The spotipy auth manager for the credentials' flow, talking to ``credentials.token_url``.

    ``interactive=True`` gives a user-login manager with an empty cache (for ``recommender.authorize``);
    otherwise a refresh token, if any, is used silently and an interactive login is refused.
    """
    manager: SpotifyOAuth | SpotifyPKCE | SpotifyClientCredentials
    if credentials.refresh_token or interactive:
        # An expired token carrying the refresh token: spotipy refreshes it before the first call.
        cache = MemoryCacheHandler() if interactive else _ServerTokenCache(
            token_info={"access_token": "", "token_type": "Bearer", "expires_in": 0, "expires_at": 0,
                        "refresh_token": credentials.refresh_token, "scope": SCOPE}
        )
        if credentials.client_secret:
            manager = SpotifyOAuth(
                client_id=credentials.client_id, client_secret=credentials.client_secret,
                redirect_uri=credentials.redirect_uri, scope=SCOPE, cache_handler=cache,
                open_browser=interactive, requests_session=session, requests_timeout=timeout_s,
            )
        else:
            manager = SpotifyPKCE(
                client_id=credentials.client_id, redirect_uri=credentials.redirect_uri, scope=SCOPE,
                cache_handler=cache, open_browser=interactive, requests_session=session,
                requests_timeout=timeout_s,
            )
        if not interactive:
            # spotipy falls back to prompting on stdin when it has no usable token: fail instead
            manager.get_authorization_code = _no_interactive_login  # type: ignore[method-assign]
    else:
        manager = SpotifyClientCredentials(
            client_id=credentials.client_id, client_secret=credentials.client_secret,
            cache_handler=MemoryCacheHandler(), requests_session=session, requests_timeout=timeout_s,
        )
    manager.OAUTH_TOKEN_URL = credentials.token_url  # instance attribute shadows spotipy's constant
    return manager


def create_spotify(credentials: SpotifyCredentials, policy: RetryPolicy | None = None) -> spotipy.Spotify:
    """A spotipy client for ``credentials`` with a timeout and without spotipy's own retries."""
    policy = policy or RetryPolicy()
    # A plain Session retries nothing; spotipy builds a retrying one only when it makes its own.
    session = watched_session()
    client = spotipy.Spotify(
        auth_manager=make_auth_manager(credentials, session, policy.timeout_s),
        requests_session=session,
        requests_timeout=policy.timeout_s,
        retries=0,
        status_retries=0,
    )
    client.prefix = credentials.api_url
    return client


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent/garbled."""
    value = (headers or {}).get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


class SpotifyClient:
    """The few Web API calls the sync needs, each with capped 429 handling and 5xx backoff."""

    def __init__(
        self,
        credentials: SpotifyCredentials,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        limits: RunLimits | None = None,
    ) -> None:
        self.credentials = credentials
        self.policy = policy or RetryPolicy()
        self.limits = limits or RunLimits()
        self._sleep = sleep
        self._waited = 0.0
        self._sp = create_spotify(credentials, self.policy)

    def _can_wait(self, seconds: float) -> bool:
        """True when waiting ``seconds`` stays inside the retry budget and the run's deadline."""
        return self._waited + seconds <= self.policy.retry_budget_s and seconds < self.limits.remaining()

    def _wait(self, seconds: float) -> None:
        """Wait between attempts; a cancel ends the wait at once."""
        self._waited += seconds
        if self._sleep is not time.sleep:  # a test's clock
            self._sleep(seconds)
        elif self.limits.cancel.wait(seconds):
            raise SyncStopped("the sync was cancelled", cancelled=True)

    def _attempt(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One try of ``fn`` within ``policy.timeout_s`` in all (and the run's time), cut short by a cancel.

        A request cut short raises ``SyncStopped`` when the run was cancelled or is out of time, else
        ``requests.Timeout`` (retried like any network failure).
        """
        limit = min(self.policy.timeout_s, self.limits.remaining())
        watch = RequestWatch(limit, self.limits.cancel)
        cut: BaseException | None = None
        try:
            with watch:
                result = fn(*args, **kwargs)
        except Exception as error:
            if watch.fired is None:
                raise
            cut = error
        else:
            if watch.fired is None:
                return result
        self.limits.check()
        raise requests.Timeout(f"no complete answer within {limit:.0f} s") from cut

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` (a spotipy call), translating and retrying failures.

        ``what`` names the request in error messages ("playlist 37i9..."). Raises ``SyncStopped`` when
        the run is cancelled or out of time, before any request.
        """
        policy = self.policy
        for attempt in range(1, policy.attempts + 1):
            self.limits.check()
            last = attempt == policy.attempts
            try:
                return self._attempt(fn, *args, **kwargs)
            except SpotifyException as error:
                status = error.http_status
                if status == 429:
                    wait = retry_after_seconds(error.headers)
                    wait = policy.backoff(attempt) if wait is None else wait
                    if wait > policy.max_retry_after_s or last or not self._can_wait(wait):
                        raise RateLimited(
                            f"Spotify rate limit while reading {what}: asked to wait {wait:.0f} s "
                            f"(more than this sync can wait); deferred",
                            wait,
                        ) from error
                    log.info("429 on %s: waiting %.1f s (attempt %d)", what, wait, attempt)
                    self._wait(wait)
                elif status == 401:
                    raise SpotifyAuthError(
                        f"Spotify refused the access token for {what} (401): check the credentials, or "
                        "run `python -m recommender.authorize` again for a new refresh token"
                    ) from error
                elif status in (403, 404):
                    raise PlaylistUnavailable(_refusal(what, status, error), status) from error
                elif status >= 500 and not last and self._can_wait(policy.backoff(attempt)):
                    log.info("%s on %s: retrying (attempt %d)", status, what, attempt)
                    self._wait(policy.backoff(attempt))
                else:
                    kind = SpotifyUnavailable if status >= 500 else SpotifyError
                    raise kind(f"Spotify answered {status} for {what}: {_short(error.msg)}") from error
            except SpotifyOauthError as error:
                # a 5xx from the token service arrives here too, with a non-string error body
                if isinstance(error.error, str) and error.error in AUTH_ERRORS:
                    raise SpotifyAuthError(_auth_message(self.credentials, error)) from error
                if last or not self._can_wait(policy.backoff(attempt)):
                    raise SpotifyUnavailable(f"Spotify's token service failed: {_short(error)}") from error
                self._wait(policy.backoff(attempt))
            except requests.RequestException as error:
                if last or not self._can_wait(policy.backoff(attempt)):
                    raise SpotifyUnavailable(
                        f"cannot reach Spotify for {what} after {attempt} attempt(s): {type(error).__name__}"
                        + (f" ({error})" if isinstance(error, requests.Timeout) and not error.response
                           and str(error).startswith("no complete answer") else "")
                    ) from error
                self._wait(policy.backoff(attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def playlist(self, playlist_id: str) -> dict[str, Any]:
        """The playlist object (name, snapshot_id, owner, ...)."""
        what = f"playlist {playlist_id}"
        found = self.call(what, self._sp.playlist, playlist_id, additional_types=("track",))
        return _expect_object(found, what)

    def playlist_items(self, playlist_id: str) -> Iterator[dict[str, Any]]:
        """Every item of the playlist, following the pages' ``next`` links (capped; loops refused)."""
        what = f"the tracks of playlist {playlist_id}"
        page: dict[str, Any] | None = _expect_object(self.call(
            what, self._sp.playlist_items, playlist_id, limit=PAGE_SIZE, additional_types=("track",)
        ), what)
        seen: set[str] = set()
        while page:
            items = page.get("items") or []
            if not isinstance(items, list):
                raise SpotifyError(f"Spotify sent an unexpected answer for {what} (items is not a list)")
            yield from (item for item in items if isinstance(item, dict))
            link = page.get("next")
            if not link:
                return
            if not isinstance(link, str) or link in seen:
                raise SpotifyError(f"Spotify's pages for {what} link back to a page already read; stopped")
            if len(seen) >= MAX_ITEM_PAGES:
                raise SpotifyError(f"{what} has more than {MAX_ITEM_PAGES} pages; stopped")
            seen.add(link)
            page = _expect_object(self.call(what, self._sp.next, page), what)


def _expect_object(value: object, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object; otherwise a ``SpotifyError`` (malformed or empty answer)."""
    if not isinstance(value, dict):
        raise SpotifyError(f"Spotify sent an unexpected answer for {what} (not a JSON object)")
    return value


def _short(message: object, limit: int = 200) -> str:
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _refusal(what: str, status: int, error: SpotifyException) -> str:
    hint = (
        "it does not exist or is not visible to this account" if status == 404
        else "this app may not read it"
    )
    # Spotify's editorial playlists have ids starting with 37i9dQZ; new apps lost access in Nov 2024
    if "37i9dQZ" in what:
        hint += " (a Spotify-owned playlist: since November 2024 new apps cannot read them; its embed still plays)"
    elif status == 403:
        hint += " (since February 2026 a Development Mode app reads only playlists its user owns or collaborates on)"
    return f"Spotify refused {what} ({status}): {hint}. {_short(error.msg)}"


def _auth_message(credentials: SpotifyCredentials, error: SpotifyOauthError) -> str:
    detail = f"{error.error}: {error.error_description}" if error.error_description else str(error.error)
    if credentials.refresh_token and error.error == "invalid_grant":
        return (f"Spotify refused the refresh token ({detail}). It was revoked or belongs to another app: "
                "run `python -m recommender.authorize` and store the new MOODTUNE_SPOTIFY_REFRESH_TOKEN.")
    return (f"Spotify refused the app credentials ({detail}). Check SPOTIPY_CLIENT_ID and "
            "SPOTIPY_CLIENT_SECRET against the app in https://developer.spotify.com/dashboard.")


def read_secrets_file(path: Path) -> dict[str, str]:
    """Top-level string values of a Streamlit ``secrets.toml`` ({} if the file does not exist)."""
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return {key: value for key, value in data.items() if isinstance(value, str)}


def load_credentials(
    secrets_path: Path = config.ROOT / ".streamlit" / "secrets.toml", extra: Mapping[str, str] | None = None
) -> SpotifyCredentials | None:
    """Credentials for command-line use: the environment overlaid with ``.streamlit/secrets.toml``,
    the same precedence as the app's ``{**os.environ, **st.secrets}``; ``extra`` fills gaps only."""
    return SpotifyCredentials.from_mapping({**(extra or {}), **os.environ, **read_secrets_file(secrets_path)})
