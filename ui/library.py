"""What the Library screen reads and shows: playlists, the "Sync now" job, sync runs, the catalogue.

Playlist names come from Spotify (anyone can name a playlist ``![x](http://tracker/px.png)``), so they are
only ever shown as plain text (``st.text``) or escaped HTML, never as Markdown.
"""

from __future__ import annotations

import html
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine

import config
from recommender.errors import DatabaseUnavailable
from recommender.models import Playlist, Track
from recommender.scheduler import ScheduleOutcome, sync_with_lease
from recommender.spotify import RetryPolicy, RunLimits, SpotifyCredentials
from recommender.sync import SyncRun
from ui.style import link_html

log = logging.getLogger(__name__)

STATUS_WORDS: dict[str, str] = {
    "success": "✅ Finished", "partial": "⚠️ Partly done", "failed": "❌ Failed",
    "no_credentials": "🔑 Not configured", "running": "⏳ Running", "interrupted": "⛔ Interrupted",
    "abandoned": "⛔ Abandoned",
}
# A click in the browser must not hang on Spotify: short timeouts, few retries, at most 5 s on a rate
# limit, and the whole run within config.INTERACTIVE_SYNC_DEADLINE_S (the rest waits for the next sync).
INTERACTIVE_POLICY = RetryPolicy(max_retry_after_s=5, attempts=3, timeout_s=min(config.SPOTIFY_TIMEOUT_S, 8.0),
                                 retry_budget_s=20)

DASHBOARD_URL = "https://developer.spotify.com/dashboard"
REDIRECT_URI = "http://127.0.0.1:8888/callback"


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
        return "Spotify's own playlist: it plays here, but Spotify doesn't let apps read its tracks, so it is not synced."
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
        """Ask the sync to stop; it does within a second or one request's timeout."""
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
