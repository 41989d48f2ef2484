import numpy as np
import pytest

from emotion.labels import EMOJI, EMOTIONS, label_index
from emotion.preprocess import normalize_faces


def test_labels_follow_fer2013_order() -> None:
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert [label_index(e) for e in EMOTIONS] == list(range(7))
    assert set(EMOJI) == set(EMOTIONS)


def test_unknown_label_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown emotion 'joy'"):
        label_index("joy")


def test_normalize_stretches_low_contrast_faces_to_full_range() -> None:
    rng = np.random.default_rng(0)
    dull = rng.integers(100, 140, (2, 48, 48)).astype(np.uint8)
    out = normalize_faces(dull)
    assert out.shape == dull.shape and out.dtype == np.uint8
    for face in out:
        assert np.percentile(face, 1) <= 3 and np.percentile(face, 99) >= 252
    # Order of pixel intensities is kept (a monotonic stretch).
    flat_in, flat_out = dull[0].ravel(), out[0].ravel().astype(int)
    order = np.argsort(flat_in, kind="stable")
    assert np.all(np.diff(flat_out[order]) >= 0)


def test_normalize_is_stable_on_already_stretched_faces() -> None:
    face = np.tile(np.linspace(0, 255, 48).astype(np.uint8), (48, 1))
    assert np.abs(normalize_faces(face).astype(int) - face).max() <= 4


def test_normalize_leaves_flat_images_alone_and_rejects_bad_input() -> None:
    flat = np.full((48, 48), 77, np.uint8)
    assert np.array_equal(normalize_faces(flat), flat)
    with pytest.raises(ValueError, match="uint8"):
        normalize_faces(flat.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        normalize_faces(np.zeros((2, 2, 48, 48), np.uint8))
