"""Playlists mapped to emotions, and reading playlist ids from what people paste."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from recommender.models import Playlist
from recommender.playlists import add_playlist, list_playlists, parse_playlist_id, remove_playlist
from recommender.selection import recommend

PID = "37i9dQZF1DXdPec7aLTmlC"
COUNT_ITEMS = text("SELECT count(*) FROM playlist_tracks WHERE playlist_id = :p")


@pytest.mark.parametrize(
    "pasted",
    [PID, f"  {PID}\n", f"https://open.spotify.com/playlist/{PID}",
     f"https://open.spotify.com/playlist/{PID}?si=abc123", f"open.spotify.com/intl-de/playlist/{PID}?si=1", f"https://open.spotify.com/embed/playlist/{PID}",
     f"spotify:playlist:{PID}", f"spotify:user:someone:playlist:{PID}"],
)
def test_parse_playlist_id_accepts_what_people_paste(pasted):
    assert parse_playlist_id(pasted) == PID


@pytest.mark.parametrize(
    "pasted",
    ["", "hello", PID[:-1], f"https://open.spotify.com/track/{PID}", f"spotify:album:{PID}",
     f"https://example.com/playlist/{PID}", f"https://open.spotify.com/playlist/{PID}x"],
)
def test_parse_playlist_id_rejects_everything_else(pasted):
    with pytest.raises(ValueError, match=r"^That is not a Spotify playlist") as caught:
        parse_playlist_id(pasted)
    assert str(caught.value).endswith("22-character id.")  # sentences that say what to paste
    if "track" in pasted or "album" in pasted:
        assert "Copy link to playlist" in str(caught.value)


def test_add_list_and_remove(engine):
    added = add_playlist(engine, "happy", f"https://open.spotify.com/playlist/{PID}?si=x", "Morning")
    assert added == Playlist(PID, "happy", "Morning", None, None, 0)
    assert added.embed_url == f"https://open.spotify.com/embed/playlist/{PID}"
    assert added.open_url == f"https://open.spotify.com/playlist/{PID}"
    assert [p.id for p in list_playlists(engine, "happy")][-1] == PID
    assert PID in {p.id for p in recommend(engine, "happy", n=1).playlists}  # selection sees it at once

    renamed = add_playlist(engine, "happy", PID, "Sunny")  # adding again renames, no duplicate
    assert renamed.name == "Sunny" and [p.id for p in list_playlists(engine, "happy")].count(PID) == 1
    for_sad = add_playlist(engine, "Sad", PID)  # one playlist, two emotions; takes the known name
    assert for_sad.emotion == "sad" and for_sad.name == "Sunny"

    remove_playlist(engine, PID, emotion="happy")
    assert PID not in {p.id for p in list_playlists(engine, "happy")}
    assert PID in {p.id for p in list_playlists(engine, "sad")}
    remove_playlist(engine, f"spotify:playlist:{PID}")
    assert PID not in {p.id for p in list_playlists(engine)}
    remove_playlist(engine, PID)  # already gone: fine


def test_removing_keeps_track_list_while_another_emotion_uses_it(engine):
    shared = "1n6cpWo9ant4WguEo91KZh"  # the prototype's sad playlist, here also chosen for disgust
    add_playlist(engine, "disgust", shared)
    with engine.begin() as conn:
        track = conn.execute(text("SELECT id FROM tracks LIMIT 1")).scalar()
        conn.execute(text("INSERT INTO playlist_tracks VALUES (:p, :t, 0)"), {"p": shared, "t": track})
    remove_playlist(engine, shared, "disgust")
    with engine.connect() as conn:
        assert conn.execute(COUNT_ITEMS, {"p": shared}).scalar() == 1
    remove_playlist(engine, shared, "sad")
    with engine.connect() as conn:
        assert conn.execute(COUNT_ITEMS, {"p": shared}).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM tracks WHERE id = :t"), {"t": track}).scalar() == 1


def test_bad_emotion_is_rejected(engine):
    with pytest.raises(ValueError, match="unknown emotion"):
        add_playlist(engine, "bored", PID)
    with pytest.raises(ValueError, match="unknown emotion"):
        list_playlists(engine, "bored")
