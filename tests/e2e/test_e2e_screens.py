"""The screens as a user meets them in Debian's Chromium, at 1280×900 and 390×844: addresses in any case and
no flash of pages/'s file names, Snapshot's refusals and camera, icons without an emoji font, the Model
screen's plain labels, the app's name on a phone, and the WebRTC buttons in the app's font.

Screenshots go to ``tests/artifacts/screens_*.png``; with ``MOODTUNE_UPDATE_SCREENSHOT=1`` the Live screen
is also written to ``docs/screenshot.png`` (desktop) and ``docs/screenshot_phone.png`` (phone) for the README.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import pytest
from browser import ARTIFACTS, ROOT, ensure_ice_address, face_canvas, press, settle, wait_for_video, wait_until_idle, \
    webcam_flags, webrtc_component, write_y4m

import config

FACE = config.TEST_FACES_DIR / "happy_astronaut.png"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
RAW_PAGE_NAMES = {"app", "live", "snapshot", "library", "model", "about"}  # pages/*.py as Streamlit lists them

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


@pytest.fixture(scope="module")
def face_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake webcam's video, the happy test face, written once: the module's tests share one Chromium."""
    video = tmp_path_factory.mktemp("screens") / "face.y4m"
    write_y4m(video, [(face_canvas(cv2.imread(str(FACE)), 640, 480, 440), 2.0)])
    return video


@pytest.fixture
def page(face_video: Path, open_tab: Callable[..., object]) -> Iterator[object]:
    """A tab of Chromium whose fake webcam shows the happy test face, at desktop size."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield open_tab(webcam_flags(face_video), **DESKTOP)


def _open(page: object, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.locator("h1").first.wait_for(timeout=90_000)  # the first visit loads the models and seeds the database


def _sidebar_link_texts(page: object) -> list[str]:
    return page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stSidebar"] a, [data-testid="stSidebarNav"] a')).map(a => a.innerText.trim())""")


def _upload(page: object, path: Path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))


def test_addresses_work_in_any_case_and_the_file_list_never_flashes(app_url: str, page: object) -> None:
    page.goto(f"{app_url}/Model", wait_until="commit")  # the server's very first visit
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
        _open(page, f"{app_url}/{address}")
        page.locator("h1", has_text=heading).wait_for(timeout=30_000)
        assert page.get_by_text("Page not found").count() == 0, address


def test_snapshot_camera_waits_for_the_user_and_refusals_replace_the_result(
    shared_app_url: str, page: object, tmp_path: Path
) -> None:
    app_url = shared_app_url
    page.add_init_script(COUNT_CAMERA_REQUESTS)
    try:
        _open(page, f"{app_url}/snapshot")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(state="attached", timeout=30_000)
        wait_until_idle(page)  # the screen is drawn: a camera it started would have been asked for by now
        settle(page)
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
        assert page.locator('[data-testid="stFileChip"]:visible').count() == 1, "refused files pile up"

        huge = tmp_path / "huge.jpg"  # over Streamlit's own ceiling: the browser refuses it, the app never sees it
        huge.write_bytes(b"\xff\xd8\xff" + bytes(12 * 1024 * 1024))
        _upload(page, huge)
        refused = page.locator('[data-testid="stFileChip"][aria-invalid="true"]')
        refused.wait_for(timeout=30_000)
        assert "the limit is 8 MB" in refused.evaluate("el => getComputedStyle(el, '::after').content")
        page.screenshot(path=str(ARTIFACTS / "screens_snapshot_refused.png"))
        _upload(page, FACE)
        page.locator(".mt-emotion-name", has_text="happy").wait_for(timeout=60_000)
        assert page.locator('[data-testid="stFileChip"]:visible').count() == 1, "refused files pile up"

        assert page.evaluate("window.__cameraRequests") == 0
        page.locator('[data-testid="stButtonGroup"] button', has_text="Camera").click()
        take = page.get_by_role("button", name="Take Photo")
        take.wait_for(timeout=30_000)
        assert page.evaluate("window.__cameraRequests") >= 1
        page.wait_for_function(  # the fake webcam delivers frames
            """() => [...document.querySelectorAll('[data-testid="stCameraInput"] video')]
                .some((v) => v.readyState >= 2 && v.videoWidth > 0)""", timeout=30_000)
        take.click()
        page.locator(".mt-emotion-name").wait_for(timeout=60_000)
        visible_photos = page.locator('[data-testid="stCameraInput"] img:visible, [data-testid="stImage"] img:visible')
        visible_photos.first.wait_for(timeout=15_000)  # the photo may be decoded a moment after the mood is drawn
        assert visible_photos.count() == 1, "the camera photo is shown twice"
        page.screenshot(path=str(ARTIFACTS / "screens_snapshot_camera.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "screens_failure.png"), full_page=True)
        raise


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_model_about_and_snapshot_read_well(shared_app_url: str, page: object, size: dict[str, int]) -> None:
    app_url = shared_app_url
    page.set_viewport_size(size)
    tag = "desktop" if size is DESKTOP else "phone"
    try:
        for screen in ("", "snapshot", "model", "about"):  # "" is Live, the default screen
            _open(page, f"{app_url}/{screen}")
            wait_until_idle(page)
            settle(page)  # charts and fonts
            logo = page.locator('img[data-testid$="Logo"]:visible').first.locator("xpath=..")
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
            page.screenshot(path=str(ARTIFACTS / f"screens_{screen or 'live'}_{tag}.png"))
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "server's memory" in text and "FER2013" in text  # About
        _open(page, f"{app_url}/model")
        page.get_by_text("Reading one face (with its mirror image, as the app does)").wait_for(timeout=30_000)
        assert "pipeline_per_frame" not in page.content()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"screens_failure_{tag}.png"), full_page=True)
        raise


def test_live_buttons_use_the_app_font_and_the_reading_shows(shared_app_url: str, page: object) -> None:
    app_url = shared_app_url
    ensure_ice_address()
    try:
        _open(page, app_url)
        start = webrtc_component(page).get_by_role("button", name="START")
        start.wait_for(timeout=90_000)
        styles = start.evaluate("el => [getComputedStyle(el).textTransform, getComputedStyle(el).fontFamily]")
        assert styles[0] == "none" and "Source Sans" in styles[1], styles
        press(page, "START")
        page.locator(".mt-emotion-name", has_text="happy").wait_for(timeout=60_000)
        page.locator('iframe[src*="/embed/playlist/"]').first.wait_for(state="attached", timeout=30_000)
        wait_for_video(page)  # the annotated video came back
        settle(page)
        page.screenshot(path=str(ARTIFACTS / "screens_live_desktop.png"))
        if os.environ.get("MOODTUNE_UPDATE_SCREENSHOT") == "1":
            page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
        page.set_viewport_size(PHONE)
        settle(page)
        page.screenshot(path=str(ARTIFACTS / "screens_live_phone.png"))
        if os.environ.get("MOODTUNE_UPDATE_SCREENSHOT") == "1":
            # one phone screen: the mood first, the video below it, the playlist's mini-player at the bottom
            page.screenshot(path=str(ROOT / "docs" / "screenshot_phone.png"))
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "screens_failure_live.png"), full_page=True)
        raise
