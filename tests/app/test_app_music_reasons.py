""""Why this track": every track on Snapshot (and Live, through the same ui.music) says why, escaped."""

from __future__ import annotations

import re
from collections.abc import Callable

from app_helpers import HAPPY_FACE, html_bodies, iframe_srcs
from streamlit.testing.v1 import AppTest

from recommender.models import Track
from ui.music import track_caption_html

WHY = re.compile(r"Why: ([^<]+)</span>")


def _reasons(at: AppTest) -> list[str]:
    return [m.group(1) for body in html_bodies(at) for m in WHY.finditer(body)]


def test_each_track_on_snapshot_says_why_in_match_and_lift(seeded_db: str,
                                                           open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/snapshot.py")
    at.file_uploader[0].upload("face.png", HAPPY_FACE.read_bytes(), "image/png").run()
    assert not at.exception and not at.error
    tracks = [s for s in iframe_srcs(at) if "/embed/track/" in s]
    reasons = _reasons(at)
    assert len(reasons) == len(tracks) >= 5
    words = {"cheerful", "energetic", "danceable", "fast", "sounds happy", "sounds energetic"}
    assert sum(any(w in r for w in words) for r in reasons) >= len(reasons) - 1  # happy music, said plainly
    at.button_group(key="snapshot_mode").set_value("lift").run()
    lift = _reasons(at)
    assert len(lift) == len([s for s in iframe_srcs(at) if "/embed/track/" in s]) >= 5


def test_the_reason_is_escaped_and_optional() -> None:
    track = Track(id="0" * 22, name="<b>Song</b>", artists="A & B", album="")
    caption = track_caption_html(track, "slow, <script>alert(1)</script>", number=3)
    assert "<script>" not in caption and "&lt;script&gt;" in caption and "<b>3.</b> &lt;b&gt;Song" in caption
    assert "Why:" not in track_caption_html(track) and "Why:" not in track_caption_html(track, "")
