"""Moodtune: ``streamlit run app.py`` — your face through the browser's webcam, music that fits your mood."""

from __future__ import annotations

import streamlit as st

from ui.music import now_playing, start_background_sync
from ui.style import apply_style

st.set_page_config(page_title="Moodtune", page_icon="🎵", layout="wide", initial_sidebar_state="auto")
apply_style()
start_background_sync()

# One screen per file in pages/; each starts with ui.shell.ensure_app_shell() so that a deep link on a
# freshly started server also runs through this navigation (see ui/shell.py).
navigation = st.navigation(
    [
        st.Page("pages/live.py", title="Live", icon="🎥", default=True),
        st.Page("pages/snapshot.py", title="Snapshot", icon="📸"),
        st.Page("pages/library.py", title="Library", icon="📚"),
        st.Page("pages/model.py", title="Model", icon="🧠"),
        st.Page("pages/about.py", title="About", icon="ℹ️"),
    ]
)
with st.sidebar:
    st.markdown("### 🎵 Moodtune")
    st.caption("Music for the mood on your face. Frames are analysed in memory and never stored.")
    # Drawn here, at the same place on every screen, so the player is never remounted: the music keeps
    # playing while the user browses other screens (the Live screen hands it the mood's playlist).
    now_playing()
navigation.run()
