import cv2
import numpy as np
import pytest

from emotion.detector import Detection, HaarDetector, YuNetDetector, crop_face

# The astronaut's face in the 512x512 photo, measured by eye: roughly x 175-270, y 60-175.
FACE_CENTRE = (222, 118)


def _contains(box: tuple[int, int, int, int], point: tuple[float, float]) -> bool:
    x, y, w, h = box
    return x <= point[0] <= x + w and y <= point[1] <= y + h


@pytest.mark.parametrize("detector_cls", [YuNetDetector, HaarDetector])
def test_finds_the_face_in_the_photo(detector_cls, astronaut: np.ndarray) -> None:
    faces = detector_cls().detect(astronaut)
    assert len(faces) == 1
    assert _contains(faces[0].box, FACE_CENTRE)
    assert 60 <= faces[0].box[2] <= 160


@pytest.mark.parametrize("detector_cls", [YuNetDetector, HaarDetector])
def test_finds_nothing_without_faces(detector_cls, no_face_images: list[np.ndarray]) -> None:
    detector = detector_cls()
    for image in [*no_face_images, np.zeros((480, 640, 3), np.uint8), np.full((240, 320, 3), 200, np.uint8)]:
        assert detector.detect(image) == []


def test_boxes_come_back_in_original_frame_coordinates(astronaut: np.ndarray) -> None:
    # Detection runs on a 320-wide copy; a 2x larger frame must give a 2x larger box at 2x the place.
    small = YuNetDetector().detect(astronaut)[0].box
    large = YuNetDetector().detect(cv2.resize(astronaut, (1024, 1024)))[0].box
    for a, b in zip(small, large):
        assert abs(2 * a - b) <= 12


def test_crop_is_48x48_grayscale_and_centred_on_the_face(astronaut: np.ndarray) -> None:
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    detection = YuNetDetector().detect(astronaut)[0]
    crop = crop_face(gray, detection)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8
    # The eyes sit in the upper half and are level after alignment.
    assert detection.right_eye is not None and detection.left_eye is not None
    assert crop.std() > 20  # a face, not padding


def test_crop_near_the_frame_edge_is_padded_not_shrunk() -> None:
    gray = np.random.default_rng(0).integers(0, 255, (100, 100)).astype(np.uint8)
    crop = crop_face(gray, Detection((80, 80, 40, 40), 0.9))
    assert crop.shape == (48, 48)
