"""What the Live screen asks the browser's camera for, and the Live cost settings, validated at start-up."""

from __future__ import annotations

import json

import pytest

from app_helpers import settings_with as read_settings
from ui.live import media_constraints

NAMES = ("LIVE_CAPTURE_WIDTH", "LIVE_CAPTURE_FPS", "LIVE_ANALYSIS_FPS", "LIVE_FLIP_TTA")


def settings_with(env: dict[str, str]) -> dict:
    """This file's settings as a fresh interpreter reads them with ``env``."""
    return read_settings(env, NAMES)


def test_the_browser_is_asked_for_ideal_values_only() -> None:
    """Ideal, never exact/min/max: a camera that cannot do 480x360 at 15 fps must still start."""
    asked = media_constraints(480, 15)
    assert asked == {"video": {"width": {"ideal": 480}, "height": {"ideal": 360}, "frameRate": {"ideal": 15.0}},
                     "audio": False}
    assert media_constraints(320, 0) == {"video": {"width": {"ideal": 320}, "height": {"ideal": 240}},
                                         "audio": False}
    assert media_constraints(0, 0) == {"video": True, "audio": False}  # the browser's own choice
    json.dumps(asked)  # it travels to the browser as JSON


def test_defaults_are_the_measured_choice() -> None:
    found = settings_with({})
    assert found["problems"] == []
    values = found["values"]
    assert 160 <= values["LIVE_CAPTURE_WIDTH"] <= 640 and 0 < values["LIVE_CAPTURE_FPS"] <= 15
    assert 3 <= values["LIVE_ANALYSIS_FPS"] <= 6


def test_good_values_are_taken() -> None:
    found = settings_with({"MOODTUNE_LIVE_CAPTURE_WIDTH": "0", "MOODTUNE_LIVE_CAPTURE_FPS": "30",
                           "MOODTUNE_LIVE_ANALYSIS_FPS": "6", "MOODTUNE_LIVE_FLIP_TTA": "1"})
    assert found["problems"] == []
    assert found["values"] == {"LIVE_CAPTURE_WIDTH": 0, "LIVE_CAPTURE_FPS": 30.0, "LIVE_ANALYSIS_FPS": 6.0,
                               "LIVE_FLIP_TTA": True}


@pytest.mark.parametrize(
    ("name", "raw"),
    [("MOODTUNE_LIVE_CAPTURE_WIDTH", "100"), ("MOODTUNE_LIVE_CAPTURE_WIDTH", "wide"),
     ("MOODTUNE_LIVE_CAPTURE_WIDTH", "480.5"), ("MOODTUNE_LIVE_CAPTURE_FPS", "-1"),
     ("MOODTUNE_LIVE_CAPTURE_FPS", "nan"), ("MOODTUNE_LIVE_ANALYSIS_FPS", "0"),
     ("MOODTUNE_LIVE_ANALYSIS_FPS", "fast"), ("MOODTUNE_LIVE_FLIP_TTA", "maybe")],
)
def test_a_bad_value_is_named_and_the_default_used(name: str, raw: str) -> None:
    default = settings_with({})["values"][name.removeprefix("MOODTUNE_")]
    found = settings_with({name: raw})
    assert found["values"][name.removeprefix("MOODTUNE_")] == default
    assert len(found["problems"]) == 1 and found["problems"][0].startswith(f"{name}={raw!r}")


def test_live_without_flip_tta_classifies_each_face_once() -> None:
    """MOODTUNE_LIVE_FLIP_TTA=0 gives Live its own pipeline; Snapshot's keeps the mirror-image average."""
    from ui.resources import load_pipeline

    live, snapshot = load_pipeline(flip_tta=False), load_pipeline()
    assert live is not None and snapshot is not None
    assert live.classifier.flip_tta is False and snapshot.classifier.flip_tta is True
    assert load_pipeline(flip_tta=False) is live  # created once per server, shared by every session
