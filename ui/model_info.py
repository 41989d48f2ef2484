"""What the Model screen reads: measured metrics, training history and benchmark figures, each possibly not
measured yet or written by an older script. Missing or odd values hide their part; they never crash."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd

from emotion.labels import EMOTIONS
from ui.charts import SVG_TEXT


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


def number(data: Any, *keys: str) -> float | None:
    """``data[k1][k2]...`` as a float, or None when any step is missing or not a number."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    if isinstance(data, bool) or not isinstance(data, int | float):
        return None
    return float(data)


def split_report(metrics: Mapping[str, Any], split: str) -> Mapping[str, Any]:
    """One split's report ("private" or "public"), or an empty mapping."""
    report = metrics.get(split)
    return report if isinstance(report, Mapping) else {}


def _percent(value: float | None, digits: int = 0) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.{digits}%}"


def _count(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:,.0f}"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def per_class_frame(private: Mapping[str, Any], public: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Precision and recall per emotion (FER2013 order) on PrivateTest, PublicTest recall beside it."""
    rows = []
    for emotion in EMOTIONS:
        rows.append({
            "Emotion": emotion,
            "Precision": number(private, "per_class", emotion, "precision"),
            "Recall": number(private, "per_class", emotion, "recall"),
            "Recall (PublicTest)": number(public or {}, "per_class", emotion, "recall"),
            "Faces": number(private, "per_class", emotion, "support"),
        })
    frame = pd.DataFrame(rows).dropna(axis="columns", how="all")
    for column in frame.columns[1:]:
        frame[column] = frame[column].map(_count if column == "Faces" else _percent)
    return frame


@dataclass(frozen=True)
class RoundTrip:
    """The same test faces through the app's own path (detection, crop) against the data set's crops."""

    faces: int
    detected: float
    direct_accuracy: float
    round_trip_accuracy: float
    gap_points: float


def round_trip(metrics: Mapping[str, Any]) -> RoundTrip | None:
    """The ``round_trip`` block of metrics.json, or None when it is missing or incomplete."""
    block = metrics.get("round_trip")
    values = {name: number(block, name) for name in RoundTrip.__dataclass_fields__}
    if any(value is None for value in values.values()):
        return None
    return RoundTrip(faces=int(values.pop("faces")), **values)  # type: ignore[arg-type]


def confusion_chart(confusion: list[list[int]]) -> alt.Chart | None:
    """Row-normalised confusion heat map (recall on the diagonal), counts in the tooltip; None if malformed.

    Cell labels switch to white on dark cells so every figure stays readable.
    """
    size = len(EMOTIONS)
    if len(confusion) != size or any(not isinstance(row, list) or len(row) != size for row in confusion):
        return None
    rows = []
    for i, true in enumerate(EMOTIONS):
        total = sum(confusion[i]) or 1
        for j, predicted in enumerate(EMOTIONS):
            rows.append({"true": true, "predicted": predicted, "count": confusion[i][j],
                         "rate": confusion[i][j] / total})
    frame = pd.DataFrame(rows)
    base = alt.Chart(frame, height=330).encode(
        # all seven names on a phone too (columns ~33 px wide at 390 px): slanted at 45°, they never touch, so
        # Vega must not hide "overlapping" ones (it compares their upright boxes)
        x=alt.X("predicted:N", sort=list(EMOTIONS), title="predicted as",
                axis=alt.Axis(labelAngle=-45, labelOverlap=False, labelFontSize=12)),
        y=alt.Y("true:N", sort=list(EMOTIONS), title="true emotion", axis=alt.Axis(labelFontSize=12)),
    )
    cells = base.mark_rect(cornerRadius=4).encode(
        color=alt.Color("rate:Q", scale=alt.Scale(scheme="purples", domain=[0, 1]), legend=None),
        tooltip=["true", "predicted", "count", alt.Tooltip("rate:Q", format=".0%")],
    )
    labels = base.mark_text(fontSize=12, fontWeight="bold").encode(
        text=alt.Text("rate:Q", format=".0%"),
        color=alt.condition(alt.datum.rate > 0.45, alt.value("#ffffff"), alt.value("#2f3545")),
    )
    return (cells + labels).properties(usermeta=SVG_TEXT)


def committed_lineage(metrics: Mapping[str, Any]) -> list[str] | None:
    """The evaluated weights' recorded ancestry (``model.train_config.lineage``), or None."""
    model = metrics.get("model")
    config = model.get("train_config") if isinstance(model, Mapping) else None
    lineage = config.get("lineage") if isinstance(config, Mapping) else None
    return [str(run) for run in lineage] if isinstance(lineage, list) and lineage else None


def committed_run_id(metrics: Mapping[str, Any]) -> str | None:
    """The training run of the evaluated weights (``model.train_config.run_id``), or None."""
    model = metrics.get("model")
    config = model.get("train_config") if isinstance(model, Mapping) else None
    run_id = config.get("run_id") if isinstance(config, Mapping) else None
    return run_id if isinstance(run_id, str) else None


def learning_curve_chart(lineage: list[dict[str, Any]]) -> alt.Chart | None:
    """Training and PublicTest accuracy over the model's epochs, each restart marked; None when empty."""
    if not lineage:
        return None
    measures = {"train_acc": "training faces (augmented)", "public_acc": "PublicTest (held out)"}
    frame = pd.DataFrame([{"epoch": row["step"], "accuracy": row[key], "measured on": label}
                          for row in lineage for key, label in measures.items()])
    lines = alt.Chart(frame, height=260).mark_line(strokeWidth=2.5).encode(
        x=alt.X("epoch:Q", title="epoch of training", axis=alt.Axis(tickMinStep=1),
                scale=alt.Scale(domain=[1, lineage[-1]["step"]], nice=False)),
        y=alt.Y("accuracy:Q", title="accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False)),
        color=alt.Color("measured on:N", scale=alt.Scale(domain=list(measures.values()), range=["#9aa0b5", "#6c63ff"]),
                        # one entry per line: side by side they are wider than a phone's chart and were cut
                        legend=alt.Legend(orient="bottom", direction="vertical", title=None)),
        tooltip=["epoch:Q", "measured on:N", alt.Tooltip("accuracy:Q", format=".1%")],
    )
    restarts = [row["step"] - 0.5 for previous, row in zip(lineage, lineage[1:])
                if row["run_id"] != previous["run_id"]]
    if not restarts:
        return lines.properties(usermeta=SVG_TEXT)
    # No text on the rules: restarts a few epochs apart would print over each other; the caption says it.
    marks = pd.DataFrame({"epoch": restarts})
    rules = alt.Chart(marks).mark_rule(strokeDash=[4, 4], color="#8a90a2").encode(x="epoch:Q")
    return (lines + rules).properties(usermeta=SVG_TEXT)


# Benchmark figures as (file, key) -> plain label; unknown keys are not shown, missing ones drop their row.
SPEED_ROWS: tuple[tuple[str, str, str], ...] = (
    ("results", "pipeline_per_frame", "Whole frame: find faces and read each one"),
    ("results", "detector_per_frame", "Finding the faces (YuNet)"),
    ("results", "classifier_per_face_flip_tta", "Reading one face (with its mirror image, as the app does)"),
    ("results", "classifier_per_face_no_tta", "Reading one face (single pass)"),
    ("results", "seed_path_per_frame", "Whole frame in the original prototype (for comparison)"),
    ("recommender", "", "Choosing the music for an emotion"),
)


def _timing(data: Mapping[str, Any] | None, key: str) -> tuple[float | None, float | None]:
    block = (data or {}).get(key) if key else data
    return number(block, "median_ms"), number(block, "p95_ms")


def speed_frame(bench: Mapping[str, Mapping[str, Any] | None]) -> pd.DataFrame:
    """One table of the benchmark timings, as text: what was timed, median and 95th-percentile milliseconds."""
    rows = []
    for source, key, label in SPEED_ROWS:
        median, p95 = _timing(bench.get(source), key)
        if median is not None:
            rows.append({"What": label, "Typical (median)": _ms(median), "Slow case (95th percentile)": _ms(p95)})
    detectors = bench.get("detectors") or {}
    for name, figures in detectors.items():
        median = number(figures, "median_ms_per_frame")
        if median is not None and not name.startswith("yunet"):
            rows.append({"What": f"Finding the faces with {name.split(' ')[0].capitalize()} (for comparison)",
                         "Typical (median)": _ms(median),
                         "Slow case (95th percentile)": _ms(number(figures, "p95_ms_per_frame"))})
    return pd.DataFrame(rows, columns=["What", "Typical (median)", "Slow case (95th percentile)"])


def per_face_ms(bench_results: Mapping[str, Any] | None) -> float | None:
    """The measured median time to read one face as the app does (with its mirror image), or None."""
    return number(bench_results, "classifier_per_face_flip_tta", "median_ms")


def detector_recall_frame(detectors: Mapping[str, Any] | None) -> pd.DataFrame:
    """Share of the test faces each detector found, and its false alarms."""
    rows = []
    for name, figures in (detectors or {}).items():
        recall = number(figures, "recall")
        if recall is not None:
            false_alarms = number(figures, "false_positives")
            rows.append({"Detector": name, "Faces found": _percent(recall, 1),
                         "False alarms": "—" if false_alarms is None else _count(false_alarms)})
    return pd.DataFrame(rows, columns=["Detector", "Faces found", "False alarms"])


def plain_summary(metrics: Mapping[str, Any]) -> str | None:
    """One sentence for everyone: how often the model is right on faces it never saw, where it is best and
    weakest (from PrivateTest, the held-out split); None without figures."""
    private = split_report(metrics, "private")
    accuracy = number(private, "accuracy")
    recalls = {emotion: number(private, "per_class", emotion, "recall") for emotion in EMOTIONS}
    recalls = {emotion: value for emotion, value in recalls.items() if value is not None and not pd.isna(value)}
    if accuracy is None or pd.isna(accuracy) or len(recalls) < 3:
        return None
    ranked = sorted(recalls, key=recalls.get, reverse=True)
    return (f"Right about {round(accuracy * 10)} times in 10 on faces it has never seen "
            f"({accuracy:.0%}); best at {ranked[0]} and {ranked[1]}, weakest at {ranked[-1]}.")
