"""Speed of the in-browser engine (the on-device Live path): ``python bench/on_device.py``.

Debian's Chromium (headless, one WebAssembly thread as in the app's component) runs the engine
(ui/on_device/frontend/src/engine: YuNet and the emotion CNN in onnxruntime-web) through the test harness page
on bench/pipeline.py's 640x480 frames (the astronaut photo, one and two upscaled PublicTest faces), after a
warm-up pass. Per analysed frame it reports YuNet (frame read, shrink, network, decoding), the CNN (grey frame,
crops, contrast stretch, two passes with flip TTA), each stage's network alone, and the total, median and p95
over ``--rounds`` passes; the server's ``FramePipeline.process`` on the same frames for comparison (one OpenCV
thread); and the CPU time per analysed frame of Chromium's processes and of the server pipeline (steadier than
the wall clock when other work shares the CPU).
Prints the figures; ``--write`` records them in ``bench/on_device.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests" / "e2e"))  # the harness: Chromium flags, the engine's page

import numpy as np  # noqa: E402

from bench._timing import add_output_options, single_thread, time_calls, write_figures  # noqa: E402
from bench.pipeline import test_frames  # noqa: E402
from browser import BASE_FLAGS, CHROMIUM, browser_page  # noqa: E402
from emotion.pipeline import FramePipeline  # noqa: E402
from engine_harness import missing_files, open_harness, run_engine, serve_harness  # noqa: E402

FRAME_NAMES = ("astronaut photo", "one face", "two faces")
# engine.analyzeTimed's timings: the two stages, their networks alone, the whole frame
KEYS = ("yunet", "yunetNet", "cnn", "cnnNet", "total")


def _stats(samples: list[float]) -> dict[str, float]:
    arr = np.array(samples)
    return {"median_ms": round(float(np.median(arr)), 1), "p95_ms": round(float(np.percentile(arr, 95)), 1),
            "n": len(samples)}


def chromium_cpu_seconds(marker: str) -> float:
    """CPU seconds (user + system) used so far by the Chromium processes whose command line holds ``marker``
    (the profile folder): on a shared machine, CPU time says what a frame costs better than the wall clock."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if marker not in (proc / "cmdline").read_bytes().decode(errors="replace"):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def measure(rounds: int) -> dict:
    """Run the engine on the frames ``rounds`` times in Chromium; the figures per frame and overall."""
    frames = test_frames()
    with tempfile.TemporaryDirectory() as tmp, serve_harness(frames) as (url, _), \
            browser_page(Path(tmp), BASE_FLAGS) as page:
        load_ms = open_harness(page, url)
        warmup = run_engine(page)
        started, cpu_before = time.monotonic(), chromium_cpu_seconds(tmp)
        results = [run_engine(page) for _ in range(rounds)]
        wall_s, cpu_s = time.monotonic() - started, chromium_cpu_seconds(tmp) - cpu_before
    per_frame = {}
    for i, name in enumerate(FRAME_NAMES):
        runs = [r[i] for r in results]
        per_frame[name] = {
            "faces": len(warmup[i]["faces"]),
            **{key: _stats([r["timings"][f"{key}Ms"] for r in runs]) for key in KEYS},
        }
    every = [r[i]["timings"] for r in results for i in range(len(frames))]
    overall = {key: _stats([t[f"{key}Ms"] for t in every]) for key in KEYS}
    analysed = rounds * len(frames)
    single_thread()
    pipeline = FramePipeline()
    server = {name: time_calls(lambda f=f: pipeline.process(f), repeats=rounds)
              for name, f in zip(FRAME_NAMES, frames)}
    cpu_start = time.process_time()
    for _ in range(rounds):
        for frame in frames:
            pipeline.process(frame)
    server_cpu_ms = 1000 * (time.process_time() - cpu_start) / analysed
    return {"model_load_ms": round(load_ms), "per_frame": per_frame, "all_frames": overall,
            "chromium_cpu_ms_per_frame": round(1000 * cpu_s / analysed, 1),
            "server_cpu_ms_per_frame": round(server_cpu_ms, 1),
            "server_frame_pipeline": server, "browser_wall_s": round(wall_s, 1), "frames_analysed": analysed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="timed passes over the frames")
    add_output_options(parser, "on_device")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 1
    if missing := missing_files():
        print("missing: " + ", ".join(missing) + " (npm ci in ui/on_device/frontend; "
              "python -m emotion.training.export_onnx)", file=sys.stderr)
        return 1
    figures = measure(args.rounds)
    print(f"in-browser engine, headless Chromium, onnxruntime-web WASM, 1 thread ({args.rounds} rounds; "
          f"models loaded in {figures['model_load_ms']} ms)")
    heads = ("YuNet", "its network", "CNN", "its network", "total", "server")
    print(f"{'frame':16s} {'faces':>5s} " + " ".join(f"{h:>14s}" for h in heads))
    for name, row in figures["per_frame"].items():
        cells = [f"{row[k]['median_ms']:6.1f} / {row[k]['p95_ms']:5.1f}" for k in KEYS]
        server = figures["server_frame_pipeline"][name]
        cells.append(f"{server['median_ms']:6.1f} / {server['p95_ms']:5.1f}")
        print(f"{name:16s} {row['faces']:5d} " + " ".join(f"{c:>14s}" for c in cells))
    total = figures["all_frames"]["total"]
    print(f"all frames: {total['median_ms']} ms median, {total['p95_ms']} ms p95 per analysed frame "
          "(median / p95 in ms; server = FramePipeline.process, one OpenCV thread)")
    print(f"CPU time per analysed frame: Chromium (all its processes) {figures['chromium_cpu_ms_per_frame']} ms, "
          f"server FramePipeline {figures['server_cpu_ms_per_frame']} ms ({figures['frames_analysed']} frames)")
    figures.update(
        command="python bench/on_device.py" + (f" --rounds {args.rounds}" if args.rounds != 20 else ""),
        date=time.strftime("%Y-%m-%d %H:%M"),
        machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; Chromium, 1 WASM thread",
        load=f"{os.getloadavg()[0]:.1f} (1-minute load average at the end: other work shared the CPU)",
    )
    write_figures(args, "on_device", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
