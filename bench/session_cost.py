"""Where one Live session's server CPU goes: ``python bench/session_cost.py``.

Starts the app server (as ``bench/capacity.py`` does), opens ``--sessions`` headless Chromium tabs with a
fake webcam, presses START, and after the warm-up samples the server's Python threads with ``py-spy``
(``pip install py-spy``; ``--nonblocking``, so the server is not paused) for ``--seconds``. Each sampled
stack is put in one bucket, the first that matches from this list:

* analysis: ``FramePipeline.process`` (YuNet, crop, classifier)
* frame conversion and drawing: the frame callback's own work (``to_ndarray``, resizing, boxes, ``from_ndarray``)
* VP8 decode / VP8 encode: aiortc's codecs (libvpx), including the encoder's conversion to YUV
* WebRTC transport: the rest of aiortc, aioice, DTLS/SRTP, RTP/RTCP
* script reruns: Streamlit running the page script and its 1-s fragment
* websocket and web server: Tornado
* event loop: asyncio's own scheduling (everything else under ``asyncio``)
* other

py-spy reports only threads that were running (not waiting) when sampled, so the shares are shares of
the server's CPU; the server's total comes from ``/proc/<pid>/stat`` over the same window, and the figure
per bucket is its share of that. Native threads that never run Python (libvpx's own encoder threads, if
any) are not sampled: their CPU is the difference "not attributed" (total minus what py-spy saw, estimated
from /proc per-thread times).

Prints the split; ``--write`` records it in ``bench/session_cost.json`` (``--out FILE`` elsewhere).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests" / "e2e"))

import cv2  # noqa: E402

import config  # noqa: E402
from bench._timing import write_figures  # noqa: E402
from bench.capacity import (  # noqa: E402
    CAPTURE_PROBE, browser_capture, cpu_seconds, load_average, open_sessions, start_server, tab_rate)
from browser import CHROMIUM, ensure_ice_address, face_canvas, webcam_flags, write_y4m  # noqa: E402

# (bucket, needles): a stack is in the first bucket one of whose needles matches one of its frames; a
# needle "a|b" matches a frame that contains both a and b (py-spy frames read "function (file:line)").
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("analysis", ("emotion/pipeline.py", "emotion/detector.py", "emotion/classifier.py")),
    ("frame conversion and drawing", ("callback (|ui/live.py", "redraw (|ui/live.py", "analyse (|ui/live.py",
                                      "handle_frame (|ui/live.py")),
    ("VP8 decode", ("decode (|aiortc/codecs/vpx.py", "decoder_worker (")),
    ("VP8 encode", ("encode (|aiortc/codecs/vpx.py",)),
    ("streamlit-webrtc frame queue", ("streamlit_webrtc/",)),
    ("WebRTC transport", ("aiortc/", "aioice/", "pylibsrtp", "OpenSSL", "cryptography")),
    ("script reruns", ("streamlit/runtime/scriptrunner", "exec_func_with_error_handling", "/pages/", "/ui/",
                       "app.py")),
    ("websocket and web server", ("tornado/",)),
    ("event loop", ("asyncio/",)),
)


def bucket_of(stack: str) -> str:
    """The bucket of one collapsed stack (frames joined by ';', root first)."""
    frames = stack.split(";")
    for name, needles in BUCKETS:
        for needle in needles:
            parts = needle.split("|")
            if any(all(part in frame for part in parts) for frame in frames):
                return name
    return "other"


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of each thread of ``pid``."""
    seconds = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            seconds[int(task.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return seconds


# A sample whose innermost frame is one of these is a thread waiting (runnable threads on a busy machine
# are sampled even while they wait for a core): such samples say nothing about where CPU goes.
WAITING = ("Condition.wait", "Queue.get (queue.py", "_worker (concurrent/futures/thread.py:81)", "select (selectors.py",
           "sleep", "Event.wait", "_worker_thread (streamlit_webrtc/process.py:135)")


Samples = dict[int, collections.Counter[str]]  # per thread id: samples per bucket


def sample(pid: int, seconds: float, rate: int, out: Path) -> tuple[Samples, dict[int, str]]:
    """py-spy samples of ``pid`` for ``seconds``: per thread id, samples per bucket (waiting ones left out),
    and each sampled thread's name."""
    command = ["py-spy", "record", "--pid", str(pid), "--rate", str(rate), "--duration", str(round(seconds)),
               "--format", "raw", "--nonblocking", "--threads", "--output", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 60)
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"py-spy failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    per_thread: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    names: dict[int, str] = {}
    for line in out.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        root, _, rest = stack.partition(";")
        if not (root.startswith("thread (") and count.isdigit() and rest):
            continue
        tid = int(root[len("thread ("):].split(")")[0], 0)
        names[tid] = root.partition("): ")[2] or "?"
        if any(leaf in rest.rsplit(";", 1)[-1] for leaf in WAITING):
            continue
        per_thread[tid][bucket_of(rest)] += int(count)
    return per_thread, names


def attribute(per_thread: dict[int, collections.Counter[str]], thread_seconds: dict[int, float],
              total_seconds: float) -> dict[str, float]:
    """CPU seconds per bucket: each thread's exact CPU time (/proc) split by its own samples' buckets.

    Threads that ended within the window (Streamlit runs each script rerun on a new thread) are known only
    from the process total: that remainder is split by the samples of the threads not alive at the end.
    """
    split: collections.Counter[str] = collections.Counter()
    for tid, seconds in thread_seconds.items():
        samples = per_thread.get(tid)
        if not samples:
            split["threads without Python samples (native workers, idle)"] += seconds
            continue
        for name, n in samples.items():
            split[name] += seconds * n / sum(samples.values())
    gone = max(0.0, total_seconds - sum(thread_seconds.values()))
    ended: collections.Counter[str] = collections.Counter()
    for tid, samples in per_thread.items():
        if tid not in thread_seconds:
            ended.update(samples)
    for name, n in ended.items():
        split[name] += gone * n / sum(ended.values())
    if not ended and gone:
        split["threads that ended in the window"] += gone
    return dict(split)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1, help="Live tabs streaming at once (1..4)")
    parser.add_argument("--seconds", type=float, default=30.0, help="sampling window (10..120)")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds after START before sampling")
    parser.add_argument("--rate", type=int, default=50, help="py-spy samples per second (10..200)")
    parser.add_argument("--camera", default="640x480", help="the fake webcam's WIDTHxHEIGHT")
    parser.add_argument("--camera-fps", type=int, default=30, help="the fake webcam's frame rate (a laptop's: 30)")
    parser.add_argument("--server-cpus", default=None, help="pin the server with taskset, e.g. 0")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the server, e.g. MOODTUNE_LIVE_ANALYSIS_FPS=4 (repeatable)")
    parser.add_argument("--keep-stacks", type=Path, default=None, help="copy py-spy's raw stacks to this file")
    parser.add_argument("--write", action="store_true", help="record the split in bench/session_cost.json")
    parser.add_argument("--out", type=Path, default=None, help="write the split to this JSON file instead")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= 4 or not 10 <= args.seconds <= 120 or not 10 <= args.rate <= 200:
        parser.error("--sessions must be 1..4, --seconds 10..120, --rate 10..200")
    extra_env = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("MOODTUNE_"):
            parser.error(f"--env takes MOODTUNE_NAME=VALUE, got {item!r}")
        extra_env[name] = value
    width, height = (int(v) for v in args.camera.lower().split("x"))
    if shutil.which("py-spy") is None:
        parser.error("needs py-spy (pip install py-spy)")
    if not CHROMIUM.exists():
        parser.error("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ensure_ice_address()
    with tempfile.TemporaryDirectory(prefix="moodtune-session-cost-") as tmp:
        workdir = Path(tmp)
        video = workdir / "webcam.y4m"
        face = cv2.imread(str(config.TEST_FACES_DIR / "happy_astronaut.png"))
        write_y4m(video, [(face_canvas(face, width, height, round(height * 440 / 480)), 2.0)], fps=args.camera_fps)
        server, url, log_path = start_server(workdir, args.server_cpus, extra_env)
        try:
            with sync_playwright() as pw:
                context = pw.chromium.launch_persistent_context(
                    str(workdir / "profile"), executable_path=str(CHROMIUM), headless=False,
                    args=webcam_flags(video), viewport={"width": 1280, "height": 900})
                context.add_init_script(CAPTURE_PROBE)
                try:
                    pages = open_sessions(context, url, args.sessions)
                    time.sleep(args.warmup)
                    threads_before, cpu_before, wall = thread_cpu(server.pid), cpu_seconds(server.pid), time.monotonic()
                    per_thread, names = sample(server.pid, args.seconds, args.rate, workdir / "stacks.txt")
                    threads_after, cpu_after = thread_cpu(server.pid), cpu_seconds(server.pid)
                    if args.keep_stacks:
                        shutil.copyfile(workdir / "stacks.txt", args.keep_stacks)
                    dump = subprocess.run(["py-spy", "dump", "--pid", str(server.pid), "--nonblocking"],
                                          capture_output=True, text=True, check=False, timeout=60).stdout
                    if args.keep_stacks:
                        args.keep_stacks.with_suffix(".dump.txt").write_text(dump)
                    elapsed = time.monotonic() - wall
                    total = (cpu_after - cpu_before) / elapsed * 100
                    rates = [tab_rate(page) for page in pages]
                    capture = browser_capture(pages[0])
                finally:
                    context.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    busy = {tid: max(0.0, after - threads_before.get(tid, 0.0)) for tid, after in threads_after.items()}
    seconds = attribute(per_thread, busy, (cpu_after - cpu_before))
    spent = sum(seconds.values()) or 1.0
    split = {name: {"share": round(value / spent, 3), "percent_of_core": round(value / elapsed * 100, 1)}
             for name, value in sorted(seconds.items(), key=lambda item: -item[1])}
    per_frame_ms = {}
    if rates and all(rates):
        analysed = sum(rates) * elapsed  # frames analysed in the window, from the tabs' own figures
        per_frame_ms = {name: round(value * 1000 / analysed, 2) for name, value in seconds.items()}
    figures = {
        "what": "where a Live session's server CPU goes (bench/session_cost.py, py-spy samples)",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
        "server_cpus": args.server_cpus, "sessions": args.sessions, "seconds": args.seconds,
        "webcam": f"{width}x{height} at {args.camera_fps} fps", "settings": extra_env,
        "browser_capture": capture, "analysed_fps_per_tab": rates, "server_cpu_percent_of_core": round(total, 1),
        "busiest_threads_percent_of_core": [
            [names.get(tid, f"native thread {tid}"), round(v / elapsed * 100, 1)]
            for tid, v in sorted(busy.items(), key=lambda item: -item[1])[:8] if v > 0],
        "load_average": load_average(), "split": split,
        "cpu_ms_per_analysed_frame": per_frame_ms,
    }
    print(f"{args.sessions} session(s), webcam {width}x{height}@{args.camera_fps}, settings {extra_env or 'default'}: "
          f"server {total:.0f}% of a core, analysed fps {rates}, load {figures['load_average']}\n"
          f"  the browser was asked for {json.dumps((capture or {}).get('asked'))} and delivered "
          f"{json.dumps((capture or {}).get('got'))}")
    for name, part in split.items():
        per_frame = f", {per_frame_ms[name]:5.2f} ms per analysed frame" if name in per_frame_ms else ""
        print(f"  {name:55s} {part['share']:6.1%}  {part['percent_of_core']:5.1f}% of a core{per_frame}")
    write_figures(args, "session_cost", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
