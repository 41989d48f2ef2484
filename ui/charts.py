"""Charts: the seven probabilities as bars, and the session's stable emotion over time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import altair as alt
import numpy as np
import pandas as pd

from emotion.labels import EMOJI, EMOTIONS


def _label(emotion: str) -> str:
    return f"{EMOJI[emotion]} {emotion}"


def probability_chart(probs: np.ndarray | Sequence[float]) -> alt.Chart:
    """Horizontal bars, one per emotion in FER2013 order, 0–100 %."""
    values = np.asarray(probs, dtype=float).reshape(-1)
    frame = pd.DataFrame({"emotion": [_label(e) for e in EMOTIONS], "probability": values})
    return (
        alt.Chart(frame, height=210)
        .mark_bar(cornerRadiusEnd=6, color="#7c83fd")
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", title=None)),
            y=alt.Y("emotion:N", sort=[_label(e) for e in EMOTIONS], title=None),
            tooltip=[alt.Tooltip("emotion:N"), alt.Tooltip("probability:Q", format=".0%")],
        )
    )


def timeline_chart(timeline: Sequence[tuple[datetime, str]], now: datetime) -> alt.Chart:
    """A step line of the stable emotion from each change until ``now``."""
    rows = [(when, _label(emotion)) for when, emotion in timeline]
    if rows:
        rows.append((now, rows[-1][1]))  # the current emotion lasts until now
    frame = pd.DataFrame(rows, columns=["time", "emotion"])
    return (
        alt.Chart(frame, height=190)
        .mark_line(interpolate="step-after", point=True, color="#7c83fd", strokeWidth=3)
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y("emotion:N", sort=[_label(e) for e in EMOTIONS], title=None),
            tooltip=[alt.Tooltip("time:T", format="%H:%M:%S"), alt.Tooltip("emotion:N")],
        )
    )
