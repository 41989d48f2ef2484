"""Snapshot: one photo — from the camera or a file — read the same way as the live video, with music."""

from __future__ import annotations

import streamlit as st

import config
from ui.charts import probability_chart
from ui.music import mode_switch, recommendation_for, render_recommendation
from ui.resources import load_pipeline
from ui.snapshot import UPLOAD_TYPES, analyse_photo
from ui.style import emotion_headline_html
from ui.shell import ensure_app_shell

ensure_app_shell()

st.title("📸 Snapshot")
st.caption("No live connection needed: take a picture or upload one. It is analysed in memory and never stored.")

pipeline = load_pipeline()
if pipeline is None:
    st.stop()

with st.container(key="card-input"):
    camera_tab, upload_tab = st.tabs(["📷 Camera", "🖼️ Upload"])
    with camera_tab:
        picture = st.camera_input("Take a picture", key="snapshot_camera")
    with upload_tab:
        upload = st.file_uploader(
            f"Upload a photo (JPG, PNG or WebP, up to {config.UPLOAD_MAX_MB} MB)",
            type=list(UPLOAD_TYPES), key="snapshot_upload", max_upload_size=config.UPLOAD_MAX_MB,
        )

photo = picture or upload
if photo is None:
    st.info("Take a picture or upload a photo of one face to get music for its mood.", icon="🙂")
    st.stop()

try:
    result = analyse_photo(pipeline, photo.getvalue(), config.UPLOAD_MAX_MB)
except ValueError as error:
    st.error(f"This photo cannot be used: {error}.", icon="🚫")
    st.stop()

face = result.main
image_col, reading_col = st.columns([3, 2], gap="large")
with image_col, st.container(key="card-photo"):
    st.image(result.annotated, channels="BGR", width="stretch")
with reading_col, st.container(key="card-reading"):
    st.html(emotion_headline_html(face.emotion if face else None, face.confidence if face else None))
    if result.note:
        st.warning(result.note)
    if face is not None:
        st.altair_chart(probability_chart(face.probs), width="stretch")

if face is not None:
    with st.container(key="card-music"):
        mode = mode_switch("snapshot_mode")
        rec = recommendation_for("snapshot", face.emotion, mode)
        if rec is not None:
            render_recommendation(rec)
