"""TURN with coturn's time-limited credentials (issue 23 §3): how they are made, that a real coturn accepts
them (and refuses a wrong or expired one), that each session gets its own, and that the shared secret is
never part of what goes to the browser or of any message."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from aioice.stun import TransactionFailed

import config
from tests.turn_server import REALM, turn_server
from ui.settings import TURN_STATE_KEY, rtc_configuration, turn_settings
from ui.turn import TurnSettings, parse_turn_settings, time_limited_credentials

SECRET = "north-sea-relay-secret-2026"


def test_credentials_follow_the_turn_rest_api() -> None:
    # the expected credential: printf '%s' "1767225600:moodtune" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64
    made = time_limited_credentials(SECRET, ttl_s=4 * 3600, now=1767225600 - 4 * 3600)
    assert made.username == "1767225600:moodtune"
    assert made.credential == "trP3z/J55aOYd6hQxYQ/dBAkMjA="
    assert made.expires_at == 1767225600
    assert time_limited_credentials(SECRET, 60, 1000, name="").username == "1060"


def _allocate(port: int, username: str, password: str) -> tuple[str, int]:
    """A TURN allocation on coturn with these credentials (aioice's TURN client, as aiortc uses it)."""
    from aioice.turn import create_turn_endpoint

    async def allocate() -> tuple[str, int]:
        transport, _protocol = await asyncio.wait_for(create_turn_endpoint(
            asyncio.DatagramProtocol, ("127.0.0.1", port), username, password), timeout=10)
        try:
            return transport.get_extra_info("sockname")
        finally:
            transport.close()

    return asyncio.run(allocate())


def test_a_real_coturn_accepts_them_and_refuses_a_wrong_or_expired_one(tmp_path: Path) -> None:
    with turn_server(tmp_path) as server:
        good = time_limited_credentials(server.secret, 3600, time.time())
        relayed = _allocate(server.port, good.username, good.credential)
        assert relayed[0] == "127.0.0.1" and 40000 <= relayed[1] <= 40999  # a relay address coturn allocated

        forged = time_limited_credentials("not-the-servers-secret-at-all", 3600, time.time())
        expired = time_limited_credentials(server.secret, 3600, time.time() - 7200)
        for refused in (forged, expired):
            with pytest.raises(TransactionFailed) as error:
                _allocate(server.port, refused.username, refused.credential)
            assert error.value.response.attributes["ERROR-CODE"] == (401, "Unauthorized")
        log = server.log_text()
    assert good.username in log and REALM in log
    assert server.secret not in log


def _turn(**values: object) -> dict[str, object]:
    return {"turn": {"urls": ["turn:turn.example.com:3478?transport=udp"], "secret": SECRET, **values}}


def test_each_session_gets_its_own_credentials_and_the_secret_stays_on_the_server(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "ICE_SERVERS_JSON", "[]")
    first_session: dict[str, object] = {}
    now = 1_800_000_000.0
    config_a = rtc_configuration(_turn(ttl_hours=2), first_session, now)
    turn = config_a["iceServers"][-1]
    assert turn["urls"] == ["turn:turn.example.com:3478?transport=udp"]
    assert turn["username"] == f"{int(now) + 7200}:moodtune"
    assert turn["credential"] == time_limited_credentials(SECRET, 7200, now).credential
    assert "iceTransportPolicy" not in config_a
    assert SECRET not in json.dumps(config_a)

    # the same session keeps its credentials on every rerun, until a quarter of their life is left
    assert rtc_configuration(_turn(ttl_hours=2), first_session, now + 3600) == config_a
    renewed = rtc_configuration(_turn(ttl_hours=2), first_session, now + 5500)
    assert renewed["iceServers"][-1]["username"] == f"{int(now) + 5500 + 7200}:moodtune"
    assert first_session[TURN_STATE_KEY].expires_at == int(now) + 5500 + 7200

    relay_only = rtc_configuration(_turn(relay_only=True), {}, now)
    assert relay_only["iceTransportPolicy"] == "relay"
    assert rtc_configuration({"turn": {}}, {}, now) == {"iceServers": []}  # no TURN configured


def test_turn_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "TURN_ENV", {"urls": "turn:a.example:3478, turns:a.example:5349?transport=tcp",
                                             "secret": SECRET, "ttl_hours": "1", "relay_only": "1"})
    settings, problems = turn_settings({})
    assert problems == []
    assert settings == TurnSettings(("turn:a.example:3478", "turns:a.example:5349?transport=tcp"), SECRET, 3600, True)
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(("values", "off", "fragment"), [
    ({"urls": "turn:a.example:3478", "secret": "short"}, True, "at least 16 characters"),
    ({"urls": "stun:a.example:3478", "secret": SECRET}, True, "not a turn: or turns: URL"),
    ({"secret": SECRET}, True, "must be one or more turn: or turns: URLs"),
    ({"urls": "turn:a.example:3478", "secret": SECRET, "ttl_hours": "nan"}, False, "0.25 to 48 hours"),
    ({"urls": "turn:a.example:3478", "secret": SECRET, "ttl_hours": "1e400"}, False, "0.25 to 48 hours"),
    ({"urls": "turn:a.example:3478", "secret": SECRET, "relay_only": "maybe"}, False, "RELAY_ONLY is not"),
    ({"ttl_hours": "2"}, True, "there is no TURN server"),
])
def test_bad_turn_settings_are_named_without_the_secret(values: dict[str, str], off: bool, fragment: str) -> None:
    settings, problems = parse_turn_settings(values, lambda key: f"MOODTUNE_TURN_{key.upper()}")
    assert (settings is None) == off
    assert len(problems) == 1 and fragment in problems[0], problems
    assert problems[0].startswith("MOODTUNE_TURN_")
    assert all(values.get("secret", "\0") not in problem for problem in problems)


def test_the_sidebar_names_a_bad_turn_setting_without_its_value(seeded_db, open_page,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    weak = "password"
    monkeypatch.setattr(config, "TURN_ENV", {"urls": "turn:a.example:3478", "secret": weak, "ttl_hours": "",
                                             "relay_only": ""})
    at = open_page("pages/about.py")
    assert not at.exception
    shown = [t.value for t in at.sidebar.text]
    assert any(text.startswith("MOODTUNE_TURN_SECRET must be coturn's static-auth-secret") for text in shown), shown
    assert not any(weak in text for text in shown)
