"""Small timing helpers shared by the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np


def time_calls(fn: Callable[[], object], repeats: int, warmup: int = 5) -> dict[str, float]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times; median/p95/mean in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000.0)
    arr = np.array(samples)
    return {
        "median_ms": round(float(np.median(arr)), 3),
        "p95_ms": round(float(np.percentile(arr, 95)), 3),
        "mean_ms": round(float(arr.mean()), 3),
        "n": repeats,
    }


def single_thread() -> None:
    """Pin OpenCV to one thread: the per-frame budget is stated for one core."""
    import cv2

    cv2.setNumThreads(1)


def per_item(stats: dict[str, float], count: int) -> dict[str, float]:
    """Turn timings of calls that each handled ``count`` items into per-item timings (``n`` = items timed)."""
    return {k: (v * count if k == "n" else round(v / count, 3)) for k, v in stats.items()}


def add_output_options(parser, name: str) -> None:  # type: ignore[no-untyped-def]
    """``--write`` (record the figures in ``bench/NAME.json``, to commit them) and ``--out FILE``.

    Without either, a benchmark only prints: running it never dirties the work tree.
    """
    from pathlib import Path

    parser.add_argument("--write", action="store_true", help=f"record the figures in bench/{name}.json")
    parser.add_argument("--out", type=Path, default=None, help="write the figures to this JSON file instead")


def write_figures(args, name: str, figures: dict) -> None:  # type: ignore[no-untyped-def]
    """Write ``figures`` where ``add_output_options``'s flags say, and say where (or that nothing was)."""
    import json

    import config

    out = args.out or (config.BENCH_DIR / f"{name}.json" if args.write else None)
    if out is None:
        print(f"(figures not written: --write records them in bench/{name}.json)")
        return
    out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
