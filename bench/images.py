"""Benchmark: decoding user photos safely (``emotion.images.decode_image``): time and peak memory per photo.

    python bench/images.py            # prints the figures; --write records them in bench/images.json

Each photo is decoded in its own fresh Python process, so its peak RSS (above the imports) is its own. The
photos are the happy test face scaled up: a phone-sized JPEG, an 8000×8000 baseline JPEG, the largest PNG,
progressive JPEG and WebP that are accepted (just under 40 megapixels), and a 30000×30000 grayscale PNG of
0.9 MB (refused from its header). Timings are the median of 5 decodes after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "emotion"))

import config  # noqa: E402
from bench._timing import add_output_options, write_figures  # noqa: E402
from emotion.images import MAX_PIXELS  # noqa: E402

MEASURE = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
import cv2, numpy
from emotion.images import decode_image, ImageRefused
cv2.setNumThreads(1)
data = open({path!r}, "rb").read()
def peak_kb():  # this process's own high-water mark (ru_maxrss would inherit the parent's through exec)
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
base = peak_kb()
times, outcome = [], None
for _ in range(6):
    start = time.perf_counter()
    try:
        outcome = list(decode_image(data).shape)
    except ImageRefused as error:
        outcome = str(error)
    times.append((time.perf_counter() - start) * 1000)
peak = (peak_kb() - base) / 1024
print(json.dumps({{"median_ms": round(statistics.median(times[1:]), 1), "peak_mb_above_imports": round(peak),
                  "result": outcome}}))
"""


def photos(folder: Path) -> dict[str, Path]:
    """The benchmark photos, written to ``folder``."""
    from test_images import grey_png_bomb  # the pixel bomb of the tests, built without holding it in memory

    face = cv2.imread(str(config.TEST_FACES_DIR / "happy_astronaut.png"))
    side = int(MAX_PIXELS ** 0.5) - 8
    large = cv2.resize(face, (side, side))
    made = {
        "phone JPEG 4032x3024": (cv2.resize(face, (4032, 3024)), ".jpg", []),
        "baseline JPEG 8000x8000": (cv2.resize(face, (8000, 8000)), ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 90]),
        f"progressive JPEG {side}x{side} (4:4:4)": (large, ".jpg", [
            cv2.IMWRITE_JPEG_PROGRESSIVE, 1, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]),
        f"PNG {side}x{side}": (large, ".png", []),
        f"WebP {side}x{side}": (large, ".webp", []),
    }
    paths = {}
    for name, (image, ext, params) in made.items():
        paths[name] = folder / f"{len(paths)}{ext}"
        cv2.imwrite(str(paths[name]), image, params)
    paths["pixel bomb: grey PNG 30000x30000 (0.9 MB)"] = folder / "bomb.png"
    paths["pixel bomb: grey PNG 30000x30000 (0.9 MB)"].write_bytes(grey_png_bomb(30_000))
    return paths


def main() -> None:
    """Decode each photo in a fresh process and print its figures (``--write`` records them)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_output_options(parser, "images")
    args = parser.parse_args()
    figures: dict[str, object] = {"machine": f"{platform.machine()}, one OpenCV thread"}
    with tempfile.TemporaryDirectory() as folder:
        for name, path in photos(Path(folder)).items():
            done = subprocess.run([sys.executable, "-c", MEASURE.format(root=str(ROOT), path=str(path))],
                                  capture_output=True, text=True, check=True)
            figures[name] = {"file_mb": round(path.stat().st_size / 1e6, 2), **json.loads(done.stdout)}
            print(name, figures[name])
    write_figures(args, "images", figures)


if __name__ == "__main__":
    main()
