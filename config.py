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
# where the face square lies relative to the detector box: written by `python -m emotion.calibrate`
CROP_GEOMETRY_PATH: Path = MODELS_DIR / "crop_geometry.json"
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
LIVE_REFRESH_S: float = 0.5  # how often the Live screen reads the webcam results
# seconds without video before the Live screen says the connection failed
LIVE_CONNECT_TIMEOUT_S: float = float(os.environ.get("MOODTUNE_LIVE_CONNECT_TIMEOUT_S", "15"))
# "0" keeps the app from starting the weekly background sync thread (tests, read-only deployments)
START_SCHEDULER: bool = os.environ.get("MOODTUNE_SCHEDULER", "1") != "0"
