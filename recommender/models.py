"""Values that travel between the recommender and the app: tracks, seed songs, playlists, results.

Tracks always have a Spotify id (the database's primary key), so they can be embedded. The original
prototype's song lists have names only; they are kept as ``SeedSong`` values whose link opens a Spotify
*search* for the title and artist instead of guessing an id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

OPEN_SPOTIFY = "https://open.spotify.com"
# Spotify's own (editorial, chart) playlists: since November 2024 new API apps may not read them, so they
# are never synced; their embed player still plays in the browser.
SPOTIFY_OWNED_PREFIX = "37i9dQZ"


def is_embed_only(playlist_id: str) -> bool:
    """True for a playlist that can be embedded but never synced (a Spotify-owned one)."""
    return playlist_id.startswith(SPOTIFY_OWNED_PREFIX)


@dataclass(frozen=True, slots=True)
class Track:
    """A Spotify track. Audio features are None where unknown (tracks only seen through a sync).

    ``artists`` is a display string ("Artist A, Artist B"); ``popularity`` is 0–100.
    """

    id: str
    name: str
    artists: str
    album: str
    popularity: int | None = None
    valence: float | None = None
    energy: float | None = None
    danceability: float | None = None
    tempo: float | None = None
    duration_ms: int | None = None
    image_url: str | None = None

    @property
    def embed_url(self) -> str:
        """URL of Spotify's embeddable player for this track (works in a browser, no API key)."""
        return f"{OPEN_SPOTIFY}/embed/track/{self.id}"

    @property
    def open_url(self) -> str:
        """URL that opens the track on open.spotify.com / in the Spotify app."""
        return f"{OPEN_SPOTIFY}/track/{self.id}"

    @property
    def has_features(self) -> bool:
        """True when valence and energy are known (the track can be placed in mood space)."""
        return self.valence is not None and self.energy is not None


@dataclass(frozen=True, slots=True)
class SeedSong:
    """A song from the prototype's per-emotion lists: title and artist, no Spotify id."""

    emotion: str
    name: str
    artist: str
    album: str = ""

    @property
    def search_url(self) -> str:
        """A Spotify search for "title artist" (there is no id to link to directly)."""
        return f"{OPEN_SPOTIFY}/search/{quote(f'{self.name} {self.artist}', safe='')}"


@dataclass(frozen=True, slots=True)
class Playlist:
    """A Spotify playlist serving one emotion (one playlist may be stored for several emotions)."""

    id: str
    emotion: str
    name: str
    last_synced: datetime | None = None
    snapshot_id: str | None = None
    track_count: int = 0

    @property
    def embed_only(self) -> bool:
        """True when Spotify will not let the sync read it (it still plays as an embed)."""
        return is_embed_only(self.id)

    @property
    def verified(self) -> bool:
        """True once a sync has read it from Spotify (an id that merely looks right is not verified)."""
        return self.last_synced is not None

    @property
    def embed_url(self) -> str:
        """URL of Spotify's embeddable player for this playlist."""
        return f"{OPEN_SPOTIFY}/embed/playlist/{self.id}"

    @property
    def open_url(self) -> str:
        """URL that opens the playlist on open.spotify.com / in the Spotify app."""
        return f"{OPEN_SPOTIFY}/playlist/{self.id}"


@dataclass(frozen=True, slots=True)
class Recommendation:
    """What to play for an emotion: its playlists, ranked tracks, and a few of the prototype's songs.

    In ``mode == "lift"`` the tracks are ordered from the emotion's point toward the calm, positive
    target (play them in order); in ``"match"`` mode the closest come first. ``reasons`` maps a track id
    to a few words on why it was chosen ("slow, acoustic, melancholy").
    """

    emotion: str
    mode: str
    playlists: list[Playlist] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)
    seed_songs: list[SeedSong] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
