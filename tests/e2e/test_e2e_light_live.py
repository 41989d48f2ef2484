"""The light server path (``MOODTUNE_LIVE_VIDEO_BACK=0``, issue 18) in real headless Chromium, desktop and phone.

The server receives the camera over WebRTC and sends nothing back (SENDONLY); the page shows the browser's
own camera picture (ui/live_preview) with the server's box and mood drawn over it. Each test asserts what
the visitor sees (the moving picture, the box, the mood, the music or the no-face / two-faces states) and,
from the page's own RTCPeerConnection, that no video came back: every transceiver is send-only, no track
arrived, no inbound RTP, and the browser sends the server at most ``config.LIVE_SENT_FPS`` frames a second.
Screenshots: tests/artifacts/e2e_light_live_*.png.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import config
from browser import ARTIFACTS, browser_page, ensure_ice_address, playlist_id, press, serve_app, settle, wait_for_text, \
    webcam_flags, webrtc_frame, write_y4m
from faces import HEIGHT, WIDTH, clear_face

VIEWPORTS = {"desktop": (1280, 900), "phone": (390, 844)}
PREVIEW = 'iframe[title*="live_preview"]'
SIDEBAR_PLAYER = '[data-testid="stSidebar"] iframe[src*="/embed/playlist/{}"]'
GREEN = (80, 200, 80)  # the largest face's box (ui/live_preview/frontend/preview.js)
GREY = (200, 200, 200)  # the other faces' boxes

# Runs in every frame before its scripts: keeps each RTCPeerConnection that gets an answer, and counts the
# tracks that arrive on it (a video sent back would be one).
PEER_PROBE = """
(() => {
  const proto = window.RTCPeerConnection && window.RTCPeerConnection.prototype;
  if (!proto || window.__mtPeers) return;
  window.__mtPeers = [];
  window.__mtTracks = 0;
  const setRemote = proto.setRemoteDescription;
  proto.setRemoteDescription = function (...args) {
    if (!window.__mtPeers.includes(this)) {
      window.__mtPeers.push(this);
      this.addEventListener("track", () => { window.__mtTracks += 1; });
    }
    return setRemote.apply(this, args);
  };
})();
"""

PEER_STATE = """async () => {
  const out = {peers: 0, tracks: window.__mtTracks || 0, directions: [], inbound: 0, outboundFps: [],
               receivedVideos: 0};
  for (const pc of window.__mtPeers || []) {
    out.peers += 1;
    out.directions.push(...pc.getTransceivers().map((t) => t.currentDirection));
    (await pc.getStats()).forEach((report) => {
      if (report.type === "inbound-rtp") out.inbound += 1;
      if (report.type === "outbound-rtp" && report.kind === "video") out.outboundFps.push(report.framesPerSecond);
    });
  }
  out.receivedVideos = [...document.querySelectorAll("video")].filter((v) => v.srcObject).length;
  return out;
}"""

PREVIEW_STATE = """() => {
  const video = document.getElementById("video");
  const canvas = document.getElementById("overlay");
  const stage = document.getElementById("stage");
  const count = (r, g, b) => {
    if (!canvas.width) return 0;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] === r && data[i + 1] === g && data[i + 2] === b) n += 1;
    return n;
  };
  const box = stage.getBoundingClientRect();
  return {state: document.body.dataset.preview, shown: !stage.hidden && box.width > 0 && box.height > 0,
          width: video.videoWidth, height: video.videoHeight, time: video.currentTime,
          green: count(%d, %d, %d), grey: count(%d, %d, %d), message: document.getElementById("message").hidden
            ? "" : document.getElementById("message").textContent};
}""" % (*GREEN, *GREY)


@pytest.fixture(scope="module")
def light_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One app server in the light mode for this module (each test has its own browser, hence session)."""
    pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (pip install playwright)")
    with serve_app(tmp_path_factory.mktemp("light-live-server"), {"MOODTUNE_LIVE_VIDEO_BACK": "0"},
                   name="light_live_module") as url:
        yield url


def preview_frame(page: object) -> object:
    """The preview component's frame (its iframe is on the page from the first run)."""
    page.locator(PREVIEW).wait_for(state="attached", timeout=60_000)  # type: ignore[attr-defined]
    return page.locator(PREVIEW).element_handle().content_frame()  # type: ignore[attr-defined]


def wait_for_preview(frame: object, timeout_s: float, **wanted: object) -> dict:
    """Poll the preview until its state has every ``wanted`` property (``green=True``: some green pixels)."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = frame.evaluate(PREVIEW_STATE)  # type: ignore[attr-defined]
        if all(bool(state[key]) == value if isinstance(value, bool) else state[key] == value
               for key, value in wanted.items()):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"the preview never reached {wanted}: {state}")
        time.sleep(0.25)  # polling what the page draws, not a fixed wait


def assert_no_video_came_back(page: object) -> dict:
    peers = webrtc_frame(page).evaluate(PEER_STATE)  # type: ignore[attr-defined]
    assert peers["peers"] == 1, peers
    assert peers["directions"] and set(peers["directions"]) == {"sendonly"}, peers
    assert peers["tracks"] == 0 and peers["inbound"] == 0 and peers["receivedVideos"] == 0, peers
    assert peers["outboundFps"] and all(fps <= config.LIVE_SENT_FPS + 1 for fps in peers["outboundFps"]), peers
    return peers


def shoot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(ARTIFACTS / f"e2e_light_live_{name}.png"), full_page=True)  # type: ignore[attr-defined]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_light_live_shows_the_own_camera_with_the_mood_and_plays_music(light_url: str, tmp_path: Path,
                                                                     viewport: str) -> None:
    ensure_ice_address()
    video = tmp_path / "happy.y4m"
    write_y4m(video, [(clear_face("happy"), 2.0)], fps=15)
    width, height = VIEWPORTS[viewport]
    with browser_page(tmp_path, webcam_flags(video), width, height) as page:
        page.context.add_init_script(PEER_PROBE)  # type: ignore[attr-defined]
        page.goto(light_url, wait_until="domcontentloaded")  # type: ignore[attr-defined]
        preview = preview_frame(page)
        assert wait_for_preview(preview, 10, state="idle", shown=False)["green"] == 0  # no picture before Start
        press(page, "START")
        page.locator(".mt-emotion-name", has_text="happy").wait_for(timeout=60_000)  # type: ignore[attr-defined]
        # the visitor's own camera, moving, with the green box and its label drawn over it
        first = wait_for_preview(preview, 15, state="playing", shown=True, green=True)
        assert (first["width"], first["height"]) == (WIDTH, HEIGHT) and first["message"] == ""
        later = wait_for_preview(preview, 5, state="playing")
        deadline = time.monotonic() + 5
        while later["time"] <= first["time"] and time.monotonic() < deadline:
            time.sleep(0.2)
            later = wait_for_preview(preview, 5, state="playing")
        assert later["time"] > first["time"], "the preview does not move"
        # the music of the mood
        page.locator(SIDEBAR_PLAYER.format(playlist_id("happy"))).wait_for(  # type: ignore[attr-defined]
            state="attached", timeout=45_000)
        wait_for_text(page, "frames analysed per second", 15)
        assert_no_video_came_back(page)
        shoot(page, f"happy_{viewport}")
        # the folded details are drawn once unfolded (and only then: they cost the 1-s refresh half its time)
        assert page.get_by_text("Your mood over time", exact=True).count() == 0  # type: ignore[attr-defined]
        page.get_by_text("Details: all seven moods", exact=False).click()  # type: ignore[attr-defined]
        page.get_by_text("Your mood over time", exact=True).wait_for(timeout=15_000)  # type: ignore[attr-defined]
        page.locator('[data-testid="stVegaLiteChart"]').nth(1).wait_for(timeout=15_000)  # type: ignore[attr-defined]
        page.get_by_text("This session", exact=False).first.wait_for(timeout=5_000)  # type: ignore[attr-defined]
        shoot(page, f"details_{viewport}")
        # Stop: the picture goes, the page says the camera is paused, nothing breaks
        press(page, "STOP")
        paused = page.get_by_text("Camera paused: the video stops", exact=False)  # type: ignore[attr-defined]
        paused.wait_for(timeout=30_000)
        wait_for_preview(preview, 15, shown=False, green=False)
        assert page.get_by_text("Traceback").count() == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_light_live_no_face_and_two_faces(light_url: str, tmp_path: Path, viewport: str) -> None:
    ensure_ice_address()
    pair = np.hstack([clear_face("happy"), clear_face("surprise")])[::2, ::2]  # two faces in one 320x120 strip
    canvas = np.full((HEIGHT, WIDTH, 3), 150, np.uint8)
    canvas[60:180] = pair
    video = tmp_path / "two_then_none.y4m"
    write_y4m(video, [(canvas, 8.0), (np.full((HEIGHT, WIDTH, 3), 150, np.uint8), 8.0)], fps=15)
    width, height = VIEWPORTS[viewport]
    with browser_page(tmp_path, webcam_flags(video), width, height) as page:
        page.context.add_init_script(PEER_PROBE)  # type: ignore[attr-defined]
        page.goto(light_url, wait_until="domcontentloaded")  # type: ignore[attr-defined]
        preview = preview_frame(page)
        press(page, "START")
        page.get_by_text("2 faces in view: the largest one (green box) drives the music",  # type: ignore[attr-defined]
                         exact=False).wait_for(timeout=60_000)
        two = wait_for_preview(preview, 10, state="playing", green=True, grey=True)  # both boxes drawn
        assert two["message"] == ""
        shoot(page, f"twofaces_{viewport}")
        wait_for_text(page, "No face in view", 40)  # the film loops every 16 s: two loops on a loaded machine
        none = wait_for_preview(preview, 5, state="playing", shown=True, green=False, grey=False)
        assert none["width"] == WIDTH  # the picture stays, without a box
        shoot(page, f"noface_{viewport}")
        assert_no_video_came_back(page)
        assert page.get_by_text("Traceback").count() == 0  # type: ignore[attr-defined]
