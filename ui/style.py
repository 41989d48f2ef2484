"""The app's look (one stylesheet) and the few HTML fragments it builds — every data value escaped.

Icons are Material Symbols, the icon font bundled with Streamlit (``:material/name:`` in Markdown, or
``icon_html`` here): emoji would be empty boxes on a machine without an emoji font.
"""

from __future__ import annotations

import html
from pathlib import Path

import streamlit as st

STYLESHEET: Path = Path(__file__).with_name("style.css")

# The emotion's face in Material Symbols (names checked against streamlit.material_icon_names by the tests)
EMOTION_ICONS: dict[str, str] = {
    "angry": "sentiment_extremely_dissatisfied",
    "disgust": "sick",
    "fear": "sentiment_stressed",
    "happy": "sentiment_very_satisfied",
    "sad": "sentiment_sad",
    "surprise": "sentiment_excited",
    "neutral": "sentiment_neutral",
}
UNKNOWN_ICON = "face"

# Components live in iframes that the page's stylesheet cannot reach: the WebRTC widget's START / STOP /
# SELECT DEVICE buttons would keep their own font and capitals. This copies the page's font faces into each
# component frame (same origin) and gives its buttons the app's look. Runs once per browser tab.
_COMPONENT_STYLE_SCRIPT = """
<script>
(() => {
  if (window.__mtComponentStyle) return;
  window.__mtComponentStyle = true;
  const css = `
    button { text-transform: none !important; font-family: "Source Sans", "Source Sans Pro", sans-serif !important;
      font-weight: 600 !important; font-size: 1rem !important; letter-spacing: normal !important;
      border-radius: 14px !important; box-shadow: 4px 4px 10px #c8cbd6, -4px -4px 10px #ffffff !important; }
    button:active { box-shadow: inset 3px 3px 7px #c8cbd6, inset -3px -3px 7px #ffffff !important; }
    a { color: #5b52f0 !important; }
    @media (prefers-color-scheme: dark) {
      button { box-shadow: 4px 4px 10px #15171c, -4px -4px 10px #2e323c !important; }
      a { color: #a9a4ff !important; }
    }`;
  const fontFaces = () => {
    const rules = [];
    for (const sheet of document.styleSheets) {
      let list;
      try { list = sheet.cssRules; } catch (e) { continue; }
      for (const rule of list) {
        if (rule instanceof CSSFontFaceRule && /Source Sans/.test(rule.cssText)) {
          const base = sheet.href || document.baseURI;
          rules.push(rule.cssText.replace(/url\\((["']?)([^"')]+)\\1\\)/g,
            (m, q, u) => `url("${new URL(u, base).href}")`));
        }
      }
    }
    return rules.join("\\n");
  };
  const styleFrame = (frame) => {
    try {
      const doc = frame.contentDocument;
      if (!doc || !doc.head || doc.getElementById("mt-component-style")) return;
      const style = doc.createElement("style");
      style.id = "mt-component-style";
      style.textContent = fontFaces() + css;
      doc.head.appendChild(style);
    } catch (e) { /* another origin: leave it alone */ }
  };
  const scan = () => document.querySelectorAll('iframe[title*="webrtc"]').forEach((frame) => {
    styleFrame(frame);
    frame.addEventListener("load", () => styleFrame(frame));
  });
  new MutationObserver(scan).observe(document.body, { childList: true, subtree: true });
  scan();
})();
</script>
"""


def apply_style() -> None:
    """Inject the stylesheet and the component-frame styler (blocks that draw nothing take no space)."""
    st.html(f"<style>{STYLESHEET.read_text(encoding='utf-8')}</style>")
    st.html(_COMPONENT_STYLE_SCRIPT, unsafe_allow_javascript=True)


def icon_html(name: str, css_class: str = "") -> str:
    """A Material Symbols icon as HTML (decorative: hidden from screen readers)."""
    return f'<span class="mt-icon {css_class}" aria-hidden="true">{html.escape(name)}</span>'


def emotion_icon(emotion: str | None) -> str:
    """The Material Symbols name for an emotion's face (a plain face when unknown or None)."""
    return EMOTION_ICONS.get(emotion or "", UNKNOWN_ICON)


def emotion_headline_html(emotion: str | None, confidence: float | None, caption: str = "") -> str:
    """Big face icon + emotion name + confidence, as escaped HTML."""
    name = html.escape(emotion or "no mood yet")
    conf = "" if confidence is None or emotion is None else f"{confidence:.0%} confident"
    detail = " · ".join(part for part in (conf, caption) if part)
    icon_class = "mt-emoji" if emotion else "mt-emoji mt-pending-icon"
    return (
        '<div class="mt-emotion">'
        f'{icon_html(emotion_icon(emotion), icon_class)}'
        f'<div><div class="mt-emotion-name{"" if emotion else " mt-pending"}">{name}</div>'
        f'<div class="mt-muted">{html.escape(detail)}</div></div></div>'
    )


def link_html(text: str, url: str) -> str:
    """An escaped link that opens in a new tab (Spotify refuses to be framed by its own links)."""
    return f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{html.escape(text)}</a>'
