"""Shared parts of the real-browser tests: the app server, Debian's Chromium with a fake webcam, videos.

``streamlit run app.py`` runs on a free local port with a fresh database; Chromium plays a Y4M file as
its webcam (``--use-file-for-fake-video-capture``, looped). Nothing leaves the machine.
"""

from __future__ import annotations

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
from pathlib import Path

import cv2
import numpy as np
import pytest

import config

CHROMIUM = Path("/usr/bin/chromium")
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
    if added.returncode != 0:
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
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = name or os.environ.get("PYTEST_CURRENT_TEST", "run").split(":")[-1].split(" ")[0]
        shutil.copyfile(log_path, ARTIFACTS / f"e2e_streamlit_{name}.log")


def webcam_flags(video: Path) -> list[str]:
    """Chromium flags: ``video`` as the camera, permission granted, loopback allowed for WebRTC."""
    return ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}",
            "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection", *BASE_FLAGS]


@contextlib.contextmanager
def browser_page(tmp_path: Path, flags: Sequence[str], width: int = 1280, height: int = 900) -> Iterator[object]:
    """A Playwright page in Debian's Chromium (never a downloaded browser); a screenshot if the test fails."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=False, args=list(flags),
            viewport={"width": width, "height": height},
        )
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


def press(page: object, button: str, timeout_s: float = 90) -> None:
    """Click START or STOP inside the WebRTC component (the first visit may wait for models and seeding)."""
    component = page.frame_locator('iframe[title*="webrtc_streamer"]')  # type: ignore[attr-defined]
    target = component.get_by_role("button", name=button, exact=False)
    target.wait_for(timeout=timeout_s * 1000)
    target.click()
