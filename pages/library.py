"""Library: the Spotify playlists per emotion (add / remove), the sync with Spotify, the track catalogue."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from emotion.labels import EMOTIONS
from recommender.catalog import count_tracks, search_tracks
from recommender.errors import DatabaseUnavailable
from recommender.playlists import add_playlist, list_playlists, remove_playlist
from recommender.sync import last_sync_runs
from ui.library import (
    DASHBOARD_URL,
    REDIRECT_URI,
    SyncJob,
    catalogue_frame,
    describe_run,
    page_range,
    playlist_html,
    start_sync,
)
from ui.music import database
from ui.settings import spotify_credentials
from ui.shell import ensure_app_shell

ensure_app_shell()

PAGE_SIZE = 50
JOB_KEY = "library-sync-job"
NOTICE_KEY = "library-notice"  # {section: (kind, sentence, details or "")}, shown once after an action
CONFIRM_KEY = "library-confirm-remove"  # (playlist id, emotion, name) waiting for "Yes, remove"

st.title(":material/library_music: Library")
st.caption("The playlists behind each emotion, their sync with Spotify, and every track Moodtune can play.")

engine = database()
if engine is None:
    st.info("The Live and Snapshot screens still read emotions meanwhile; the About and Model screens work too.")
    st.stop()


def show_connect_spotify() -> None:
    """The plain-language path to Spotify keys, for someone who has never seen a developer dashboard."""
    st.markdown("**Connect Spotify to keep these playlists up to date** (optional).")
    st.markdown(
        f"1. Open the [Spotify developer dashboard]({DASHBOARD_URL}), log in with your Spotify account and "
        "choose **Create app**. Any name works; as redirect URI enter "
        f"`{REDIRECT_URI}` and tick **Web API**.\n"
        "2. In the new app's **Settings**, copy the **Client ID** and, under *View client secret*, the "
        "**Client secret**.\n"
        "3. Paste both where the app runs: on **Streamlit Community Cloud**, open your app's menu → "
        "**Settings → Secrets**; on your own computer, in the file `.streamlit/secrets.toml` in the Moodtune "
        "folder. Then reload this page."
    )
    st.code('SPOTIPY_CLIENT_ID = "paste the Client ID here"\n'
            'SPOTIPY_CLIENT_SECRET = "paste the Client secret here"', language="toml")
    st.markdown(
        "**Meanwhile everything else works:** every playlist below plays right here, and Live and Snapshot "
        "pick music from the built-in catalogue. Only reading your playlists' track lists into Moodtune "
        "waits for the keys."
    )
    with st.expander("For developers: your own playlists and the command line"):
        st.markdown(
            "Since 2026, Spotify lets a new app read only playlists its user owns or collaborates on. To sync "
            "your own playlists, run `python -m recommender.authorize` once (it prints "
            "`MOODTUNE_SPOTIFY_REFRESH_TOKEN`, which goes beside the two keys). The same keys work as "
            "environment variables. `python -m recommender.sync` syncs from the command line or cron "
            "(`--if-due --quiet` for a daily job); `--history 5` lists past syncs."
        )


def show_sync_job(job: SyncJob) -> None:
    """Progress and Cancel while the job runs; its outcome once, as plain text, when it has finished."""
    if job.running:
        st.progress(job.fraction)
        st.text(job.message)  # holds a playlist name from Spotify: plain text only
        if st.button("Cancel sync", key="sync-cancel", disabled=job.limits.cancel.is_set()):
            job.cancel()
        if job.limits.cancel.is_set():
            st.caption("Cancelling: the sync stops after the current request.")
        return
    del st.session_state[JOB_KEY]
    if job.error:
        notify("sync", "error", "The sync did not run to the end.", job.error)
    elif job.outcome is not None and job.outcome.report is None:
        notify("sync", "warning", job.outcome.reason, "")
    elif job.outcome is not None and job.outcome.report is not None:
        report = job.outcome.report
        headline = "The sync finished." if report.ok else "The sync finished with problems; details below."
        notify("sync", "success" if report.ok else "warning", headline, report.message)
    st.rerun()  # the whole page: new sync history and playlist states


def sync_section(engine: Engine) -> None:
    """Last sync, "Sync now" (off the script thread, with progress and Cancel), earlier syncs."""
    st.subheader("Sync with Spotify")
    show_notice("sync")
    credentials = spotify_credentials()
    runs = last_sync_runs(engine, limit=5)
    st.markdown(describe_run(runs[0]) if runs else "No sync has run yet.")
    if runs and runs[0].message:
        st.text(runs[0].message)  # playlist names from Spotify: plain text
    job: SyncJob | None = st.session_state.get(JOB_KEY)
    if credentials is None:
        show_connect_spotify()
    elif job is None:
        if st.button("🔄 Sync now", key="sync-now",
                     help="Reads every playlist below from Spotify. You can keep using the app meanwhile."):
            st.session_state[JOB_KEY] = start_sync(engine, credentials)
            st.rerun()
    if job is not None:
        st.fragment(show_sync_job, run_every=0.5 if job.running else None)(job)
    if len(runs) > 1:
        with st.expander("Earlier syncs"):
            for run in runs[1:]:
                st.markdown(describe_run(run))


def add_from_box(engine: Engine, emotion: str) -> None:
    """"Add" button: add the pasted playlist; on error the text stays in the box to be corrected."""
    box = f"add-text-{emotion}"
    try:
        added = add_playlist(engine, emotion, st.session_state.get(box, ""))
    except ValueError as error:  # our own sentences, never echoing the pasted text
        notify("playlists", "error", str(error), "")
        return
    except DatabaseUnavailable as error:
        notify("playlists", "error", "The playlist could not be saved.", str(error))
        return
    st.session_state[box] = ""
    notify(
        "playlists", "success", f"Added to {emotion}. It plays on the Live and Snapshot screens from now on"
        + ("." if added.verified else "; the next sync checks it with Spotify."), "")


def remove_confirmed(engine: Engine, playlist_id: str, emotion: str) -> None:
    """"Yes, remove" button."""
    st.session_state.pop(CONFIRM_KEY, None)
    try:
        remove_playlist(engine, playlist_id, emotion)
    except DatabaseUnavailable as error:
        notify("playlists", "error", "The playlist could not be removed.", str(error))
        return
    notify("playlists", "success", f"Removed the playlist from {emotion}. Paste its link again to bring it back.", "")


def notify(section: str, kind: str, sentence: str, details: str = "") -> None:
    """Leave a message for ``section`` ("sync" or "playlists") to show once, where the action happened."""
    st.session_state.setdefault(NOTICE_KEY, {})[section] = (kind, sentence, details)


def show_notice(section: str) -> None:
    """The message the last action left for ``section`` (shown once; details as plain text)."""
    notice = st.session_state.get(NOTICE_KEY, {}).pop(section, None)
    if notice:
        kind, sentence, details = notice
        {"error": st.error, "warning": st.warning, "success": st.success}[kind](sentence)
        if details:
            st.text(details)  # may hold playlist names from Spotify or file paths: plain text


def playlists_section(engine: Engine) -> None:
    """One emotion at a time: its playlists (with Remove, confirmed) and a box to add one."""
    st.subheader("Playlists per emotion")
    emotion = st.pills("Emotion", EMOTIONS, default="happy", key="lib-emotion", required=True,
                       format_func=str.capitalize) or "happy"
    playlists = list_playlists(engine, emotion)
    show_notice("playlists")
    st.caption(f"{len(playlists)} playlist(s) for {emotion}. Live and Snapshot play the first two.")
    pending = st.session_state.get(CONFIRM_KEY)
    for playlist in playlists:
        info, action = st.columns([4, 1], vertical_alignment="center")
        info.html(playlist_html(playlist))
        if pending == (playlist.id, emotion):
            info.warning(f"Remove this playlist from {emotion}?", icon="🗑️")
            yes, no = info.columns(2)
            yes.button("Yes, remove", key=f"rm-yes-{emotion}-{playlist.id}", type="primary",
                       on_click=remove_confirmed, args=(engine, playlist.id, emotion))
            no.button("Keep it", key=f"rm-no-{emotion}-{playlist.id}",
                      on_click=lambda: st.session_state.pop(CONFIRM_KEY, None))
        else:
            action.button("Remove", key=f"rm-{emotion}-{playlist.id}",
                          on_click=lambda pid=playlist.id: st.session_state.__setitem__(CONFIRM_KEY, (pid, emotion)))
    if not playlists:
        st.info(f"No playlist for {emotion} yet: Live and Snapshot play tracks from the catalogue instead.")
    st.text_input(f"Add a playlist for {emotion}", placeholder="https://open.spotify.com/playlist/…",
                  key=f"add-text-{emotion}",
                  help="In Spotify: open the playlist → Share → Copy link to playlist, then paste it here.")
    st.button("Add", key=f"add-{emotion}", on_click=add_from_box, args=(engine, emotion))


def catalogue_section(engine: Engine) -> None:
    """Search and page through every track, 50 at a time."""
    st.subheader("Catalogue")
    query_col, emotion_col = st.columns([3, 2])
    query = query_col.text_input("Search title, artist or album", key="cat-query")
    chosen = emotion_col.selectbox("Emotion", ["all", *EMOTIONS], key="cat-emotion",
                                   format_func=lambda e: "All emotions" if e == "all" else e.capitalize())
    emotion_filter = None if chosen == "all" else chosen
    total = count_tracks(engine, query, emotion_filter)
    pages = max(1, -(-total // PAGE_SIZE))
    # back to page 1 whenever the search changes
    if st.session_state.get("cat-filter") != (query, chosen):
        st.session_state["cat-filter"] = (query, chosen)
        st.session_state["cat-page"] = 1
    page = min(max(1, st.session_state.get("cat-page", 1)), pages)
    if not total:
        st.info("No tracks match: try fewer words or All emotions." if query or emotion_filter else
                "The catalogue is empty: sync playlists with Spotify to fill it.")
        return
    tracks = search_tracks(engine, query, emotion_filter, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    st.dataframe(
        catalogue_frame(tracks), hide_index=True, width="stretch",
        column_config={
            "Title": st.column_config.TextColumn("Title", pinned=True, width="medium"),
            "Artists": st.column_config.TextColumn("Artists", width="medium"),
            "Album": st.column_config.TextColumn("Album", width="medium"),
            "Popularity": st.column_config.ProgressColumn("Popularity", min_value=0, max_value=100, format="%d",
                                                          width="small"),
            "Positivity": st.column_config.NumberColumn(
                "Positivity", format="%.2f", width="small",
                help="How happy the music sounds, from 0 (sad, angry) to 1 (cheerful); Spotify's valence."),
            "Energy": st.column_config.NumberColumn("Energy", format="%.2f", width="small",
                                                    help="From 0 (calm) to 1 (intense)."),
            "Spotify": st.column_config.LinkColumn("Spotify", display_text="Open", width="small"),
        },
    )
    back, where, forward = st.columns([1, 2, 1], vertical_alignment="center")
    back.button("◀ Previous", key="cat-prev", disabled=page <= 1, width="stretch",
                on_click=lambda: st.session_state.__setitem__("cat-page", page - 1))
    where.markdown(f"<div style='text-align:center'>{page_range(page, PAGE_SIZE, total)}</div>",
                   unsafe_allow_html=True)
    forward.button("Next ▶", key="cat-next", disabled=page >= pages, width="stretch",
                   on_click=lambda: st.session_state.__setitem__("cat-page", page + 1))


try:
    with st.container(key="card-sync"):
        sync_section(engine)
    with st.container(key="card-playlists"):
        playlists_section(engine)
    with st.container(key="card-catalogue"):
        catalogue_section(engine)
except DatabaseUnavailable as error:
    st.error(f"The music database is unavailable: {error}", icon="🗄️")
