"""The Spotify playlists mapped to emotions: listing, adding, removing, and reading ids from links.

The database starts with the prototype's playlist per emotion (``data/seed_playlists.csv``). A playlist
may serve several emotions (the prototype used one for both sad and disgust), so a playlist row is
keyed by (id, emotion). Adding one stores only the mapping; its tracks arrive with the next sync.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from sqlalchemy import Engine, delete, select

from recommender import schema
from recommender.index import invalidate, playlist_from_row
from recommender.models import Playlist
from recommender.moods import normalise_emotion
from recommender.tx import read_tx, write_tx

# Spotify ids are 22 characters of base62
_ID = re.compile(r"^[0-9A-Za-z]{22}$")


def parse_playlist_id(text: str) -> str:
    """The playlist id in ``text``: a bare 22-character id, an open.spotify.com link (with or without
    ``?si=...`` or an ``/intl-xx/`` part, embed links too) or a ``spotify:playlist:`` URI.

    Raises ``ValueError`` saying what was expected for anything else (track or album links included).
    """
    raw = text.strip()
    candidate: str | None = None
    if _ID.match(raw):
        candidate = raw
    elif raw.startswith("spotify:"):
        parts = raw.split(":")
        # spotify:playlist:<id> and the older spotify:user:<name>:playlist:<id>
        if len(parts) >= 3 and parts[-2] == "playlist":
            candidate = parts[-1]
    else:
        url = urlparse(raw if "://" in raw else f"https://{raw}")
        if url.hostname in ("open.spotify.com", "play.spotify.com"):
            segments = [s for s in url.path.split("/") if s]
            if "playlist" in segments and segments.index("playlist") + 1 < len(segments):
                candidate = segments[segments.index("playlist") + 1]
    if candidate is None or not _ID.match(candidate):
        raise ValueError(_not_a_playlist(raw))
    return candidate


def _not_a_playlist(raw: str) -> str:
    """Why ``raw`` is not a playlist, as sentences saying what to paste instead."""
    how = ("Paste a playlist link (https://open.spotify.com/playlist/…), a spotify:playlist:… URI, or the "
           "playlist's 22-character id.")
    if not raw:
        return f"That is not a Spotify playlist yet: the box is empty. {how}"
    for kind in ("track", "album", "artist", "episode", "show"):
        if f"/{kind}/" in raw or f"spotify:{kind}:" in raw:
            return (f"That is not a Spotify playlist but a link to a Spotify {kind}. In Spotify, open the playlist "
                    f"and choose Share → Copy link to playlist. {how}")
    return f"That is not a Spotify playlist link. {how}"


def list_playlists(engine: Engine, emotion: str | None = None) -> list[Playlist]:
    """Playlists for ``emotion`` (all when None), in the order they were added."""
    p = schema.playlists.c
    query = select(schema.playlists).order_by(p.emotion, p.added_at, p.id)
    if emotion is not None:
        query = query.where(p.emotion == normalise_emotion(emotion))
    with read_tx(engine, "list playlists") as conn:
        return [playlist_from_row(row) for row in conn.execute(query).mappings()]


def add_playlist(engine: Engine, emotion: str, id_or_url: str, name: str | None = None) -> Playlist:
    """Map a Spotify playlist to ``emotion`` (link, URI or id); adding it again only renames it.

    An id seen for the first time is stored unverified (``Playlist.verified`` is False) until a sync
    reads it from Spotify: a well-formed id may still name no playlist.

    Raises ``ValueError`` for an unknown emotion or a text that is not a playlist.
    """
    emotion = normalise_emotion(emotion)
    playlist_id = parse_playlist_id(id_or_url)
    p = schema.playlists.c
    with write_tx(engine, "add the playlist") as conn:
        existing = conn.execute(
            select(schema.playlists).where(p.id == playlist_id, p.emotion == emotion)
        ).mappings().first()
        # a playlist already known for another emotion lends its synced name and state
        sibling = conn.execute(select(schema.playlists).where(p.id == playlist_id)).mappings().first()
        if existing is not None:
            if name:
                conn.execute(
                    schema.playlists.update().where(p.id == playlist_id, p.emotion == emotion).values(name=name)
                )
        else:
            conn.execute(
                schema.playlists.insert().values(
                    id=playlist_id,
                    emotion=emotion,
                    name=name or (sibling["name"] if sibling else f"Playlist {playlist_id} (name unknown until synced)"),
                    last_synced=sibling["last_synced"] if sibling else None,
                    snapshot_id=sibling["snapshot_id"] if sibling else None,
                    track_count=sibling["track_count"] if sibling else 0,
                    source="user",
                    added_at=schema.utcnow(),
                )
            )
        schema.bump_data_version(conn)
        row = conn.execute(
            select(schema.playlists).where(p.id == playlist_id, p.emotion == emotion)
        ).mappings().one()
    invalidate(engine)
    return playlist_from_row(row)


def remove_playlist(engine: Engine, playlist_id: str, emotion: str | None = None) -> None:
    """Forget a playlist and its track list (the tracks stay in the catalogue).

    With ``emotion``, only that mapping goes; the track list is kept while another emotion still uses
    the playlist. Accepts the same forms as ``parse_playlist_id``; an unknown playlist is not an error.
    """
    playlist_id = parse_playlist_id(playlist_id)
    p = schema.playlists.c
    with write_tx(engine, "remove the playlist") as conn:
        which = p.id == playlist_id
        if emotion is not None:
            which = which & (p.emotion == normalise_emotion(emotion))
        conn.execute(delete(schema.playlists).where(which))
        if conn.execute(select(p.id).where(p.id == playlist_id).limit(1)).first() is None:
            conn.execute(delete(schema.playlist_tracks).where(schema.playlist_tracks.c.playlist_id == playlist_id))
        schema.bump_data_version(conn)
    invalidate(engine)
