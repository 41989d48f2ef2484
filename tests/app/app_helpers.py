"""Helpers for the app tests: the test photos and readers for what an AppTest page shows."""

from __future__ import annotations

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
