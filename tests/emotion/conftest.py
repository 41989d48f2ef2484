"""Fixtures for the emotion engine's tests: the shared test photos and FER2013 PublicTest faces.

All session-scoped: each file is read, and the classifier and pipeline built, once per run. The photos and
FER2013 come from ../shared; a test using them is skipped, saying which file is missing, without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import config  # noqa: E402
from tests.shared_data import require  # noqa: E402
from emotion.classifier import EmotionClassifier  # noqa: E402
from emotion.training.data import load_raw_split  # noqa: E402
from emotion.pipeline import FramePipeline  # noqa: E402


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    image = cv2.imread(str(require(config.TEST_FACES_DIR / "happy_astronaut.png")))
    assert image is not None, "missing ../shared/testdata/faces/happy_astronaut.png"
    return image


@pytest.fixture(scope="session")
def no_face_images() -> list[np.ndarray]:
    images = [cv2.imread(str(p)) for p in sorted(require("faces").glob("noface_*.png"))]
    assert len(images) == 2 and all(i is not None for i in images)
    return images


@pytest.fixture(scope="session")
def public_test() -> tuple[np.ndarray, np.ndarray]:
    """Raw PublicTest faces and labels (the selection split; PrivateTest stays unseen by tests too)."""
    return load_raw_split(require("fer2013"), "public")


@pytest.fixture(scope="session")
def classifier() -> EmotionClassifier:
    return EmotionClassifier.load()


@pytest.fixture(scope="session")
def pipeline(classifier: EmotionClassifier) -> FramePipeline:
    return FramePipeline(classifier=classifier)
