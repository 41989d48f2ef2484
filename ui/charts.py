"""Charts: the seven probabilities as bars, and the session's stable emotion over time."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import altair as alt
import numpy as np
import pandas as pd

from emotion.labels import EMOTIONS


class TimelinePointLike(Protocol):
    """A moment of the mood timeline (``ui.live.TimelinePoint``)."""

    at: datetime
    emotion: str
    confidence: float


# Vega's SVG renderer: chart text stays text (sharp at any zoom, read by screen readers, measurable by the
# browser tests); Streamlit would switch to canvas only for charts of thousands of points.
SVG_TEXT: dict[str, object] = {"embedOptions": {"renderer": "svg"}}


def _label(emotion: str) -> str:
    return emotion  # plain text: chart labels are SVG text, where emoji need a font the machine may lack


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


TIMELINE_MIN_SPAN = timedelta(minutes=1)
TIMELINE_GAP = timedelta(seconds=6)  # points further apart (the camera was stopped) are not joined by a line


def timeline_frame(timeline: Sequence[TimelinePointLike]) -> pd.DataFrame:
    """The timeline as rows (time, emotion, confidence, stretch): a new stretch starts after each gap, so the
    line is never drawn across a time the camera was off."""
    rows, stretch, previous = [], 0, None
    for point in timeline:
        if previous is not None and point.at - previous > TIMELINE_GAP:
            stretch += 1
        rows.append((point.at, _label(point.emotion), point.confidence, stretch))
        previous = point.at
    return pd.DataFrame(rows, columns=["time", "emotion", "confidence", "stretch"])


def timeline_chart(timeline: Sequence[TimelinePointLike], now: datetime) -> alt.Chart:
    """The mood over time: one point every few seconds, on a clock-time axis ending at ``now``.

    The axis always spans at least a minute (so a fresh session does not show fractions of a second)
    and reads as hours:minutes:seconds in the browser's own time zone (Vega-Lite shows local time).
    """
    frame = timeline_frame(timeline)
    start = min([now - TIMELINE_MIN_SPAN, *(point.at for point in timeline)])
    return (
        alt.Chart(frame, height=170)
        .mark_line(interpolate="step-after", point=alt.OverlayMarkDef(color="#7c83fd"), color="#7c83fd", strokeWidth=2)
        .encode(
            x=alt.X("time:T", title=None, scale=alt.Scale(domain=[start.isoformat(), now.isoformat()]),
                    axis=alt.Axis(format="%H:%M:%S", tickCount=4, labelOverlap=True)),
            y=alt.Y("emotion:N", sort=[_label(e) for e in EMOTIONS], title=None,
                    scale=alt.Scale(domain=[_label(e) for e in EMOTIONS])),
            detail="stretch:N",
            tooltip=[alt.Tooltip("time:T", format="%H:%M:%S"), alt.Tooltip("emotion:N"),
                     alt.Tooltip("confidence:Q", format=".0%")],
        )
    )


# --- the same charts as Vega-Lite specs, for the Live screen's once-a-second redraw ----------------------
# Building an altair chart and converting it costs ~10 ms per chart per run (measured: the two Live charts
# were three quarters of an on-device session's server CPU). The spec is made by altair once, from the
# functions above, and only its data (and the timeline's time axis) are filled in per run.
@functools.cache
def _template(kind: str) -> str:
    if kind == "bars":
        spec = probability_chart(np.full(len(EMOTIONS), 1.0 / len(EMOTIONS))).to_dict()
    else:
        now = datetime(2000, 1, 1)
        spec = timeline_chart([_Point(now, EMOTIONS[0], 1.0)], now).to_dict()
    spec.pop("datasets", None)
    spec.pop("data", None)
    return json.dumps(spec)


@dataclass(frozen=True)
class _Point:
    at: datetime
    emotion: str
    confidence: float


def probability_spec(probs: np.ndarray | Sequence[float]) -> dict[str, object]:
    """``probability_chart`` as a Vega-Lite spec (for ``st.vega_lite_chart``), without altair's per-call cost."""
    values = np.asarray(probs, dtype=float).reshape(-1)
    spec = json.loads(_template("bars"))
    spec["data"] = {"values": [{"emotion": _label(e), "probability": float(v)} for e, v in zip(EMOTIONS, values)]}
    return spec


def timeline_spec(timeline: Sequence[TimelinePointLike], now: datetime) -> dict[str, object]:
    """``timeline_chart`` as a Vega-Lite spec (for ``st.vega_lite_chart``), without altair's per-call cost."""
    start = min([now - TIMELINE_MIN_SPAN, *(point.at for point in timeline)])
    spec = json.loads(_template("timeline"))
    spec["encoding"]["x"]["scale"]["domain"] = [start.isoformat(), now.isoformat()]
    spec["data"] = {"values": [{"time": p.at.isoformat(), "emotion": _label(p.emotion), "confidence": p.confidence}
                               for p in timeline]}
    return spec
