"""Library's way to Spotify keys (issue 19): numbered steps naming the file and its lines, and "Test connection",
which says where the keys were found and what Spotify answered, against the fake Spotify over real HTTP on
127.0.0.1, within a short time, with no key anywhere on the page or in the log."""

from __future__ import annotations

import logging
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_helpers import page_text
from streamlit.testing.v1 import AppTest

import config
from tests.silent_tcp import silent_tcp_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recommender"))
from fake_spotify_api import CLIENT_ID, CLIENT_SECRET, FakeSpotify, serve  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
WRONG_SECRET = "wrong-secret-4f1c9e"


@pytest.fixture
def fake() -> Iterator[FakeSpotify]:
    yield from serve()


def every_proto(at: AppTest) -> str:
    """Every element of the page as Streamlit sends it to the browser (labels, bodies, help texts...)."""
    found: list[str] = []

    def walk(node: object) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            found.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(found)


def library(secrets: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.secrets.update(secrets or {})
    at.run()
    at.switch_page("pages/library.py")
    return at.run()


def answer(at: AppTest) -> tuple[str, str]:
    """The kind and text of Test connection's answer."""
    shown = [(kind, str(e.value)) for kind in ("success", "warning", "error") for e in getattr(at, kind)
             if "found" in str(e.value).lower()]  # every answer says which keys were found
    assert len(shown) == 1, page_text(at)
    return shown[0]


def test_without_keys_the_steps_are_numbered_and_name_the_file_and_its_lines(seeded_db: str) -> None:
    at = library()
    text = page_text(at)
    steps = [f"{n}. **" for n in range(1, 6)]
    assert all(step in text for step in steps), text
    assert text.index("1. **Create a Spotify app") < text.index("2. **Copy the two keys") \
        < text.index("3. **Paste them") < text.index("4. **Restart Moodtune") < text.index("5. **Press Test")
    secrets_file = str(ROOT / ".streamlit" / "secrets.toml")
    assert secrets_file in text and "Client ID" in text and "Client secret" in text and "Ctrl+C" in text
    assert [c.value for c in at.code] == ['SPOTIPY_CLIENT_ID = "paste the Client ID here"\n'
                                          'SPOTIPY_CLIENT_SECRET = "paste the Client secret here"']
    at.button(key="test-connection").click().run()
    assert not at.exception
    kind, said = answer(at)
    assert kind == "warning" and "No Spotify keys found" in said and secrets_file in said
    assert "SPOTIPY_CLIENT_ID" in said  # and which environment variables it read


def test_half_the_keys_says_which_one_is_missing(seeded_db: str) -> None:
    at = library({"SPOTIPY_CLIENT_ID": CLIENT_ID})
    at.button(key="test-connection").click().run()
    kind, said = answer(at)
    assert kind == "warning" and "the Client ID in the secrets file" in said and "no Client secret" in said


def test_keys_that_work_say_so_and_where_they_were_found(seeded_db: str, fake: FakeSpotify,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("MOODTUNE_SPOTIFY_TOKEN_URL", f"{fake.base_url}/api/token")
    at = library()
    assert [b for b in at.button if b.key == "sync-now"] and [b for b in at.button if b.key == "test-connection"]
    at.button(key="test-connection").click().run()
    assert not at.exception
    kind, said = answer(at)
    assert kind == "success" and "It works: Spotify accepted the keys" in said
    assert "the Client ID and the Client secret in the environment variables" in said
    assert fake.grants == ["client_credentials"]
    assert CLIENT_SECRET not in every_proto(at) and CLIENT_SECRET not in caplog.text


@pytest.fixture
def keys_in_secrets(fake: FakeSpotify) -> dict[str, str]:
    """A wrong secret in st.secrets, and the token service at the fake."""
    return {"SPOTIPY_CLIENT_ID": CLIENT_ID, "SPOTIPY_CLIENT_SECRET": WRONG_SECRET,
            "MOODTUNE_SPOTIFY_TOKEN_URL": f"{fake.base_url}/api/token"}


def press_test(keys: dict[str, str], caplog: pytest.LogCaptureFixture) -> tuple[str, str, float]:
    caplog.set_level(logging.DEBUG)
    at = library(keys)
    started = time.monotonic()
    at.button(key="test-connection").click().run()
    took = time.monotonic() - started
    assert not at.exception
    kind, said = answer(at)
    assert WRONG_SECRET not in every_proto(at) and WRONG_SECRET not in caplog.text
    assert "the Client ID and the Client secret in the secrets file" in said
    return kind, said, took


def test_wrong_keys_are_rejected_in_plain_words(seeded_db: str, keys_in_secrets: dict[str, str],
                                               caplog: pytest.LogCaptureFixture) -> None:
    kind, said, _ = press_test(keys_in_secrets, caplog)
    assert kind == "error" and "Spotify rejected the keys** (invalid client)" in said
    assert "Client ID or the Client secret is wrong" in said


def test_a_rate_limit_says_how_long_to_wait(seeded_db: str, fake: FakeSpotify, keys_in_secrets: dict[str, str],
                                            caplog: pytest.LogCaptureFixture) -> None:
    fake.fail("/api/token", 429, headers={"Retry-After": "150"})
    kind, said, _ = press_test(keys_in_secrets, caplog)
    assert kind == "warning" and "rate limiting" in said and "Try again in about 2 minutes" in said


def test_a_silent_spotify_times_out_quickly(seeded_db: str, keys_in_secrets: dict[str, str],
                                            monkeypatch: pytest.MonkeyPatch,
                                            caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(config, "SPOTIFY_CHECK_TIMEOUT_S", 1.5)
    with silent_tcp_server() as port:
        kind, said, took = press_test({**keys_in_secrets,
                                       "MOODTUNE_SPOTIFY_TOKEN_URL": f"http://127.0.0.1:{port}/api/token"}, caplog)
    assert kind == "warning" and "did not answer in time" in said and f"127.0.0.1:{port}" in said
    assert took < 1.5 + 2, f"the page waited {took:.1f} s"


def test_an_unreachable_spotify_says_so(seeded_db: str, keys_in_secrets: dict[str, str],
                                        caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens once it is closed
    kind, said, _ = press_test({**keys_in_secrets, "MOODTUNE_SPOTIFY_TOKEN_URL": f"http://127.0.0.1:{port}/api/token"},
                               caplog)
    assert kind == "warning" and "could not be reached" in said
