"""The screens as a user meets them in Debian's Chromium, at 1280×900 and 390×844: addresses in any case and
no flash of pages/'s file names, Snapshot's refusals and camera, icons without an emoji font, the Model
screen's plain labels, the app's name on a phone, and the WebRTC buttons in the app's font.

Screenshots go to ``tests/artifacts/screens_*.png``; with ``MOODTUNE_UPDATE_SCREENSHOT=1`` the Live screen
is also written to ``docs/screenshot.png`` (desktop) and ``docs/screenshot_phone.png`` (phone) for the README.
"""

from __future__ import annotations

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
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
RAW_PAGE_NAMES = {"app", "live", "snapshot", "library", "model", "about"}  # pages/*.py as Streamlit lists them
BROWSER_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium"),
]
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="needs the playwright Python package (pip install playwright)"
)

# Counts the page's camera requests: the Snapshot screen must not start the camera until the user picks it.
COUNT_CAMERA_REQUESTS = """
window.__cameraRequests = 0;
const original = navigator.mediaDevices && navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
if (original) {
  navigator.mediaDevices.getUserMedia = (constraints) => { window.__cameraRequests += 1; return original(constraints); };
}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _face_video(path: Path, frames: int = 30) -> Path:
    """A 640x480 Y4M of the happy test face on grey, which Chromium plays as its fake webcam."""
    canvas = np.full((480, 640, 3), 150, np.uint8)
    canvas[20:460, 100:540] = cv2.resize(cv2.imread(str(FACE)), (440, 440), interpolation=cv2.INTER_AREA)
    frame = cv2.cvtColor(canvas, cv2.COLOR_BGR2YUV_I420).tobytes()
    with path.open("wb") as handle:
        handle.write(b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            handle.write(b"FRAME\n" + frame)
    return path


@pytest.fixture
def screens_app(tmp_path: Path) -> Iterator[str]:
    """A freshly started ``streamlit run app.py`` (its first visit still to come) on a free port."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SPOTIPY_", "MOODTUNE_SPOTIFY"))},
        "MOODTUNE_DB_URL": f"sqlite:///{tmp_path / 'moodtune.db'}",
        "MOODTUNE_ICE_SERVERS": "[]",
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
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_path, ARTIFACTS / "e2e_screens_streamlit.log")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    """Chromium with a fake webcam (the happy face) that needs no permission prompt."""
    video = _face_video(tmp_path / "face.y4m")
    flags = [*BROWSER_FLAGS, "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}",
             "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=False, args=flags, viewport=DESKTOP)
        try:
            yield context
        finally:
            context.close()


def _open(page: object, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.locator("h1").first.wait_for(timeout=90_000)  # the first visit loads the models and seeds the database


def _sidebar_link_texts(page: object) -> list[str]:
    return page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stSidebar"] a, [data-testid="stSidebarNav"] a')).map(a => a.innerText.trim())""")


def _upload(page: object, path: Path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))


def test_addresses_work_in_any_case_and_the_file_list_never_flashes(screens_app: str, browser: object) -> None:
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.goto(f"{screens_app}/Model", wait_until="commit")  # the server's very first visit
    seen: set[str] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            seen.update(_sidebar_link_texts(page))
            if page.locator("h1", has_text="Model").count():
                break
        except playwright_api.Error:
            pass  # the page is still navigating
        time.sleep(0.05)
    seen.update(_sidebar_link_texts(page))
    assert not seen & RAW_PAGE_NAMES, f"Streamlit's raw list of pages/ files appeared: {sorted(seen)}"
    assert page.url.endswith("/model")
    for address, heading in (("live", "Live"), ("LIVE", "Live"), ("Library", "Library"), ("snapshot", "Snapshot"),
                             ("about", "About")):
        _open(page, f"{screens_app}/{address}")
        page.locator("h1", has_text=heading).wait_for(timeout=30_000)
        assert page.get_by_text("Page not found").count() == 0, address


def test_snapshot_camera_waits_for_the_user_and_refusals_replace_the_result(
    screens_app: str, browser: object, tmp_path: Path
) -> None:
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.add_init_script(COUNT_CAMERA_REQUESTS)
    try:
        _open(page, f"{screens_app}/snapshot")
        time.sleep(2)
        assert page.evaluate("window.__cameraRequests") == 0, "the camera started when the screen opened"

        _upload(page, FACE)
        page.locator(".mt-emotion-name", has_text="happy").wait_for(timeout=60_000)
        top = page.locator(".mt-emotion-name").bounding_box()["y"]
        assert top < DESKTOP["height"], "the result starts below the fold"
        icon = page.locator(".mt-emotion .mt-icon").bounding_box()
        assert icon["width"] < 100, "the emotion icon is drawn as its name: the icon font did not load"

        gif = tmp_path / "party.gif"
        gif.write_bytes(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x01\x00"
                        b"\x01\x00\x00\x02\x02D\x01\x00;")
        _upload(page, gif)
        page.get_by_text("GIFs aren't supported").wait_for(timeout=30_000)
        assert page.locator(".mt-emotion-name").count() == 0 and page.locator("iframe[src*=spotify]").count() == 0

        big = tmp_path / "big.jpg"
        big.write_bytes(b"\xff\xd8\xff" + bytes(int(9.2 * 1024 * 1024) - 3))
        _upload(page, big)
        page.get_by_text("This photo is 9.2 MB; the limit is 8 MB.").wait_for(timeout=30_000)
        assert page.locator('[data-testid="stFileUploaderFile"]').count() <= 1, "refused files pile up"
        page.screenshot(path=str(ARTIFACTS / "screens_snapshot_refused.png"))

        assert page.evaluate("window.__cameraRequests") == 0
        page.locator('[data-testid="stButtonGroup"] button', has_text="Camera").click()
        take = page.get_by_role("button", name="Take Photo")
        take.wait_for(timeout=30_000)
        assert page.evaluate("window.__cameraRequests") >= 1
        time.sleep(2)  # let the fake webcam deliver frames
        take.click()
        page.locator(".mt-emotion-name").wait_for(timeout=60_000)
        visible_photos = page.locator('[data-testid="stCameraInput"] img:visible, [data-testid="stImage"] img:visible')
        assert visible_photos.count() == 1, "the camera photo is shown twice"
        page.screenshot(path=str(ARTIFACTS / "screens_snapshot_camera.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "screens_failure.png"), full_page=True)
        raise


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_model_about_and_snapshot_read_well(screens_app: str, browser: object, size: dict[str, int]) -> None:
    page = browser.pages[0] if browser.pages else browser.new_page()
    page.set_viewport_size(size)
    tag = "desktop" if size is DESKTOP else "phone"
    try:
        for screen in ("snapshot", "model", "about"):
            _open(page, f"{screens_app}/{screen}")
            time.sleep(3)  # charts and fonts
            logo = page.locator('[data-testid="stLogoLink"]:visible').first
            box = logo.bounding_box()
            assert box is not None and box["y"] < 80, "the app's logo is not in view"
            name = logo.evaluate("el => getComputedStyle(el, '::after').content")
            assert name == '"Moodtune"'
            assert page.evaluate("document.fonts.check('24px \"Material Symbols Rounded\"')")
            for title_icon in page.locator('h1 [data-testid="stIconMaterial"]').all():
                assert title_icon.bounding_box()["width"] < 80
            links = page.locator('[data-testid="stMain"] a[href]:visible').all()
            for link in links:
                colour = link.evaluate("el => getComputedStyle(el).color")
                assert colour != "rgb(0, 0, 238)", "a link in the browser's default blue"
            page.screenshot(path=str(ARTIFACTS / f"screens_{screen}_{tag}.png"))
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "server's memory" in text and "FER2013" in text  # About
        _open(page, f"{screens_app}/model")
        page.get_by_text("Reading one face (with its mirror image, as the app does)").wait_for(timeout=30_000)
        assert "pipeline_per_frame" not in page.content()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"screens_failure_{tag}.png"), full_page=True)
        raise


def _ensure_ice_address() -> None:
    """WebRTC needs an address besides 127.0.0.1 (aioice skips it): add 127.0.0.2 to ``lo`` if it is alone."""
    import ifaddr

    addresses = [ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips if isinstance(ip.ip, str)]
    if any(address != "127.0.0.1" for address in addresses):
        return
    added = subprocess.run(["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"], capture_output=True, check=False)
    if added.returncode != 0:
        pytest.skip("only 127.0.0.1 is available for WebRTC and 127.0.0.2 could not be added")


def test_live_buttons_use_the_app_font_and_the_reading_shows(screens_app: str, browser: object) -> None:
    _ensure_ice_address()
    page = browser.pages[0] if browser.pages else browser.new_page()
    try:
        _open(page, screens_app)
        frame = page.frame_locator('iframe[title*="webrtc_streamer"]')
        start = frame.get_by_role("button", name="START", exact=False)
        start.wait_for(timeout=90_000)
        styles = start.evaluate("el => [getComputedStyle(el).textTransform, getComputedStyle(el).fontFamily]")
        assert styles[0] == "none" and "Source Sans" in styles[1], styles
        start.click()
        page.locator(".mt-emotion-name", has_text="happy").wait_for(timeout=60_000)
        page.locator('iframe[src*="/embed/playlist/"]').first.wait_for(state="attached", timeout=30_000)
        time.sleep(3)  # let the annotated video paint
        page.screenshot(path=str(ARTIFACTS / "screens_live_desktop.png"))
        if os.environ.get("MOODTUNE_UPDATE_SCREENSHOT") == "1":
            page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
        page.set_viewport_size(PHONE)
        time.sleep(3)
        page.screenshot(path=str(ARTIFACTS / "screens_live_phone.png"))
        if os.environ.get("MOODTUNE_UPDATE_SCREENSHOT") == "1":
            page.screenshot(path=str(ROOT / "docs" / "screenshot_phone.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "screens_failure_live.png"), full_page=True)
        raise
