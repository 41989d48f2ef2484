"""Paths and settings for Moodtune: the one place they are defined, validated once at start-up.

Every value that a user may want to change can be overridden with an environment variable (named next to
it). ``emotion/`` and ``recommender/`` read their settings from here.

A bad value (``abc`` where a number belongs, ``0`` or a negative count, ``nan``/``inf``, a moods file that
is not valid JSON of the right shape) never stops the app: the default is used instead and the problem is
described in ``SETTINGS_PROBLEMS`` (the app shows it once; the command-line tools exit with it, see
``exit_on_settings_problems``).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from emotion.labels import EMOTIONS

ROOT: Path = Path(__file__).resolve().parent
MODELS_DIR: Path = ROOT / "models"
DATA_DIR: Path = ROOT / "data"
BENCH_DIR: Path = ROOT / "bench"

# One sentence per setting that was refused (the default is used instead). Filled while this module loads.
SETTINGS_PROBLEMS: list[str] = []


def _problem(name: str, raw: str, why: str, default: object) -> None:
    SETTINGS_PROBLEMS.append(f"{name}={raw!r} {why}; using the default ({default}).")


def _number(name: str, default: float, *, minimum: float, maximum: float = math.inf,
            exclusive_minimum: bool = False) -> float:
    """A finite number from the environment variable ``name`` within the limits, else ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        _problem(name, raw, "is not a number", f"{default:g}")
        return default
    if not math.isfinite(value):
        _problem(name, raw, "is not a finite number", f"{default:g}")
        return default
    too_small = value <= minimum if exclusive_minimum else value < minimum
    if too_small or value > maximum:
        low = f"more than {minimum:g}" if exclusive_minimum else f"at least {minimum:g}"
        high = "" if math.isinf(maximum) else f" and at most {maximum:g}"
        _problem(name, raw, f"must be {low}{high}", f"{default:g}")
        return default
    return value


def _whole(name: str, default: int, *, minimum: int, maximum: int = 10**9) -> int:
    """A whole number from the environment variable ``name`` within the limits, else ``default``."""
    raw = os.environ.get(name, "").strip()
    value = _number(name, float(default), minimum=minimum, maximum=maximum)
    if raw and value != default and not value.is_integer():
        _problem(name, raw, "must be a whole number", default)
        return default
    return int(value)


def _flag(name: str, default: bool) -> bool:
    """A yes/no setting: 1/0, true/false, yes/no, on/off."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    _problem(name, raw, "is not 1/0 (or true/false)", "1" if default else "0")
    return default


def _moods_file(name: str) -> str | None:
    """The moods JSON file, if it exists and holds {emotion or "lift_target": [valence, energy]} in [0, 1]."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    why = None
    try:
        data = json.loads(Path(raw).read_text(encoding="utf-8"))
    except OSError as error:
        why = f"cannot be read ({error.strerror or error})"
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        why = f"is not valid JSON ({error})"
    else:
        aliases = {"disgusted": "disgust", "fearful": "fear", "surprised": "surprise"}
        if not isinstance(data, dict):
            why = 'must hold a JSON object such as {"sad": [0.2, 0.3]}'
        for key, value in data.items() if isinstance(data, dict) else ():
            known = key == "lift_target" or aliases.get(str(key).lower(), str(key).lower()) in EMOTIONS
            numbers = (isinstance(value, list) and len(value) == 2
                       and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value))
            if not known:
                why = f"names an unknown emotion {key!r} (expected {', '.join(EMOTIONS)} or lift_target)"
            elif not numbers or not all(0.0 <= float(v) <= 1.0 for v in value):
                why = f"has {key!r}: {json.dumps(value)}, but each point must be [valence, energy] within 0..1"
            if why:
                break
    if why:
        _problem(name, raw, why, "the built-in mood points")
        return None
    return raw


# ../shared beside the project root holds FER2013 and the raw catalogue sources (not shipped with the app).
SHARED_DIR: Path = Path(os.environ.get("MOODTUNE_SHARED_DIR", ROOT.parent / "shared"))
# the original FER2013 pixels with FER+'s annotator votes (the older JPEG copy: data/fer2013.npz)
FER2013_PATH: Path = Path(os.environ.get("MOODTUNE_FER2013", SHARED_DIR / "data" / "fer2013_ferplus.npz"))
TEST_FACES_DIR: Path = SHARED_DIR / "testdata" / "faces"

# --- emotion engine -------------------------------------------------------------------------------
YUNET_PATH: Path = MODELS_DIR / "face_detection_yunet.onnx"
KERAS_MODEL_PATH: Path = MODELS_DIR / "emotion_cnn.keras"
TFLITE_MODEL_PATH: Path = MODELS_DIR / "emotion_cnn.tflite"
METRICS_PATH: Path = MODELS_DIR / "metrics.json"
# where the face square lies relative to the detector box: written by `python -m emotion.training.calibrate`
CROP_GEOMETRY_PATH: Path = MODELS_DIR / "crop_geometry.json"
# how the served model reads a resting face ("Calibrate to my face"): python -m emotion.training.neutral_reference
NEUTRAL_REFERENCE_PATH: Path = MODELS_DIR / "neutral_reference.json"
HISTORY_PATH: Path = MODELS_DIR / "history.csv"
CHECKPOINT_DIR: Path = Path(os.environ.get("MOODTUNE_CHECKPOINT_DIR", ROOT / "checkpoints"))

# --- recommender ----------------------------------------------------------------------------------
DEFAULT_DB_PATH: Path = DATA_DIR / "moodtune.db"
# SQLAlchemy URL: sqlite:///path/to/file.db, or postgresql+psycopg://user:password@host:5432/moodtune
DB_URL: str = os.environ.get("MOODTUNE_DB_URL", "").strip() or f"sqlite:///{DEFAULT_DB_PATH}"
CATALOGUE_PATH: Path = DATA_DIR / "catalogue.csv.gz"
SPOTIFY_API_URL: str = os.environ.get("MOODTUNE_SPOTIFY_API_URL", "https://api.spotify.com/v1/")
SPOTIFY_TOKEN_URL: str = os.environ.get(
    "MOODTUNE_SPOTIFY_TOKEN_URL", "https://accounts.spotify.com/api/token"
)
# days between background syncs (at least an hour: the sync lease lasts an hour)
SYNC_INTERVAL_DAYS: float = _number("MOODTUNE_SYNC_INTERVAL_DAYS", 7.0, minimum=1 / 24, maximum=365)

# recommender: extra knobs (added by the recommender package; all optional)
SEED_SONGS_PATH: Path = DATA_DIR / "seed_songs.csv"
SEED_PLAYLISTS_PATH: Path = DATA_DIR / "seed_playlists.csv"
# JSON file overriding the emotion -> (valence, energy) points, e.g. {"sad": [0.2, 0.3], "lift_target": [0.8, 0.3]}
MOODS_PATH: str | None = _moods_file("MOODTUNE_MOODS_FILE")
# how long a database writer waits for another one (SQLite busy timeout, PostgreSQL lock_timeout)
DB_BUSY_TIMEOUT_S: float = _number("MOODTUNE_DB_BUSY_TIMEOUT_S", 5.0, minimum=0, maximum=600,
                                   exclusive_minimum=True)
# PostgreSQL: longest wait for a connection, and for one statement
DB_CONNECT_TIMEOUT_S: float = _number("MOODTUNE_DB_CONNECT_TIMEOUT_S", 5.0, minimum=2, maximum=600)
DB_STATEMENT_TIMEOUT_S: float = _number("MOODTUNE_DB_STATEMENT_TIMEOUT_S", 60.0, minimum=1, maximum=3600)
# after a failed open, the same message is given at once for this long before the next attempt
DB_RETRY_S: float = _number("MOODTUNE_DB_RETRY_S", 10.0, minimum=0, maximum=3600)
SPOTIFY_TIMEOUT_S: float = _number("MOODTUNE_SPOTIFY_TIMEOUT_S", 10.0, minimum=0, maximum=300,
                                   exclusive_minimum=True)
# longest Retry-After (seconds) the sync waits for; anything longer is deferred to a later run
SPOTIFY_MAX_RETRY_AFTER_S: float = _number("MOODTUNE_SPOTIFY_MAX_RETRY_AFTER_S", 30.0, minimum=0, maximum=3600)
# one sync run gives up (the rest is deferred to the next run) after this long: well inside the 1-hour lease
SYNC_DEADLINE_S: float = _number("MOODTUNE_SYNC_DEADLINE_S", 1800.0, minimum=10, maximum=3000)
# "Sync now" in the Library: the overall limit for an interactive run
INTERACTIVE_SYNC_DEADLINE_S: float = _number("MOODTUNE_INTERACTIVE_SYNC_DEADLINE_S", 120.0, minimum=5,
                                             maximum=3000)

# --- app (Streamlit UI; added by the app: app.py, pages/, ui/) ---------------------------------------
# largest photo the Snapshot screen accepts, in MB (Streamlit's server.maxUploadSize is set above it)
UPLOAD_MAX_MB: int = _whole("MOODTUNE_UPLOAD_MAX_MB", 8, minimum=1, maximum=10)
# WebRTC ICE servers when neither st.secrets["ice_servers"] nor MOODTUNE_ICE_SERVERS (a JSON list) is set
DEFAULT_ICE_SERVERS: tuple[dict[str, object], ...] = ({"urls": ["stun:stun.l.google.com:19302"]},)
ICE_SERVERS_JSON: str | None = os.environ.get("MOODTUNE_ICE_SERVERS") or None
APP_TRACKS: int = _whole("MOODTUNE_APP_TRACKS", 8, minimum=1, maximum=50)  # tracks shown per recommendation
LIVE_REFRESH_S: float = 1.0  # how often a streaming Live screen reads the webcam results (not at all when idle)
# seconds without video before the Live screen says the connection failed
LIVE_CONNECT_TIMEOUT_S: float = _number("MOODTUNE_LIVE_CONNECT_TIMEOUT_S", 15.0, minimum=1, maximum=600)
# "0" keeps the app from starting the weekly background sync thread (tests, read-only deployments)
START_SCHEDULER: bool = _flag("MOODTUNE_SCHEDULER", True)

# --- music pacing (Live screen; recommender/pacing.py) ----------------------------------------------
# How long a new mood must hold before the Live screen's music follows it. 15 s: a frown or a laugh
# (< 5 s) never stops the song, and a real change of mood (with ~2 s of smoothing) has new music well
# within 30 s. Accepted range 5..25 s; anything else names the setting and uses the default.
MUSIC_DWELL_DEFAULT_S: float = 15.0
MUSIC_DWELL_RANGE_S: tuple[float, float] = (5.0, 25.0)
MUSIC_DWELL_S: float = _number("MOODTUNE_MUSIC_DWELL_S", MUSIC_DWELL_DEFAULT_S, minimum=MUSIC_DWELL_RANGE_S[0],
                                maximum=MUSIC_DWELL_RANGE_S[1])
# frames per second the Live screen analyses per session (the rest are shown with the last boxes)
# (4: the smoother's 1-s average needs 3-4 readings a second; bench/live_analysis.py has the cost per reading)
LIVE_ANALYSIS_FPS: float = _number("MOODTUNE_LIVE_ANALYSIS_FPS", 4.0, minimum=1, maximum=30)
# width (px) of the annotated video sent back to the browser: VP8 at 320x240 costs ~1/4 of 640x480
LIVE_RETURN_WIDTH: int = 320
# The camera capture the Live screen asks the browser for, as *ideal* values (a camera that cannot do them
# still works). YuNet reads a 320-px copy and the video goes back 320 px wide, so a larger or faster capture
# only costs decoding and resizing: measured (bench/live_analysis.py, 1,500 paired PublicTest faces), a
# 320-px capture reads the round trip as well as 640 (67.3 % vs 67.4 %) for the least CPU, and 15 fps
# halves decoding and the video sent back against a webcam's usual 30. 0 leaves the choice to the browser.
LIVE_CAPTURE_WIDTH_DEFAULT: int = 320
LIVE_CAPTURE_WIDTH: int = _whole("MOODTUNE_LIVE_CAPTURE_WIDTH", LIVE_CAPTURE_WIDTH_DEFAULT, minimum=0, maximum=1920)
if 0 < LIVE_CAPTURE_WIDTH < 160:
    _problem("MOODTUNE_LIVE_CAPTURE_WIDTH", os.environ["MOODTUNE_LIVE_CAPTURE_WIDTH"],
             "must be 0 (the browser's choice) or 160..1920", LIVE_CAPTURE_WIDTH_DEFAULT)
    LIVE_CAPTURE_WIDTH = LIVE_CAPTURE_WIDTH_DEFAULT
LIVE_CAPTURE_FPS: float = _number("MOODTUNE_LIVE_CAPTURE_FPS", 15.0, minimum=0, maximum=60)
# whether Live also classifies each face's mirror image (flip TTA: +1.8 ms per face, +0.8 to 1.5 points in the
# round trip, bench/live_analysis.py); Snapshot always does
LIVE_FLIP_TTA: bool = _flag("MOODTUNE_LIVE_FLIP_TTA", True)


def exit_on_settings_problems(program: str) -> None:
    """For command-line tools: print every refused setting and exit with status 2 (the app only warns)."""
    if SETTINGS_PROBLEMS:
        print(f"{program}: fix these settings first:", file=sys.stderr)
        for problem in SETTINGS_PROBLEMS:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2)
