"""Library: the Spotify playlists per emotion (add / remove), the sync with Spotify, the track catalogue."""

from __future__ import annotations

import streamlit as st

from emotion.labels import EMOJI, EMOTIONS
from recommender.catalog import count_tracks, search_tracks
from recommender.errors import DatabaseUnavailable
from recommender.playlists import add_playlist, list_playlists, remove_playlist
from recommender.sync import NO_CREDENTIALS_MESSAGE, last_sync_runs
from ui.library import catalogue_frame, describe_run, playlist_html, sync_now
from ui.music import database
from ui.settings import spotify_credentials
from ui.shell import ensure_app_shell

ensure_app_shell()

PAGE_SIZE = 50

st.title(":material/library_music: Library")
st.caption("The playlists behind each emotion, their sync with Spotify, and every track Moodtune can play.")

engine = database()
if engine is None:
    st.stop()

try:
    # --- sync ---------------------------------------------------------------------------------------
    with st.container(key="card-sync"):
        st.subheader("Sync with Spotify")
        credentials = spotify_credentials()
        runs = last_sync_runs(engine, limit=5)
        st.markdown(describe_run(runs[0]) if runs else "No sync has run yet.")
        if runs and runs[0].message:
            st.caption(runs[0].message)
        if credentials is None:
            st.info(NO_CREDENTIALS_MESSAGE, icon="🔑")
        if st.button("🔄 Sync now", disabled=credentials is None, key="sync-now"):
            bar = st.progress(0.0, text="Starting the sync…")
            report = sync_now(engine, credentials, lambda fraction, message: bar.progress(fraction, text=message))
            (st.success if report.ok else st.warning)(report.message)
        if len(runs) > 1:
            with st.expander("Earlier syncs"):
                for run in runs[1:]:
                    st.markdown(describe_run(run))

    # --- playlists per emotion ------------------------------------------------------------------------
    with st.container(key="card-playlists"):
        st.subheader("Playlists per emotion")
        st.caption("Paste a playlist link, `spotify:playlist:` URI or id. Its tracks arrive with the next sync.")
        for emotion in EMOTIONS:
            playlists = list_playlists(engine, emotion)
            with st.expander(f"{EMOJI[emotion]} {emotion} — {len(playlists)} playlist(s)"):
                for playlist in playlists:
                    info, action = st.columns([5, 1], vertical_alignment="center")
                    info.html(playlist_html(playlist))
                    if action.button("Remove", key=f"rm-{emotion}-{playlist.id}"):
                        remove_playlist(engine, playlist.id, emotion)
                        st.toast(f"Removed {playlist.name} from {emotion}.", icon="🗑️")
                        st.rerun()
                with st.form(key=f"add-{emotion}", clear_on_submit=True, border=False):
                    text = st.text_input("Add a playlist", placeholder="https://open.spotify.com/playlist/…",
                                         key=f"add-text-{emotion}")
                    if st.form_submit_button("Add"):
                        try:
                            added = add_playlist(engine, emotion, text)
                        except ValueError as error:
                            st.error(str(error))
                        else:
                            st.toast(f"Added {added.name} to {emotion}.", icon="✅")
                            st.rerun()

    # --- catalogue --------------------------------------------------------------------------------
    with st.container(key="card-catalogue"):
        st.subheader("Catalogue")
        query_col, emotion_col = st.columns([3, 2])
        query = query_col.text_input("Search title, artist or album", key="cat-query")
        chosen = emotion_col.selectbox("Emotion", ["all", *EMOTIONS], key="cat-emotion",
                                       format_func=lambda e: "All emotions" if e == "all" else f"{EMOJI[e]} {e}")
        emotion_filter = None if chosen == "all" else chosen
        total = count_tracks(engine, query, emotion_filter)
        pages = max(1, -(-total // PAGE_SIZE))
        page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1, key="cat-page")
        st.caption(f"{total:,} tracks")
        if total:
            tracks = search_tracks(engine, query, emotion_filter, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
            st.dataframe(
                catalogue_frame(tracks), hide_index=True, width="stretch",
                column_config={"Spotify": st.column_config.LinkColumn("Spotify", display_text="Open"),
                               "Popularity": st.column_config.ProgressColumn(min_value=0, max_value=100,
                                                                             format="%d")},
            )
        else:
            st.info("No tracks match." if query or emotion_filter else
                    "The catalogue is empty: sync playlists with Spotify to fill it.")
except DatabaseUnavailable as error:
    st.error(f"The music database is unavailable: {error}", icon="🗄️")
