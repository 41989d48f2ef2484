"""Issue 19 §5 in a real browser: an unknown address opens Live quietly, Enter adds a playlist, and an
example address in a message is never a dead link."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from browser import BASE_FLAGS, browser_page

pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (pip install playwright)")


def test_an_unknown_address_opens_live_quietly(app_url: str, tmp_path: Path) -> None:
    with browser_page(tmp_path, BASE_FLAGS, width=390, height=844) as page:
        # not the server's very first visit: that one runs before app.py can see the address (Streamlit's own
        # pages/ lookup), and says "Page not found" once
        page.goto(app_url, wait_until="domcontentloaded")
        page.locator("h1", has_text="Live").wait_for(timeout=90_000)
        page.goto(f"{app_url}/no-such-screen", wait_until="domcontentloaded")
        page.locator("h1", has_text="Live").wait_for(timeout=90_000)
        time.sleep(2)
        assert page.get_by_text("Page not found", exact=False).count() == 0

        page.goto(f"{app_url}/library", wait_until="domcontentloaded")
        box = page.get_by_role("textbox", name="Add a playlist for happy")
        box.wait_for(timeout=60_000)
        box.fill("not a playlist")
        box.press("Enter")  # Enter submits, like the Add button
        page.get_by_text("That is not a Spotify playlist", exact=False).wait_for(timeout=30_000)
        dead = page.locator('[data-testid="stMain"] a[href*="%E2%80%A6"]')
        assert dead.count() == 0, "an example address in the message is a dead link"
        box.fill("ABCDEFGHIJKLMNOPQRSTUV")
        box.press("Enter")
        page.get_by_text("Added to happy", exact=False).wait_for(timeout=30_000)
