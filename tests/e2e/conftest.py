"""The real-browser tests: project root on sys.path, Chromium and Playwright present or a clear skip.

Every test here is marked ``browser`` (tests/conftest.py), so ``-m "not browser"`` leaves them out.

Servers (``streamlit run app.py`` on a free port of 127.0.0.1, each with a fresh database):

- ``app_url``: a server of the test's own, its log at ``tmp_path / "streamlit.log"``. For tests about a
  server's first visit or that read its log.
- ``shared_app_url``: one server for the whole session (log: tests/artifacts/e2e_streamlit_shared.log). Each
  browser tab is its own Streamlit session, so tests that only need *a* running app share it and skip the
  start and the first visit's model loading and database seeding.

Browsers (Debian's Chromium, one Playwright driver per test module: ``browser.playwright_driver()``):

- ``browser.browser_page(tmp_path, flags)``: a Chromium of the test's own.
- ``open_tab(flags, width=1280, height=900)``: a new tab in the module's Chromium started with ``flags``
  (``chromium_pool``, module scope): tests with the same flags (the same fake webcam file, written once per
  module) share one Chromium. Tabs are closed after the test, with a screenshot in tests/artifacts when it
  failed. No test calls ``sync_playwright()`` itself: Playwright allows one sync driver per thread.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(1, str(Path(__file__).resolve().parent))  # browser.py

from browser import ARTIFACTS, TEST_BROWSER, ChromiumPool, serve_app, stop_playwright_driver  # noqa: E402

PLAYWRIGHT_MISSING = "needs the playwright Python package (pip install playwright)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_chromium = pytest.mark.skip(reason="needs Debian's Chromium: apt-get install chromium")
    for item in items:
        if "tests/e2e" in str(item.path) and not TEST_BROWSER.exists():
            item.add_marker(skip_chromium)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """Keep each phase's report on the test, so that fixtures can tell whether it failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict]()


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free local port with a fresh database."""
    pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
    with serve_app(tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def shared_app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One ``streamlit run app.py`` (fresh database) for every test that asks for it, started on first use."""
    pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
    with serve_app(tmp_path_factory.mktemp("shared-server"), name="shared") as url:
        yield url


@pytest.fixture(scope="module", autouse=True)
def _one_playwright_driver_per_module() -> Iterator[None]:
    """The module's tests share one Playwright driver (seconds to start), stopped after the module: a running
    driver leaves an asyncio loop running in this thread, which other folders' ``asyncio.run`` refuse."""
    yield
    stop_playwright_driver()


@pytest.fixture(scope="module")
def chromium_pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromiumPool]:
    """The module's Playwright driver and its Chromiums, one per set of flags (see ``open_tab``)."""
    pytest.importorskip("playwright.sync_api", reason=PLAYWRIGHT_MISSING)
    pool = ChromiumPool(tmp_path_factory.mktemp("chromium"))
    yield pool
    pool.close()


@pytest.fixture
def open_tab(chromium_pool: ChromiumPool, request: pytest.FixtureRequest) -> Iterator[Callable[..., object]]:
    """``open_tab(flags, width=1280, height=900)``: a new tab in the module's Chromium started with ``flags``."""
    pages: list[object] = []

    def open_one(flags: list[str], width: int = 1280, height: int = 900) -> object:
        page = chromium_pool.page(flags, width, height)
        pages.append(page)
        return page

    yield open_one
    failed = any(report.failed for report in request.node.stash.get(_REPORTS, {}).values())
    for number, page in enumerate(pages):
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / f"e2e_failure_{request.node.name}_{number}.png"
            try:
                page.screenshot(path=str(shot), full_page=True)  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - a closed or crashed tab has nothing to show
                pass
        try:
            page.close()  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - the test may have closed it
            pass
