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
import stat
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


MOODS_FILE_MAX_BYTES = 16_384  # a moods file is a few hundred bytes; anything far larger is not one


class SettingsFileError(ValueError):
    """A settings file that cannot be used; ``str(error)`` says why (for ``SETTINGS_PROBLEMS``)."""


def _refuse_big_number(text: str) -> float:
    # json would build a 400-digit int (then float() overflows) or choke on 5,000 digits: refuse long ones
    if len(text.lstrip("-")) > 20:
        raise SettingsFileError(f"holds a number with {len(text)} digits")
    return float(text)


def read_small_json(path: str | Path, max_bytes: int = MOODS_FILE_MAX_BYTES) -> object:
    """The JSON value in the regular file at ``path``, read without trusting it.

    At most ``max_bytes`` are read, and only from a regular file (opened non-blocking, so a FIFO or a
    device such as /dev/zero is refused instead of hanging or filling memory); numbers longer than 20
    digits, NaN/Infinity and nesting too deep for the parser are refused. Raises ``SettingsFileError``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as error:
        raise SettingsFileError(f"cannot be read ({error.strerror or error})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SettingsFileError("is not a regular file")
        data = os.read(fd, max_bytes + 1)
    except OSError as error:
        raise SettingsFileError(f"cannot be read ({error.strerror or error})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise SettingsFileError(f"is larger than {max_bytes:,} bytes")

    def no_constant(name: str) -> float:
        raise SettingsFileError(f"holds {name}, which is not a number")

    try:
        return json.loads(data.decode("utf-8"), parse_int=_refuse_big_number, parse_float=_refuse_big_number,
                          parse_constant=no_constant)
    except SettingsFileError:
        raise
    except UnicodeDecodeError:
        raise SettingsFileError("is not UTF-8 text") from None
    except RecursionError:
        raise SettingsFileError("is nested too deeply") from None
    except ValueError as error:  # json.JSONDecodeError and Python's own limits on numbers
        raise SettingsFileError(f"is not valid JSON ({error})") from None


def moods_file_problem(data: object) -> str | None:
    """Why ``data`` (a parsed moods file) is not {emotion or "lift_target": [valence, energy]}; None if fine."""
    aliases = {"disgusted": "disgust", "fearful": "fear", "surprised": "surprise"}
    if not isinstance(data, dict):
        return 'must hold a JSON object such as {"sad": [0.2, 0.3]}'
    for key, value in data.items():
        known = key == "lift_target" or aliases.get(str(key).lower(), str(key).lower()) in EMOTIONS
        numbers = (isinstance(value, list) and len(value) == 2
                   and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value))
        if not known:
            return f"names an unknown emotion {str(key)[:40]!r} (expected {', '.join(EMOTIONS)} or lift_target)"
        if not numbers or not all(0.0 <= float(v) <= 1.0 for v in value):
            shown = json.dumps(value)
            shown = shown if len(shown) <= 60 else shown[:59] + "…"
            return f"has {str(key)!r}: {shown}, but each point must be [valence, energy] within 0..1"
    return None


def _moods_file(name: str) -> str | None:
    """The moods JSON file, if it exists and holds {emotion or "lift_target": [valence, energy]} in [0, 1]."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        why = moods_file_problem(read_small_json(raw))
    except SettingsFileError as error:
        why = str(error)
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
# P(mood | audio features) that the selection serves; written by python -m recommender.fit_moods
MOOD_MODEL_PATH: Path = DATA_DIR / "mood_model.json"
SPOTIFY_API_URL: str = os.environ.get("MOODTUNE_SPOTIFY_API_URL", "https://api.spotify.com/v1/")
SPOTIFY_TOKEN_URL: str = os.environ.get(
    "MOODTUNE_SPOTIFY_TOKEN_URL", "https://accounts.spotify.com/api/token"
)
# days between background syncs (at least an hour: the sync lease lasts an hour)
SYNC_INTERVAL_RANGE_DAYS: tuple[float, float] = (1 / 24, 365.0)  # also what --interval-days accepts
SYNC_INTERVAL_DAYS: float = _number("MOODTUNE_SYNC_INTERVAL_DAYS", 7.0, minimum=SYNC_INTERVAL_RANGE_DAYS[0],
                                    maximum=SYNC_INTERVAL_RANGE_DAYS[1])

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
# Library's "Test connection": the whole token request within this many seconds (the page waits for it)
SPOTIFY_CHECK_TIMEOUT_S: float = _number("MOODTUNE_SPOTIFY_CHECK_TIMEOUT_S", 5.0, minimum=0.5, maximum=30)
# longest Retry-After (seconds) the sync waits for; anything longer is deferred to a later run
SPOTIFY_MAX_RETRY_AFTER_S: float = _number("MOODTUNE_SPOTIFY_MAX_RETRY_AFTER_S", 30.0, minimum=0, maximum=3600)
# one sync run gives up (the rest is deferred to the next run) after this long (its lease is renewed meanwhile)
SYNC_DEADLINE_S: float = _number("MOODTUNE_SYNC_DEADLINE_S", 1800.0, minimum=10, maximum=3000)
# The sync lease (one sync at a time across processes): a holder's claim lasts SYNC_LEASE_S seconds and a
# living holder renews it every SYNC_LEASE_RENEW_S (at most a third of the lease), so the lease of a holder
# that was killed (SIGKILL, power loss) or could not release it lapses within SYNC_LEASE_S.
SYNC_LEASE_S: float = _number("MOODTUNE_SYNC_LEASE_S", 60.0, minimum=2, maximum=3600)
SYNC_LEASE_RENEW_S: float = _number("MOODTUNE_SYNC_LEASE_RENEW_S", 15.0, minimum=0.5, maximum=1200)
# "Sync now" in the Library: the overall limit for an interactive run
INTERACTIVE_SYNC_DEADLINE_S: float = _number("MOODTUNE_INTERACTIVE_SYNC_DEADLINE_S", 120.0, minimum=5,
                                             maximum=3000)

# --- app (Streamlit UI; added by the app: app.py, pages/, ui/) ---------------------------------------
# largest photo the Snapshot screen accepts, in MB (Streamlit's server.maxUploadSize is set above it)
UPLOAD_MAX_MB: int = _whole("MOODTUNE_UPLOAD_MAX_MB", 8, minimum=1, maximum=10)
# WebRTC ICE servers when neither st.secrets["ice_servers"] nor MOODTUNE_ICE_SERVERS (a JSON list) is set
DEFAULT_ICE_SERVERS: tuple[dict[str, object], ...] = ({"urls": ["stun:stun.l.google.com:19302"]},)
ICE_SERVERS_JSON: str | None = os.environ.get("MOODTUNE_ICE_SERVERS") or None
# TURN with coturn's time-limited credentials (use-auth-secret; ui/turn.py): MOODTUNE_TURN_URLS (comma-separated
# turn:/turns: URLs), MOODTUNE_TURN_SECRET (coturn's static-auth-secret: never shown), MOODTUNE_TURN_TTL_HOURS
# (how long one session's credentials last, 0.25-48, default 4), MOODTUNE_TURN_RELAY_ONLY (1: browsers send
# video only through the relay). st.secrets' [turn] table (same keys, lower case) replaces them; ui.settings
# validates them when the app starts and names a bad one in the sidebar.
TURN_ENV: dict[str, str] = {key: os.environ.get(f"MOODTUNE_TURN_{key.upper()}", "").strip()
                            for key in ("urls", "secret", "ttl_hours", "relay_only")}
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
