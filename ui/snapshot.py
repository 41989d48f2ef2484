"""One photo (camera snapshot or upload) through the same pipeline as the live video."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st

from emotion.images import check_file_size, decode_image
from emotion.pipeline import FaceReading, FramePipeline, draw_readings

SOURCES: dict[str, str] = {"upload": ":material/upload: Upload", "camera": ":material/photo_camera: Camera"}
UNSURE_BELOW = 0.4  # the live smoother's default min_confidence: below it a photo's reading is a guess
_RESULT_KEY = "snapshot_result"


@dataclass(frozen=True)
class SnapshotResult:
    """The annotated photo (BGR) and one reading per face, largest first."""

    annotated: np.ndarray
    readings: list[FaceReading]

    @property
    def main(self) -> FaceReading | None:
        """The face that drives the music: the largest, or None when there is no face."""
        return self.readings[0] if self.readings else None

    @property
    def note(self) -> str | None:
        """A sentence about the faces when it matters (none, or several), else None."""
        if not self.readings:
            return "No face found in this photo. Try a brighter, front-facing picture of one face."
        if len(self.readings) > 1:
            return f"{len(self.readings)} faces found: the largest one (green box) chooses the music."
        if self.readings[0].confidence < UNSURE_BELOW:
            return (f"The expression is ambiguous ({self.readings[0].confidence:.0%} for the most likely "
                    "emotion): the music follows that guess.")
        return None


def analyse_photo(pipeline: FramePipeline, data: bytes, max_mb: float) -> SnapshotResult:
    """Check, decode and read every face in ``data``; ``ValueError`` with a sentence for the user otherwise.

    The file size and the image header are checked before anything is decoded (see ``emotion.images``).
    The photo stays in memory: nothing is written to disk or logged.
    """
    check_file_size(len(data), max_mb)
    image = decode_image(data)
    readings = pipeline.process(image)  # raises ValueError on a damaged model's NaN output
    return SnapshotResult(draw_readings(image, readings), readings)


def session_analysis(pipeline: FramePipeline, data: bytes, max_mb: float) -> SnapshotResult:
    """``analyse_photo`` once per photo and session: reruns (a music-mode switch) reuse the last result.

    Only the latest photo's result (or refusal) is kept, so a new input always replaces the old one.
    """
    digest = hashlib.sha256(data).hexdigest()
    cached = st.session_state.get(_RESULT_KEY)
    if cached is None or cached[0] != digest:
        try:
            outcome: SnapshotResult | str = analyse_photo(pipeline, data, max_mb)
        except ValueError as error:
            outcome = str(error)  # the sentence only: a kept exception would keep the photo alive via its traceback
        st.session_state[_RESULT_KEY] = cached = (digest, outcome)
    if isinstance(cached[1], str):
        raise ValueError(cached[1])
    return cached[1]


def browser_refusal_style(max_mb: float) -> str:
    """CSS that shows, in words, a file the browser itself refused (over Streamlit's upload ceiling).

    Such a file never reaches the app: the uploader marks its chip invalid and hides the reason in a hover
    tooltip. This writes the reason under the chip, and hides an old refused chip once another file follows.
    """
    chips = '.st-key-snapshot_upload [data-testid="stFileChips"]'
    return (
        "<style>"
        f'{chips} [data-testid="stFileChip"][aria-invalid="true"] {{ flex-wrap: wrap; }}'
        f'{chips} [data-testid="stFileChip"][aria-invalid="true"] [role="alert"] {{ display: none; }}'
        f'{chips} [data-testid="stFileChip"][aria-invalid="true"]::after {{ flex-basis: 100%; '
        f'content: "This file is too large: the limit is {max_mb:g} MB."; color: #b3261e; font-size: 0.9rem; }}'
        f"{chips} > div > div:has([aria-invalid=\"true\"]):not(:last-child) {{ display: none; }}"
        "</style>"
    )


def forget_analysis() -> None:
    """Drop the last photo's result (no photo on screen any more)."""
    st.session_state.pop(_RESULT_KEY, None)
