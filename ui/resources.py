"""Heavy objects shared by every session of the server process, created once (``st.cache_resource``)."""

from __future__ import annotations

import logging

import streamlit as st

import config
from emotion.calibration import NeutralReference, load_reference
from emotion.classifier import EmotionClassifier
from emotion.pipeline import FramePipeline

log = logging.getLogger(__name__)


@st.cache_resource(show_spinner="Loading the face and emotion models…")
def _pipeline() -> FramePipeline:
    # FramePipeline is thread-safe: one instance serves every session's video thread.
    return FramePipeline()


@st.cache_resource(show_spinner="Loading the face and emotion models…")
def _pipeline_without_tta() -> FramePipeline:
    # Live with MOODTUNE_LIVE_FLIP_TTA=0: each face classified once, not averaged with its mirror image.
    return FramePipeline(classifier=EmotionClassifier.load(flip_tta=False))


def load_pipeline(flip_tta: bool = True) -> FramePipeline | None:
    """The shared pipeline, or None after showing why it could not be loaded (missing model file, ...).

    Called while the script runs, before the video starts, so the frame callback never waits for it.
    ``flip_tta``: also classify each face's mirror image (Snapshot always; Live per ``config.LIVE_FLIP_TTA``).
    """
    try:
        return _pipeline() if flip_tta else _pipeline_without_tta()
    except Exception as error:  # noqa: BLE001 - the screen explains and the rest of the app keeps working
        log.exception("could not load the emotion pipeline")
        st.error(
            f"The emotion model could not be loaded: {error}. The Library, Model and About screens still work.",
            icon=":material/psychology:",
        )
        return None


@st.cache_resource(show_spinner=False)
def neutral_reference() -> NeutralReference | None:
    """How the served model reads a resting face ("Calibrate to my face"); None hides the button (the
    reference is missing, damaged, or was measured on another model file)."""
    reference = load_reference(config.NEUTRAL_REFERENCE_PATH, config.TFLITE_MODEL_PATH)
    if reference is None:
        log.warning("no neutral reference for the served model: run python -m emotion.training.neutral_reference")
    return reference
