"""Moodtune: ``streamlit run app.py`` — your face through the browser's webcam, music that fits your mood."""

from __future__ import annotations

import streamlit as st

from ui.music import start_background_sync
from ui.style import apply_style

st.set_page_config(page_title="Moodtune", page_icon="🎵", layout="wide", initial_sidebar_state="auto")
apply_style()
start_background_sync()

# The screens live in screens/, not pages/: Streamlit runs a pages/ folder in its legacy multipage mode
# (its own sidebar, without this script) for every session of the process until some session has
# called st.navigation, so a deep link like /library on a freshly started server would break.
navigation = st.navigation(
    [
        st.Page("screens/live.py", title="Live", icon="🎥", default=True),
        st.Page("screens/snapshot.py", title="Snapshot", icon="📸"),
        st.Page("screens/library.py", title="Library", icon="📚"),
        st.Page("screens/model.py", title="Model", icon="🧠"),
        st.Page("screens/about.py", title="About", icon="ℹ️"),
    ]
)
with st.sidebar:
    st.markdown("### 🎵 Moodtune")
    st.caption("Music for the mood on your face. Frames are analysed in memory and never stored.")
navigation.run()
