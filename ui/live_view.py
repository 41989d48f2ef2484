"""What the Live screen says around the video, as plain values and escaped HTML (no Streamlit calls here).

- the music line: which mood the music is for, and a change that has held a few seconds as a quiet
  progress line (a flicker of another mood never shows);
- clock times in the visitor's own time zone (the browser tells it: ``st.context.timezone``);
- the session's mood history (moods, how long, which music played) and its CSV download.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recommender.pacing import MusicState
from ui.charts import TimelinePointLike
from ui.style import emotion_icon, icon_html

PENDING_SHOW_AFTER_S = 4.0  # a different mood is announced only once it has held this long (issue 19 §3)
HISTORY_GAP_S = 6.0  # timeline points further apart than this belong to different stretches (camera stopped)


def visitor_zone(tz_name: str | None) -> tzinfo:
    """The browser's time zone (an IANA name), or UTC when it is unknown or not a zone this server knows."""
    if tz_name:
        try:
            return ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def clock_text(at: datetime, zone: tzinfo) -> str:
    """``at`` as the visitor's wall-clock time, "20:12:10" ("20:12:10 UTC" when their zone is unknown)."""
    text = at.astimezone(zone).strftime("%H:%M:%S")
    return f"{text} UTC" if zone is UTC else text


def music_line_html(music: MusicState, dwell_s: float, chosen: bool = False,
                    show_after_s: float = PENDING_SHOW_AFTER_S) -> str:
    """Two quiet lines under the headline: what the music is for, and a lasting change coming.

    The block always has the same height (the page never jumps; ui/style.css): a change shows only once it
    has held ``show_after_s`` seconds, then as one short line over a thin bar that fills until the music
    follows.
    """
    change, progress = "", None
    if music.playing is None:
        first = "Music starts when your expression has been steady for a moment."
    else:
        playing = html.escape(music.playing)
        first = f"Music for <b>{playing}</b>" + (" (you chose it)" if chosen else " · pinned" if music.pinned else "")
        if music.pending is not None and music.pending_for_s >= show_after_s:
            pending = html.escape(music.pending)
            if music.pinned:
                change = f"You look {pending} now: the music stays until you let it follow your mood."
            else:
                change = f"Mood changed to {pending}: new music in {max(1, round(music.switch_in_s or 0.0))} s."
                progress = min(1.0, music.pending_for_s / dwell_s)
    bar = ("" if progress is None else
           f'<div class="mt-progress" role="progressbar" aria-valuenow="{progress * 100:.0f}" aria-valuemin="0" '
           f'aria-valuemax="100"><div style="width:{progress * 100:.0f}%"></div></div>')
    icon = icon_html(emotion_icon(music.playing) if music.playing else "music_note")
    return (f'<div class="mt-music-line">{icon}<div><div class="mt-line">{first}</div>'
            f'<div class="mt-line mt-muted" title="{html.escape(change, quote=True)}">{change}</div>{bar}</div></div>')


@dataclass(frozen=True)
class HistoryRow:
    """One stretch of the session: a mood held from ``start`` to ``end``, and the music playing then."""

    start: datetime
    end: datetime
    mood: str
    music: str | None

    @property
    def seconds(self) -> float:
        """How long the stretch lasted (a single reading counts for nothing)."""
        return (self.end - self.start).total_seconds()


def mood_history(timeline: Sequence[TimelinePointLike], music_log: Sequence[tuple[datetime, str]]) -> list[HistoryRow]:
    """The timeline as stretches of one mood, each with the music that played when it began.

    ``music_log`` holds (when, mood of the music) for each change of music. A gap longer than
    ``HISTORY_GAP_S`` (the camera stopped) ends a stretch even if the mood is the same after it.
    """
    rows: list[HistoryRow] = []
    for point in timeline:
        last = rows[-1] if rows else None
        if last and last.mood == point.emotion and (point.at - last.end).total_seconds() <= HISTORY_GAP_S:
            rows[-1] = HistoryRow(last.start, point.at, last.mood, last.music)
        else:
            music = next((mood for at, mood in reversed(music_log) if at <= point.at), None)
            rows.append(HistoryRow(point.at, point.at, point.emotion, music))
    return rows


def history_csv(rows: Sequence[HistoryRow], zone: tzinfo) -> str:
    """The history as CSV text: start and end in the visitor's time zone, seconds, mood, music."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["start", "end", "seconds", "mood", "music"])
    for row in rows:
        writer.writerow([row.start.astimezone(zone).isoformat(timespec="seconds"),
                         row.end.astimezone(zone).isoformat(timespec="seconds"), f"{row.seconds:.0f}", row.mood,
                         row.music or ""])
    return out.getvalue()
