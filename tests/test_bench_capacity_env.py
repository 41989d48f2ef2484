"""``bench/capacity.py --env``: server settings for a capacity run, checked by the app's own rules before it starts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.capacity import server_settings  # noqa: E402


def test_moodtune_settings_pass_through() -> None:
    parser = argparse.ArgumentParser()
    assert server_settings(parser, []) == {}
    assert server_settings(parser, ["MOODTUNE_LIVE_VIDEO_BACK=0", "MOODTUNE_LIVE_SENT_FPS=8"]) == {
        "MOODTUNE_LIVE_VIDEO_BACK": "0", "MOODTUNE_LIVE_SENT_FPS": "8"}


@pytest.mark.parametrize("item", ["PATH=/tmp", "MOODTUNE_LIVE_VIDEO_BACK", "MOODTUNE_LIVE_VIDEO_BACK=maybe",
                                  "MOODTUNE_LIVE_ANALYSIS_FPS=0"])
def test_anything_else_stops_the_run_with_a_message(item: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        server_settings(argparse.ArgumentParser(prog="capacity.py"), [item])
    assert stopped.value.code == 2
    message = capsys.readouterr().err
    assert item.partition("=")[0] in message
