""""Why this track" as a user sees it: a Snapshot upload in Debian's Chromium at 1280×900 and 390×844 puts a
short reason under every track's player, and it stays readable on a phone; Live does the same once the
fake webcam's face is read.

Screenshots: ``tests/artifacts/music_reasons_{desktop,phone,live}.png`` (the music part of the page).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import cv2
from browser import ARTIFACTS, BASE_FLAGS, browser_page, ensure_ice_address, face_canvas, press, webcam_flags, write_y4m

import config

FACE = config.TEST_FACES_DIR / "happy_astronaut.png"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}

pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (pip install playwright)")


@pytest.fixture
def app_url(shared_app_url: str) -> str:
    """The shared app server: these tests only read (each browser is its own session)."""
    return shared_app_url


@pytest.fixture
def page(tmp_path: Path) -> Iterator[object]:
    with browser_page(tmp_path, BASE_FLAGS) as opened:
        yield opened


@pytest.mark.parametrize("size", list(SIZES), ids=list(SIZES))
def test_every_track_on_snapshot_says_why(app_url: str, page: object, size: str) -> None:
    page.set_viewport_size(SIZES[size])
    page.goto(f"{app_url}/snapshot", wait_until="domcontentloaded")
    page.locator("h1").first.wait_for(timeout=90_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(FACE))
    why = page.locator('span[title="Why this track"]')
    why.first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)  # the rest of the list
    tracks = page.locator('iframe[src*="/embed/track/"]')
    reasons = [text.strip() for text in why.all_inner_texts()]
    assert len(reasons) == tracks.count() >= 5
    assert all(r.startswith("Why: ") and 10 < len(r) < 80 for r in reasons), reasons
    main = page.locator('[data-testid="stMain"]').bounding_box()
    right = min(main["x"] + main["width"], SIZES[size]["width"]) + 1
    for reason in why.all():  # each within the page and the screen, never cut off sideways
        box = reason.bounding_box()
        assert box is not None and box["x"] >= main["x"] and box["x"] + box["width"] <= right
    why.first.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"music_reasons_{size}.png"))


def test_every_track_on_live_says_why(app_url: str, tmp_path: Path) -> None:
    ensure_ice_address()
    video = tmp_path / "face.y4m"
    write_y4m(video, [(face_canvas(cv2.imread(str(FACE)), 640, 480, 440), 2.0)])
    with browser_page(tmp_path, webcam_flags(video), **SIZES["desktop"]) as page:
        page.goto(app_url, wait_until="domcontentloaded")
        page.locator("h1").first.wait_for(timeout=90_000)
        press(page, "START")
        why = page.locator('span[title="Why this track"]')
        why.first.wait_for(timeout=90_000)
        page.wait_for_timeout(2000)
        reasons = [text.strip() for text in why.all_inner_texts()]
        assert len(reasons) == page.locator('iframe[src*="/embed/track/"]').count() >= 5
        assert all(r.startswith("Why: ") for r in reasons), reasons
        why.first.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "music_reasons_live.png"))
        press(page, "STOP")
