"""One photo (camera snapshot or upload) through the same pipeline as the live video."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emotion.pipeline import FaceReading, FramePipeline, decode_image, draw_readings

UPLOAD_TYPES: tuple[str, ...] = ("jpg", "jpeg", "png", "webp")
UNSURE_BELOW = 0.4  # the live smoother's default min_confidence: below it a photo's reading is a guess


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


def check_readings(readings: list[FaceReading]) -> None:
    """Raise ``ValueError`` when the model gave non-finite probabilities (a broken or half-written model file)."""
    if any(not np.all(np.isfinite(r.probs)) for r in readings):
        raise ValueError("the emotion model returned invalid numbers (NaN); the model file may be damaged")


def analyse_photo(pipeline: FramePipeline, data: bytes, max_mb: float) -> SnapshotResult:
    """Decode ``data`` and read every face in it; ``ValueError`` with a message for the user otherwise.

    The photo stays in memory: nothing is written to disk or logged.
    """
    if len(data) > max_mb * 1024 * 1024:
        raise ValueError(f"the photo is {len(data) / 1024 / 1024:.1f} MB; the limit is {max_mb:g} MB")
    image = decode_image(data)
    readings = pipeline.process(image)
    check_readings(readings)
    return SnapshotResult(draw_readings(image, readings), readings)
