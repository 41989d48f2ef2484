"""What the Library screen reads and shows: playlists, sync runs, the browsable catalogue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine

from recommender.models import Playlist, Track
from recommender.spotify import RetryPolicy, SpotifyCredentials
from recommender.sync import SyncReport, SyncRun, sync_all
from ui.style import link_html

STATUS_ICONS: dict[str, str] = {
    "success": "✅", "partial": "⚠️", "failed": "❌", "no_credentials": "🔑", "running": "⏳", "interrupted": "⛔",
}
# a click in the browser must not hang on Spotify's hour-long Retry-After: defer instead
INTERACTIVE_POLICY = RetryPolicy(max_retry_after_s=5)


def when(moment: datetime | None) -> str:
    """A short UTC timestamp, or "never"."""
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def describe_run(run: SyncRun) -> str:
    """One line about a past sync: status, when, how many playlists and tracks."""
    icon = STATUS_ICONS.get(run.status, "•")
    return (
        f"{icon} **{run.status}** — started {when(run.started_at)} ({run.trigger or 'manual'}), "
        f"{run.playlists_synced} synced, {run.playlists_skipped} unchanged, "
        f"{run.playlists_refused + run.playlists_deferred + run.playlists_failed} with problems, "
        f"{run.tracks_upserted} tracks stored"
    )


def playlist_html(playlist: Playlist) -> str:
    """The playlist's name as an escaped link, with its track count and last sync."""
    return (
        f"{link_html(playlist.name, playlist.open_url)}"
        f'<div class="mt-muted">{playlist.track_count} tracks · synced {when(playlist.last_synced)}</div>'
    )


def sync_now(engine: Engine, credentials: SpotifyCredentials | None,
             progress: Callable[[float, str], None]) -> SyncReport:
    """Run a manual sync with the interactive retry policy (waits at most 5 s on a rate limit)."""
    return sync_all(engine, credentials, progress=progress, trigger="manual", policy=INTERACTIVE_POLICY)


def catalogue_frame(tracks: list[Track]) -> pd.DataFrame:
    """Tracks as a table for ``st.dataframe`` (which shows text as text: no HTML is interpreted)."""
    return pd.DataFrame(
        {
            "Title": [t.name for t in tracks],
            "Artists": [t.artists for t in tracks],
            "Album": [t.album for t in tracks],
            "Popularity": [t.popularity for t in tracks],
            "Valence": [t.valence for t in tracks],
            "Energy": [t.energy for t in tracks],
            "Spotify": [t.open_url for t in tracks],
        }
    )
