"""Music on screen: the database, one recommendation per screen and session, and the Spotify players.

A recommendation is computed when the (emotion, mode) pair of a screen changes and is then kept in
``st.session_state``, so reruns render the very same embed URLs and the players never reload.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import streamlit as st
from sqlalchemy import Engine

import config
from recommender.db import get_engine
from recommender.errors import DatabaseUnavailable
from recommender.models import Playlist, Recommendation, SeedSong, Track
from recommender.moods import MODES
from recommender.selection import recommend
from ui.style import emotion_icon, link_html


MODE_LABELS: dict[str, str] = {"match": ":material/my_location: Match my mood",
                                "lift": ":material/wb_sunny: Lift my mood"}
MODE_HELP = (
    "Match plays music that fits how you feel; lift starts there and moves step by step toward "
    "calm, positive music (the iso principle of music therapy)."
)
_MODE_KEY = "music_mode"
_SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
PLAYLIST_HEIGHT = 352  # Spotify's standard embed height; the compact track player is 80
TRACK_HEIGHT = 80
MAX_PLAYLISTS_SHOWN = 2


def database() -> Engine | None:
    """The shared engine, or None after showing why the database cannot be used."""
    try:
        return get_engine()
    except DatabaseUnavailable as error:
        st.error(f"The music database is unavailable: {error}", icon=":material/database:")
        return None


def mode_switch(key: str) -> str:
    """A "match / lift my mood" switch; the choice is shared by the screens of a session."""
    current = st.session_state.setdefault(_MODE_KEY, "match")

    def remember() -> None:
        st.session_state[_MODE_KEY] = st.session_state[key] or "match"

    st.segmented_control(
        "Music", MODES, default=current, format_func=MODE_LABELS.get, key=key, help=MODE_HELP,
        on_change=remember, label_visibility="collapsed", selection_mode="single", required=True,
    )
    return st.session_state[_MODE_KEY]


def recommendation_for(slot: str, emotion: str, mode: str) -> Recommendation | None:
    """The recommendation shown in ``slot`` (a screen) for ``emotion``/``mode``: new only when they change.

    Tracks already shown in this session go to the back of the queue, so returning to an emotion brings
    fresh music. Switching match <-> lift for the same emotion keeps the user's tracks: each mode's list
    is kept while the emotion lasts (switching back restores it), and a new list may reuse the other
    mode's tracks. Returns None (after showing why) when the database is unavailable.
    """
    state_key = f"rec:{slot}"
    kept: dict[str, Recommendation] = st.session_state.get(state_key) or {}
    if not isinstance(kept, dict) or any(rec.emotion != emotion for rec in kept.values()):
        kept = {}
    if mode in kept:
        return kept[mode]
    engine = database()
    if engine is None:
        return None
    shown: set[str] = st.session_state.setdefault("shown_tracks", set())
    this_mood = {track.id for rec in kept.values() for track in rec.tracks}
    try:
        rec = recommend(engine, emotion, mode=mode, n=config.APP_TRACKS, exclude=shown - this_mood)
    except DatabaseUnavailable as error:
        st.error(f"The music database is unavailable: {error}", icon=":material/database:")
        return None
    shown.update(track.id for track in rec.tracks)
    st.session_state[state_key] = {**kept, mode: rec}
    return rec


def _embeddable(items: Iterable[Track | Playlist]) -> list[Track | Playlist]:
    """Only items with a well-formed Spotify id are framed (ids come from the database and the sync)."""
    return [item for item in items if _SPOTIFY_ID.match(item.id)]


def reason_html(reason: str | None) -> str:
    """The escaped "Why: slow, acoustic, melancholy" line (empty without a reason)."""
    if not reason:
        return ""
    return f'<span class="mt-muted mt-why" title="Why this track">Why: {html.escape(reason)}</span>'


def track_caption_html(track: Track, reason: str | None = None, number: int | None = None) -> str:
    """Escaped "[n.] title — artists · Open in Spotify" line for a track's player, with why it was chosen below.

    The title keeps to one line (cut with "…", whole on hover; the player names the track too), so every
    caption is as tall as the next and the first player stays where the screen promises it.
    """
    prefix = f"<b>{number}.</b> " if number is not None else ""
    name = f"{html.escape(track.name)} — {html.escape(track.artists)}"
    return (
        f'<div class="mt-track"><div class="mt-track-head"><span class="mt-track-name" title="{name}">{prefix}{name}'
        f'</span><span class="mt-track-open">&nbsp;· {link_html("Open in Spotify", track.open_url)}</span></div>'
        f'{reason_html(reason)}</div>'
    )


def seed_songs_html(songs: list[SeedSong]) -> str:
    """Escaped list of the prototype's songs, each a Spotify search link."""
    items = "".join(
        f"<li>{link_html(f'{song.name} — {song.artist}', song.search_url)}</li>" for song in songs
    )
    return f'<ul class="mt-muted">{items}</ul>'


LIFT_SENTENCE = ("Lift mode: these tracks start at your mood and move, one step at a time, toward calm, "
                 "brighter music. Play them in order.")
NOW_PLAYING_HEIGHT = 152  # Spotify's compact playlist embed


def track_card(track: Track, reason: str | None, key: str, number: int | None = None) -> None:
    """One track as a tight card: its caption (number in lift, title, link, why) directly above its own player."""
    with st.container(key=key, gap=None):
        st.html(track_caption_html(track, reason, number))
        label = f"Spotify track {number}: {track.name}" if number is not None else f"Spotify track: {track.name}"
        st.iframe(track.embed_url, height=TRACK_HEIGHT, alt=label)


def render_recommendation(rec: Recommendation, show_playlists: bool = True, heading: bool = True,
                          columns: int = 2) -> None:
    """The "Music for …" heading (unless the screen says it already), the emotion's playlist player(s) (unless
    the persistent player shows them), the track players with links and why each was chosen, and the
    prototype's songs.

    Both modes lay the tracks out the same way: one card per track, its caption directly above its own player,
    the cards clearly apart. Lift numbers them in one column (the order is the point); match fills rows of
    ``columns`` (1 in a narrow card), so a phone, stacking each row, keeps the order too.
    """
    if heading:
        title = f":material/{emotion_icon(rec.emotion)}: Music for **{rec.emotion}**"
        st.markdown(title + (" — lifting you up, in order" if rec.mode == "lift" else ""))
    if show_playlists:
        playlists = _embeddable(rec.playlists)[:MAX_PLAYLISTS_SHOWN]
        for playlist in playlists:
            st.iframe(playlist.embed_url, height=PLAYLIST_HEIGHT, alt=f"Spotify playlist: {playlist.name}")
            st.html(f'<div class="mt-track">{link_html("Open playlist in Spotify", playlist.open_url)}</div>')
        if not playlists:
            st.info(f"No Spotify playlist is set for {rec.emotion} yet: add one on the Library screen.",
                    icon=":material/library_music:")
    tracks = _embeddable(rec.tracks)
    if not tracks:
        st.info("The track catalogue is empty: sync playlists on the Library screen to fill it.",
                icon=":material/music_note:")
    if rec.mode == "lift":
        st.markdown(LIFT_SENTENCE)
        for number, track in enumerate(tracks, start=1):
            track_card(track, rec.reasons.get(track.id), f"mt-track-lift-{number}", number)
    elif columns <= 1:
        for place, track in enumerate(tracks, start=1):
            track_card(track, rec.reasons.get(track.id), f"mt-track-match-{place}")
    else:
        for row in range(0, len(tracks), columns):
            places = enumerate(tracks[row:row + columns], start=row + 1)
            for column, (place, track) in zip(st.columns(columns, gap="medium"), places):
                with column:
                    track_card(track, rec.reasons.get(track.id), f"mt-track-match-{place}")
    if rec.seed_songs:
        with st.expander("From the original Moodtune song lists"):
            st.html(seed_songs_html(rec.seed_songs))


def set_now_playing(rec: Recommendation | None) -> None:
    """Hand ``rec``'s first playlist to the persistent player (drawn by ``now_playing`` on every screen)."""
    playlists = _embeddable(rec.playlists) if rec is not None else []
    st.session_state["now_playing"] = (rec.emotion, playlists[0]) if playlists else None


def now_playing() -> None:
    """The persistent player: the current mood's playlist, drawn from ``app.py`` at the same place on every
    screen so its iframe stays mounted (the music keeps playing) while the user browses other screens.
    """
    current = st.session_state.get("now_playing")
    if not current:
        return
    emotion, playlist = current
    st.markdown(f"**Now playing** · :material/{emotion_icon(emotion)}: music for {emotion}")
    st.iframe(playlist.embed_url, height=NOW_PLAYING_HEIGHT, alt=f"Spotify playlist: {playlist.name}")
    st.html(f'<div class="mt-track">{link_html("Open playlist in Spotify", playlist.open_url)}</div>')
