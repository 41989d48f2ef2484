"""Photos from users, read safely: the header first (format, size), then a downscaled, upright decode.

A small file can hold a huge image (a 0.9 MB PNG of 30000×30000 pixels decodes to 2.7 GB), so nothing is
decoded before its pixel count is known from the header. Accepted photos are decoded at a reduced scale
where the format allows it (JPEG is scaled inside the decoder) and shrunk to ``ANALYSIS_MAX_SIDE``: the
face detector works on a 320-pixel-wide copy anyway, and the annotated photo is sent to the browser.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

# Pixel limits (kept here until config.py has a validated setting for them). Decoding a PNG or WebP, or a
# progressive JPEG, holds the whole image in memory: 40 MP is ~120-270 MB at peak. A baseline JPEG is
# decoded at 1/8 scale by libjpeg itself, so its cost does not grow with the pixel count: it may be larger.
MAX_PIXELS: int = 40_000_000
MAX_PIXELS_SCALED_JPEG: int = 100_000_000
MIN_SIDE: int = 48  # FER2013 faces are 48×48: a smaller photo cannot hold a readable face
ANALYSIS_MAX_SIDE: int = 1600  # longest side of the decoded photo

_REDUCED_FLAGS: dict[int, int] = {
    1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8,
}


class ImageRefused(ValueError):
    """A photo that cannot be used; ``str(error)`` is a complete sentence for the user."""


@dataclass(frozen=True)
class ImageHeader:
    """What a photo's header says: its format ("JPEG", "PNG", "WebP"), stored size, and whether the
    decoder can scale it down while decoding (baseline JPEG)."""

    format: str
    width: int
    height: int
    scaled_decode: bool = False

    @property
    def pixels(self) -> int:
        """Width × height as stored (before any EXIF rotation)."""
        return self.width * self.height

    @property
    def max_pixels(self) -> int:
        """The largest pixel count accepted for this kind of file."""
        return MAX_PIXELS_SCALED_JPEG if self.scaled_decode else MAX_PIXELS


def _png_size(data: bytes) -> tuple[int, int]:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise ValueError("no IHDR chunk")
    return struct.unpack(">II", data[16:24])


def _jpeg_size(data: bytes) -> tuple[int, int, bool]:
    """Width, height and "baseline" from the first SOF marker (what libjpeg decodes)."""
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError("bad marker")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if length < 2:
            raise ValueError("bad segment length")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if i + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height, marker in (0xC0, 0xC1)
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            break
        i += 2 + length
    raise ValueError("no frame header")


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk, body = data[12:16], data[20:]
    if chunk == b"VP8X" and len(body) >= 10:
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
        return width, height
    if chunk == b"VP8 " and len(body) >= 10 and body[3:6] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(body) >= 5 and body[0] == 0x2F:
        bits = int.from_bytes(body[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    raise ValueError("unknown WebP chunk")


def read_header(data: bytes) -> ImageHeader:
    """The format and size of a photo from its first bytes; ``ImageRefused`` for anything else.

    Only JPEG, PNG and WebP are accepted (what browsers and phones produce); nothing is decoded here.
    """
    if not data:
        raise ImageRefused("This file is empty: choose a photo.")
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            header = ImageHeader("PNG", *_png_size(data))
        elif data.startswith(b"\xff\xd8\xff"):
            width, height, baseline = _jpeg_size(data)
            header = ImageHeader("JPEG", width, height, scaled_decode=baseline)
        elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            header = ImageHeader("WebP", *_webp_size(data))
        elif data.startswith((b"GIF87a", b"GIF89a")):
            raise ImageRefused("GIFs aren't supported: upload a JPEG, PNG or WebP photo.")
        else:
            raise ImageRefused("This file is not a JPEG, PNG or WebP photo.")
    except (ValueError, struct.error) as error:
        if isinstance(error, ImageRefused):
            raise
        raise ImageRefused("We could not decode this photo: the file is damaged or incomplete.") from None
    if header.width < 1 or header.height < 1:
        raise ImageRefused("We could not decode this photo: its header gives no size.")
    return header


def check_file_size(size_bytes: int, max_mb: float) -> None:
    """``ImageRefused`` ("This photo is 9.2 MB; the limit is 8 MB.") when a file is over ``max_mb``."""
    if size_bytes > max_mb * 1024 * 1024:
        raise ImageRefused(f"This photo is {size_bytes / 1024 / 1024:.1f} MB; the limit is {max_mb:g} MB.")


def check_dimensions(header: ImageHeader) -> None:
    """``ImageRefused`` for a photo too small to hold a face or with more pixels than can be decoded safely."""
    if min(header.width, header.height) < MIN_SIDE:
        raise ImageRefused(f"{header.width}×{header.height} is too small to find a face: use a photo at "
                           f"least {MIN_SIDE} pixels on each side.")
    if header.pixels > header.max_pixels:
        raise ImageRefused(
            f"This photo is {header.width}×{header.height} ({header.pixels / 1e6:.0f} megapixels); the limit "
            f"for a {header.format} is {header.max_pixels / 1e6:.0f} megapixels. Upload a smaller copy."
        )


def reduction_for(header: ImageHeader, max_side: int = ANALYSIS_MAX_SIDE) -> int:
    """The largest decoder scale-down (1, 2, 4 or 8) that still leaves at least ``max_side`` pixels."""
    longest = max(header.width, header.height)
    factor = 1
    while factor < 8 and longest // (factor * 2) >= max_side:
        factor *= 2
    return factor


def decode_image(data: bytes, max_side: int = ANALYSIS_MAX_SIDE) -> np.ndarray:
    """Decode photo bytes to an upright BGR uint8 array whose longest side is at most ``max_side``.

    The header is checked first (format, at least ``MIN_SIDE`` pixels a side, at most the pixel limit),
    EXIF orientation is applied (phone photos are often stored sideways), and any decoder failure becomes
    ``ImageRefused`` (a ``ValueError``) with a sentence for the user: ``cv2.error`` never escapes.
    """
    header = read_header(data)
    check_dimensions(header)
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), _REDUCED_FLAGS[reduction_for(header, max_side)])
    except cv2.error:
        image = None
    if image is None or image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ImageRefused("We could not decode this photo: the file is damaged or incomplete.")
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image)
