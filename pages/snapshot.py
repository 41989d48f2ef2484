"""Snapshot: one photo — uploaded, or taken with the camera when the user picks it — read like the live video,
with music. The latest photo wins; a refused one says why and leaves no old result behind."""

from __future__ import annotations

import streamlit as st

import config
from ui.charts import probability_chart
from ui.music import mode_switch, recommendation_for, render_recommendation
from ui.resources import load_pipeline
from ui.shell import ensure_app_shell
from ui.snapshot import SOURCES, browser_refusal_style, forget_analysis, session_analysis
from ui.style import emotion_headline_html

ensure_app_shell()

st.title(":material/photo_camera: Snapshot")
st.caption("No live video needed: upload a photo or take one with the camera. "
           "It is analysed in memory and never stored.")

pipeline = load_pipeline()
if pipeline is None:
    st.stop()

input_col, result_col = st.columns([2, 3], gap="medium")
with input_col, st.container(key="card-input"):
    source = st.segmented_control(
        "Photo from", list(SOURCES), format_func=SOURCES.get, default="upload", key="snapshot_source",
        selection_mode="single", required=True, label_visibility="collapsed",
    )
    if source == "camera":  # the camera starts only here, when the user picks it
        photo = st.camera_input("Take a picture of your face", key="snapshot_camera")
    else:
        photo = st.file_uploader(
            f"A photo of one face: JPG, PNG or WebP, up to {config.UPLOAD_MAX_MB} MB",
            key="snapshot_upload",
            # every file reaches the app, which explains a refusal (the browser's own would hide it in a chip)
            max_upload_size=int(st.get_option("server.maxUploadSize")),
        )
        st.html(browser_refusal_style(config.UPLOAD_MAX_MB))

with result_col:
    if photo is None:
        forget_analysis()
        st.info("Upload a photo of one face, or pick **Camera** and take one, to get music for its mood.",
                icon=":material/sentiment_satisfied:")
        st.stop()
    try:
        with st.spinner("Reading the expression…"):
            result = session_analysis(pipeline, photo.getvalue(), config.UPLOAD_MAX_MB)
    except ValueError as error:
        st.error(str(error), icon=":material/block:")
        st.stop()

    face = result.main
    with st.container(key="card-reading"):
        st.html(emotion_headline_html(face.emotion if face else None, face.confidence if face else None))
        if result.note:
            st.warning(result.note, icon=":material/info:")
        photo_col, chart_col = st.columns(2)
        with photo_col:
            st.image(result.annotated, channels="BGR", width="stretch")
        if face is not None:
            with chart_col:
                st.altair_chart(probability_chart(face.probs), width="stretch")

if face is not None:
    with st.container(key="card-music"):
        mode = mode_switch("snapshot_mode")
        rec = recommendation_for("snapshot", face.emotion, mode)
        if rec is not None:
            render_recommendation(rec)
