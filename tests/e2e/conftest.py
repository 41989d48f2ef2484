"""The real-browser tests: project root on sys.path, Chromium and Playwright present or a clear skip."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(1, str(Path(__file__).resolve().parent))  # browser.py

from browser import CHROMIUM, serve_app  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_chromium = pytest.mark.skip(reason="needs Debian's Chromium: apt-get install chromium")
    for item in items:
        if "tests/e2e" in str(item.path) and not CHROMIUM.exists():
            item.add_marker(skip_chromium)


@pytest.fixture
def app_url(tmp_path: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free local port with a fresh database."""
    pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package (pip install playwright)")
    with serve_app(tmp_path) as url:
        yield url
