"""Every screen runs inside ``app.py``'s navigation, even on a deep link to a freshly started server."""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def ensure_app_shell() -> None:
    """Rerun this screen through ``app.py`` when Streamlit started it on its own.

    Streamlit treats a ``pages/`` folder as a legacy multipage app until some session of the process has
    called ``st.navigation``: a first visit straight to ``/library`` would run ``pages/library.py`` alone
    (no theme, no background sync, Streamlit's default sidebar). Switching the process to ``st.navigation``
    mode — what ``app.py`` does on any visit — and rerunning makes that first visit like every other.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
