"""Settings that come from the deployment: ``st.secrets`` first, then the environment, then ``config``.

Secrets never come from anywhere else (``.streamlit/secrets.toml`` is git-ignored; see
``.streamlit/secrets.toml.example``).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, MutableMapping
from typing import Any

import streamlit as st

import config
from recommender.scheduler import start_scheduler
from recommender.spotify import SpotifyCredentials
from ui.turn import TurnCredentials, TurnSettings, parse_turn_settings, time_limited_credentials

log = logging.getLogger(__name__)


def secrets_mapping() -> dict[str, Any]:
    """``st.secrets`` as a plain dict; {} when there is no secrets file or it cannot be parsed."""
    try:
        return st.secrets.to_dict()
    except Exception as error:  # noqa: BLE001 - a missing/broken secrets file must not stop the app
        if not isinstance(error, FileNotFoundError) and "No secrets" not in str(error):
            log.warning("could not read st.secrets: %s", error)
        return {}


def spotify_credentials() -> SpotifyCredentials | None:
    """Spotify credentials from the environment overlaid with ``st.secrets``; None when not configured."""
    return SpotifyCredentials.from_mapping({**os.environ, **secrets_mapping()})


def _valid_ice_servers(value: Any) -> list[dict[str, Any]] | None:
    """``value`` as a list of ICE server dicts (each with "urls"), or None if it is not one."""
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(s, Mapping) and s.get("urls") for s in value):
        return None
    return [dict(server) for server in value]


def ice_servers(secrets: Mapping[str, Any] | None = None) -> tuple[list[dict[str, Any]], str]:
    """The WebRTC ICE servers and where they came from ("secrets", "environment" or "default").

    ``st.secrets["ice_servers"]`` (a TOML array of tables with ``urls``, ``username``, ``credential``)
    wins; then ``MOODTUNE_ICE_SERVERS`` (JSON); otherwise a public STUN server. An invalid value is
    ignored with a warning in the log rather than breaking the Live screen. ``[]`` is valid (host
    candidates only: useful on a LAN and in tests, which must not contact outside servers).
    """
    secrets = secrets_mapping() if secrets is None else secrets
    if "ice_servers" in secrets:
        servers = _valid_ice_servers(secrets["ice_servers"])
        if servers is not None:
            return servers, "secrets"
        log.warning("st.secrets['ice_servers'] is not a list of {urls = ...} tables; ignored")
    if config.ICE_SERVERS_JSON:
        try:
            servers = _valid_ice_servers(json.loads(config.ICE_SERVERS_JSON))
        except json.JSONDecodeError:
            servers = None
        if servers is not None:
            return servers, "environment"
        log.warning("MOODTUNE_ICE_SERVERS is not a JSON list of {\"urls\": ...} objects; ignored")
    return [dict(server) for server in config.DEFAULT_ICE_SERVERS], "default"


def turn_settings(secrets: Mapping[str, Any] | None = None) -> tuple[TurnSettings | None, list[str]]:
    """The TURN server with time-limited credentials (``st.secrets["turn"]``, else ``MOODTUNE_TURN_*``), or
    None; and the problems with those settings (never quoting the secret)."""
    secrets = secrets_mapping() if secrets is None else secrets
    table = secrets.get("turn")
    if table is not None:
        if not isinstance(table, Mapping):
            return None, ["st.secrets turn must be a table ([turn] with urls and secret); TURN is off."]
        return parse_turn_settings(table, lambda key: f"st.secrets [turn] {key}")
    return parse_turn_settings(config.TURN_ENV, lambda key: f"MOODTUNE_TURN_{key.upper()}")


TURN_STATE_KEY = "_moodtune_turn_credentials"


def session_turn_credentials(turn: TurnSettings, state: MutableMapping[str, Any], now: float) -> TurnCredentials:
    """This session's TURN credentials, made on first use and again once less than a quarter of their
    lifetime is left (so a stream started later still has at least that quarter: an hour by default)."""
    held = state.get(TURN_STATE_KEY)
    if not isinstance(held, TurnCredentials) or held.expires_at - now < turn.ttl_s / 4:
        held = time_limited_credentials(turn.secret, turn.ttl_s, now)
        state[TURN_STATE_KEY] = held
    return held


def rtc_configuration(secrets: Mapping[str, Any] | None = None, state: MutableMapping[str, Any] | None = None,
                      now: float | None = None) -> dict[str, Any]:
    """The browser's RTCConfiguration: the ICE servers, plus the TURN server with this session's own
    time-limited credentials, and ``iceTransportPolicy: "relay"`` when TURN is relay-only.

    The server's WebRTC gets the same ICE servers (streamlit-webrtc passes it only ``iceServers``).
    """
    secrets = secrets_mapping() if secrets is None else secrets
    servers, _source = ice_servers(secrets)
    turn, _problems = turn_settings(secrets)
    if turn is None:
        return {"iceServers": servers}
    credentials = session_turn_credentials(turn, st.session_state if state is None else state,
                                           time.time() if now is None else now)
    configuration: dict[str, Any] = {"iceServers": [*servers, credentials.ice_server(turn.urls)]}
    if turn.relay_only:
        configuration["iceTransportPolicy"] = "relay"
    return configuration


_logged_problems = False


def show_settings_problems() -> None:
    """Name every refused setting in the sidebar (their defaults are in use); logged once per process."""
    global _logged_problems  # noqa: PLW0603 - once per process, not per rerun
    problems = [*config.SETTINGS_PROBLEMS, *turn_settings()[1]]
    if not problems:
        return
    if not _logged_problems:
        _logged_problems = True
        for problem in problems:
            log.warning("setting ignored: %s", problem)
    with st.sidebar:
        # st.text: the values come from the environment and must not be read as Markdown
        st.warning("Some settings were not valid, so their defaults are used. Fix them and restart:", icon=":material/settings:")
        for problem in problems:
            st.text(problem)


def start_background_sync() -> None:
    """Start the weekly Spotify sync thread once per process, without waiting for the database.

    The thread opens the database itself, so a slow or missing database never delays a screen here.
    """
    if config.START_SCHEDULER:
        start_scheduler(config.DB_URL, spotify_credentials)
