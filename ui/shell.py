"""What every screen shares around its body: the app's name (logo), its addresses, and its navigation."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

LOGO: str = str(Path(__file__).with_name("logo.svg"))

# On a phone the side panel covers the page: close it once a screen is chosen in it, and when a page opens
# with it open (Streamlit remembers the panel's state across reloads). Runs once per browser tab.
PHONE_WIDTH_PX = 640
CLOSE_PANEL_ON_PHONES = f"""<script>
(() => {{
  if (window.__mtPanelCloser) return;
  window.__mtPanelCloser = true;
  const phone = () => window.matchMedia("(max-width: {PHONE_WIDTH_PX}px)").matches;
  const close = () => {{
    const panel = document.querySelector('[data-testid="stSidebar"]');
    if (!phone() || !panel || panel.dataset.collapsed !== "false") return;
    panel.querySelector('[data-testid="stSidebarCollapseButton"] button')?.click();
  }};
  let touched = false;  // once the visitor has clicked, the panel is theirs: only a chosen screen closes it
  let retries = [];
  const closeOnOpen = () => {{ if (!touched) close(); }};
  document.addEventListener("click", (event) => {{
    touched = true;
    if (event.target.closest('[data-testid="stExpandSidebarButton"]')) {{
      retries.forEach(clearTimeout);  // a visitor who opens the panel again meanwhile keeps it open
      retries = [];
    }}
    // Streamlit ignores the panel's button while it switches screens: try again until it has closed
    if (event.target.closest('[data-testid="stSidebar"] a[data-testid="stPageLink-NavLink"]'))
      retries = [300, 800, 1500, 2500].map((ms) => setTimeout(close, ms));
  }}, true);
  for (const ms of [300, 1000, 2000]) setTimeout(closeOnOpen, ms);
}})();
</script>"""


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


def normalise_page_address(default_url_path: str, known: Iterable[str] = ()) -> None:
    """Let ``/Library`` open ``/library``, ``/live`` open the default page (whose own address is ``/``), and
    an address that is none of ``known`` open the default page quietly (no "Page not found" notice).

    Streamlit matches the requested page name exactly, and gives the default page no name at all; the
    requested name is folded to lower case here, before ``st.navigation`` resolves it. Best effort: on a
    Streamlit without this internal, addresses simply stay case-sensitive.
    """
    ctx = get_script_run_ctx()
    manager = getattr(ctx, "pages_manager", None)
    requested = getattr(manager, "_intended_page_name", None)
    if not isinstance(requested, str) or not requested:
        return
    folded = requested.strip("/").lower()
    unknown = bool(known) and folded not in set(known)
    manager._intended_page_name = "" if folded == default_url_path or unknown else folded  # noqa: SLF001
