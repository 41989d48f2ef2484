"""What the Library screen reads and shows: playlists, the "Sync now" job, sync runs, the catalogue.

Playlist names come from Spotify (anyone can name a playlist ``![x](http://tracker/px.png)``), so they are
only ever shown as plain text (``st.text``) or escaped HTML, never as Markdown.
"""

from __future__ import annotations

import html
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

import config
from emotion.labels import EMOTIONS
from recommender.catalog import count_tracks, search_tracks
from recommender.errors import DatabaseUnavailable
from recommender.models import Playlist, Track
from recommender.playlists import add_playlist, list_playlists, remove_playlist
from recommender.scheduler import ScheduleOutcome, sync_with_lease
from recommender.spotify import RetryPolicy, RunLimits, SpotifyCredentials
from recommender.spotify_check import (
    ENVIRONMENT,
    RATE_LIMITED,
    REJECTED,
    SECRETS,
    TIMED_OUT,
    UNREACHABLE,
    WORKS,
    ConnectionCheck,
    KeySources,
    check_connection,
    find_keys,
)
from recommender.sync import SyncRun, last_sync_runs
from ui.settings import secrets_mapping, spotify_credentials
from ui.style import link_html

log = logging.getLogger(__name__)

STATUS_WORDS: dict[str, str] = {
    # Material icons: they render without an emoji font
    "success": ":material/check_circle: Finished", "partial": ":material/warning: Partly done",
    "failed": ":material/error: Failed", "no_credentials": ":material/key: Not configured",
    "running": ":material/hourglass_top: Running", "interrupted": ":material/block: Interrupted",
    "abandoned": ":material/block: Abandoned", "cancelled": ":material/stop_circle: Cancelled",
}
# A click in the browser must not hang on Spotify: short timeouts, few retries, at most 5 s on a rate
# limit, and the whole run within config.INTERACTIVE_SYNC_DEADLINE_S (the rest waits for the next sync).
INTERACTIVE_POLICY = RetryPolicy(max_retry_after_s=5, attempts=3, timeout_s=min(config.SPOTIFY_TIMEOUT_S, 5.0),
                                 retry_budget_s=20)

DASHBOARD_URL = "https://developer.spotify.com/dashboard"
REDIRECT_URI = "http://127.0.0.1:8888/callback"
JOB_KEY = "library-sync-job"
NOTICE_KEY = "library-notice"  # {section: (kind, sentence, details or "")}, shown once after an action
CONFIRM_KEY = "library-confirm-remove"  # (playlist id, emotion) waiting for "Yes, remove"
CHECK_KEY = "library-connection-check"  # the last "Test connection" answer: (kind, sentence)
PAGE_SIZE = 50


def when(moment: datetime | None) -> str:
    """A short UTC timestamp, or "never"."""
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def describe_run(run: SyncRun) -> str:
    """One sentence about a past sync: outcome, when, how many playlists and tracks (no names in it)."""
    problems = run.playlists_refused + run.playlists_deferred + run.playlists_failed
    return (
        f"{STATUS_WORDS.get(run.status, run.status)}: sync started {when(run.started_at)} "
        f"({run.trigger or 'manual'}). {run.playlists_synced} playlist(s) updated, {run.playlists_skipped} "
        f"unchanged, {problems} with problems; {run.tracks_upserted} tracks stored."
    )


def playlist_status(playlist: Playlist) -> str:
    """Whether the playlist is known to exist: embed-only, verified by a sync, or not verified yet."""
    if playlist.embed_only:
        return ("Spotify's own playlist: it plays on Live and Snapshot, but Spotify doesn't let apps read its "
                "tracks, so it is not synced.")
    if playlist.verified:
        return f"✓ Verified by the sync of {when(playlist.last_synced)} · {playlist.track_count} tracks."
    return ("Not verified yet: Moodtune hasn't read this playlist from Spotify. It plays if the link is right; "
            "the next sync checks it.")


def playlist_html(playlist: Playlist) -> str:
    """The playlist's name as an escaped link, with its status (untrusted text never becomes markup)."""
    return (
        f"{link_html(playlist.name, playlist.open_url)}"
        f'<div class="mt-muted">{html.escape(playlist_status(playlist))}</div>'
    )


@dataclass(eq=False)
class SyncJob:
    """A "Sync now" running on its own thread: its progress, its cancel switch and, at the end, its outcome."""

    limits: RunLimits
    fraction: float = 0.0
    message: str = "Starting the sync…"
    outcome: ScheduleOutcome | None = None
    error: str | None = None
    thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        """True until the thread has finished."""
        return self.thread is not None and self.thread.is_alive()

    def cancel(self) -> None:
        """Ask the sync to stop; the request in flight is cut short, so it stops within a second or two."""
        self.limits.cancel.set()


def start_sync(engine: Engine, credentials: SpotifyCredentials,
               deadline_s: float = config.INTERACTIVE_SYNC_DEADLINE_S) -> SyncJob:
    """Start a manual sync off the script thread (the page polls the returned job)."""
    job = SyncJob(RunLimits.within(deadline_s))

    def progress(fraction: float, message: str) -> None:
        job.fraction, job.message = fraction, message

    def run() -> None:
        try:
            job.outcome = sync_with_lease(engine, credentials, progress, trigger="manual",
                                          policy=INTERACTIVE_POLICY, limits=job.limits)
        except DatabaseUnavailable as error:
            job.error = f"The sync could not use the music database. {error}"
        except Exception as error:  # noqa: BLE001 - the page shows a sentence; the log gets the details
            log.warning("manual sync failed: %s: %s", type(error).__name__, error)
            log.debug("manual sync failed", exc_info=True)
            job.error = "The sync stopped because of an unexpected error; the server log has the details."

    job.thread = threading.Thread(target=run, name="moodtune-sync-now", daemon=True)
    job.thread.start()
    return job


def catalogue_frame(tracks: list[Track]) -> pd.DataFrame:
    """Tracks as a table for ``st.dataframe`` (text stays text: no HTML or Markdown is interpreted).

    Audio features are rounded to two decimals; unknown values stay empty.
    """
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 2)

    return pd.DataFrame(
        {
            "Title": [t.name for t in tracks],
            "Artists": [t.artists for t in tracks],
            "Album": [t.album for t in tracks],
            "Popularity": [t.popularity for t in tracks],
            "Positivity": [rounded(t.valence) for t in tracks],
            "Energy": [rounded(t.energy) for t in tracks],
            "Spotify": [t.open_url for t in tracks],
        }
    )


def page_range(page: int, page_size: int, total: int) -> str:
    """ "Tracks 51–100 of 14,464" for a 1-based page."""
    first = (page - 1) * page_size + 1
    return f"Tracks {first:,}–{min(total, page * page_size):,} of {total:,}"


def secrets_file() -> Path:
    """The secrets file Streamlit reads for this app (the project's ``.streamlit/secrets.toml``)."""
    try:
        files = st.get_option("secrets.files")
    except Exception:  # noqa: BLE001 - an unknown option in another Streamlit version: the usual place
        files = None
    return Path(files[-1]).resolve() if files else config.ROOT / ".streamlit" / "secrets.toml"


def show_key_steps() -> None:
    """The numbered steps to Spotify keys: what to copy from where, into which file and lines, then what."""
    st.markdown(
        f"1. **Create a Spotify app.** Open the [Spotify developer dashboard]({DASHBOARD_URL}) and log in with "
        "your Spotify account. Choose **Create app**, give it any name and description, enter "
        f"`{REDIRECT_URI}` as **Redirect URI**, tick **Web API**, accept the terms and press **Save**.\n"
        "2. **Copy the two keys.** In your new app, open **Settings**. Copy the **Client ID**; then press "
        "**View client secret** and copy the **Client secret**. Keep the secret to yourself, like a password.\n"
        f"3. **Paste them into Moodtune's secrets file**, `{secrets_file()}`: in the Moodtune folder, the "
        "folder `.streamlit` (its name starts with a dot), the text file `secrets.toml`; create it if it is "
        "not there. Put in these two lines, replacing the words between the quotes with the keys (keep the "
        "quotes), and save the file:"
    )
    st.code('SPOTIPY_CLIENT_ID = "paste the Client ID here"\n'
            'SPOTIPY_CLIENT_SECRET = "paste the Client secret here"', language="toml", wrap_lines=True)
    st.markdown(
        "4. **Restart Moodtune** so that it reads the file: in the window where it runs, press **Ctrl+C**, "
        "then start it again with `streamlit run app.py`. On **Streamlit Community Cloud**, paste the same two "
        "lines into your app's **Settings → Secrets** instead and save; the app picks them up within a "
        "minute.\n"
        "5. **Press Test connection**: it says whether Moodtune found the keys and whether Spotify accepts "
        "them.",
    )


def show_connect_spotify() -> None:
    """The way to Spotify keys for someone who has never seen a developer dashboard, with Test connection."""
    st.markdown("**Connect Spotify to keep these playlists up to date** (optional).")
    show_key_steps()
    connection_button()
    connection_answer_box()
    st.markdown(
        "**Meanwhile everything else works:** every playlist below plays on the Live and Snapshot screens, "
        "which pick music from the built-in catalogue. Only reading your playlists' track lists into Moodtune "
        "waits for the keys."
    )
    with st.expander("For developers: your own playlists and the command line"):
        st.markdown(
            "Since 2026, Spotify lets a new app read only playlists its user owns or collaborates on. To sync "
            "your own playlists, run `python -m recommender.authorize` once (it prints "
            "`MOODTUNE_SPOTIFY_REFRESH_TOKEN`, which goes beside the two keys). The same keys work as "
            "environment variables. `python -m recommender.cli` syncs from the command line or cron "
            "(`--if-due --quiet` for a daily job); `--history 5` lists past syncs."
        )


KEY_NAMES = (("Client ID", "client_id"), ("Client secret", "client_secret"), ("refresh token", "refresh_token"))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def where_keys_are(found: KeySources, path: Path) -> str:
    """ "the Client ID and the Client secret in the secrets file (`…`)": where each key was found, no value."""
    places = {SECRETS: f"the secrets file (`{path}`)", ENVIRONMENT: "the environment variables"}
    by_place: dict[str, list[str]] = {}
    for label, attribute in KEY_NAMES:
        source = getattr(found, attribute)
        if source is not None:
            by_place.setdefault(source, []).append(f"the {label}")
    return "; ".join(f"{_and(labels)} in {places[source]}" for source, labels in by_place.items())


def wait_words(seconds: float | None) -> str:
    """ "about 2 minutes": how long Spotify asked to wait, in plain words."""
    if seconds is None:
        return "a few minutes"
    if seconds < 90:
        return f"{max(1, round(seconds))} seconds"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} minutes"
    return f"about {round(seconds / 3600)} hours"


def connection_answer(found: KeySources, check: ConnectionCheck | None, path: Path) -> tuple[str, str]:
    """What "Test connection" says: ("success" | "warning" | "error", a Markdown sentence without any key)."""
    if not found.usable:
        if found.client_id is None and found.client_secret is None and found.refresh_token is None:
            state = "which is there" if path.is_file() else "which does not exist yet"
            return "warning", (
                f"**No Spotify keys found.** Moodtune looked in the secrets file `{path}` ({state}) and in the "
                "environment variables `SPOTIPY_CLIENT_ID` and `SPOTIPY_CLIENT_SECRET`. Follow steps 1–4, "
                "then press Test connection again.")
        missing = "Client ID (`SPOTIPY_CLIENT_ID`)" if found.client_id is None else \
            "Client secret (`SPOTIPY_CLIENT_SECRET`)"
        return "warning", (f"**Only part of the keys found:** {where_keys_are(found, path)}, but no {missing}. "
                           "Add its line to the secrets file as in step 3, save, and restart Moodtune.")
    found_words = f"Found {where_keys_are(found, path)}."
    if check is None:  # usable keys are always checked; nothing more to say without an answer
        return "success", found_words
    if check.outcome == WORKS:
        speed = f"in {check.seconds:.1f} s" if check.seconds >= 0.1 else "at once"
        return "success", (f"**It works: Spotify accepted the keys** (answered {speed}). {found_words} "
                           "Sync now can talk to Spotify.")
    if check.outcome == REJECTED:
        if check.reason == "invalid_grant":
            return "error", (f"**Spotify rejected the refresh token** (invalid grant). {found_words} It was revoked "
                             "or belongs to another app: run `python -m recommender.authorize` again and store "
                             "the new `MOODTUNE_SPOTIFY_REFRESH_TOKEN`.")
        return "error", (f"**Spotify rejected the keys** ({(check.reason or 'invalid client').replace('_', ' ')}): "
                         f"the Client ID or the Client secret is wrong. {found_words} Copy both again from your "
                         "app's Settings on the Spotify dashboard, paste them between the quotes, save and "
                         "restart Moodtune.")
    unchecked = "The keys could not be checked; everything else in Moodtune works meanwhile."
    if check.outcome == RATE_LIMITED:
        return "warning", (f"**Spotify is rate limiting these keys:** too many requests lately. Try again in "
                           f"{wait_words(check.retry_after_s)}. {found_words} {unchecked}")
    if check.outcome == TIMED_OUT:
        return "warning", (f"**Spotify did not answer in time** ({check.host} gave no answer within "
                           f"{check.seconds:.0f} s). Try again in a minute. {found_words} {unchecked}")
    if check.outcome == UNREACHABLE:
        return "warning", (f"**Spotify could not be reached** ({check.host}): the computer running Moodtune "
                           f"may be offline, or a firewall blocks it. {found_words} {unchecked}")
    status = f" (it answered {check.status})" if check.status else ""
    return "warning", (f"**Spotify's sign-in service had a problem**{status}. Try again in a few minutes. "
                       f"{found_words} {unchecked}")


def run_connection_test() -> tuple[str, str]:
    """Find the keys (secrets, then the environment) and, if they allow it, ask Spotify for one token."""
    secrets = secrets_mapping()
    found = find_keys(secrets, os.environ)
    credentials = SpotifyCredentials.from_mapping({**os.environ, **secrets})
    check = None
    if found.usable and credentials is not None:
        with st.spinner(f"Asking Spotify (at most {config.SPOTIFY_CHECK_TIMEOUT_S:g} s)…"):
            check = check_connection(credentials)
    return connection_answer(found, check, secrets_file())


def connection_button() -> None:
    """The "Test connection" button: a press runs the test and keeps its answer for ``connection_answer_box``."""
    if st.button("Test connection", icon=":material/network_check:", key="test-connection",
                 help="Checks whether Moodtune finds your Spotify keys and whether Spotify accepts them."):
        st.session_state[CHECK_KEY] = run_connection_test()


def connection_answer_box() -> None:
    """The last "Test connection" answer (kept until the next press)."""
    answer = st.session_state.get(CHECK_KEY)
    if answer:
        kind, sentence = answer
        with st.container(key="connection-answer"):
            {"error": st.error, "warning": st.warning, "success": st.success}[kind](sentence)


def show_sync_job(job: SyncJob) -> None:
    """Progress and Cancel while the job runs; its outcome once, as plain text, when it has finished."""
    if job.running:
        st.progress(job.fraction)
        st.text(job.message)  # holds a playlist name from Spotify: plain text only
        if st.button("Cancel sync", key="sync-cancel", disabled=job.limits.cancel.is_set()):
            job.cancel()
        if job.limits.cancel.is_set():
            st.caption("Cancelling: the request in progress is cut short; the sync stops within a second or two.")
        return
    del st.session_state[JOB_KEY]
    if job.error:
        notify("sync", "error", "The sync did not run to the end.", job.error)
    elif job.outcome is not None and job.outcome.report is None:
        notify("sync", "warning", job.outcome.reason, "")
    elif job.outcome is not None and job.outcome.report is not None:
        report = job.outcome.report
        headline = ("The sync finished." if report.ok else "The sync was cancelled; details below."
                    if report.status == "cancelled" else "The sync finished with problems; details below.")
        notify("sync", "success" if report.ok else "warning", headline)  # the details follow as the last sync
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
        with st.container(horizontal=True, key="sync-buttons"):
            if st.button("Sync now", icon=":material/sync:", key="sync-now",
                         help="Reads every playlist below from Spotify. You can keep using the app meanwhile."):
                st.session_state[JOB_KEY] = start_sync(engine, credentials)
                st.rerun()
            connection_button()
        connection_answer_box()
        with st.expander("How to set or change the Spotify keys"):
            show_key_steps()
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


def unlinked_examples(sentence: str) -> str:
    """Example addresses cut short with "…" as code, so Markdown does not make them dead links."""
    return re.sub(r"(https?://\S*…)", r"`\1`", sentence)


def show_notice(section: str) -> None:
    """The message the last action left for ``section`` (shown once; details as plain text)."""
    notice = st.session_state.get(NOTICE_KEY, {}).pop(section, None)
    if notice:
        kind, sentence, details = notice
        {"error": st.error, "warning": st.warning, "success": st.success}[kind](unlinked_examples(sentence))
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
            info.warning(f"Remove this playlist from {emotion}?", icon=":material/delete:")
            yes, no, _ = info.columns([1, 1, 2])
            yes.button("Yes, remove", key=f"rm-yes-{emotion}-{playlist.id}", type="primary",
                       on_click=remove_confirmed, args=(engine, playlist.id, emotion))
            no.button("Keep it", key=f"rm-no-{emotion}-{playlist.id}",
                      on_click=lambda: st.session_state.pop(CONFIRM_KEY, None))
        else:
            action.button("Remove", key=f"rm-{emotion}-{playlist.id}",
                          on_click=lambda pid=playlist.id: st.session_state.__setitem__(CONFIRM_KEY, (pid, emotion)))
    if not playlists:
        st.info(f"No playlist for {emotion} yet: Live and Snapshot play tracks from the catalogue instead.")
    with st.form(key=f"add-form-{emotion}", border=False, enter_to_submit=True):  # Enter adds, like the button
        st.text_input(f"Add a playlist for {emotion}", placeholder="https://open.spotify.com/playlist/…",
                      key=f"add-text-{emotion}",
                      help="In Spotify: open the playlist → Share → Copy link to playlist, then paste it here.")
        st.form_submit_button("Add", key=f"add-{emotion}", on_click=add_from_box, args=(engine, emotion))


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
            # widths in pixels that add up to less than the page at 1280 px (nothing cut off); on a phone
            # the title stays pinned while the rest scrolls sideways
            "Title": st.column_config.TextColumn("Title", pinned=True, width=190),
            "Artists": st.column_config.TextColumn("Artists", width=140),
            "Album": st.column_config.TextColumn("Album", width=130),
            "Popularity": st.column_config.ProgressColumn("Popularity", min_value=0, max_value=100, format="%d",
                                                          width=85),
            "Positivity": st.column_config.NumberColumn(
                "Positivity", format="%.2f", width=75,
                help="How happy the music sounds, from 0 (sad, angry) to 1 (cheerful); Spotify's valence."),
            "Energy": st.column_config.NumberColumn("Energy", format="%.2f", width=60,
                                                    help="From 0 (calm) to 1 (intense)."),
            "Spotify": st.column_config.LinkColumn("Spotify", display_text="Open", width=60),
        },
    )
    back, where, forward = st.columns([1, 2, 1], vertical_alignment="center")
    back.button("◀ Previous", key="cat-prev", disabled=page <= 1, width="stretch",
                on_click=lambda: st.session_state.__setitem__("cat-page", page - 1))
    where.markdown(f"<div style='text-align:center'>{page_range(page, PAGE_SIZE, total)}</div>",
                   unsafe_allow_html=True)
    forward.button("Next ▶", key="cat-next", disabled=page >= pages, width="stretch",
                   on_click=lambda: st.session_state.__setitem__("cat-page", page + 1))
