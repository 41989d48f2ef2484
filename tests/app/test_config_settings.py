"""Settings are validated once, at start-up: a bad value names itself and the default is used."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from app_helpers import settings_with as read_settings

import config

NAMES = ("UPLOAD_MAX_MB", "APP_TRACKS", "SYNC_INTERVAL_DAYS", "SPOTIFY_TIMEOUT_S", "DB_BUSY_TIMEOUT_S",
         "LIVE_CONNECT_TIMEOUT_S", "SPOTIFY_MAX_RETRY_AFTER_S", "MOODS_PATH", "START_SCHEDULER")


def settings_with(env: dict[str, str]) -> dict:
    """This file's settings as a fresh interpreter reads them with ``env`` (importing config never fails)."""
    return read_settings(env, NAMES)


def test_defaults_have_no_problems():
    found = settings_with({})
    assert found["problems"] == []
    assert found["values"]["UPLOAD_MAX_MB"] == 8 and found["values"]["SYNC_INTERVAL_DAYS"] == 7


@pytest.mark.parametrize(
    ("name", "raw", "default"),
    [
        ("MOODTUNE_UPLOAD_MAX_MB", "abc", 8), ("MOODTUNE_UPLOAD_MAX_MB", "0", 8), ("MOODTUNE_UPLOAD_MAX_MB", "2.5", 8),
        ("MOODTUNE_APP_TRACKS", "-1", 8), ("MOODTUNE_APP_TRACKS", "nan", 8),
        ("MOODTUNE_SYNC_INTERVAL_DAYS", "abc", 7), ("MOODTUNE_SYNC_INTERVAL_DAYS", "0", 7),
        ("MOODTUNE_SYNC_INTERVAL_DAYS", "inf", 7), ("MOODTUNE_SPOTIFY_TIMEOUT_S", "-3", 10),
        ("MOODTUNE_DB_BUSY_TIMEOUT_S", "nan", 5), ("MOODTUNE_LIVE_CONNECT_TIMEOUT_S", "1e400", 15),
        ("MOODTUNE_SPOTIFY_MAX_RETRY_AFTER_S", "soon", 30), ("MOODTUNE_SCHEDULER", "maybe", True),
    ],
)
def test_a_bad_value_is_named_and_the_default_used(name, raw, default):
    found = settings_with({name: raw})
    attribute = {"MOODTUNE_SCHEDULER": "START_SCHEDULER"}.get(name, name.removeprefix("MOODTUNE_"))
    assert found["values"][attribute] == default
    assert len(found["problems"]) == 1 and found["problems"][0].startswith(f"{name}={raw!r}")


@pytest.mark.parametrize(
    "content",
    ["{not json", "[1, 2]", '{"sadness": [0.1, 0.2]}', '{"sad": [0.1]}', '{"sad": [2, 0.5]}', '{"sad": ["a", 1]}'],
)
def test_a_malformed_moods_file_is_named_and_ignored(tmp_path, content):
    moods = tmp_path / "moods.json"
    moods.write_text(content)
    found = settings_with({"MOODTUNE_MOODS_FILE": str(moods)})
    assert found["values"]["MOODS_PATH"] is None
    assert found["problems"] and found["problems"][0].startswith("MOODTUNE_MOODS_FILE=")


def test_a_good_moods_file_is_used(tmp_path):
    moods = tmp_path / "moods.json"
    moods.write_text('{"sad": [0.15, 0.3], "lift_target": [0.85, 0.25]}')
    found = settings_with({"MOODTUNE_MOODS_FILE": str(moods)})
    assert found["problems"] == [] and found["values"]["MOODS_PATH"] == str(moods)


def test_the_app_names_bad_settings_in_the_sidebar(seeded_db, open_page, monkeypatch):
    problem = "MOODTUNE_APP_TRACKS='-1' must be at least 1 and at most 50; using the default (8)."
    monkeypatch.setattr(config, "SETTINGS_PROBLEMS", [problem])
    for page in ("pages/about.py", "pages/library.py"):
        at = open_page(page)
        assert not at.exception
        assert any("settings were not valid" in w.value for w in at.sidebar.warning)
        assert problem in [t.value for t in at.sidebar.text]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"sad": [' + "9" * 400 + ", 0.5]}", "400 digits"),  # json makes an int that float() cannot hold
        ('{"sad": [' + "9" * 5000 + ", 0.5]}", "5000 digits"),  # beyond Python's int-string limit
        ('{"sad": [1e400, 0.5]}', "within 0..1"),  # a float that overflows to inf
        ('{"sad": [NaN, 0.5]}', "NaN"),
        ("[" * 200_000 + "]" * 200_000, "larger than"),  # 200,000 nested brackets
        ("[" * 8_000 + "]" * 8_000, "nested too deeply"),  # deep nesting that fits the size limit
    ],
    ids=["400-digits", "5000-digits", "1e400", "nan", "200000-brackets", "8000-brackets"],
)
def test_hostile_moods_files_are_named_and_ignored(tmp_path, content, why):
    moods = tmp_path / "moods.json"
    moods.write_text(content)
    found = settings_with({"MOODTUNE_MOODS_FILE": str(moods)})
    assert found["values"]["MOODS_PATH"] is None
    assert len(found["problems"]) == 1 and why in found["problems"][0], found["problems"]


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "folder"])
def test_a_moods_file_that_is_not_a_regular_file_is_refused_at_once(tmp_path, kind):
    path = {"/dev/zero": Path("/dev/zero"), "fifo": tmp_path / "moods.fifo", "folder": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)  # nobody writes: opening it for reading the usual way would wait forever
    found = settings_with({"MOODTUNE_MOODS_FILE": str(path)})  # the helper's 60 s timeout catches a hang
    assert found["values"]["MOODS_PATH"] is None
    assert len(found["problems"]) == 1 and "not a regular file" in found["problems"][0], found["problems"]
