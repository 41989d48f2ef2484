"""Faces for the fake webcams, chosen at test time: FER2013 PublicTest faces the app itself reads clearly."""

from __future__ import annotations

import functools

import numpy as np

import config
from browser import face_canvas
from emotion.labels import label_index

WIDTH, HEIGHT, FACE_SIZE = 320, 240, 200  # a small video: the Y4M files stay tens of MB


@functools.cache
def _pipeline() -> object:
    from emotion.pipeline import FramePipeline

    return FramePipeline()


@functools.cache
def _fer2013() -> dict[str, np.ndarray]:
    with np.load(config.FER2013_PATH) as data:
        return {name: data[name] for name in ("images", "labels", "usage")}


def clear_face(emotion: str, min_probability: float = 0.85, skip: int = 0) -> np.ndarray:
    """A canvas (BGR, WIDTH x HEIGHT) with a PublicTest face of ``emotion`` that the real pipeline reads as
    ``emotion`` with at least ``min_probability`` (the ``skip``-th such face)."""
    data = _fer2013()
    wanted = np.flatnonzero((data["usage"] == 1) & (data["labels"] == label_index(emotion)))
    pipeline = _pipeline()
    found = 0
    for index in wanted[:400]:
        canvas = face_canvas(data["images"][index], WIDTH, HEIGHT, FACE_SIZE)
        readings = pipeline.process(canvas)  # type: ignore[attr-defined]
        if len(readings) == 1 and readings[0].emotion == emotion and readings[0].confidence >= min_probability:
            if found == skip:
                return canvas
            found += 1
    raise AssertionError(f"no PublicTest face reads as {emotion} at {min_probability:.0%}")
