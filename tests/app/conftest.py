"""Fixtures for the app tests: AppTest on tmp SQLite databases (seeded or empty), no outside contact.

Every test gets its own database file (``config.DB_URL`` and ``MOODTUNE_DB_URL`` point at it), no
Spotify credentials unless it asks for them, no background sync thread, and no ICE servers (so the
Live screen never contacts a STUN server). Under AppTest there is no Streamlit runtime, so
``streamlit_webrtc``'s session lookup is patched to return None, as it does outside a live session.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(Path(__file__).resolve().parent))  # app_helpers

from streamlit.runtime.pages_manager import PagesManager  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import config  # noqa: E402
from recommender import schema  # noqa: E402
from recommender.db import open_engine  # noqa: E402

SPOTIFY_VARS = ("SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET", "MOODTUNE_SPOTIFY_REFRESH_TOKEN")
TIMEOUT_S = 90  # the first run loads the models and builds the music index


@pytest.fixture(scope="session", autouse=True)
def component_manifests_scanned_once() -> Iterator[None]:
    """Scan the installed packages for Streamlit component manifests once per run, not once per AppTest.

    Every new ``AppTest`` reads the metadata of every installed distribution (Streamlit's v2 component
    discovery): about half of a page test's time on this machine. The installed packages do not change
    during a run, so the first scan's answer serves every AppTest.
    """
    import functools

    from streamlit.components.v2 import manifest_scanner

    original = manifest_scanner.scan_component_manifests
    manifest_scanner.scan_component_manifests = functools.cache(original)
    yield
    manifest_scanner.scan_component_manifests = original


@pytest.fixture(autouse=True)
def server_past_its_first_visit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each AppTest run like a server that has been visited before.

    AppTest resets Streamlit's process-wide "legacy pages/ folder" flag on every run, as if each run were
    the first visit of a new server, where ``ui.shell.ensure_app_shell`` reruns the page through
    ``app.py`` (dropping a button press with it). A real server leaves that mode at its first visit; the
    deep link itself is tested in a real browser (tests/e2e).
    """
    original_init = PagesManager.__init__

    def init_past_first_visit(self: PagesManager, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_past_first_visit)


@pytest.fixture(scope="session")
def seeded_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database seeded from the bundled catalogue, built once and copied per test."""
    path = tmp_path_factory.mktemp("seeded") / "moodtune.db"
    open_engine(f"sqlite:///{path}").dispose()  # disposing checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def empty_db_file(seeded_db_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Moodtune database with no tracks, playlists or seed songs (its bundle is marked as loaded)."""
    path = tmp_path_factory.mktemp("empty") / "moodtune.db"
    shutil.copyfile(seeded_db_file, path)
    engine = open_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        for table in (schema.playlist_tracks, schema.playlists, schema.seed_songs, schema.tracks):
            conn.execute(delete(table))
        schema.bump_data_version(conn)
    engine.dispose()
    return path


def _use_db(monkeypatch: pytest.MonkeyPatch, source: Path, tmp_path: Path) -> str:
    path = tmp_path / "moodtune.db"
    shutil.copyfile(source, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("MOODTUNE_DB_URL", url)
    monkeypatch.setattr(config, "DB_URL", url)  # config was imported before the env var was set
    return url


@pytest.fixture(autouse=True)
def isolated_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials, no scheduler thread, no ICE servers, no webrtc session lookup."""
    for name in SPOTIFY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "START_SCHEDULER", False)
    monkeypatch.setattr(config, "ICE_SERVERS_JSON", "[]")
    monkeypatch.setattr("streamlit_webrtc.component.get_this_session_info", lambda: None)


@pytest.fixture
def seeded_db(monkeypatch: pytest.MonkeyPatch, seeded_db_file: Path, tmp_path: Path) -> str:
    """URL of this test's private copy of the seeded database (the app uses it)."""
    return _use_db(monkeypatch, seeded_db_file, tmp_path)


@pytest.fixture
def empty_db(monkeypatch: pytest.MonkeyPatch, empty_db_file: Path, tmp_path: Path) -> str:
    """URL of this test's private copy of the empty database (the app uses it)."""
    return _use_db(monkeypatch, empty_db_file, tmp_path)


@pytest.fixture
def spotify_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spotify credentials in the environment (never used to contact Spotify in these tests)."""
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", "test-client-id")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "test-client-secret")


@pytest.fixture
def open_page() -> Iterator[Callable[[str], AppTest]]:
    """``open_page("pages/snapshot.py")``: the app run once, switched to that page and run."""

    def run(page: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT_S)
        at.run()
        if page != "pages/live.py":
            at.switch_page(page)
            at.run()
        return at

    yield run

