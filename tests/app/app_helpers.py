"""Helpers for the app tests: the test photos and readers for what an AppTest page shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from streamlit.testing.v1 import AppTest

import config

HAPPY_FACE: Path = config.TEST_FACES_DIR / "happy_astronaut.png"
NO_FACE: Path = config.TEST_FACES_DIR / "noface_cat.png"
def iframe_srcs(at: AppTest) -> list[str]:
    """The ``src`` of every ``st.iframe`` on the page."""
    return [element.proto.src for element in at.get("iframe")]


def html_bodies(at: AppTest) -> list[str]:
    """The HTML of every ``st.html`` element on the page."""
    return [element.proto.body for element in at.get("html")]


def page_text(at: AppTest) -> str:
    """Markdown, captions, alerts and HTML of the page, joined (for "does it say X" checks)."""
    parts: list[str] = []
    for kind in ("title", "markdown", "caption", "info", "warning", "error", "success", "subheader"):
        parts.extend(str(element.value) for element in getattr(at, kind))
    parts.extend(html_bodies(at))
    parts.extend(element.label for element in at.expander)
    return "\n".join(parts)


def jpeg_bytes(path: Path) -> bytes:
    """The image at ``path`` encoded as JPEG (what ``st.camera_input`` delivers)."""
    import cv2

    ok, data = cv2.imencode(".jpg", cv2.imread(str(path)))
    assert ok
    return data.tobytes()


def point_spotify_at(monkeypatch, base_url: str, client_id: str = "id",  # type: ignore[no-untyped-def]
                     client_secret: str = "secret") -> None:
    """Credentials in the environment and Spotify's token service and Web API at ``base_url``."""
    monkeypatch.setenv("SPOTIPY_CLIENT_ID", client_id)
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", client_secret)
    monkeypatch.setenv("MOODTUNE_SPOTIFY_TOKEN_URL", f"{base_url}/api/token")
    monkeypatch.setenv("MOODTUNE_SPOTIFY_API_URL", f"{base_url}/v1/")


_READ_SETTINGS = """
import json, sys, config
print(json.dumps({"problems": config.SETTINGS_PROBLEMS,
                  "values": {name: getattr(config, name) for name in sys.argv[1:]}}))
"""


def settings_with(env: dict[str, str], names: tuple[str, ...]) -> dict:
    """``config``'s problems and the values of ``names`` as a fresh interpreter reads them with only ``env``'s
    MOODTUNE_ variables set (config validates once, at import)."""
    root = Path(__file__).resolve().parents[2]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOODTUNE_")}
    result = subprocess.run([sys.executable, "-c", _READ_SETTINGS, *names], cwd=root, capture_output=True,
                            text=True, timeout=60, env={**clean, "PYTHONPATH": str(root), **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
