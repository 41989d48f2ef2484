"""Snapshot: a photo becomes an emotion and music; bad photos get a clear message; HTML is escaped."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from app_helpers import HAPPY_FACE, NO_FACE, html_bodies, iframe_srcs, jpeg_bytes, page_text
from sqlalchemy import create_engine
from streamlit.testing.v1 import AppTest

from recommender import schema
from recommender.playlists import list_playlists

PLAYLIST_EMBED = "https://open.spotify.com/embed/playlist/"


def open_camera(open_page: Callable[[str], AppTest]) -> AppTest:
    """The Snapshot screen with the camera picked (it starts on Upload, with no camera widget)."""
    at = open_page("pages/snapshot.py")
    at.button_group(key="snapshot_source").set_value("camera").run()
    assert len(at.camera_input) == 1
    return at


def headline(at: AppTest) -> str:
    """The emotion headline's HTML ("" when the screen shows no reading)."""
    return "".join(body for body in html_bodies(at) if "class=\"mt-emotion\"" in body)


def _happy_playlist_embed(db_url: str) -> str:
    engine = create_engine(db_url)
    try:
        return list_playlists(engine, "happy")[0].embed_url
    finally:
        engine.dispose()


def test_camera_photo_of_a_happy_face_plays_the_happy_playlist(
    seeded_db: str, open_page: Callable[[str], AppTest]
) -> None:
    at = open_camera(open_page)
    at.camera_input[0].upload("face.jpg", jpeg_bytes(HAPPY_FACE)).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert 'class="mt-emotion-name">happy<' in "".join(html_bodies(at))
    srcs = iframe_srcs(at)
    assert _happy_playlist_embed(seeded_db) in srcs
    tracks = [s for s in srcs if "/embed/track/" in s]
    assert len(tracks) >= 5
    assert any("Open in Spotify" in body and "open.spotify.com/track/" in body for body in html_bodies(at))


def test_uploaded_png_works_like_a_camera_photo(seeded_db: str, open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/snapshot.py")
    at.file_uploader[0].upload("face.png", HAPPY_FACE.read_bytes(), "image/png").run()
    assert not at.exception and not at.error
    assert any(src.startswith(PLAYLIST_EMBED) for src in iframe_srcs(at))


def test_switching_to_lift_changes_the_tracks_not_the_playlist(
    seeded_db: str, open_page: Callable[[str], AppTest]
) -> None:
    at = open_camera(open_page)
    at.camera_input[0].upload("face.jpg", jpeg_bytes(HAPPY_FACE)).run()
    before = iframe_srcs(at)
    at.run()
    assert iframe_srcs(at) == before  # a rerun renders the same players: nothing reloads
    at.button_group(key="snapshot_mode").set_value("lift").run()
    after = iframe_srcs(at)
    assert [s for s in after if PLAYLIST_EMBED in s] == [s for s in before if PLAYLIST_EMBED in s]
    assert after != before
    assert "Lift mode:" in page_text(at)


def test_corrupt_upload_is_explained(seeded_db: str, open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/snapshot.py")
    at.file_uploader[0].upload("broken.png", b"\x89PNG\r\n\x1a\n this is not really a png", "image/png").run()
    assert not at.exception
    assert any("could not decode" in e.value for e in at.error)
    assert not iframe_srcs(at)


def test_photo_without_a_face_says_so(seeded_db: str, open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/snapshot.py")
    at.file_uploader[0].upload("cat.png", NO_FACE.read_bytes(), "image/png").run()
    assert not at.exception
    assert any("No face found" in w.value for w in at.warning)
    assert not iframe_srcs(at)


def test_oversized_upload_is_refused(seeded_db: str, open_page: Callable[[str], AppTest],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import config

    monkeypatch.setattr(config, "UPLOAD_MAX_MB", 1)
    big = bytes(int(1.5 * 1024 * 1024))
    at = open_page("pages/snapshot.py")
    at.file_uploader[0].upload("big.png", big, "image/png").run()
    assert [e.value for e in at.error] == ["This photo is 1.5 MB; the limit is 1 MB."]


def test_camera_starts_only_when_the_user_picks_it(seeded_db: str, open_page: Callable[[str], AppTest]) -> None:
    at = open_page("pages/snapshot.py")
    assert not at.camera_input and len(at.file_uploader) == 1  # Upload first: no camera widget at all
    at.button_group(key="snapshot_source").set_value("camera").run()
    assert len(at.camera_input) == 1 and not at.file_uploader


def test_the_latest_photo_wins_over_an_earlier_camera_photo(
    seeded_db: str, open_page: Callable[[str], AppTest]
) -> None:
    at = open_camera(open_page)
    at.camera_input[0].upload("face.jpg", jpeg_bytes(HAPPY_FACE)).run()
    assert ">happy<" in headline(at) and iframe_srcs(at)
    at.button_group(key="snapshot_source").set_value("upload").run()
    at.file_uploader[0].upload("cat.png", NO_FACE.read_bytes(), "image/png").run()
    assert not at.exception
    assert ">happy<" not in headline(at)
    assert any("No face found" in w.value for w in at.warning)
    assert not iframe_srcs(at)  # the camera photo's music is gone with its result


GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("anim.gif", GIF, "GIFs aren't supported"),
        ("empty.jpg", b"", "This file is empty"),
        ("broken.jpg", b"\xff\xd8\xff\xe0 cut short", "could not decode"),
        ("tiny.png", "tiny", "10×10 is too small to find a face"),
        ("bomb.png", "bomb", "30000×30000 (900 megapixels)"),
        ("notes.txt", b"hello", "not a JPEG, PNG or WebP"),
    ],
    ids=["gif", "empty", "corrupt", "too-small", "too-many-pixels", "not-an-image"],
)
def test_a_refused_file_clears_the_old_result_and_says_why(
    seeded_db: str, open_page: Callable[[str], AppTest], name: str, data: bytes | str, message: str
) -> None:
    import struct
    import zlib

    import cv2
    import numpy as np

    if data == "tiny":
        data = cv2.imencode(".png", np.zeros((10, 10, 3), np.uint8))[1].tobytes()
    elif data == "bomb":  # only the header of a 30000×30000 PNG: the screen must refuse it from that alone
        ihdr = b"IHDR" + struct.pack(">IIBBBBB", 30_000, 30_000, 8, 0, 0, 0, 0)
        data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    at = open_page("pages/snapshot.py")
    at.file_uploader[0].upload("face.png", HAPPY_FACE.read_bytes(), "image/png").run()
    assert ">happy<" in headline(at) and iframe_srcs(at)
    at.file_uploader[0].upload(name, data, "application/octet-stream").run()
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value, [e.value for e in at.error]
    assert not headline(at) and not iframe_srcs(at) and not at.get("imgs")


def test_a_rerun_does_not_analyse_the_same_photo_again(
    seeded_db: str, open_page: Callable[[str], AppTest], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.snapshot

    calls: list[int] = []
    real = ui.snapshot.analyse_photo

    def counting(*args: object) -> object:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(ui.snapshot, "analyse_photo", counting)
    at = open_page("pages/snapshot.py")
    at.file_uploader[0].upload("face.png", HAPPY_FACE.read_bytes(), "image/png").run()
    at.button_group(key="snapshot_mode").set_value("lift").run()
    assert ">happy<" in headline(at)
    assert len(calls) == 1


def test_track_names_are_shown_as_text_not_html(empty_db: str, open_page: Callable[[str], AppTest]) -> None:
    evil = "<script>alert('x')</script>"
    engine = create_engine(empty_db)
    with engine.begin() as conn:
        conn.execute(schema.tracks.insert().values(
            id="0123456789abcdefABCDEF", name=evil, artists="<img src=x onerror=alert(1)>",
            primary_artist="evil", album="a", popularity=90, valence=0.9, energy=0.7, source="tt",
        ))
        schema.bump_data_version(conn)
    engine.dispose()
    at = open_camera(open_page)
    at.camera_input[0].upload("face.jpg", jpeg_bytes(HAPPY_FACE)).run()
    assert not at.exception
    bodies = "".join(body for body in html_bodies(at) if not body.lstrip().startswith(("<style>", "<script>")))
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in bodies
    assert "&lt;img src=x onerror=alert(1)&gt;" in bodies
    assert "<script>" not in bodies and "<img" not in bodies
    assert "No Spotify playlist is set for happy" in page_text(at)


def test_database_unavailable_on_snapshot_keeps_the_reading(open_page: Callable[[str], AppTest],
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import config

    (tmp_path / "file").write_text("x")
    monkeypatch.setattr(config, "DB_URL", f"sqlite:///{tmp_path / 'file'}/moodtune.db")
    at = open_camera(open_page)
    at.camera_input[0].upload("face.jpg", jpeg_bytes(HAPPY_FACE)).run()
    assert not at.exception
    assert 'class="mt-emotion-name">happy<' in "".join(html_bodies(at))
    assert any("music database is unavailable" in e.value for e in at.error)


def test_two_sessions_do_not_share_state(seeded_db: str, open_page: Callable[[str], AppTest]) -> None:
    first = open_camera(open_page)
    first.camera_input[0].upload("face.jpg", jpeg_bytes(HAPPY_FACE)).run()
    second = open_page("pages/snapshot.py")
    assert iframe_srcs(first) and not iframe_srcs(second)
    assert "rec:snapshot" in first.session_state and "rec:snapshot" not in second.session_state
    live_one, live_two = open_page("pages/live.py"), open_page("pages/live.py")
    assert live_one.session_state["live_session"] is not live_two.session_state["live_session"]
