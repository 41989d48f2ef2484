"""Benchmark: time per recommendation over the full bundled catalogue (target: <= 5 ms).

    python bench/recommender.py            # 2000 queries, both modes, all emotions
    python bench/recommender.py --queries 500

Builds a fresh database from the bundled catalogue in a temporary folder (so the figure does not depend
on what a local ``data/moodtune.db`` holds), warms the in-memory index once, then times ``recommend``
calls cycling through every emotion and both modes, each with a growing "already shown" exclusion set
like a session's. Prints median / p95 / max in ms, and the process's CPU time per call (steadier when other
work shares the machine); ``--write`` records them in ``bench/recommender.json``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._timing import add_output_options, write_figures  # noqa: E402
from emotion.labels import EMOTIONS  # noqa: E402
from recommender.catalog import count_tracks  # noqa: E402
from recommender.db import open_engine  # noqa: E402
from recommender.index import get_index  # noqa: E402
from recommender.selection import recommend  # noqa: E402

BUDGET_MS = 5.0
MODES = ("match", "lift")


def run(queries: int, n: int) -> dict[str, object]:
    """Time ``queries`` recommendations; return the figures."""
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        started = time.perf_counter()
        get_index(engine)
        build_ms = (time.perf_counter() - started) * 1000
        shown: dict[str, list[str]] = {e: [] for e in EMOTIONS}
        timings: list[float] = []
        cpu: list[float] = []  # this process's CPU time: steadier than the clock on a shared machine
        for i in range(queries):
            emotion, mode = EMOTIONS[i % len(EMOTIONS)], MODES[(i // len(EMOTIONS)) % 2]
            started, cpu_started = time.perf_counter(), time.process_time()
            rec = recommend(engine, emotion, mode, n=n, exclude=shown[emotion])
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            shown[emotion] = (shown[emotion] + [t.id for t in rec.tracks])[-200:]
        tracks = count_tracks(engine)
        engine.dispose()
    ordered = sorted(timings)
    return {
        "queries": queries,
        "tracks_per_list": n,
        "catalogue_tracks": tracks,
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "max_ms": round(ordered[-1], 3),
        "cpu_median_ms": round(statistics.median(cpu), 3),
        "cpu_p95_ms": round(sorted(cpu)[int(0.95 * (len(cpu) - 1))], 3),
        "index_build_ms": round(build_ms, 1),
        "budget_ms": BUDGET_MS,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
    }


def main() -> int:
    """Run the benchmark and print the figures (``--write`` records them); exit 1 if over budget."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--n", type=int, default=10, help="tracks per recommendation")
    add_output_options(parser, "recommender")
    args = parser.parse_args()
    figures = run(args.queries, args.n)
    print(f"recommend() over {figures['catalogue_tracks']} tracks, {figures['queries']} queries "
          f"(n={figures['tracks_per_list']}, match+lift, all emotions): median {figures['median_ms']} ms, "
          f"p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms (budget {BUDGET_MS} ms); CPU time median "
          f"{figures['cpu_median_ms']} ms, p95 {figures['cpu_p95_ms']} ms; "
          f"index build {figures['index_build_ms']} ms")
    write_figures(args, "recommender", figures)
    return 0 if float(figures["p95_ms"]) <= BUDGET_MS else 1  # type: ignore[arg-type]


if __name__ == "__main__":
    raise SystemExit(main())
