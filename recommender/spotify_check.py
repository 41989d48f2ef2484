"""Library's "Test connection": where the Spotify keys were found, and whether Spotify accepts them.

One token request to Spotify's accounts service (``SpotifyCredentials.token_url``, from
``config.SPOTIFY_TOKEN_URL`` or ``MOODTUNE_SPOTIFY_TOKEN_URL``) through the sync's own pieces: the same auth
flow (``make_auth_manager``: client credentials, or the refresh token with or without the secret), the same
watched session and ``RequestWatch``, so the whole request ends within ``config.SPOTIFY_CHECK_TIMEOUT_S``.
No retries: a person is waiting. The result names an outcome and never holds a key; nothing here logs one.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from spotipy.exceptions import SpotifyOauthError

import config
from recommender.spotify import (
    AUTH_ERRORS,
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_REFRESH_TOKEN,
    RequestWatch,
    SpotifyCredentials,
    make_auth_manager,
    retry_after_seconds,
    setting_text,
    watched_session,
)

log = logging.getLogger(__name__)

SECRETS = "secrets"
ENVIRONMENT = "environment"

# what check_connection can find
WORKS = "works"
REJECTED = "rejected"  # Spotify refused the keys (invalid_client) or the refresh token (invalid_grant)
UNREACHABLE = "unreachable"  # no connection at all: offline, DNS, refused, reset
TIMED_OUT = "timed_out"  # connected (or trying) but no complete answer in time
RATE_LIMITED = "rate_limited"  # 429, with the wait Spotify asked for
SPOTIFY_ERROR = "spotify_error"  # any other answer: 5xx, or not what the token service sends


@dataclass(frozen=True, slots=True)
class KeySources:
    """Where each Spotify setting was found: ``"secrets"``, ``"environment"`` or None. Never the values."""

    client_id: str | None
    client_secret: str | None
    refresh_token: str | None

    @property
    def usable(self) -> bool:
        """True when the keys allow a flow: a Client ID with a Client secret or a refresh token."""
        return self.client_id is not None and (self.client_secret is not None or self.refresh_token is not None)


def find_keys(secrets: Mapping[str, Any], environ: Mapping[str, str]) -> KeySources:
    """Where the app finds each key: ``st.secrets`` wins over the environment, as in ``spotify_credentials``."""
    def source(name: str) -> str | None:
        if setting_text(secrets, name) is not None:
            return SECRETS
        return ENVIRONMENT if setting_text(environ, name) is not None else None

    return KeySources(source(ENV_CLIENT_ID), source(ENV_CLIENT_SECRET), source(ENV_REFRESH_TOKEN))


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """The answer to one "Test connection": an outcome (the constants above) and what a person needs with it.

    ``reason`` is the token service's own error code ("invalid_client"), ``status`` its HTTP status,
    ``retry_after_s`` the wait asked for with a 429, ``host`` the accounts service asked. No key is ever kept.
    """

    outcome: str
    seconds: float
    host: str
    reason: str | None = None
    status: int | None = None
    retry_after_s: float | None = None

    @property
    def works(self) -> bool:
        """True when Spotify gave an access token for these keys."""
        return self.outcome == WORKS


def _request_token(manager: Any) -> None:
    """Ask ``manager`` for an access token the way spotipy does before an API call (refreshing if needed)."""
    if "as_dict" in inspect.signature(manager.get_access_token).parameters:
        manager.get_access_token(as_dict=False)
    else:  # SpotifyPKCE has no as_dict
        manager.get_access_token()


def check_connection(credentials: SpotifyCredentials, timeout_s: float | None = None) -> ConnectionCheck:
    """Request one access token with ``credentials`` within ``timeout_s`` (default
    ``config.SPOTIFY_CHECK_TIMEOUT_S``) and say how it went. Never raises for what Spotify or the network does."""
    timeout_s = config.SPOTIFY_CHECK_TIMEOUT_S if timeout_s is None else timeout_s
    host = urlsplit(credentials.token_url).netloc or credentials.token_url
    answers: list[requests.Response] = []
    session = watched_session()
    session.hooks["response"].append(lambda response, *_args, **_kwargs: answers.append(response))
    started = time.monotonic()
    watch = RequestWatch(timeout_s)

    def result(outcome: str, **details: Any) -> ConnectionCheck:
        check = ConnectionCheck(outcome, time.monotonic() - started, host, **details)
        # the outcome and the host only: the request's headers and body hold the keys
        log.info("Spotify connection test: %s (%s, %.1f s)", outcome, check.reason or check.status or "-",
                 check.seconds)
        return check

    try:
        with watch:
            _request_token(make_auth_manager(credentials, session, timeout_s))
    except SpotifyOauthError as error:  # the token service answered with an error
        status = answers[-1].status_code if answers else None
        if status == 429:
            return result(RATE_LIMITED, status=status, retry_after_s=retry_after_seconds(answers[-1].headers))
        if isinstance(error.error, str) and error.error in AUTH_ERRORS:
            return result(REJECTED, reason=error.error, status=status)
        return result(SPOTIFY_ERROR, status=status)
    except requests.RequestException as error:
        if watch.fired or isinstance(error, requests.Timeout):
            return result(TIMED_OUT)
        if answers:  # it answered, with something that is not JSON (requests' JSONDecodeError)
            return result(SPOTIFY_ERROR, reason=type(error).__name__, status=answers[-1].status_code)
        return result(UNREACHABLE, reason=type(error).__name__)
    except Exception as error:  # noqa: BLE001 - e.g. a 200 that is not JSON; a sentence, never a traceback
        if watch.fired:
            return result(TIMED_OUT)
        return result(SPOTIFY_ERROR, reason=type(error).__name__,
                      status=answers[-1].status_code if answers else None)
    finally:
        session.close()
    return result(WORKS, status=answers[-1].status_code if answers else None)
