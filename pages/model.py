"""Model: what the emotion model is, how well it does on held-out FER2013 faces, and how fast things run."""

from __future__ import annotations

import streamlit as st

import config
from emotion.lineage import model_lineage, read_history
from ui.model_info import (
    committed_lineage,
    committed_run_id,
    confusion_chart,
    detector_recall_frame,
    learning_curve_chart,
    number,
    per_class_frame,
    per_face_ms,
    read_json,
    plain_summary,
    round_trip,
    speed_frame,
    split_report,
)
from ui.shell import ensure_app_shell

ensure_app_shell()

st.title(":material/psychology: Model")

metrics, metrics_problem = read_json(config.METRICS_PATH)
bench: dict = {}
bench_problems: list[str] = []
for name in ("results", "recommender", "detectors"):
    data, problem = read_json(config.BENCH_DIR / f"{name}.json")
    bench[name] = data
    if problem:
        bench_problems.append(problem)
face_ms = per_face_ms(bench["results"])
speed_note = f" (about {face_ms:.0f} ms per face, measured below)" if face_ms is not None else ""

summary = plain_summary(metrics or {})
if summary:
    with st.container(key="card-summary"):
        st.markdown(f"#### {summary}")
        st.caption("An expression is not a feeling: treat each reading as a playful guess. The details follow.")

with st.container(key="card-about-model"), st.expander("What the model is", expanded=False):
    st.markdown(
        f"""
- **Face detection:** YuNet (OpenCV model zoo), run on a 320-pixel-wide copy of each frame; the largest
  face drives the music.
- **Emotion:** a VGG-style convolutional network with batch normalisation (four blocks of 3×3 convolutions,
  widths 32–192), trained from scratch on **FER2013** (28,709 training faces, 48×48 grayscale, seven
  emotions), exported to TensorFlow Lite and served with LiteRT{speed_note}. Each face is contrast-stretched
  the same way in training and in the app, and read together with its mirror image.
- **Smoothing:** about a second of frames is averaged, and the emotion only switches after another one has
  led for a moment, so the music does not flicker.
- **Limits:** FER2013 holds posed and web-collected faces, mostly frontal, adult and unevenly spread over
  skin tones and ages; *disgust* has few examples (436) and *fear* is often read as sadness or surprise;
  lighting, glasses and partial faces hurt. An expression is not a feeling: treat the result as a playful
  guess, not a diagnosis.
"""
    )

with st.container(key="card-metrics"):
    st.subheader("Accuracy on held-out faces")
    if metrics_problem:
        st.error(metrics_problem, icon=":material/error:")
    elif metrics is None:
        st.info("Not measured yet: run `python -m emotion.training.evaluate` to write models/metrics.json.",
                icon=":material/hourglass_empty:")
    else:
        private, public = split_report(metrics, "private"), split_report(metrics, "public")
        trip = round_trip(metrics)
        # short labels: five tiles share one row on a computer (a long one was cut to "Through the app's ow…")
        figures = [("PrivateTest", number(private, "accuracy"), "Accuracy on 3,589 faces never used to choose"),
                   ("PublicTest", number(public, "accuracy"), "Accuracy on the 3,589 faces that chose the epoch")]
        if trip is not None:
            figures.append(("Via the app", trip.round_trip_accuracy,
                            "PublicTest faces in photo-like frames, found and cropped by the app itself: accuracy "
                            "on the faces it found (see below)"))
        figures += [("Disgust recall", number(private, "per_class", "disgust", "recall"),
                     "Of the PrivateTest faces showing disgust, the share read as disgust"),
                    ("Fear recall", number(private, "per_class", "fear", "recall"),
                     "Of the PrivateTest faces showing fear, the share read as fear")]
        figures = [(label, value, hint) for label, value, hint in figures if value is not None]
        for column, (label, value, hint) in zip(st.columns(len(figures) or 1), figures):
            column.metric(label, f"{value:.1%}", help=hint)
        st.markdown(
            """
- **PrivateTest:** 3,589 faces never used while training or choosing the model; its accuracy is the one
  to quote.
- **PublicTest:** 3,589 other faces used to pick the best training epoch, so its figure is slightly
  flattering.
- **Precision:** when the model says *fear*, how often the face really shows fear.
- **Recall:** of all the faces that really show fear, how many the model calls fear.
"""
        )
        if trip is not None:
            change = (f"{trip.gap_points:.2f} points lost on the way" if trip.gap_points >= 0
                      else f"{-trip.gap_points:.2f} points gained on the way")
            st.markdown(
                f"**Through the app's own path.** The data set's faces come ready-cropped; the app has to find "
                f"and crop each face itself. Placed in photo-like frames and sent through the app's detector "
                f"and crop, {trip.faces:,} PublicTest faces were found {trip.detected:.0%} of the time and "
                f"read correctly {trip.round_trip_accuracy:.1%} of the time, against "
                f"{trip.direct_accuracy:.1%} for the same faces as ready-made crops: {change}. Both figures "
                f"count only the faces the app found, so they differ from the PublicTest tile, which counts "
                f"every face."
            )
        table = per_class_frame(private, public)
        if len(table.columns) > 1:
            st.markdown("**Per emotion (PrivateTest)**")
            st.table(table.set_index("Emotion"))
        chart = confusion_chart(private.get("confusion") or [])
        if chart is not None:
            st.markdown("**Which emotion each true emotion was read as** (PrivateTest; each row adds up to "
                        "100%, the diagonal is the recall)")
            st.altair_chart(chart, width="stretch")
        lineage = model_lineage(read_history(config.HISTORY_PATH), committed_run_id(metrics), committed_lineage(metrics))
        curve = learning_curve_chart(lineage)
        if curve is not None:
            st.markdown("**How the model learned** (accuracy after each epoch of training)")
            st.altair_chart(curve, width="stretch")
            restarted = len({row["run_id"] for row in lineage}) > 1
            st.caption("Training accuracy is measured on distorted copies of the faces (augmentation), so it "
                       "runs close to the held-out figure." + (" Each dashed line marks where a new training run went "
                       "on from the best weights so far, with a new learning-rate schedule." if restarted else ""))
        if metrics.get("evaluated"):
            st.caption(f"Evaluated {metrics['evaluated']}.")

with st.container(key="card-bench"):
    st.subheader("Speed")
    for problem in bench_problems:
        st.error(problem, icon=":material/error:")
    speed = speed_frame(bench)
    if speed.empty:
        st.info("Not measured yet: the benchmark scripts in bench/ write their figures there.",
                icon=":material/hourglass_empty:")
    else:
        st.table(speed.set_index("What"))
        machine = (bench["results"] or {}).get("machine")
        st.caption("Milliseconds on the server" + (f" ({machine})" if isinstance(machine, str) else "")
                   + "; a video frame is 640×480. Figures from the scripts in bench/.")
    recall = detector_recall_frame(bench["detectors"])
    if not recall.empty:
        st.markdown("**Face detectors compared** (share of the test faces found in `bench/detectors.py`'s own "
                    "frames, a smaller and easier set than the round trip above, so its share found differs)")
        st.table(recall.set_index("Detector"))
