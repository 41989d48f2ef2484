"""Two replicas behind nginx on one PostgreSQL, and one of them stopped under its visitors (issue 18 §2).

``deploy/nginx.conf`` runs as shipped, only its ports changed: sticky sessions by cookie, websockets
proxied. Two visitors land on different replicas, each saves a playlist and gets music on Live. Then one
replica is stopped (SIGTERM, as systemd or Docker stop it): its visitor sees that the connection is being
re-established, lands on the other replica and gets a working Live again; the other visitor's stream and
players are untouched; every playlist saved on either replica is in the database, and a write after the
move lands too.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import string
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app_process import server_pid
from browser import (ARTIFACTS, browser_for, ensure_ice_address, playwright_driver, press, serve_app,
                     wait_for_text, webcam_flags, webrtc_component, write_y4m)
from faces import clear_face
from nginx_front import SHIPPED_PORTS, nginx_in_front, postgres_database, replica_of

SIDEBAR_PLAYER = '[data-testid="stSidebar"] iframe[src*="open.spotify.com/embed/playlist/"]'
# what the moved visitor sees once the other replica has picked the browser up (ui.live.MOVED_NOTICE)
MOVED = "The connection to the server was lost and another server has picked it up"


@pytest.fixture
def pg_database() -> Iterator[str]:
    """An empty database on a real PostgreSQL (CI's, or one started here); the replicas create the tables."""
    with postgres_database() as url:
        yield url


def _playlist_link() -> tuple[str, str]:
    alphabet = string.ascii_letters + string.digits
    playlist = "".join(secrets.choice(alphabet) for _ in range(22))
    return playlist, f"https://open.spotify.com/playlist/{playlist}"


@contextlib.contextmanager
def two_visitors(flags: list[str]) -> Iterator[tuple[object, object]]:
    """Two pages of Debian's Chromium in separate contexts (their own cookies, hence their own replica)."""
    browser = playwright_driver().chromium.launch(executable_path=str(browser_for(flags)), headless=False,
                                                  args=flags)
    try:
        pages = [browser.new_context(viewport={"width": 1280, "height": 900}).new_page() for _ in range(2)]
        try:
            yield pages[0], pages[1]
        except BaseException:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for number, page in enumerate(pages):
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(ARTIFACTS / f"e2e_replicas_failure_{number}.png"), full_page=True)
            raise
    finally:
        browser.close()


def save_playlist(page: object, base: str) -> str:
    """Add a playlist for happy on the Library screen (a database write); its id."""
    playlist, link = _playlist_link()
    page.goto(f"{base}/library", wait_until="domcontentloaded")  # type: ignore[attr-defined]
    box = page.get_by_role("textbox", name="Add a playlist for happy")  # type: ignore[attr-defined]
    box.fill(link, timeout=90_000)
    box.press("Enter")
    page.get_by_role("button", name="Add", exact=True).click()  # type: ignore[attr-defined]
    page.get_by_text("Added to happy", exact=False).wait_for(timeout=30_000)  # type: ignore[attr-defined]
    return playlist


def live_with_music(page: object, base: str | None) -> None:
    """Open Live (unless ``base`` is None: already there), press START, wait for the mood and the music."""
    if base is not None:
        page.goto(base, wait_until="domcontentloaded")  # type: ignore[attr-defined]
    press(page, "START")  # clicked again if the component did not take it (a loaded machine)
    page.locator(".mt-emotion-name", has_text="happy").wait_for(timeout=60_000)  # type: ignore[attr-defined]
    page.locator(SIDEBAR_PLAYER).first.wait_for(state="attached", timeout=60_000)  # type: ignore[attr-defined]


def test_a_stopped_replica_moves_its_visitors_and_leaves_the_others_alone(tmp_path: Path, pg_database: str) -> None:
    pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (pip install playwright)")
    ensure_ice_address()
    video = tmp_path / "happy.y4m"
    write_y4m(video, [(clear_face("happy"), 4)], fps=10)
    shared = {"MOODTUNE_DB_URL": pg_database, "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(16)}
    dirs = {name: tmp_path / f"replica_{name}" for name in SHIPPED_PORTS}
    for folder in dirs.values():
        folder.mkdir()
    with contextlib.ExitStack() as stack:
        urls = {name: stack.enter_context(serve_app(dirs[name], shared, name=f"replica_{name}")) for name in dirs}
        ports = {name: int(url.rsplit(":", 1)[1]) for name, url in urls.items()}
        front = stack.enter_context(nginx_in_front(tmp_path, ports))
        first, second = stack.enter_context(two_visitors(webcam_flags(video)))
        sockets = {"first": 0, "second": 0}
        first.on("websocket", lambda ws: sockets.__setitem__("first", sockets["first"] + 1))
        second.on("websocket", lambda ws: sockets.__setitem__("second", sockets["second"] + 1))

        saved = [save_playlist(first, front)]
        live_with_music(first, front)
        saved.append(save_playlist(second, front))
        live_with_music(second, front)
        homes = {"first": replica_of(first), "second": replica_of(second)}
        assert sorted(homes.values()) == ["a", "b"], homes  # nginx spread the two visitors
        assert first.get_by_text(MOVED).count() == 0 and second.get_by_text(MOVED).count() == 0  # fresh visits

        second.evaluate("""() => { for (const f of document.querySelectorAll('iframe[src*="open.spotify.com"]'))
                                     f.__mtOriginal = f.src; }""")
        sockets_before = dict(sockets)
        wait_for_text(second, "frames analysed per second", 60)  # streaming (both visitors share two cores)
        analysed_before = second.locator("text=/frames analysed per second/").inner_text()

        # stop the first visitor's replica, as a service manager would
        os.kill(server_pid(urls[homes["first"]]), signal.SIGTERM)
        stopped_at = time.monotonic()
        wait_for_text(first, MOVED, 60)  # ~1 s on an idle machine; the browser's reconnect backs off under load
        moved_after_s = time.monotonic() - stopped_at
        first.screenshot(path=str(ARTIFACTS / "e2e_replicas_moved.png"))
        assert first.locator(".mt-emotion-name").count() == 0  # no stale mood shown as current

        # a working Live again, on the other replica; the notice goes once it streams
        webrtc_component(first).get_by_role("button", name="START").wait_for(timeout=30_000)
        start_back_s = time.monotonic() - stopped_at
        live_with_music(first, None)
        assert first.get_by_text(MOVED).count() == 0
        print(f"moved notice {moved_after_s:.1f} s after the stop, START back after {start_back_s:.1f} s")
        assert replica_of(first) == homes["second"]
        saved.append(save_playlist(first, front))  # a write after the move

        # the other visitor never noticed: same websocket, same players, still streaming
        assert sockets["second"] == sockets_before["second"], sockets
        untouched = second.evaluate("""() => [...document.querySelectorAll('iframe[src*="open.spotify.com"]')]
                                          .map((f) => f.__mtOriginal === f.src)""")
        assert untouched and all(untouched), untouched
        second.locator(".mt-emotion-name", has_text="happy").wait_for(timeout=5_000)
        assert "frames analysed per second" in analysed_before
        second.locator("text=/frames analysed per second/").wait_for(timeout=5_000)  # still streaming

    engine = create_engine(pg_database)
    try:
        with engine.connect() as conn:
            stored = set(conn.execute(text("SELECT id FROM playlists")).scalars())
    finally:
        engine.dispose()
    assert set(saved) <= stored, (saved, stored)
