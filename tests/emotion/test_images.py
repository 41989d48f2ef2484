"""Photos from users: the header decides before any decoding (pixel bombs, GIFs, tiny images), big photos
come out downscaled, phone photos come out upright, and no ``cv2.error`` ever escapes."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

import config
from emotion.images import (
    ANALYSIS_MAX_SIDE,
    MAX_PIXELS,
    ImageRefused,
    check_file_size,
    decode_image,
    read_header,
)
from emotion.pipeline import FramePipeline


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def grey_png_bomb(side: int, rows_per_block: int = 1000) -> bytes:
    """A valid all-black 8-bit grayscale PNG of side×side pixels, built without ever holding it in memory.

    Deflate output after a full flush does not depend on what came before, so one compressed block of
    ``rows_per_block`` zero rows is repeated; the Adler-32 of n zero bytes is ``(n % 65521) << 16 | 1``.
    """
    row = side + 1  # the filter byte, then one byte per pixel
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(row * rows_per_block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    blocks, rest = divmod(side, rows_per_block)
    tail = compressor.compress(bytes(row * rest)) + compressor.flush(zlib.Z_FINISH)
    total = row * side
    stream = b"\x78\xda" + block * blocks + tail + struct.pack(">I", ((total % 65521) << 16) | 1)
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")


def run_isolated(code: str, timeout_s: float = 120) -> dict:
    """Run ``code`` in a fresh Python (address space capped at 4 GiB, so a regression fails instead of
    eating the machine); it prints one JSON line, returned here with the peak RSS in MB added.

    The peak is the process's own VmHWM: ``ru_maxrss`` would carry over this (larger) pytest process's
    peak through fork and exec, and hide the child's."""
    script = (
        "import json, resource, sys\n"
        "def peak_mb():\n"
        "    status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "    return int(status.split()[0]) / 1024\n"
        "resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))\n"
        f"sys.path.insert(0, {str(config.ROOT)!r})\n"
        "import cv2, numpy\n"
        "from emotion.images import decode_image, ImageRefused\n"
        "base_mb = peak_mb()\n"
        f"{code}\n"
        "result['peak_above_imports_mb'] = peak_mb() - base_mb\n"
        "print(json.dumps(result))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def encode(image: np.ndarray, ext: str, *params: int) -> bytes:
    ok, data = cv2.imencode(ext, image, list(params))
    assert ok
    return data.tobytes()


def test_a_30000_pixel_png_under_1_mb_is_refused_from_its_header(tmp_path: Path) -> None:
    bomb = grey_png_bomb(30_000)
    assert len(bomb) < 1024 * 1024
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb)
    result = run_isolated(
        f"data = open({str(path)!r}, 'rb').read()\n"
        "try:\n"
        "    decode_image(data)\n"
        "    result = {'refused': None}\n"
        "except ImageRefused as error:\n"
        "    result = {'refused': str(error)}\n",
        timeout_s=60,
    )
    assert result["refused"] is not None, "the pixel bomb was decoded"
    assert "30000×30000" in result["refused"] and "megapixels" in result["refused"]
    assert result["peak_above_imports_mb"] < 50, result


def test_an_8000_pixel_photo_decodes_small_with_little_memory(tmp_path: Path, astronaut: np.ndarray) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(encode(cv2.resize(astronaut, (8000, 6000)), ".jpg", cv2.IMWRITE_JPEG_QUALITY, 90))
    result = run_isolated(
        f"image = decode_image(open({str(path)!r}, 'rb').read())\n"
        "result = {'shape': list(image.shape)}\n"
    )
    assert result["shape"] == [ANALYSIS_MAX_SIDE * 3 // 4, ANALYSIS_MAX_SIDE, 3]
    assert result["peak_above_imports_mb"] < 150, result  # a full decode alone would be 144 MB


def test_the_largest_accepted_png_stays_under_a_few_hundred_mb(tmp_path: Path) -> None:
    side = int(MAX_PIXELS ** 0.5)
    gradient = np.tile(np.linspace(0, 255, side, dtype=np.uint8), (side, 1))
    path = tmp_path / "largest.png"
    path.write_bytes(encode(cv2.merge([gradient, gradient.T, gradient]), ".png"))
    result = run_isolated(
        f"image = decode_image(open({str(path)!r}, 'rb').read())\n"
        "result = {'shape': list(image.shape)}\n"
    )
    assert result["shape"] == [ANALYSIS_MAX_SIDE, ANALYSIS_MAX_SIDE, 3]
    assert result["peak_above_imports_mb"] < 300, result


@pytest.mark.parametrize("ext, params", [(".png", ()), (".jpg", ()), (".webp", ()),
                                         (".webp", (cv2.IMWRITE_WEBP_QUALITY, 101)),  # lossless
                                         (".jpg", (cv2.IMWRITE_JPEG_PROGRESSIVE, 1))])
def test_header_gives_format_and_size_without_decoding(ext: str, params: tuple[int, ...]) -> None:
    image = np.full((123, 321, 3), 90, np.uint8)
    header = read_header(encode(image, ext, *params))
    assert (header.width, header.height) == (321, 123)
    assert header.format == {".png": "PNG", ".jpg": "JPEG", ".webp": "WebP"}[ext]
    assert header.scaled_decode == (ext == ".jpg" and not params)


def test_webp_with_alpha_uses_its_extended_header() -> None:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (300, 200), (10, 20, 30, 128)).save(buffer, "WEBP")
    data = buffer.getvalue()
    assert data[12:16] == b"VP8X"
    header = read_header(data)
    assert (header.width, header.height) == (300, 200)
    assert decode_image(data).shape == (200, 300, 3)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "This file is empty"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "GIFs aren't supported"),
        (b"BM" + bytes(60), "not a JPEG, PNG or WebP"),
        (b"%PDF-1.4 hello", "not a JPEG, PNG or WebP"),
        (b"\x89PNG\r\n\x1a\n this is not really a png", "could not decode"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "could not decode"),
    ],
    ids=["empty", "gif", "bmp", "pdf", "fake-png", "jpeg-without-frame"],
)
def test_files_that_are_not_usable_photos_are_refused_with_a_sentence(data: bytes, message: str) -> None:
    with pytest.raises(ImageRefused, match=message):
        decode_image(data)


def test_a_tiny_photo_is_too_small_to_find_a_face() -> None:
    with pytest.raises(ImageRefused, match="10×10 is too small to find a face"):
        decode_image(encode(np.zeros((10, 10, 3), np.uint8), ".png"))


def test_file_size_limit_names_both_sizes() -> None:
    check_file_size(8 * 1024 * 1024, 8)
    with pytest.raises(ImageRefused, match=r"This photo is 9\.2 MB; the limit is 8 MB"):
        check_file_size(int(9.2 * 1024 * 1024), 8)


def test_refusals_are_value_errors_for_older_callers() -> None:
    assert issubclass(ImageRefused, ValueError)


def test_damaged_files_never_raise_cv2_errors(astronaut: np.ndarray) -> None:
    rng = np.random.default_rng(7)
    for ext in (".jpg", ".png", ".webp"):
        good = encode(astronaut, ext)
        for _ in range(25):
            damaged = bytearray(good[: int(rng.integers(30, len(good)))])
            for position in rng.integers(20, len(damaged), 4):
                damaged[position] = int(rng.integers(0, 256))
            try:
                image = decode_image(bytes(damaged))
            except ImageRefused:
                continue
            assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3


def test_big_photos_are_downscaled_keeping_their_shape(astronaut: np.ndarray) -> None:
    for ext in (".jpg", ".png"):
        image = decode_image(encode(cv2.resize(astronaut, (4000, 3000)), ext))
        assert image.shape == (1200, 1600, 3)
    small = decode_image(encode(astronaut, ".png"))
    assert small.shape == astronaut.shape and np.array_equal(small, astronaut)


def test_grey_sixteen_bit_and_transparent_pngs_come_out_as_8_bit_bgr(astronaut: np.ndarray) -> None:
    grey = cv2.cvtColor(astronaut, cv2.COLOR_BGR2GRAY)
    for image in (grey, astronaut.astype(np.uint16) * 257, cv2.cvtColor(astronaut, cv2.COLOR_BGR2BGRA)):
        decoded = decode_image(encode(image, ".png"))
        assert decoded.dtype == np.uint8 and decoded.shape == (*astronaut.shape[:2], 3)


def phone_jpeg(upright: np.ndarray) -> bytes:
    """``upright`` stored as a phone does: the sensor's sideways image plus EXIF Orientation 6."""
    from PIL import Image

    stored = cv2.rotate(upright, cv2.ROTATE_90_COUNTERCLOCKWISE)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    buffer = io.BytesIO()
    Image.fromarray(cv2.cvtColor(stored, cv2.COLOR_BGR2RGB)).save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


def test_phone_photo_stored_sideways_is_turned_upright_and_its_face_read(
    astronaut: np.ndarray, pipeline: FramePipeline
) -> None:
    upright = cv2.copyMakeBorder(astronaut, 0, 0, 0, 200, cv2.BORDER_CONSTANT, value=(150, 150, 150))
    data = phone_jpeg(upright)
    stored = read_header(data)
    assert (stored.width, stored.height) == (upright.shape[0], upright.shape[1])  # sideways in the file
    decoded = decode_image(data)
    assert decoded.shape == upright.shape
    assert np.abs(decoded.astype(int) - upright.astype(int)).mean() < 6
    readings = pipeline.process(decoded)
    assert len(readings) == 1 and readings[0].emotion == "happy"
