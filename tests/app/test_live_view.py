"""What Live says around the video: the quiet music line, the visitor's clock, the history and its CSV, the
timeline's gaps, and a video that shows boxes while the headline holds the one reading (issue 19)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import numpy as np

from emotion.labels import EMOTIONS
from emotion.pipeline import FaceReading
from recommender.pacing import MusicState
from ui.charts import timeline_frame
from ui.live import TimelinePoint, draw_face_boxes
from ui.live_view import clock_text, history_csv, mood_history, music_line_html, visitor_zone

T0 = datetime(2026, 12, 3, 9, 0, 0, tzinfo=UTC)


def state(pending: str | None = None, held: float = 0.0, pinned: bool = False) -> MusicState:
    since = 100.0 - held if pending else None
    switch_in = None if pinned or pending is None else 15.0 - held
    return MusicState("happy", pending, since, switch_in, pinned, False, held if pending else 0.0)


def test_a_change_is_announced_only_once_it_has_held_and_then_as_a_progress_line() -> None:
    assert "Mood changed" not in music_line_html(state("sad", held=2.0), 15.0)
    assert "mt-progress" not in music_line_html(state("sad", held=2.0), 15.0)
    line = music_line_html(state("sad", held=6.0), 15.0)
    assert "Mood changed to sad: new music in 9 s" in line and 'aria-valuenow="40"' in line
    pinned = music_line_html(state("sad", held=6.0, pinned=True), 15.0)
    assert "stays until you let it follow your mood" in pinned and "mt-progress" not in pinned
    assert "Music for <b>happy</b>" in music_line_html(state(), 15.0)


def test_the_music_line_escapes_what_it_shows() -> None:
    odd = MusicState("<b>x</b>", None, None, None, False, False)
    assert "<b>x</b>" not in music_line_html(odd, 15.0).replace("<b>&lt;b&gt;x&lt;/b&gt;</b>", "")


def test_clock_times_are_the_visitors() -> None:
    assert clock_text(T0, visitor_zone("Asia/Kolkata")) == "14:30:00"
    assert clock_text(T0, visitor_zone(None)) == "09:00:00 UTC"
    assert clock_text(T0, visitor_zone("Not/AZone")) == "09:00:00 UTC"


def points(*spec: tuple[int, str]) -> list[TimelinePoint]:
    return [TimelinePoint(T0 + timedelta(seconds=s), mood, 0.8) for s, mood in spec]


def test_history_joins_stretches_of_one_mood_and_names_the_music() -> None:
    timeline = points((0, "happy"), (2, "happy"), (4, "sad"), (6, "sad"), (8, "sad"), (60, "sad"))
    rows = mood_history(timeline, [(T0, "happy"), (T0 + timedelta(seconds=7), "sad")])
    assert [(r.mood, r.seconds, r.music) for r in rows] == [("happy", 2, "happy"), ("sad", 4, "happy"),
                                                           ("sad", 0, "sad")]  # the camera was off 8-60 s
    text = history_csv(rows, visitor_zone("Asia/Kolkata"))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0] == {"start": "2026-12-03T14:30:00+05:30", "end": "2026-12-03T14:30:02+05:30",
                         "seconds": "2", "mood": "happy", "music": "happy"}
    assert len(parsed) == 3


def test_the_timeline_is_not_drawn_across_a_stopped_camera() -> None:
    frame = timeline_frame(points((0, "happy"), (2, "happy"), (4, "sad"), (100, "sad"), (102, "happy")))
    assert list(frame["stretch"]) == [0, 0, 0, 1, 1]


def test_the_video_shows_boxes_and_leaves_the_reading_to_the_headline() -> None:
    frame = np.full((240, 320, 3), 128, np.uint8)
    probs = np.full(len(EMOTIONS), 0.1, np.float32)
    out = draw_face_boxes(frame, [FaceReading((100, 60, 80, 80), probs, "happy", 0.9)])
    assert out is not frame and not np.array_equal(out, frame)
    changed = np.argwhere(np.any(out != frame, axis=2))
    top, left = changed.min(axis=0)
    bottom, right = changed.max(axis=0)
    assert (top, left) >= (58, 98) and (bottom, right) <= (142, 182)  # the box only: no label above it
