"""Issue 23: the command line under hostile input: a password with an unencoded ``@``, a ``%`` in the masked
URL, flags that are not finite or not sane counts. Each case is a clear message, never a traceback or a secret."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.db import open_engine, parse_db_url
from recommender.errors import DatabaseUnavailable, ambiguous_url, describe_url, redact_url

ROOT = Path(__file__).resolve().parents[2]
# the password is "p@ss/w0rd%": an unencoded @ (and / and %), as an operator might paste it
AT_PASSWORD_URL = "postgresql+psycopg://moodtune:p@ss/w0rd%@127.0.0.1:1/moodtune"
SECRET_PARTS = ("p@ss", "ss/w0rd", "w0rd")


def _cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOODTUNE_")}
    return subprocess.run([sys.executable, "-m", "recommender.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**clean, "PYTHONPATH": str(ROOT), "COLUMNS": "250", **(env or {})})


def _no_secret(text: str) -> None:
    for part in SECRET_PARTS:
        assert part not in text, text


def test_an_unencoded_at_in_the_password_is_refused_with_how_to_fix_it(caplog):
    caplog.set_level(logging.DEBUG)
    assert ambiguous_url(AT_PASSWORD_URL) and not ambiguous_url("postgresql+psycopg://u:p%40ss@h/db")
    with pytest.raises(DatabaseUnavailable, match="percent-encode the password") as caught:
        parse_db_url(AT_PASSWORD_URL)
    _no_secret(str(caught.value))
    with pytest.raises(DatabaseUnavailable) as caught:
        open_engine(AT_PASSWORD_URL)
    _no_secret(str(caught.value))
    _no_secret(redact_url(AT_PASSWORD_URL) + describe_url(AT_PASSWORD_URL) + caplog.text)
    assert "127.0.0.1:1/moodtune" in redact_url(AT_PASSWORD_URL)


@pytest.mark.parametrize("url", [
    "postgresql://moodtune@db.example/moodtune?password=s3cret",  # the password as a query parameter
    "postgresql+psycopg://moodtune:s3cret@db.example/moodtune",
    "postgresql+psycopg://mood@tune:s3cret@db.example/moodtune",  # an @ in the user name
])
def test_passwords_are_masked_wherever_they_are(url):
    assert "s3cret" not in redact_url(url) and "s3cret" not in describe_url(url)


def test_help_with_an_at_and_a_percent_in_the_url_neither_crashes_nor_leaks():
    result = _cli(["--help"], {"MOODTUNE_DB_URL": AT_PASSWORD_URL})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "127.0.0.1:1/moodtune" in result.stdout
    _no_secret(result.stdout + result.stderr)
    # a % that survives masking (a percent-encoded database name) must not reach argparse's % formatting
    result = _cli(["--help"], {"MOODTUNE_DB_URL": "postgresql+psycopg://moodtune:x@db.example/mood%25tune"})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "mood%25tune" in result.stdout


def test_cli_errors_with_an_at_in_the_password_say_how_to_fix_it_and_hide_it():
    for args, env in ((["--history", "1", "--db", AT_PASSWORD_URL], {}),
                      (["--history", "1"], {"MOODTUNE_DB_URL": AT_PASSWORD_URL})):
        result = _cli(args, env)
        assert result.returncode == 4, result.stderr
        assert "percent-encode the password" in result.stderr and "Traceback" not in result.stderr
        _no_secret(result.stdout + result.stderr)


@pytest.mark.parametrize("args", [
    ["--if-due", "--interval-days", "nan"], ["--if-due", "--interval-days", "inf"],
    ["--if-due", "--interval-days", "1e308"], ["--if-due", "--interval-days", "-1"],
    ["--history", "99999999999999999999"], ["--history", "-1"], ["--history", "0"], ["--history", "many"],
])
def test_bad_flags_are_refused_like_bad_settings(args, tmp_path):
    result = _cli([*args, "--db", f"sqlite:///{tmp_path / 'never-created.db'}"])
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and f"argument {args[-2]}" in result.stderr, result.stderr
    assert not (tmp_path / "never-created.db").exists()
