import cv2
import numpy as np
import pytest

from emotion.pipeline import FramePipeline, as_bgr, decode_image, draw_readings
from emotion.training.synthetic import photo_frame, place_faces


def test_astronaut_reads_happy_through_the_whole_pipeline(pipeline: FramePipeline, astronaut) -> None:
    for frame in (astronaut, photo_frame(astronaut), photo_frame(astronaut, (480, 360))):
        readings = pipeline.process(frame)
        assert len(readings) == 1
        assert readings[0].emotion == "happy"
        assert readings[0].probs.shape == (7,)


def test_no_face_gives_an_empty_list(pipeline: FramePipeline, no_face_images) -> None:
    for image in [*no_face_images, np.zeros((480, 640, 3), np.uint8)]:
        assert pipeline.process(image) == []


def test_several_faces_all_returned_largest_first(pipeline: FramePipeline, astronaut) -> None:
    frame, _ = place_faces([astronaut[40:200, 140:310]], size=(900, 500), face_px=300, seed=3)
    small = cv2.resize(astronaut[40:200, 140:310], (150, 150))
    frame[300:450, 700:850] = small
    readings = pipeline.process(frame)
    assert len(readings) == 2
    assert readings[0].box[2] * readings[0].box[3] > readings[1].box[2] * readings[1].box[3]
    assert readings[0].box[0] < 450 < readings[1].box[0]


def test_grayscale_and_bgra_frames_are_accepted(pipeline: FramePipeline, astronaut) -> None:
    gray = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA)
    for frame in (gray, gray[..., None], bgra):
        readings = pipeline.process(frame)
        assert len(readings) == 1 and readings[0].emotion == "happy"


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((0, 0, 3), np.uint8), "empty"),
        (np.zeros((480, 640, 3), np.float32), "uint8"),
        (np.zeros((480, 640, 2), np.uint8), "channels"),
        (np.zeros((4, 4, 4, 4), np.uint8), "not an image"),
        ("not a frame", "numpy array"),
    ],
)
def test_corrupt_frames_raise_value_error(pipeline: FramePipeline, bad, message) -> None:
    with pytest.raises(ValueError, match=message):
        pipeline.process(bad)


def test_decode_image_accepts_png_jpeg_webp_and_rejects_garbage(astronaut) -> None:
    for ext in (".png", ".jpg", ".webp"):
        ok, data = cv2.imencode(ext, astronaut)
        assert ok
        decoded = decode_image(data.tobytes())
        assert decoded.shape == astronaut.shape
    with pytest.raises(ValueError, match="could not decode"):
        decode_image(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(ValueError, match="empty"):
        decode_image(b"")


def test_draw_returns_a_new_frame_and_leaves_the_input_alone(pipeline: FramePipeline, astronaut) -> None:
    frame = astronaut.copy()
    readings = pipeline.process(frame)
    drawn = draw_readings(frame, readings)
    assert drawn is not frame and drawn.shape == frame.shape
    assert np.array_equal(frame, astronaut)
    x, y, w, h = readings[0].box
    assert not np.array_equal(drawn[y : y + h, x], frame[y : y + h, x])  # the box edge was drawn
    assert np.array_equal(as_bgr(frame), frame)
