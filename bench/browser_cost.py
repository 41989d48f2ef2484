"""What the tests' browser costs: ``python bench/browser_cost.py [--rounds 3] [--seconds 20]``.

The real-browser tests spend most of the test run's CPU in Chromium. This compares Debian's two builds of it,
``chromium --headless=new`` (the full browser, without a window) and ``chromium-headless-shell`` (the same
engine without the desktop browser's layers), on what a browser test does: launch, load Live, press START until
the returned video plays, then stream ``--seconds``. One app server serves both; the rounds alternate the two
browsers, so a busier moment of the machine falls on both. Each step's figure is the CPU time (user + system,
from ``/proc``) of every process of that browser, median over the rounds.

Prints the table; ``--write`` records it in ``bench/browser_cost.json`` (``--out FILE`` elsewhere).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests" / "e2e"))

import cv2  # noqa: E402

import config  # noqa: E402
from bench._timing import add_output_options, write_figures  # noqa: E402
from app_process import server_pid  # noqa: E402
from bench.capacity import cpu_seconds, descendants  # noqa: E402
from browser import (CHROMIUM, HEADLESS_SHELL, ensure_ice_address, face_canvas, playwright_driver, press,  # noqa: E402
                     serve_app, stop_playwright_driver, wait_for_video, wait_until_idle, webcam_flags, write_y4m)

STEPS = ("launch", "load Live", "START until video", "stream")


def browser_cpu_seconds(server: int) -> float:
    """CPU seconds so far of the running browser: every process below this one, except the app server's and
    Playwright's driver (node). Both browsers start from shell scripts that exec the real binary, so the
    processes are found by ancestry, not by program. A process that ended within a step is not counted."""
    others = descendants(server) | {server}
    total = 0.0
    for pid in descendants(os.getpid()) - others:
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == "node":
                continue
            total += cpu_seconds(pid)
        except OSError:  # gone
            continue
    return total


def cpu_model() -> str:
    """The processor's name, as /proc/cpuinfo gives it."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown processor"


def one_round(executable: Path, url: str, video: Path, folder: Path, seconds: float) -> dict[str, float]:
    """The CPU seconds of each step of one visit in ``executable``."""
    server = server_pid(url)
    marks = [browser_cpu_seconds(server)]
    context = playwright_driver().chromium.launch_persistent_context(
        str(folder), executable_path=str(executable), headless=False, args=webcam_flags(video),
        viewport={"width": 1280, "height": 900})
    try:
        marks.append(browser_cpu_seconds(server))
        page = context.pages[0]
        page.goto(f"{url}/live")
        wait_until_idle(page)
        marks.append(browser_cpu_seconds(server))
        press(page, "START")
        wait_for_video(page)
        marks.append(browser_cpu_seconds(server))
        time.sleep(seconds)  # streaming is what is measured here
        marks.append(browser_cpu_seconds(server))
    finally:
        context.close()
    return {step: marks[i + 1] - marks[i] for i, step in enumerate(STEPS)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="visits per browser (default 3)")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of streaming per visit (default 20)")
    add_output_options(parser, "browser_cost")
    args = parser.parse_args(argv)
    browsers = {"chromium --headless=new": CHROMIUM, "chromium-headless-shell": HEADLESS_SHELL}
    missing = [str(path) for path in browsers.values() if not path.exists()]
    if missing:
        parser.error(f"needs {' and '.join(missing)} (apt-get install chromium chromium-headless-shell)")
    ensure_ice_address()
    results: dict[str, list[dict[str, float]]] = {name: [] for name in browsers}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        video = folder / "happy.y4m"
        face = cv2.imread(str(config.TEST_FACES_DIR / "happy_astronaut.png"))
        write_y4m(video, [(face_canvas(face, 640, 480, 440), 2.0)])
        try:
            with serve_app(folder, name="browser_cost") as url:
                for round_number in range(args.rounds):
                    for name, executable in browsers.items():
                        profile = folder / f"profile-{round_number}-{executable.name}"
                        results[name].append(one_round(executable, url, video, profile, args.seconds))
        finally:
            stop_playwright_driver()
    figures = {
        "machine": f"{cpu_model()}, {os.cpu_count()} cores",
        "rounds": args.rounds,
        "stream_seconds": args.seconds,
        "cpu_seconds_median": {name: {step: round(statistics.median(r[step] for r in rounds), 2) for step in STEPS}
                               for name, rounds in results.items()},
    }
    print(f"CPU seconds per step, median of {args.rounds} visits ({args.seconds:.0f} s of streaming):")
    print(f"{'':26s}" + "".join(f"{step:>20s}" for step in STEPS))
    for name, medians in figures["cpu_seconds_median"].items():
        print(f"{name:26s}" + "".join(f"{medians[step]:20.2f}" for step in STEPS))
    write_figures(args, "browser_cost", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
