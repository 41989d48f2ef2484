"""Shared parts of the real-browser tests: the app server, Debian's Chromium with a fake webcam, videos.

``streamlit run app.py`` runs on a free local port with a fresh database; Chromium plays a Y4M file as
its webcam (``--use-file-for-fake-video-capture``, looped). Nothing leaves the machine.

Waiting: never sleep a fixed time for the page to get somewhere; wait for what the user would see
(``locator.wait_for``) or for one of the conditions here: :func:`wait_until_idle` (Streamlit finished its
run), :func:`settle` (fonts loaded and the page painted, before a screenshot), :func:`wait_for_video`
(the WebRTC component plays its video). Sharing: one Playwright driver per test module
(:func:`playwright_driver`; starting one costs seconds, and Playwright allows one sync driver per thread);
:class:`ChromiumPool` keeps one Chromium per set of flags for a test module (fixtures ``chromium_pool`` /
``open_tab`` in conftest.py).
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any
from pathlib import Path

import cv2
import numpy as np
import pytest

import config

CHROMIUM = Path("/usr/bin/chromium")  # Debian's full browser: what the benchmarks drive, as a visitor would
# The same Chromium build without the desktop browser's layers (Debian's chromium-headless-shell): the tests'
# browser when installed. The tests' CPU is mostly Chromium's, and the shell needs a third of the CPU to launch,
# half to load Live and 10-20 % less to start and stream the camera (bench/browser_cost.py).
HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
TEST_BROWSER = HEADLESS_SHELL if HEADLESS_SHELL.exists() else CHROMIUM
ROOT = config.ROOT
ARTIFACTS = ROOT / "tests" / "artifacts"
BASE_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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
    # "File exists": a parallel test worker added it first, which is just as good
    if added.returncode != 0 and "File exists" not in added.stderr:
        pytest.skip(f"only 127.0.0.1 is available for WebRTC and adding 127.0.0.2 failed: {added.stderr.strip()}")


def face_canvas(face_bgr: np.ndarray, width: int, height: int, size: int) -> np.ndarray:
    """The face scaled to ``size`` px, centred on a grey ``width`` x ``height`` frame."""
    canvas = np.full((height, width, 3), 150, np.uint8)
    if face_bgr.ndim == 2:
        face_bgr = cv2.cvtColor(face_bgr, cv2.COLOR_GRAY2BGR)
    face = cv2.resize(face_bgr, (size, size), interpolation=cv2.INTER_AREA if face_bgr.shape[0] > size
                      else cv2.INTER_CUBIC)
    top, left = (height - size) // 2, (width - size) // 2
    canvas[top:top + size, left:left + size] = face
    return canvas


def write_y4m(path: Path, segments: Sequence[tuple[np.ndarray, float]], fps: int = 15) -> None:
    """A Y4M (I420) video: each (frame, seconds) segment in turn; Chromium loops it as the webcam."""
    height, width = segments[0][0].shape[:2]
    with path.open("wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame, seconds in segments:
            yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes()
            for _ in range(max(1, round(seconds * fps))):
                handle.write(b"FRAME\n" + yuv)


def playlist_id(emotion: str) -> str:
    """The seeded playlist of ``emotion`` (what the player shows for it)."""
    with config.SEED_PLAYLISTS_PATH.open(newline="", encoding="utf-8") as handle:
        return next(row["id"] for row in csv.DictReader(handle) if row["emotion"] == emotion)


@contextlib.contextmanager
def serve_app(tmp_path: Path, extra_env: dict[str, str] | None = None, name: str | None = None) -> Iterator[str]:
    """``streamlit run app.py`` on a free local port with a fresh database; its log kept in tests/artifacts
    as ``e2e_streamlit_<name>.log`` (default: the current test's name)."""
    if not config.TFLITE_MODEL_PATH.exists():
        pytest.fail(f"the emotion model {config.TFLITE_MODEL_PATH} is missing")
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SPOTIPY_", "MOODTUNE_SPOTIFY"))},
        "MOODTUNE_DB_URL": f"sqlite:///{tmp_path / 'moodtune.db'}",
        "MOODTUNE_ICE_SERVERS": "[]",  # host candidates only: no STUN server outside this machine
        "MOODTUNE_SCHEDULER": "0",
        **(extra_env or {}),
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
            time.sleep(0.1)  # polling the health check, not a fixed wait
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = name or os.environ.get("PYTEST_CURRENT_TEST", "run").split(":")[-1].split(" ")[0].split("@")[0]
        shutil.copyfile(log_path, ARTIFACTS / f"e2e_streamlit_{name}.log")


def webcam_flags(video: Path) -> list[str]:
    """Chromium flags: ``video`` as the camera, permission granted, loopback allowed for WebRTC."""
    return ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}",
            "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection", *BASE_FLAGS]


# A visitor who answers "Block" to the camera prompt. Only the full browser has that prompt (the headless shell
# has no permission UI to deny), so flags with this one launch CHROMIUM.
DENY_CAMERA = "--deny-permission-prompts"


def blocked_camera_flags(video: Path) -> list[str]:
    """Chromium flags: ``video`` as the camera, but the visitor blocks it when asked."""
    return [*(flag for flag in webcam_flags(video) if flag != "--use-fake-ui-for-media-stream"), DENY_CAMERA]


def browser_for(flags: Sequence[str]) -> Path:
    """The Chromium a test launches with ``flags``: the headless shell, or the full browser where the camera
    prompt is to be denied."""
    return CHROMIUM if DENY_CAMERA in flags else TEST_BROWSER


_driver: Any = None  # the running Playwright driver, if any
_driver_manager: Any = None


def playwright_driver() -> Any:
    """The Playwright driver, started on first use and kept until :func:`stop_playwright_driver` (the e2e
    conftest stops it after each test module) or the process's exit."""
    global _driver, _driver_manager
    if _driver is None:
        from playwright.sync_api import sync_playwright

        _driver_manager = sync_playwright()
        _driver = _driver_manager.start()
    return _driver


def stop_playwright_driver() -> None:
    """Stop the driver, if one runs: while it runs, this thread has a running asyncio loop, so other tests'
    ``asyncio.run`` would fail."""
    global _driver, _driver_manager
    manager, _driver, _driver_manager = _driver_manager, None, None
    if manager is not None:
        manager.__exit__(None, None, None)


atexit.register(stop_playwright_driver)


def _launch(driver: Any, profile: Path, flags: Sequence[str], width: int, height: int) -> Any:
    """A persistent Chromium context: Debian's Chromium (never a downloaded browser) with ``flags``."""
    return driver.chromium.launch_persistent_context(
        str(profile), executable_path=str(browser_for(flags)), headless=False, args=list(flags),
        viewport={"width": width, "height": height},
    )


@contextlib.contextmanager
def browser_page(tmp_path: Path, flags: Sequence[str], width: int = 1280, height: int = 900) -> Iterator[object]:
    """A Playwright page in Debian's Chromium (never a downloaded browser); a screenshot if the test fails."""
    browser = _launch(playwright_driver(), tmp_path / "profile", flags, width, height)
    page = browser.pages[0] if browser.pages else browser.new_page()
    try:
        yield page
    except BaseException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / "e2e_failure.png"), full_page=True)
        raise
    finally:
        browser.close()


class ChromiumPool:
    """One Chromium per distinct set of flags, shared by a test module's tests.

    ``page(flags, width, height)`` opens a new tab (a new Streamlit session) in the Chromium started with
    ``flags``, launching it the first time those flags are asked for; the caller closes the tab. Tests that
    share a Chromium share its fake webcam file, cookies and cache, never a page. ``close()`` ends them all.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.driver = playwright_driver()
        self._browsers: dict[tuple[str, ...], Any] = {}

    def page(self, flags: Sequence[str], width: int = 1280, height: int = 900) -> Any:
        """A new tab of ``width`` x ``height`` in the Chromium started with ``flags``."""
        key = tuple(flags)
        if key not in self._browsers:
            profile = self.folder / f"profile{len(self._browsers)}"
            self._browsers[key] = _launch(self.driver, profile, flags, width, height)
        page = self._browsers[key].new_page()
        page.set_viewport_size({"width": width, "height": height})
        page.bring_to_front()  # a background tab may be throttled
        return page

    def close(self) -> None:
        """Close every Chromium (the driver stays until the module ends: the e2e conftest stops it)."""
        for browser in self._browsers.values():
            with contextlib.suppress(Exception):
                browser.close()
        self._browsers.clear()


def wait_until_idle(page: object, timeout_s: float = 60) -> None:
    """Wait until Streamlit has finished running the script (its status widget is idle)."""
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(  # type: ignore[attr-defined]
        state="attached", timeout=timeout_s * 1000)


def settle(page: object, timeout_s: float = 30) -> None:
    """Wait until the page's fonts are loaded and two frames painted (before a screenshot or a measurement of
    what is drawn)."""
    page.wait_for_function(  # type: ignore[attr-defined]
        """async () => {
          await document.fonts.ready;
          await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
          return document.fonts.status === 'loaded';
        }""", timeout=timeout_s * 1000)


WEBRTC_IFRAME = 'iframe[title*="webrtc_streamer"]'  # the WebRTC component's iframe element


def webrtc_component(page: object) -> Any:
    """The WebRTC component's frame (its video and its START / STOP button)."""
    return page.frame_locator(WEBRTC_IFRAME)  # type: ignore[attr-defined]


def webrtc_frame(page: object) -> Any:
    """The WebRTC component's frame itself, for ``evaluate`` inside it (its peer connections)."""
    return page.locator(WEBRTC_IFRAME).element_handle().content_frame()  # type: ignore[attr-defined]


def wait_for_video(page: object, timeout_s: float = 30) -> None:
    """Wait until the WebRTC component's video element shows frames (the annotated video came back)."""
    component = webrtc_component(page)
    video = component.locator("video").first
    video.wait_for(state="attached", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while not video.evaluate("v => v.readyState >= 2 && v.videoWidth > 0 && v.currentTime > 0"):
        if time.monotonic() > deadline:
            raise AssertionError("the WebRTC video did not start playing")
        time.sleep(0.1)  # polling the video element, not a fixed wait


START_TAKEN_S = 20.0  # a START the component took shows STOP (connecting or playing) well within this


def press(page: object, button: str, timeout_s: float = 90, camera_allowed: bool = True) -> None:
    """Click START or STOP inside the WebRTC component (the first visit may wait for models and seeding).

    A START is clicked again while the component still shows START after ``START_TAKEN_S`` (twice at most): on
    a loaded machine a click can land while the component re-renders and be lost. Not where the camera is
    blocked (``camera_allowed=False``): there START stays.
    """
    component = webrtc_component(page)
    target = component.get_by_role("button", name=button, exact=False)
    target.wait_for(timeout=timeout_s * 1000)
    target.click()
    if button != "START" or not camera_allowed:
        return
    stop = component.get_by_role("button", name="STOP", exact=False)
    for attempt in range(3):
        try:
            stop.wait_for(timeout=START_TAKEN_S * 1000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: the click was lost, or the last try failed
            if attempt == 2 or not target.is_visible():
                raise
            target.click()


def wait_for_text(page: object, text: str, timeout_s: float) -> None:
    """Wait until ``text`` is visible on the page; when it is not, fail with what the status boxes said instead."""
    try:
        page.get_by_text(text, exact=False).last.wait_for(timeout=timeout_s * 1000)  # type: ignore[attr-defined]
    except Exception as missed:  # noqa: BLE001 - playwright's TimeoutError, re-raised with the page's state
        alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()  # type: ignore[attr-defined]
        raise AssertionError(f"{text!r} did not show in {timeout_s:.0f} s; the status said {alerts}") from missed


def open_panel(page: object, link: str, attempts: int = 4) -> object:
    """Open the collapsed side panel (a phone's) until its ``link`` shows, and return that link's locator.

    A new screen closes the phone's panel (ui/shell.py), and Streamlit ignores the expander while it is still
    switching screens, so the click is repeated until the link stays visible.
    """
    panel = page.locator('[data-testid="stSidebar"]')  # type: ignore[attr-defined]
    target = panel.get_by_text(link, exact=True)
    for attempt in range(attempts):
        wait_until_idle(page)
        expander = page.get_by_test_id("stExpandSidebarButton")  # type: ignore[attr-defined]
        if expander.is_visible():
            expander.click()
        try:
            target.wait_for(state="visible", timeout=5_000)
            time.sleep(0.4)  # the panel's slide-in: a click mid-animation misses (playwright waits for "stable")
            if target.is_visible():
                return target
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: closed again by the new screen; try again
            if attempt == attempts - 1:
                raise
    return target


def start_streaming(page: object, streaming: object, timeout_s: float = 45) -> None:
    """Press START and wait until ``streaming`` (a locator) shows; once more if it does not.

    On a loaded machine a START can be lost (the component re-rendered under the click) or its connection can
    fail: the second try presses STOP first only where the component shows STOP.
    """
    press(page, "START")
    try:
        streaming.wait_for(timeout=timeout_s * 1000)  # type: ignore[attr-defined]
        return
    except Exception:  # noqa: BLE001 - playwright's TimeoutError; the second try below says what failed
        pass
    component = webrtc_component(page)
    stop = component.get_by_role("button", name="STOP", exact=False)
    if stop.is_visible():
        stop.click()
    press(page, "START")
    streaming.wait_for(timeout=timeout_s * 1000)  # type: ignore[attr-defined]
