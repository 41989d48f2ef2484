"""End to end in a real browser: ``streamlit run app.py``, Debian's Chromium with a fake webcam that shows
the happy test face, START pressed inside the WebRTC component, and within 60 s the page must show
"happy" and the Spotify player of the happy playlist.

Needs ``/usr/bin/chromium`` (``apt-get install chromium``) and the ``playwright`` Python package (never
``playwright install``: the browser is Debian's). Skipped, saying why, when either is missing.
Screenshots go to ``tests/artifacts/`` (the README's come from tests/e2e/test_e2e_screens.py).
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
from browser import ARTIFACTS, BASE_FLAGS, browser_page, ensure_ice_address, face_canvas, playlist_id, press, \
    settle, wait_for_video, webcam_flags, write_y4m

import config

FACE = config.TEST_FACES_DIR / "happy_astronaut.png"
EXPECTED = "happy"
DEADLINE_S = 60.0


def test_live_webcam_shows_the_emotion_and_its_playlist(shared_app_url: str, tmp_path: Path) -> None:
    app_url = shared_app_url  # a server that may have served other tests: each tab is its own session
    ensure_ice_address()
    video = tmp_path / "face.y4m"
    write_y4m(video, [(face_canvas(cv2.imread(str(FACE)), 640, 480, 440), 2.0)])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    playlist_selector = f'iframe[src*="/embed/playlist/{playlist_id(EXPECTED)}"]'
    with browser_page(tmp_path, webcam_flags(video)) as page:
        page.goto(app_url, wait_until="domcontentloaded")
        press(page, "START")
        deadline = time.monotonic() + DEADLINE_S  # both must show within DEADLINE_S of START
        page.locator(".mt-emotion-name", has_text=EXPECTED).wait_for(timeout=DEADLINE_S * 1000)
        remaining_ms = max(1_000.0, (deadline - time.monotonic()) * 1000)
        page.locator(playlist_selector).wait_for(state="attached", timeout=remaining_ms)
        wait_for_video(page)  # the annotated video and the charts painted for the screenshot
        settle(page)
        page.screenshot(path=str(ARTIFACTS / "e2e_live.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})  # a phone
        settle(page)
        page.screenshot(path=str(ARTIFACTS / "e2e_live_phone.png"), full_page=True)


def test_deep_link_on_a_fresh_server_runs_inside_the_app(app_url: str, tmp_path: Path) -> None:
    """The first visit of a new server goes straight to /library: it must get the app's navigation and
    theme (Streamlit would otherwise run pages/library.py alone, in its legacy multipage mode)."""
    with browser_page(tmp_path, BASE_FLAGS) as page:
        page.goto(f"{app_url}/library", wait_until="domcontentloaded")
        page.get_by_role("heading", name="Sync with Spotify").wait_for(timeout=60_000)
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Music for the mood on your face", exact=False).wait_for(timeout=10_000)
        for screen in ("Live", "Snapshot", "Library", "Model", "About"):
            assert sidebar.get_by_text(screen, exact=True).count() == 1
        assert page.url.endswith("/library")
