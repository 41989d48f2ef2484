"""Model: how well the emotion model does on held-out FER2013 faces, how fast things run, and what it is."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import config
from ui.model_info import confusion_chart, flat_items, per_class_frame, read_json
from ui.shell import ensure_app_shell

ensure_app_shell()

BENCH_TITLES = {"results": "Emotion pipeline", "recommender": "Recommendations", "detectors": "Face detectors"}

st.title("🧠 Model")

with st.container(key="card-about-model"):
    st.subheader("What the model is")
    st.markdown(
        """
- **Face detection:** YuNet (OpenCV model zoo), run on a 320-pixel-wide copy of each frame; the largest
  face drives the music.
- **Emotion:** a VGG-style convolutional network with batch normalisation (four blocks of 3×3 convolutions,
  widths 32–192), trained from scratch on **FER2013** (28,709 training faces, 48×48 grayscale, seven
  emotions), exported to TensorFlow Lite and served with LiteRT (about a millisecond per face). Each face is
  contrast-stretched the same way in training and in the app, and classified together with its mirror image.
- **Smoothing:** about a second of frames is averaged, and the emotion only switches after another one has
  led for a moment, so the music does not flicker.
- **Limits:** FER2013 holds posed and web-collected faces, mostly frontal, adult and unevenly spread over
  skin tones and ages; *disgust* has few examples (436) and is recognised poorly; lighting, glasses and
  partial faces hurt. An expression is not a feeling: treat the result as a playful guess, not a diagnosis.
"""
    )

metrics, problem = read_json(config.METRICS_PATH)
with st.container(key="card-metrics"):
    st.subheader("Accuracy on held-out faces")
    if problem:
        st.error(problem)
    elif metrics is None:
        st.info("Not measured yet: run `python -m emotion.evaluate` to write models/metrics.json.", icon="⏳")
    else:
        cols = st.columns(2)
        for col, split, label in ((cols[0], "private", "PrivateTest (reported)"),
                                  (cols[1], "public", "PublicTest (model selection)")):
            accuracy = (metrics.get(split) or {}).get("accuracy")
            col.metric(label, "—" if accuracy is None else f"{accuracy:.1%}")
        private = metrics.get("private") or {}
        st.markdown("**Per emotion (PrivateTest)**")
        st.dataframe(per_class_frame(private), hide_index=True, width="stretch",
                     column_config={c: st.column_config.NumberColumn(format="%.2f")
                                    for c in ("Precision", "Recall", "F1")})
        st.markdown("**Confusion matrix (PrivateTest; rows: true emotion, share predicted as each)**")
        confusion_png = config.MODELS_DIR / "confusion_private.png"
        if private.get("confusion"):
            st.altair_chart(confusion_chart(private["confusion"]), width="stretch")
        elif confusion_png.is_file():
            st.image(str(confusion_png))
        curve = config.MODELS_DIR / "learning_curve.png"
        if curve.is_file():
            st.markdown("**Learning curve**")
            st.image(str(curve), width="stretch")
        if metrics.get("evaluated"):
            st.caption(f"Evaluated {metrics['evaluated']}.")

with st.container(key="card-bench"):
    st.subheader("Speed")
    shown = False
    for path in sorted(config.BENCH_DIR.glob("*.json")):
        data, problem = read_json(path)
        if problem:
            st.error(problem)
        elif data is not None:
            shown = True
            st.markdown(f"**{BENCH_TITLES.get(path.stem, path.stem)}** (`bench/{path.name}`)")
            st.dataframe(pd.DataFrame(flat_items(data), columns=["Figure", "Value"]), hide_index=True,
                         width="stretch")
    if not shown:
        st.info("Not measured yet: the benchmark scripts in bench/ write their figures there.", icon="⏳")
