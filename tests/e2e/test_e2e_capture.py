"""The Live screen asks the browser's camera only for what the analysis uses (issue 18), in a real browser.

Chromium's fake webcam plays a 640x480 video at 30 fps (what a laptop camera gives by default); the page
must ask for ``config.LIVE_CAPTURE_WIDTH`` at ``config.LIVE_CAPTURE_FPS`` as *ideal* values, Chromium must
deliver that smaller, slower capture, and the face must still be read, at no more than
``config.LIVE_ANALYSIS_FPS`` frames a second.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
from browser import ARTIFACTS, browser_page, ensure_ice_address, face_canvas, press, webcam_flags, write_y4m

import config
from bench.capacity import CAPTURE_PROBE, browser_capture
from ui.live import media_constraints

FACE = config.TEST_FACES_DIR / "happy_astronaut.png"


def test_live_asks_for_a_small_slow_capture_and_still_reads_the_face(shared_app_url: str, tmp_path: Path) -> None:
    app_url = shared_app_url  # each tab is its own session: the analysed rate is this tab's own
    ensure_ice_address()
    video = tmp_path / "face.y4m"
    write_y4m(video, [(face_canvas(cv2.imread(str(FACE)), 640, 480, 440), 2.0)], fps=30)
    with browser_page(tmp_path, webcam_flags(video)) as page:
        page.context.add_init_script(CAPTURE_PROBE)  # records getUserMedia's request and the track it gave
        page.goto(app_url, wait_until="domcontentloaded")
        press(page, "START")
        page.locator(".mt-emotion-name", has_text="happy").wait_for(timeout=60_000)
        capture = browser_capture(page)
        assert capture is not None, "the page never asked for the camera"
        assert capture["asked"] == media_constraints(config.LIVE_CAPTURE_WIDTH, config.LIVE_CAPTURE_FPS)
        assert "exact" not in str(capture["asked"]) and "max" not in str(capture["asked"])
        got = capture["got"]
        assert (got["width"], got["height"]) == (config.LIVE_CAPTURE_WIDTH, round(config.LIVE_CAPTURE_WIDTH * 3 / 4))
        assert got["frameRate"] <= config.LIVE_CAPTURE_FPS + 0.5  # the camera plays 30 fps
        time.sleep(6)  # the analysed rate is measured over 5 s
        page.get_by_text("frames analysed per second").last.wait_for(timeout=30_000)
        rate = float(page.get_by_text("frames analysed per second").last.inner_text().split()[0])
        assert 0 < rate <= config.LIVE_ANALYSIS_FPS + 0.3
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "e2e_live_capture.png"), full_page=True)
