"""Moodtune: ``streamlit run app.py`` — your face through the browser's webcam, music that fits your mood."""

from __future__ import annotations

import streamlit as st

from ui.music import now_playing
from ui.settings import show_settings_problems, start_background_sync
from ui.shell import CLOSE_PANEL_ON_PHONES, LOGO, normalise_page_address
from ui.stream_mount import start_run
from ui.style import apply_style

# The tab icon is the app's own logo, served by the app: a Material icon here would be fetched from
# fonts.gstatic.com on every visit (a third-party request; issue 19 §6).
st.set_page_config(page_title="Moodtune", page_icon=LOGO, layout="wide", initial_sidebar_state="auto")
apply_style()
start_run(st.session_state)  # whether the last run drew Live's video component (ui/stream_mount.py says why)
start_background_sync()  # the sync thread opens the database: no screen waits for it

# One screen per file in pages/; each starts with ui.shell.ensure_app_shell() so that a deep link on a
# freshly started server also runs through this navigation (see ui/shell.py). The links are drawn here, not
# by Streamlit, because .streamlit/config.toml turns its automatic list off: on a server's first visit that
# list would flash the raw file names of pages/ before this script runs.
screens = [
    st.Page("pages/live.py", title="Live", icon=":material/videocam:", url_path="live", default=True),
    st.Page("pages/snapshot.py", title="Snapshot", icon=":material/photo_camera:", url_path="snapshot"),
    st.Page("pages/library.py", title="Library", icon=":material/library_music:", url_path="library"),
    st.Page("pages/model.py", title="Model", icon=":material/psychology:", url_path="model"),
    st.Page("pages/about.py", title="About", icon=":material/info:", url_path="about"),
]
normalise_page_address("live", known=[screen.url_path for screen in screens])  # an unknown address: Live
navigation = st.navigation(screens, position="hidden")
st.logo(LOGO, size="large", icon_image=LOGO)  # with the app's name (ui/style.css): in view on phones too
with st.sidebar:
    for screen in screens:
        st.page_link(screen)
    st.caption("Music for the mood on your face. Frames are analysed in memory and never stored.")
    # Drawn here, at the same place on every screen, so the player is never remounted: the music keeps
    # playing while the user browses other screens (the Live screen hands it the mood's playlist).
    with st.container(key="now-playing"):  # on a phone, the mini-player at the bottom (ui/style.css)
        now_playing()
    st.html(CLOSE_PANEL_ON_PHONES, unsafe_allow_javascript=True)
show_settings_problems()
navigation.run()
