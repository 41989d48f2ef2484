"""Library: the Spotify playlists per emotion (add / remove), the sync with Spotify, the track catalogue."""

from __future__ import annotations

import streamlit as st

from recommender.errors import DatabaseUnavailable
from ui.library import catalogue_section, playlists_section, sync_section
from ui.music import database
from ui.shell import ensure_app_shell

ensure_app_shell()

st.title(":material/library_music: Library")
st.caption("The playlists behind each emotion, their sync with Spotify, and every track Moodtune can play.")

engine = database()
if engine is None:
    st.info("The Live and Snapshot screens still read emotions meanwhile; the About and Model screens work too.")
    st.stop()

try:
    with st.container(key="card-sync"):
        sync_section(engine)
    with st.container(key="card-playlists"):
        playlists_section(engine)
    with st.container(key="card-catalogue"):
        catalogue_section(engine)
except DatabaseUnavailable as error:
    st.error(f"The music database is unavailable: {error}", icon=":material/database:")
