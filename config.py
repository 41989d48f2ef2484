"""Paths and settings for Moodtune: the one place they are defined.

Every value that a user may want to change can be overridden with an environment variable
(named next to it). ``emotion/`` and ``recommender/`` read their settings from here.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT: Path = Path(__file__).resolve().parent
MODELS_DIR: Path = ROOT / "models"
DATA_DIR: Path = ROOT / "data"
BENCH_DIR: Path = ROOT / "bench"

# ../shared beside the project root holds FER2013 and the raw catalogue sources (not shipped with the app).
SHARED_DIR: Path = Path(os.environ.get("MOODTUNE_SHARED_DIR", ROOT.parent / "shared"))
FER2013_PATH: Path = Path(os.environ.get("MOODTUNE_FER2013", SHARED_DIR / "data" / "fer2013.npz"))
TEST_FACES_DIR: Path = SHARED_DIR / "testdata" / "faces"

# --- emotion engine -------------------------------------------------------------------------------
YUNET_PATH: Path = MODELS_DIR / "face_detection_yunet.onnx"
KERAS_MODEL_PATH: Path = MODELS_DIR / "emotion_cnn.keras"
TFLITE_MODEL_PATH: Path = MODELS_DIR / "emotion_cnn.tflite"
METRICS_PATH: Path = MODELS_DIR / "metrics.json"
HISTORY_PATH: Path = MODELS_DIR / "history.csv"
CHECKPOINT_DIR: Path = Path(os.environ.get("MOODTUNE_CHECKPOINT_DIR", ROOT / "checkpoints"))

# --- recommender ----------------------------------------------------------------------------------
DEFAULT_DB_PATH: Path = DATA_DIR / "moodtune.db"
DB_URL: str = os.environ.get("MOODTUNE_DB_URL", f"sqlite:///{DEFAULT_DB_PATH}")
CATALOGUE_PATH: Path = DATA_DIR / "catalogue.csv.gz"
SPOTIFY_API_URL: str = os.environ.get("MOODTUNE_SPOTIFY_API_URL", "https://api.spotify.com/v1/")
SPOTIFY_TOKEN_URL: str = os.environ.get(
    "MOODTUNE_SPOTIFY_TOKEN_URL", "https://accounts.spotify.com/api/token"
)
SYNC_INTERVAL_DAYS: float = float(os.environ.get("MOODTUNE_SYNC_INTERVAL_DAYS", "7"))

# recommender: extra knobs (added by the recommender package; all optional)
SEED_SONGS_PATH: Path = DATA_DIR / "seed_songs.csv"
SEED_PLAYLISTS_PATH: Path = DATA_DIR / "seed_playlists.csv"
# JSON file overriding the emotion -> (valence, energy) points, e.g. {"sad": [0.2, 0.3], "lift_target": [0.8, 0.3]}
MOODS_PATH: str | None = os.environ.get("MOODTUNE_MOODS_FILE") or None
DB_BUSY_TIMEOUT_S: float = float(os.environ.get("MOODTUNE_DB_BUSY_TIMEOUT_S", "5"))
SPOTIFY_TIMEOUT_S: float = float(os.environ.get("MOODTUNE_SPOTIFY_TIMEOUT_S", "10"))
# longest Retry-After (seconds) the sync waits for; anything longer is deferred to a later run
SPOTIFY_MAX_RETRY_AFTER_S: float = float(os.environ.get("MOODTUNE_SPOTIFY_MAX_RETRY_AFTER_S", "30"))

# --- app (Streamlit UI; added by the app: app.py, pages/, ui/) ---------------------------------------
# largest photo the Snapshot screen accepts, in MB (Streamlit's server.maxUploadSize is set above it)
UPLOAD_MAX_MB: int = int(os.environ.get("MOODTUNE_UPLOAD_MAX_MB", "8"))
# WebRTC ICE servers when neither st.secrets["ice_servers"] nor MOODTUNE_ICE_SERVERS (a JSON list) is set
DEFAULT_ICE_SERVERS: tuple[dict[str, object], ...] = ({"urls": ["stun:stun.l.google.com:19302"]},)
ICE_SERVERS_JSON: str | None = os.environ.get("MOODTUNE_ICE_SERVERS") or None
APP_TRACKS: int = int(os.environ.get("MOODTUNE_APP_TRACKS", "8"))  # tracks shown per recommendation
LIVE_REFRESH_S: float = 1.0  # how often a streaming Live screen reads the webcam results (not at all when idle)
# seconds without video before the Live screen says the connection failed
LIVE_CONNECT_TIMEOUT_S: float = float(os.environ.get("MOODTUNE_LIVE_CONNECT_TIMEOUT_S", "15"))
# "0" keeps the app from starting the weekly background sync thread (tests, read-only deployments)
START_SCHEDULER: bool = os.environ.get("MOODTUNE_SCHEDULER", "1") != "0"

# --- music pacing (Live screen; recommender/pacing.py) ----------------------------------------------
# How long a new mood must hold before the Live screen's music follows it. 15 s: a frown or a laugh
# (< 5 s) never stops the song, and a real change of mood (with ~2 s of smoothing) has new music well
# within 30 s. Accepted range 5..25 s; anything else names the setting and uses the default.
MUSIC_DWELL_DEFAULT_S: float = 15.0
MUSIC_DWELL_RANGE_S: tuple[float, float] = (5.0, 25.0)


def _music_dwell_s(raw: str | None) -> float:
    """``MOODTUNE_MUSIC_DWELL_S`` as seconds within ``MUSIC_DWELL_RANGE_S``; the default (with a warning) if not."""
    if raw is None or not raw.strip():
        return MUSIC_DWELL_DEFAULT_S
    low, high = MUSIC_DWELL_RANGE_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also false for nan
        import logging

        logging.getLogger(__name__).warning(
            "MOODTUNE_MUSIC_DWELL_S=%r is not a number of seconds from %g to %g: using %g",
            raw, low, high, MUSIC_DWELL_DEFAULT_S)
        return MUSIC_DWELL_DEFAULT_S
    return value


MUSIC_DWELL_S: float = _music_dwell_s(os.environ.get("MOODTUNE_MUSIC_DWELL_S"))
# frames per second the Live screen analyses per session (the rest are shown with the last boxes)
LIVE_ANALYSIS_FPS: float = 6.0
# width (px) of the annotated video sent back to the browser: VP8 at 320x240 costs ~1/4 of 640x480
LIVE_RETURN_WIDTH: int = 320
