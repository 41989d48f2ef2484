"""End to end in a real browser: ``streamlit run app.py``, Debian's Chromium with a fake webcam that shows
the happy test face, START pressed inside the WebRTC component, and within 60 s the page must show
"happy" and the Spotify player of the happy playlist.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``) and the ``playwright`` Python package (never
``playwright install``: the browser is Debian's). Skipped, saying why, when either is missing.
Screenshots go to ``tests/artifacts/``; with ``MOODTUNE_UPDATE_SCREENSHOT=1`` the desktop one is also
written to ``docs/screenshot.png`` for the README.
"""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

import config

CHROMIUM = Path("/usr/bin/chromium")
ROOT = config.ROOT
ARTIFACTS = ROOT / "tests" / "artifacts"
FACE = config.TEST_FACES_DIR / "happy_astronaut.png"
EXPECTED = "happy"
DEADLINE_S = 60.0

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium"),
]
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="needs the playwright Python package (pip install playwright)"
)


def write_y4m(path: Path, face_bgr: np.ndarray, frames: int = 30) -> None:
    """A 640x480 Y4M (I420) video of the face on a grey background, which Chromium plays as the webcam."""
    canvas = np.full((480, 640, 3), 150, np.uint8)
    size = 440
    face = cv2.resize(face_bgr, (size, size), interpolation=cv2.INTER_AREA)
    top, left = (480 - size) // 2, (640 - size) // 2
    canvas[top:top + size, left:left + size] = face
    yuv = cv2.cvtColor(canvas, cv2.COLOR_BGR2YUV_I420).tobytes()
    with path.open("wb") as handle:
        handle.write(b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            handle.write(b"FRAME\n" + yuv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_ice_address() -> None:
    """WebRTC needs an address other than 127.0.0.1: aioice skips it and Chromium ignores loopback.

    In a network namespace that has only ``lo`` (some sandboxes and CI), give ``lo`` a second address,
    which ``--allow-loopback-in-peer-connection`` lets Chromium use. Traffic never leaves the machine.
    """
    import ifaddr  # what aioice itself uses to list the host's addresses

    addresses = [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if isinstance(ip.ip, str)]
    if any(address != "127.0.0.1" for address in addresses):
        return
    if shutil.which("ip") is None:
        pytest.skip("only 127.0.0.1 is available for WebRTC and the `ip` tool (iproute2) is missing")
    added = subprocess.run(["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"], capture_output=True, text=True,
                           check=False)
    if added.returncode != 0:
        pytest.skip(f"only 127.0.0.1 is available for WebRTC and adding 127.0.0.2 failed: {added.stderr.strip()}")


def happy_playlist_id() -> str:
    with config.SEED_PLAYLISTS_PATH.open(newline="", encoding="utf-8") as handle:
        return next(row["id"] for row in csv.DictReader(handle) if row["emotion"] == EXPECTED)


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free local port with a fresh database; its log on failure."""
    if not config.TFLITE_MODEL_PATH.exists():
        pytest.fail(f"the emotion model {config.TFLITE_MODEL_PATH} is missing")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SPOTIPY_", "MOODTUNE_SPOTIFY"))},
        "MOODTUNE_DB_URL": f"sqlite:///{tmp_path / 'moodtune.db'}",
        "MOODTUNE_ICE_SERVERS": "[]",  # host candidates only: no STUN server outside this machine
        "MOODTUNE_SCHEDULER": "0",
    }
    log_path = tmp_path / "streamlit.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail("streamlit did not start:\n" + log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_path, ARTIFACTS / "e2e_streamlit.log")


def test_live_webcam_shows_the_emotion_and_its_playlist(app_url: str, tmp_path: Path) -> None:
    ensure_ice_address()
    video = tmp_path / "face.y4m"
    write_y4m(video, cv2.imread(str(FACE)))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    playlist_selector = f'iframe[src*="/embed/playlist/{happy_playlist_id()}"]'
    flags = [
        "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}",
        "--use-fake-ui-for-media-stream", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--allow-loopback-in-peer-connection",
    ]
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=False, args=flags,
            viewport={"width": 1280, "height": 900},
        )
        page = browser.pages[0] if browser.pages else browser.new_page()
        try:
            page.goto(app_url, wait_until="domcontentloaded")
            component = page.frame_locator('iframe[title*="webrtc_streamer"]')
            start = component.get_by_role("button", name="START", exact=False)
            start.wait_for(timeout=90_000)  # the first run seeds the database and loads the models
            start.click()
            deadline = time.monotonic() + DEADLINE_S  # both must show within DEADLINE_S of START
            page.locator(".mt-emotion-name", has_text=EXPECTED).wait_for(timeout=DEADLINE_S * 1000)
            remaining_ms = max(1_000.0, (deadline - time.monotonic()) * 1000)
            page.locator(playlist_selector).wait_for(state="attached", timeout=remaining_ms)
            time.sleep(2)  # let the annotated video and the charts paint for the screenshot
            page.screenshot(path=str(ARTIFACTS / "e2e_live.png"), full_page=True)
            if os.environ.get("MOODTUNE_UPDATE_SCREENSHOT") == "1":
                page.screenshot(path=str(ROOT / "docs" / "screenshot.png"), full_page=False)
            page.set_viewport_size({"width": 390, "height": 844})  # a phone
            time.sleep(1)
            page.screenshot(path=str(ARTIFACTS / "e2e_live_phone.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "e2e_failure.png"), full_page=True)
            raise
        finally:
            browser.close()


def test_deep_link_on_a_fresh_server_runs_inside_the_app(app_url: str, tmp_path: Path) -> None:
    """The first visit of a new server goes straight to /library: it must get the app's navigation and
    theme (Streamlit would otherwise run pages/library.py alone, in its legacy multipage mode)."""
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=False, args=flags)
        page = browser.pages[0] if browser.pages else browser.new_page()
        try:
            page.goto(f"{app_url}/library", wait_until="domcontentloaded")
            page.get_by_role("heading", name="Sync with Spotify").wait_for(timeout=60_000)
            sidebar = page.locator('[data-testid="stSidebar"]')
            sidebar.get_by_text("Music for the mood on your face", exact=False).wait_for(timeout=10_000)
            for screen in ("Live", "Snapshot", "Library", "Model", "About"):
                assert sidebar.get_by_text(screen, exact=True).count() == 1
            assert page.url.endswith("/library")
        finally:
            browser.close()
