"""The Library screen as a user meets it: the path to Spotify keys, adding and removing playlists, untrusted
names, a bounded "Sync now", and the catalogue table."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from app_helpers import html_bodies, page_text, point_spotify_at
from sqlalchemy import create_engine, update
from streamlit.testing.v1 import AppTest

from recommender import schema
from tests.silent_tcp import silent_tcp_server


def texts(at: AppTest) -> str:
    """Everything shown with st.text (plain text)."""
    return "\n".join(str(t.value) for t in at.text)


def markdown_sources(at: AppTest) -> str:
    """Every string Streamlit renders as Markdown (where a playlist name must never appear)."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader", "toast"):
        parts.extend(str(element.value) for element in getattr(at, kind, []))
    parts.extend(element.label for element in at.expander)
    return "\n".join(parts)


def run_until(at: AppTest, done: Callable[[AppTest], bool], timeout_s: float = 60) -> AppTest:
    """Rerun the page (as the sync fragment's timer does in a browser) until ``done`` or the timeout."""
    deadline = time.monotonic() + timeout_s
    while not done(at):
        assert time.monotonic() < deadline, page_text(at) + texts(at)
        time.sleep(0.3)
        at.run()
    return at


def choose(at: AppTest, emotion: str) -> AppTest:
    at.button_group(key="lib-emotion").set_value(emotion).run()
    return at


def test_without_keys_the_page_explains_the_way_in_plainly(seeded_db: str, open_page) -> None:
    at = open_page("pages/library.py")
    text = page_text(at)
    assert "Spotify developer dashboard" in text and "Create app" in text
    assert "Settings → Secrets" in text and ".streamlit/secrets.toml" in text
    assert "Meanwhile everything else works" in text
    assert not [b for b in at.button if b.key == "sync-now"]  # no dead button
    # developer commands live in an expander, not in the main text
    developers = next(e for e in at.expander if e.label.startswith("For developers"))
    assert "python -m recommender.authorize" in " ".join(m.value for m in developers.markdown)
    main = "\n".join(m.value for m in at.markdown if "For developers" not in m.value)
    assert "python -m" not in main.replace(" ".join(m.value for m in developers.markdown), "")


def test_a_bad_link_keeps_the_text_and_says_why(seeded_db: str, open_page) -> None:
    at = choose(open_page("pages/library.py"), "sad")
    pasted = "https://open.spotify.com/track/4CNSKwiJTxrYCtFIOqVXGw"
    at.text_input(key="add-text-sad").set_value(pasted)
    at.button(key="add-sad").click().run()
    assert not at.exception
    assert at.text_input(key="add-text-sad").value == pasted  # kept, to be corrected
    errors = [e.value for e in at.error]
    assert errors and errors[0].startswith("That is not a Spotify playlist but a link to a Spotify track")
    assert at.button_group(key="lib-emotion").value == "sad"  # the section stays where the user was


def test_an_unknown_but_valid_id_is_added_as_not_verified(seeded_db: str, open_page) -> None:
    at = choose(open_page("pages/library.py"), "disgust")
    assert "0 playlist(s) for disgust" in page_text(at)
    at.text_input(key="add-text-disgust").set_value("ABCDEFGHIJKLMNOPQRSTUV")
    at.button(key="add-disgust").click().run()
    assert not at.exception
    assert at.text_input(key="add-text-disgust").value == ""  # cleared after success
    assert "1 playlist(s) for disgust" in page_text(at)
    assert any("Not verified yet" in body for body in html_bodies(at))
    assert any("next sync checks it" in s.value for s in at.success)


def test_remove_asks_first_and_keep_it_keeps_it(seeded_db: str, open_page) -> None:
    at = choose(open_page("pages/library.py"), "happy")
    at.button(key="rm-happy-0deORnapZgrxFY4nsKr9JA").click().run()
    assert "Remove this playlist from happy?" in page_text(at)
    assert "1 playlist(s) for happy" in page_text(at)  # nothing removed yet
    at.button(key="rm-no-happy-0deORnapZgrxFY4nsKr9JA").click().run()
    assert "Remove this playlist" not in page_text(at) and "1 playlist(s) for happy" in page_text(at)
    at.button(key="rm-happy-0deORnapZgrxFY4nsKr9JA").click().run()
    at.button(key="rm-yes-happy-0deORnapZgrxFY4nsKr9JA").click().run()
    assert not at.exception
    assert "0 playlist(s) for happy" in page_text(at)
    assert any("Removed the playlist from happy" in s.value for s in at.success)
    assert at.button_group(key="lib-emotion").value == "happy"


def test_seeded_playlists_have_readable_names_and_the_chart_is_embed_only(seeded_db: str, open_page) -> None:
    at = choose(open_page("pages/library.py"), "surprise")
    bodies = " ".join(html_bodies(at))
    assert "Spotify chart" in bodies and "not synced" in bodies
    at = choose(at, "sad")
    assert "Sad mix" in " ".join(html_bodies(at))


PIXEL = "![px](http://127.0.0.1:9/px.png) **Evil** [click](http://evil.example)"


def test_playlist_names_from_spotify_are_never_markdown(seeded_db: str, open_page) -> None:
    engine = create_engine(seeded_db)
    with engine.begin() as conn:
        conn.execute(update(schema.playlists).where(schema.playlists.c.emotion == "happy").values(name=PIXEL))
        conn.execute(schema.sync_runs.insert().values(
            started_at=schema.utcnow(), finished_at=schema.utcnow(), status="partial", trigger="manual",
            message=f"Sync partial: 1 synced, 1 refused (3 tracks stored).\n{PIXEL}: Spotify refused it (403)."))
    engine.dispose()
    at = open_page("pages/library.py")
    assert PIXEL not in markdown_sources(at)
    assert "![px]" not in markdown_sources(at)
    assert PIXEL in texts(at)  # the sync message, as plain text
    assert any("![px](http://127.0.0.1:9/px.png)" in body and "<img" not in body for body in html_bodies(at))


@pytest.fixture
def stalled_spotify(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Spotify accepting connections and never answering (token service and API alike)."""
    with silent_tcp_server() as port:
        point_spotify_at(monkeypatch, f"http://127.0.0.1:{port}")
        yield


def test_sync_now_runs_off_the_page_with_progress_and_cancel(seeded_db: str, stalled_spotify: None,
                                                             open_page) -> None:
    at = open_page("pages/library.py")
    started = time.monotonic()
    at.button(key="sync-now").click().run()
    assert time.monotonic() - started < 5, "the page waited for Spotify"
    assert not at.exception
    assert [b for b in at.button if b.key == "sync-cancel"], page_text(at)
    assert at.get("progress")
    at.button(key="sync-cancel").click().run()
    run_until(at, lambda page: not [b for b in page.button if b.key == "sync-cancel"], timeout_s=30)
    assert "Sync cancelled" in texts(at)
    assert [b for b in at.button if b.key == "sync-now"]  # ready for another go


def test_catalogue_pages_with_buttons_and_rounds_features(seeded_db: str, open_page) -> None:
    at = open_page("pages/library.py")
    assert "Tracks 1–50 of 14,464" in page_text(at)
    frame = at.dataframe[0].value
    assert list(frame.columns) == ["Title", "Artists", "Album", "Popularity", "Positivity", "Energy", "Spotify"]
    for column in ("Positivity", "Energy"):
        values = frame[column].dropna()
        assert ((values * 100).round(6) % 1 == 0).all()  # two decimals at most
    at.button(key="cat-next").click().run()
    assert "Tracks 51–100 of 14,464" in page_text(at)
    at.text_input(key="cat-query").set_value("love").run()
    assert "Tracks 1–" in page_text(at)  # a new search starts at its first page
    assert at.button(key="cat-prev").disabled
