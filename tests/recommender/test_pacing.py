"""The music's pace: brief changes leave the song alone, lasting ones switch it, the user can pin it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import config
from recommender.pacing import MusicPacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(pacer: MusicPacer, clock: FakeClock, mood: str | None, seconds: float, step: float = 0.5) -> list[str | None]:
    """Observe ``mood`` every ``step`` s for ``seconds``; the music playing after each observation."""
    playing = []
    for _ in range(int(seconds / step)):
        clock.now += step
        playing.append(pacer.observe(mood).playing)
    return playing


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_the_first_mood_starts_the_music_at_once(clock: FakeClock) -> None:
    pacer = MusicPacer(dwell_s=15, clock=clock)
    assert pacer.observe(None).playing is None
    state = pacer.observe("happy")
    assert state.playing == "happy" and state.changed and state.pending is None


def test_brief_changes_never_touch_the_music(clock: FakeClock) -> None:
    pacer = MusicPacer(dwell_s=15, clock=clock)
    pacer.observe("happy")
    for other in ("sad", "surprise", "angry", "sad") * 5:  # 2-s spells of other moods, back to happy between
        assert set(run(pacer, clock, other, 2.0)) == {"happy"}
        assert set(run(pacer, clock, "happy", 1.0)) == {"happy"}
    assert pacer.state.pending is None


def test_a_change_shorter_than_five_seconds_is_brief_even_at_the_shortest_setting(clock: FakeClock) -> None:
    pacer = MusicPacer(dwell_s=config.MUSIC_DWELL_RANGE_S[0], clock=clock)
    pacer.observe("happy")
    assert set(run(pacer, clock, "sad", 4.9, step=0.1)) == {"happy"}


def test_a_sustained_change_switches_after_the_dwell_and_counts_down(clock: FakeClock) -> None:
    pacer = MusicPacer(dwell_s=15, clock=clock)
    pacer.observe("happy")
    clock.now += 1
    state = pacer.observe("sad")
    assert (state.playing, state.pending, state.switch_in_s) == ("happy", "sad", 15.0)
    clock.now += 12
    assert pacer.observe("sad").switch_in_s == pytest.approx(3.0)
    clock.now += 3
    state = pacer.observe("sad")
    assert (state.playing, state.pending, state.changed) == ("sad", None, True)
    assert not pacer.observe("sad").changed


def test_a_new_pending_mood_restarts_the_count(clock: FakeClock) -> None:
    pacer = MusicPacer(dwell_s=15, clock=clock)
    pacer.observe("happy")
    run(pacer, clock, "sad", 10)
    state = pacer.observe("angry")
    assert state.pending == "angry" and state.switch_in_s == 15.0
    assert set(run(pacer, clock, "angry", 14.5)) == {"happy"}
    assert run(pacer, clock, "angry", 1.0)[-1] == "angry"


def test_switch_now_plays_the_pending_mood(clock: FakeClock) -> None:
    pacer = MusicPacer(dwell_s=15, clock=clock)
    pacer.observe("happy")
    assert not pacer.switch_now().changed  # nothing pending: nothing to switch to
    pacer.observe("sad")
    state = pacer.switch_now()
    assert (state.playing, state.pending, state.changed) == ("sad", None, True)


def test_keep_pins_the_music_until_unpinned(clock: FakeClock) -> None:
    pacer = MusicPacer(dwell_s=15, clock=clock)
    pacer.observe("happy")
    pacer.observe("sad")
    state = pacer.keep()
    assert state.pinned and state.switch_in_s is None and state.pending == "sad"
    assert set(run(pacer, clock, "sad", 120)) == {"happy"}
    state = pacer.unpin()  # sad has held for two minutes: following the mood again plays it at once
    assert not state.pinned and state.changed and state.playing == "sad" and state.pending is None


def test_following_again_counts_the_time_the_new_mood_already_held(clock: FakeClock) -> None:
    pacer = MusicPacer(dwell_s=15, clock=clock)
    pacer.observe("happy")
    pacer.keep()
    pacer.observe("sad")
    assert set(run(pacer, clock, "sad", 10.0)) == {"happy"}  # pinned: sad has held 10 s
    state = pacer.unpin()
    assert not state.changed and state.switch_in_s == pytest.approx(5.0)  # 15 s less the 10 s it already held
    assert state.pending_for_s == pytest.approx(10.0)
    assert run(pacer, clock, "sad", 4.5)[-1] == "happy"
    assert run(pacer, clock, "sad", 0.5)[-1] == "sad"


def test_choosing_a_mood_plays_it_and_pins_it(clock: FakeClock) -> None:
    pacer = MusicPacer(dwell_s=15, clock=clock)
    pacer.observe("happy")
    run(pacer, clock, "sad", 5.0)
    state = pacer.choose("neutral")  # "Not right?": the user says neutral
    assert (state.playing, state.pending, state.pinned, state.changed) == ("neutral", None, True, True)
    assert not pacer.choose("neutral").changed
    assert set(run(pacer, clock, "sad", 60.0)) == {"neutral"}  # the face no longer moves the music
    pacer.unpin()  # sad has held 60 s: following the face again plays it
    assert pacer.state.playing == "sad"


def test_reset_forgets_the_music(clock: FakeClock) -> None:
    pacer = MusicPacer(dwell_s=15, clock=clock)
    pacer.observe("happy")
    pacer.keep()
    pacer.reset()
    state = pacer.observe("sad")
    assert state.playing == "sad" and not state.pinned


@pytest.mark.parametrize("dwell", [0, -1, float("nan")])
def test_a_dwell_that_makes_no_sense_is_refused(dwell: float) -> None:
    with pytest.raises(ValueError, match="dwell_s"):
        MusicPacer(dwell_s=dwell)


@pytest.mark.parametrize(("raw", "expected"), [(None, 15.0), ("", 15.0), ("20", 20.0), ("abc", 15.0),
                                               ("0", 15.0), ("nan", 15.0), ("inf", 15.0), ("60", 15.0)])
def test_the_dwell_setting_is_validated(raw: str | None, expected: float) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MOODTUNE_MUSIC_DWELL_S"}
    if raw is not None:
        env["MOODTUNE_MUSIC_DWELL_S"] = raw
    done = subprocess.run([sys.executable, "-c", "import config; print(config.MUSIC_DWELL_S); "
                           "print(any('MOODTUNE_MUSIC_DWELL_S' in p for p in config.SETTINGS_PROBLEMS))"],
                          cwd=Path(config.__file__).parent, env=env, capture_output=True, text=True, timeout=60)
    value, named = done.stdout.split()
    assert float(value) == expected
    assert named == str(raw not in (None, "", "20"))  # a refused value is named to the user
