"""What the Model screen reads: measured metrics and benchmark figures, each possibly not measured yet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from emotion.labels import EMOJI, EMOTIONS


def read_json(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """``(data, None)``; ``(None, None)`` when the file does not exist yet; ``(None, why)`` when unreadable."""
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return None, f"{path.name} could not be read ({error})"
    if not isinstance(data, dict):
        return None, f"{path.name} does not hold a JSON object"
    return data, None


def per_class_frame(split: dict[str, Any]) -> pd.DataFrame:
    """Precision, recall, F1 and support per emotion (FER2013 order) from one split's report."""
    per_class = split.get("per_class") or {}
    rows = []
    for emotion in EMOTIONS:
        values = per_class.get(emotion) or {}
        rows.append({
            "Emotion": f"{EMOJI[emotion]} {emotion}",
            "Precision": values.get("precision"),
            "Recall": values.get("recall"),
            "F1": values.get("f1"),
            "Support": values.get("support"),
        })
    return pd.DataFrame(rows)


def confusion_chart(confusion: list[list[int]]) -> alt.Chart:
    """Row-normalised confusion heat map (recall on the diagonal), counts in the tooltip."""
    rows = []
    for i, true in enumerate(EMOTIONS):
        total = sum(confusion[i]) or 1
        for j, predicted in enumerate(EMOTIONS):
            rows.append({"true": true, "predicted": predicted, "count": confusion[i][j],
                         "rate": confusion[i][j] / total})
    frame = pd.DataFrame(rows)
    base = alt.Chart(frame, height=320).encode(
        x=alt.X("predicted:N", sort=list(EMOTIONS)), y=alt.Y("true:N", sort=list(EMOTIONS))
    )
    cells = base.mark_rect(cornerRadius=4).encode(
        color=alt.Color("rate:Q", scale=alt.Scale(scheme="purples", domain=[0, 1]), legend=None),
        tooltip=["true", "predicted", "count", alt.Tooltip("rate:Q", format=".0%")],
    )
    labels = base.mark_text(fontSize=11).encode(text=alt.Text("rate:Q", format=".0%"))
    return cells + labels


def flat_items(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested JSON as (dotted key, value) rows for a plain table of benchmark figures."""
    items: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            items.extend(flat_items(value, f"{name}."))
        else:
            items.append((name, json.dumps(value) if isinstance(value, list) else str(value)))
    return items
