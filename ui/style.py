"""The app's look (one stylesheet) and the few HTML fragments it builds — every data value escaped."""

from __future__ import annotations

import html
from pathlib import Path

import streamlit as st

from emotion.labels import EMOJI

STYLESHEET: Path = Path(__file__).with_name("style.css")


def apply_style() -> None:
    """Inject the stylesheet (``st.html`` with only a <style> block takes no space on the page)."""
    st.html(f"<style>{STYLESHEET.read_text(encoding='utf-8')}</style>")


def emoji(emotion: str | None) -> str:
    """The emoji for an emotion ("❔" when unknown or None)."""
    return EMOJI.get(emotion or "", "❔")


def emotion_headline_html(emotion: str | None, confidence: float | None, caption: str = "") -> str:
    """Big emoji + emotion name + confidence, as escaped HTML."""
    name = html.escape(emotion or "no mood yet")
    conf = "" if confidence is None or emotion is None else f"{confidence:.0%} confident"
    detail = " · ".join(part for part in (conf, caption) if part)
    return (
        '<div class="mt-emotion">'
        f'<span class="mt-emoji">{emoji(emotion)}</span>'
        f'<div><div class="mt-emotion-name{"" if emotion else " mt-pending"}">{name}</div>'
        f'<div class="mt-muted">{html.escape(detail)}</div></div></div>'
    )


def link_html(text: str, url: str) -> str:
    """An escaped link that opens in a new tab (Spotify refuses to be framed by its own links)."""
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{html.escape(text)}</a>'
