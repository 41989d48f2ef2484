"""Issue 19's last details in Debian's Chromium, at 1280x900 and 390x844, on one shared app server: Library's
"Test connection" and its answer on a phone, the Model screen's charts readable on a phone (all seven column
names of the confusion matrix, the whole legend of the learning curve), and one layout for the track lists
(each caption directly above its own player, the tracks clearly apart) in match and in lift mode.

Charts are measured in their SVG (the app pins Vega's SVG renderer): an axis label Vega hid for overlapping
is drawn with opacity 0, and a legend entry past the chart's edge is clipped by the SVG.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from browser import ARTIFACTS, BASE_FLAGS, settle, wait_until_idle

import config
from emotion.labels import EMOTIONS

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])

pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (pip install playwright)")


def _tag(size: dict[str, int]) -> str:
    return "desktop" if size is DESKTOP else "phone"


def _open(open_tab: Callable[..., object], url: str, size: dict[str, int]) -> object:
    page = open_tab(BASE_FLAGS, **size)
    page.goto(url, wait_until="domcontentloaded")  # type: ignore[attr-defined]
    page.locator("h1").first.wait_for(timeout=90_000)  # type: ignore[attr-defined]
    return page


# --- Library: Test connection on a phone --------------------------------------------------------------------
def test_test_connection_answers_in_view_on_a_phone(shared_app_url: str, open_tab: Callable[..., object]) -> None:
    page = _open(open_tab, f"{shared_app_url}/library", PHONE)
    button = page.get_by_role("button", name="Test connection")
    button.scroll_into_view_if_needed(timeout=15_000)
    button.click()
    answer = page.get_by_text("No Spotify keys found", exact=False)  # the shared server has no keys
    answer.wait_for(timeout=15_000)
    wait_until_idle(page)
    box = page.locator(".st-key-connection-answer").first
    box.scroll_into_view_if_needed()
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "screen_details_connection_phone.png"))
    for what, element in (("the button", button), ("the answer", box)):
        rect = element.bounding_box()
        assert rect is not None and element.is_visible(), f"{what} is not shown"
        assert rect["x"] >= 0 and rect["x"] + rect["width"] <= PHONE["width"], f"{what} sticks out sideways: {rect}"
        assert 0 <= rect["y"] and rect["y"] + min(rect["height"], 200) <= PHONE["height"], f"{what} is off screen"
    said = box.inner_text()
    assert "secrets.toml" in said and "SPOTIPY_CLIENT_ID" in said, said
    steps = page.locator('[data-testid="stMarkdownContainer"] ol > li')
    assert steps.count() >= 5, "the way to the keys is not a numbered list of steps"


# --- Model: the charts on a phone ------------------------------------------------------------------------------
# For one axis or legend, its visible texts with their four corners on screen (rotation included).
CHART_TEXTS = """([group, textRole]) => {
  const owner = [...document.querySelectorAll('[data-testid="stVegaLiteChart"] g')]
    .find((g) => (g.getAttribute('aria-label') || '').startsWith(group));
  if (!owner) return null;
  const svg = owner.ownerSVGElement.getBoundingClientRect();
  const texts = [...owner.querySelectorAll(`g.${textRole} text`)].map((t) => {
    const b = t.getBBox(), m = t.getScreenCTM();
    const corners = [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
      .map(([x, y]) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f]);
    const hidden = t.getAttribute('opacity') === '0' || getComputedStyle(t).opacity === '0'
      || getComputedStyle(t).visibility === 'hidden';
    return {text: t.textContent, hidden, corners, size: parseFloat(getComputedStyle(t).fontSize)};
  });
  return {texts, svg: {left: svg.left, right: svg.right}, width: window.innerWidth};
}"""


def _overlap(a: list[list[float]], b: list[list[float]], slack: float = 1.0) -> bool:
    """Whether two convex quadrilaterals overlap by more than ``slack`` px (separating axis test)."""
    for quad in (a, b):
        for i in range(4):
            (x1, y1), (x2, y2) = quad[i], quad[(i + 1) % 4]
            nx, ny = y1 - y2, x2 - x1
            length = (nx * nx + ny * ny) ** 0.5 or 1.0
            pa = [(x * nx + y * ny) / length for x, y in a]
            pb = [(x * nx + y * ny) / length for x, y in b]
            if min(pa) >= max(pb) - slack or min(pb) >= max(pa) - slack:
                return False
    return True


def _inside(found: dict, what: str) -> None:
    right = min(found["svg"]["right"], found["width"]) + 1
    left = max(found["svg"]["left"], 0) - 1
    for text in found["texts"]:
        xs = [x for x, _ in text["corners"]]
        assert left <= min(xs) and max(xs) <= right, \
            f"{what} {text['text']!r} is cut off: x {min(xs):.0f}-{max(xs):.0f}, visible {left:.0f}-{right:.0f}"


@SIZES
def test_the_model_charts_are_whole_and_readable(shared_app_url: str, open_tab: Callable[..., object],
                                                 size: dict[str, int]) -> None:
    page = _open(open_tab, f"{shared_app_url}/model", size)
    page.locator("g.role-axis[aria-label*='predicted as']").wait_for(state="attached", timeout=30_000)
    page.locator("g.role-legend").first.wait_for(state="attached", timeout=30_000)
    wait_until_idle(page)
    settle(page)
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"screen_details_matrix_{_tag(size)}.png"))

    columns = page.evaluate(CHART_TEXTS, ["X-axis titled 'predicted as'", "role-axis-label"])
    assert columns is not None, "the confusion matrix has no column axis"
    shown = [text for text in columns["texts"] if not text["hidden"]]
    assert [text["text"] for text in shown] == list(EMOTIONS), \
        f"the matrix names {len(shown)} of 7 columns: {[text['text'] for text in shown]}"
    _inside(columns, "the column label")
    assert all(text["size"] >= 11 for text in shown), "column labels too small to read"
    for first, second in zip(shown, shown[1:]):
        assert not _overlap(first["corners"], second["corners"]), f"{first['text']} and {second['text']} overlap"

    page.locator('[data-testid="stVegaLiteChart"]').nth(1).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"screen_details_curve_{_tag(size)}.png"))
    legend = page.evaluate(CHART_TEXTS, ["Symbol legend", "role-legend-label"])
    assert legend is not None and len(legend["texts"]) == 2, "the learning curve has no legend of two entries"
    assert not any(text["hidden"] for text in legend["texts"])
    _inside(legend, "the legend entry")


# --- Music: one layout for the track lists -----------------------------------------------------------------------
TRACK_BOXES = """() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, w: r.width, h: r.height}; };
  const players = {};
  for (const frame of document.querySelectorAll('[data-testid="stMain"] iframe[src*="/embed/track/"]')) {
    players[frame.src.match(/embed\\/track\\/([0-9A-Za-z]{22})/)[1]] = box(frame);
  }
  const captions = [...document.querySelectorAll('[data-testid="stMain"] .mt-track')]
    .filter((c) => c.querySelector('a[href*="/track/"]'))
    .map((c) => ({id: c.querySelector('a[href*="/track/"]').href.match(/track\\/([0-9A-Za-z]{22})/)[1],
                  text: c.innerText, box: box(c)}));
  return {players, captions};
}"""


def _gap(a: dict[str, float], b: dict[str, float]) -> float:
    """The shortest distance between two boxes (0 when they touch or overlap)."""
    dx = max(0.0, b["x"] - (a["x"] + a["w"]), a["x"] - (b["x"] + b["w"]))
    dy = max(0.0, b["y"] - (a["y"] + a["h"]), a["y"] - (b["y"] + b["h"]))
    return (dx * dx + dy * dy) ** 0.5


def _check_tracks(page: object, mode: str) -> None:
    found = page.evaluate(TRACK_BOXES)  # type: ignore[attr-defined]
    players, captions = found["players"], found["captions"]
    assert len(players) >= 5 and sorted(c["id"] for c in captions) == sorted(players), \
        f"{mode}: {len(players)} players, {len(captions)} captions"
    for number, caption in enumerate(captions, start=1):
        own = players[caption["id"]]
        near = _gap(caption["box"], own)
        other = min(_gap(caption["box"], box) for track, box in players.items() if track != caption["id"])
        name = f"{mode}: track {number} ({caption['text'][:30]!r})"
        assert caption["box"]["y"] + caption["box"]["h"] <= own["y"] + 1, f"{name}: its caption is not above its player"
        assert near <= 12, f"{name}: its caption is {near:.0f} px from its own player"
        assert other >= max(16, 2 * near), f"{name}: its caption is {other:.0f} px from another player ({near:.0f} " \
                                           "from its own)"
        numbered = re.match(r"\s*(\d+)\.", caption["text"])
        if mode == "lift":
            assert numbered and int(numbered.group(1)) == number, f"{name}: not numbered {number}"
        else:
            assert numbered is None, f"{name}: match mode has no order, so no numbers"


@SIZES
def test_every_track_caption_sits_on_its_own_player(shared_app_url: str, open_tab: Callable[..., object],
                                                    size: dict[str, int]) -> None:
    page = _open(open_tab, f"{shared_app_url}/snapshot", size)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        str(config.TEST_FACES_DIR / "happy_astronaut.png"))
    page.locator('[data-testid="stMain"] iframe[src*="/embed/track/"]').first.wait_for(state="attached",
                                                                                       timeout=60_000)
    wait_until_idle(page)
    settle(page)
    page.locator('[data-testid="stMain"] iframe[src*="/embed/track/"]').first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"screen_details_match_{_tag(size)}.png"))
    _check_tracks(page, "match")
    page.get_by_text("Lift my mood").first.click()
    page.get_by_text("Lift mode:", exact=False).first.wait_for(timeout=30_000)
    wait_until_idle(page)
    settle(page)
    page.locator('[data-testid="stMain"] iframe[src*="/embed/track/"]').first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"screen_details_lift_{_tag(size)}.png"))
    _check_tracks(page, "lift")
