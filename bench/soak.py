"""Memory over a long run with Live sessions coming and going: ``python bench/soak.py --minutes 20``.

Starts one app server (``streamlit run app.py`` on 127.0.0.1, a fresh SQLite database, as
``bench/capacity.py`` starts it) and one headless Chromium whose fake webcam plays a face. Then, until the
time is up, cycle after cycle: ``--tabs`` new tabs open Live and press START, stream for ``--stream-s``,
and close without STOP (as users' tabs go), then ``--gap-s`` without visitors. Every ``--every`` seconds a
thread samples the server's resident memory (VmRSS), open descriptors and threads from /proc.

Prints a line per cycle and, at the end: the server's RSS at the start and the end of the run (medians of
the first ``--window-s`` after the ``--warmup-min`` warm-up and of the last ``--window-s``), its peak, the
trend (least-squares MB per minute after the warm-up), and whether the end is within 10 % of the start.
Streamlit keeps a closed tab's session for ``server.disconnectedSessionTTL`` (120 s) in case it reconnects,
so memory is compared over whole cycles.

Memory per session comes from a ramp before the cycles (``--ramp N``, part of the warm-up): tabs are added
one at a time, each streaming ``--ramp-s`` before the server's RSS is read, up to N together; the
least-squares slope of RSS against streaming tabs from the first tab on (the first one also loads the
models and the music index) is what one more streaming session costs.

    python bench/soak.py --minutes 20 [--tabs 2 --stream-s 40 --gap-s 10] [--write]
    python bench/soak.py --minutes 2 --warmup-min 1 --window-s 20 --ramp 2 --ramp-s 10   # a smoke run

Bounded (1..60 minutes, at most 4 tabs); loopback only. Writes ``bench/soak.json`` only with ``--write``
(``--out FILE`` elsewhere).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests" / "e2e"))

from bench._timing import write_figures  # noqa: E402

TOLERANCE = 0.10  # the target: RSS at the end within 10 % of the start
MAX_TABS = 4


@dataclass(frozen=True)
class Sample:
    """One look at the server."""

    t_s: float  # seconds since the run started
    rss_mb: float
    fds: int
    threads: int
    streaming: bool  # a cycle's tabs were open and past their warm-up


@dataclass(frozen=True)
class Cycle:
    """One cycle: the RSS just before its tabs opened and while they streamed."""

    started_s: float
    tabs: int
    streamed: int  # tabs that showed an analysed rate
    idle_rss_mb: float
    streaming_rss_mb: float | None  # median of its streaming samples (None: none taken)


@dataclass
class SoakSummary:
    """What the run says about memory."""

    samples: int
    start_rss_mb: float
    end_rss_mb: float
    peak_rss_mb: float
    change_percent: float
    within_tolerance: bool
    trend_mb_per_min: float
    start_fds: int
    end_fds: int
    peak_fds: int
    start_threads: int
    end_threads: int
    mb_per_session: float | None  # from the ramp (None without one)
    cycles: int = 0
    tabs_streamed: str = ""
    notes: list[str] = field(default_factory=list)


def _median_of(samples: Sequence[Sample], attr: str) -> float:
    return float(statistics.median(getattr(s, attr) for s in samples))


def slope_per_min(samples: Sequence[Sample]) -> float:
    """Least-squares slope of RSS against time, in MB per minute (0 for fewer than two distinct times)."""
    if len(samples) < 2:
        return 0.0
    mean_t = statistics.fmean(s.t_s for s in samples)
    mean_m = statistics.fmean(s.rss_mb for s in samples)
    spread = sum((s.t_s - mean_t) ** 2 for s in samples)
    if spread == 0:
        return 0.0
    return sum((s.t_s - mean_t) * (s.rss_mb - mean_m) for s in samples) / spread * 60


def ramp_slope(points: Sequence[tuple[int, float]]) -> float | None:
    """MB per streaming session: least-squares slope of (streaming tabs, RSS MB) over the points with at
    least one tab (None with fewer than two distinct tab counts)."""
    used = [(n, rss) for n, rss in points if n >= 1]
    if len({n for n, _ in used}) < 2:
        return None
    mean_n = statistics.fmean(n for n, _ in used)
    mean_m = statistics.fmean(rss for _, rss in used)
    spread = sum((n - mean_n) ** 2 for n, _ in used)
    return round(sum((n - mean_n) * (rss - mean_m) for n, rss in used) / spread, 1)


def summarise(samples: Sequence[Sample], cycles: Sequence[Cycle], warmup_s: float, window_s: float,
              ramp: Sequence[tuple[int, float]] = (), tolerance: float = TOLERANCE) -> SoakSummary:
    """Start and end of the run after the warm-up (medians over ``window_s`` each), peak, trend, per session.

    Raises ValueError when the run after the warm-up is shorter than the two windows.
    """
    after = [s for s in samples if s.t_s >= warmup_s]
    if not after or after[-1].t_s - after[0].t_s < 2 * window_s:
        raise ValueError(f"the run after the {warmup_s:.0f}-s warm-up is shorter than two {window_s:.0f}-s windows")
    first = [s for s in after if s.t_s <= after[0].t_s + window_s]
    last = [s for s in after if s.t_s >= after[-1].t_s - window_s]
    start, end = _median_of(first, "rss_mb"), _median_of(last, "rss_mb")
    change = (end - start) / start * 100 if start else 0.0
    streamed = sum(c.streamed for c in cycles)
    return SoakSummary(
        samples=len(samples), start_rss_mb=round(start, 1), end_rss_mb=round(end, 1),
        peak_rss_mb=round(max(s.rss_mb for s in samples), 1), change_percent=round(change, 1),
        within_tolerance=abs(change) <= tolerance * 100, trend_mb_per_min=round(slope_per_min(after), 2),
        start_fds=round(_median_of(first, "fds")), end_fds=round(_median_of(last, "fds")),
        peak_fds=max(s.fds for s in samples), start_threads=round(_median_of(first, "threads")),
        end_threads=round(_median_of(last, "threads")), mb_per_session=ramp_slope(ramp),
        cycles=len(cycles), tabs_streamed=f"{streamed} of {sum(c.tabs for c in cycles)}")


# --- the run --------------------------------------------------------------------------------------------------

def server_sample(pid: int, started: float, streaming: bool) -> Sample:
    """The server's RSS, open descriptors and threads now."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    threads = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:"))
    return Sample(round(time.monotonic() - started, 1), round(rss_kb / 1024, 1), len(os.listdir(f"/proc/{pid}/fd")),
                  threads, streaming)


class Sampler(threading.Thread):
    """Samples the server every ``every`` seconds until stopped; ``streaming`` is set by the cycles."""

    def __init__(self, pid: int, started: float, every: float) -> None:
        super().__init__(daemon=True, name="soak-sampler")
        self.pid, self.started, self.every = pid, started, every
        self.samples: list[Sample] = []
        self.streaming = False
        self._halt = threading.Event()
        self.error = ""

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.samples.append(server_sample(self.pid, self.started, self.streaming))
            except (OSError, StopIteration, ValueError) as error:  # the server went away
                self.error = f"{type(error).__name__}: {error}"
                return
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def since(self, t_s: float) -> list[Sample]:
        return [s for s in list(self.samples) if s.t_s >= t_s]


def run_cycle(context: object, url: str, sampler: Sampler, tabs: int, stream_s: float, warm_s: float) -> Cycle:
    """Open ``tabs`` Live tabs, START, stream ``stream_s`` (sampled after ``warm_s``), close them."""
    from browser import webrtc_component
    from bench.capacity import tab_rate

    now = round(time.monotonic() - sampler.started, 1)
    idle = server_sample(sampler.pid, sampler.started, False)
    pages = []
    rated = set()
    try:
        for _ in range(tabs):
            page = context.new_page()  # type: ignore[attr-defined]
            pages.append(page)
            page.goto(url, wait_until="domcontentloaded")
        for page in pages:
            start = webrtc_component(page).get_by_role("button", name="START")
            start.wait_for(timeout=90_000)
            start.click()
        opened = time.monotonic()
        time.sleep(min(warm_s, stream_s))
        sampler.streaming = True
        streaming_from = round(time.monotonic() - sampler.started, 1)
        while time.monotonic() - opened < stream_s:
            time.sleep(min(5.0, max(0.5, stream_s - (time.monotonic() - opened))))
            rated |= {i for i, page in enumerate(pages) if tab_rate(page) is not None}
        sampler.streaming = False
        during = [s.rss_mb for s in sampler.since(streaming_from) if s.streaming]
    finally:
        sampler.streaming = False
        for page in pages:
            try:
                page.close()  # no STOP: the tab just goes
            except Exception:  # noqa: BLE001 - a tab that already went
                pass
    return Cycle(now, tabs, len(rated), idle.rss_mb, round(statistics.median(during), 1) if during else None)


def run_ramp(context: object, url: str, sampler: Sampler, tabs: int, settle_s: float) -> list[tuple[int, float]]:
    """Add Live tabs one at a time up to ``tabs``; (streaming tabs, server RSS) after each has streamed
    ``settle_s`` (the RSS the median of three samples a second apart); the tabs then close."""
    from browser import webrtc_component
    from bench.capacity import tab_rate

    pages: list = []
    points = [(0, server_sample(sampler.pid, sampler.started, False).rss_mb)]
    try:
        for _ in range(tabs):
            page = context.new_page()  # type: ignore[attr-defined]
            pages.append(page)
            page.goto(url, wait_until="domcontentloaded")
            webrtc_component(page).get_by_role("button", name="START").click(
                timeout=90_000)
            time.sleep(settle_s)
            streaming = sum(1 for p in pages if tab_rate(p) is not None)
            reads = []
            for _ in range(3):
                reads.append(server_sample(sampler.pid, sampler.started, True).rss_mb)
                time.sleep(1.0)
            points.append((streaming, float(statistics.median(reads))))
            print(f"ramp: {streaming} of {len(pages)} tabs streaming, RSS {points[-1][1]:.0f} MB", flush=True)
    finally:
        for page in pages:
            try:
                page.close()
            except Exception:  # noqa: BLE001 - a tab that already went
                pass
    return points


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0, help="length of the run (1..60)")
    parser.add_argument("--tabs", type=int, default=2, help=f"Live tabs per cycle (1..{MAX_TABS})")
    parser.add_argument("--stream-s", type=float, default=40.0, help="seconds each cycle's tabs stay (10..300)")
    parser.add_argument("--gap-s", type=float, default=10.0, help="seconds without visitors between cycles (0..300)")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples (1..60)")
    parser.add_argument("--warmup-min", type=float, default=3.0, help="minutes left out before the start figure")
    parser.add_argument("--window-s", type=float, default=120.0,
                        help="seconds averaged (median) for the start and the end figures (10..600)")
    parser.add_argument("--ramp", type=int, default=4,
                        help=f"tabs added one at a time before the cycles, for the memory per session (0..{MAX_TABS})")
    parser.add_argument("--ramp-s", type=float, default=20.0, help="seconds each ramp tab streams before the reading")
    parser.add_argument("--write", action="store_true", help="write the figures to bench/soak.json")
    parser.add_argument("--out", type=Path, default=None, help="write the figures to this JSON file instead")
    args = parser.parse_args(argv)
    if not 1 <= args.minutes <= 60 or not 1 <= args.tabs <= MAX_TABS or not 10 <= args.stream_s <= 300:
        parser.error(f"--minutes must be 1..60, --tabs 1..{MAX_TABS}, --stream-s 10..300")
    if not 0 <= args.gap_s <= 300 or not 1 <= args.every <= 60 or not 10 <= args.window_s <= 600:
        parser.error("--gap-s must be 0..300, --every 1..60, --window-s 10..600")
    if not 0 <= args.ramp <= MAX_TABS or not 5 <= args.ramp_s <= 120:
        parser.error(f"--ramp must be 0..{MAX_TABS} and --ramp-s 5..120")
    if not 0 <= args.warmup_min or args.warmup_min * 60 + 2 * args.window_s > args.minutes * 60:
        parser.error("--warmup-min plus two --window-s must fit in --minutes")

    import cv2
    from playwright.sync_api import sync_playwright

    import config
    from bench.capacity import load_average, start_server
    from browser import CHROMIUM, ensure_ice_address, face_canvas, webcam_flags, write_y4m

    if not CHROMIUM.exists():
        parser.error("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    ensure_ice_address()
    cycles: list[Cycle] = []
    ramp: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory(prefix="moodtune-soak-") as tmp:
        workdir = Path(tmp)
        video = workdir / "webcam.y4m"
        face = cv2.imread(str(config.TEST_FACES_DIR / "happy_astronaut.png"))
        write_y4m(video, [(face_canvas(face, 640, 480, 440), 2.0)], fps=15)
        server, url, log_path = start_server(workdir, None)
        started = time.monotonic()
        sampler = Sampler(server.pid, started, args.every)
        sampler.start()
        deadline = started + args.minutes * 60
        try:
            with sync_playwright() as pw:
                context = pw.chromium.launch_persistent_context(
                    str(workdir / "profile"), executable_path=str(CHROMIUM), headless=False,
                    args=webcam_flags(video), viewport={"width": 1280, "height": 900})
                try:
                    if args.ramp:
                        ramp = run_ramp(context, url, sampler, args.ramp, args.ramp_s)
                    while time.monotonic() + args.stream_s + 5 < deadline and not sampler.error:
                        cycle = run_cycle(context, url, sampler, args.tabs, args.stream_s, warm_s=15.0)
                        cycles.append(cycle)
                        last = sampler.samples[-1] if sampler.samples else None
                        print(f"{cycle.started_s / 60:5.1f} min: {cycle.streamed}/{cycle.tabs} tabs streamed; RSS "
                              f"{cycle.idle_rss_mb:.0f} MB before, {cycle.streaming_rss_mb or 0:.0f} MB streaming"
                              + (f"; now {last.rss_mb:.0f} MB, {last.fds} descriptors, {last.threads} threads"
                                 if last else "") + f"; load {load_average()}", flush=True)
                        time.sleep(max(0.0, min(args.gap_s, deadline - time.monotonic())))
                    # the rest of the time without visitors, so the end is sampled as the start was
                    time.sleep(max(0.0, deadline - time.monotonic()))
                finally:
                    context.close()
        finally:
            sampler.stop()
            server.terminate()
            server.wait(timeout=20)
        warnings = log_path.read_text(errors="replace").count("WARNING")
    if sampler.error:
        print(f"the server stopped answering /proc: {sampler.error}")
    summary = summarise(sampler.samples, cycles, args.warmup_min * 60, args.window_s, ramp)
    print(f"RSS start {summary.start_rss_mb:.0f} MB, end {summary.end_rss_mb:.0f} MB ({summary.change_percent:+.1f} %, "
          f"{'within' if summary.within_tolerance else 'NOT within'} {TOLERANCE:.0%}), "
          f"peak {summary.peak_rss_mb:.0f} MB, "
          f"trend {summary.trend_mb_per_min:+.2f} MB/min after the warm-up; descriptors {summary.start_fds} -> "
          f"{summary.end_fds} (peak {summary.peak_fds}); threads {summary.start_threads} -> {summary.end_threads}; "
          f"one more streaming session adds {summary.mb_per_session} MB (ramp to {args.ramp} tabs); "
          f"{summary.cycles} cycles, tabs streamed {summary.tabs_streamed}; {warnings} server warnings")
    figures = {"what": "server memory with Live sessions coming and going (bench/soak.py)",
               "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "minutes": args.minutes,
               "tabs": args.tabs, "stream_s": args.stream_s, "gap_s": args.gap_s, "warmup_min": args.warmup_min,
               "window_s": args.window_s, "ramp_tabs": args.ramp, "ramp_s": args.ramp_s,
               "ramp": [{"streaming_tabs": n, "rss_mb": rss} for n, rss in ramp],
               "server_warnings": warnings, "summary": asdict(summary),
               "cycles": [asdict(c) for c in cycles], "samples": [asdict(s) for s in sampler.samples]}
    write_figures(args, "soak", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
