"""TURN with coturn's time-limited credentials (``use-auth-secret``, the "TURN REST API").

Long-lived TURN credentials must be sent to every visitor's browser (WebRTC needs them), so anyone could
copy them and use the relay. Instead the server keeps coturn's ``static-auth-secret`` and gives each
session its own credentials, valid for a few hours: the username is the expiry time (Unix seconds) and
a name, ``"1767225600:moodtune"``; the password is base64(HMAC-SHA1(secret, username)). coturn recomputes
it from the same secret and refuses it after the expiry. The secret never leaves the server.

Plain Python (no Streamlit): ``ui.settings`` reads the values from ``st.secrets`` and the environment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

USERNAME_NAME = "moodtune"  # what coturn's log shows after the expiry time
TTL_HOURS_RANGE = (0.25, 48.0)
DEFAULT_TTL_HOURS = 4.0
MIN_SECRET_CHARS = 16  # a guessable secret lets anyone mint credentials


@dataclass(frozen=True)
class TurnSettings:
    """A TURN server that accepts time-limited credentials; ``secret`` is never shown (repr, logs, page)."""

    urls: tuple[str, ...]
    secret: str = field(repr=False)
    ttl_s: float = DEFAULT_TTL_HOURS * 3600
    relay_only: bool = False  # browsers send their video only through the relay


@dataclass(frozen=True)
class TurnCredentials:
    """One session's credentials: what the browser (and the server's own WebRTC) log in with."""

    username: str
    credential: str
    expires_at: int  # Unix seconds

    def ice_server(self, urls: tuple[str, ...]) -> dict[str, Any]:
        """The RTCIceServer entry for ``urls`` with these credentials."""
        return {"urls": list(urls), "username": self.username, "credential": self.credential}


def time_limited_credentials(secret: str, ttl_s: float, now: float, name: str = USERNAME_NAME) -> TurnCredentials:
    """Credentials valid from ``now`` (Unix seconds) for ``ttl_s`` seconds, as coturn's use-auth-secret expects."""
    expires_at = int(now + ttl_s)
    username = f"{expires_at}:{name}" if name else str(expires_at)
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return TurnCredentials(username, base64.b64encode(digest).decode("ascii"), expires_at)


def _urls(value: Any) -> tuple[tuple[str, ...], str | None]:
    """TURN URLs from a list or a comma-separated string; the problem with them, if any."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple) or not value or not all(isinstance(url, str) for url in value):
        return (), "must be one or more turn: or turns: URLs"
    bad = [url for url in value if not url.startswith(("turn:", "turns:"))]
    if bad:
        return (), f"has {bad[0]!r}, which is not a turn: or turns: URL"
    return tuple(value), None


def _ttl_hours(value: Any) -> tuple[float, str | None]:
    low, high = TTL_HOURS_RANGE
    try:
        hours = float(value)
    except (TypeError, ValueError, OverflowError):
        return DEFAULT_TTL_HOURS, f"is not a number of hours; using {DEFAULT_TTL_HOURS:g}"
    if isinstance(value, bool) or not math.isfinite(hours) or not low <= hours <= high:
        return DEFAULT_TTL_HOURS, f"must be {low:g} to {high:g} hours; using {DEFAULT_TTL_HOURS:g}"
    return hours, None


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in ("1", "true", "yes", "on") else False if text in ("0", "false", "no", "off") else None


def parse_turn_settings(values: Mapping[str, Any],
                        name: Callable[[str], str]) -> tuple[TurnSettings | None, list[str]]:
    """``values`` (keys ``urls``, ``secret``, optional ``ttl_hours``, ``relay_only``) as TurnSettings, or
    None when TURN is not configured or not usable; each problem as a sentence naming the setting
    (``name(key)``). No sentence ever contains the secret.
    """
    problems: list[str] = []
    present = {key: value for key, value in values.items() if value not in (None, "")}
    if not {"urls", "secret"} & present.keys():
        for key in ("ttl_hours", "relay_only"):
            if key in present:
                problems.append(f"{name(key)} is set but there is no TURN server (urls and secret); ignored.")
        return None, problems
    urls, why = _urls(present.get("urls"))
    if why:
        problems.append(f"{name('urls')} {why}; TURN is off.")
    secret = present.get("secret")
    if not isinstance(secret, str) or len(secret.strip()) < MIN_SECRET_CHARS:
        # never quote the value: it is (or was meant to be) the secret
        problems.append(f"{name('secret')} must be coturn's static-auth-secret, at least {MIN_SECRET_CHARS} "
                        "characters; TURN is off.")
        secret = None
    ttl_hours, why = _ttl_hours(present.get("ttl_hours", DEFAULT_TTL_HOURS))
    if why:
        problems.append(f"{name('ttl_hours')} {why}.")
    relay_only = _flag(present.get("relay_only", False))
    if relay_only is None:
        problems.append(f"{name('relay_only')} is not true/false (or 1/0); using false.")
        relay_only = False
    if not urls or secret is None:
        return None, problems
    return TurnSettings(urls, secret.strip(), ttl_hours * 3600, relay_only), problems
