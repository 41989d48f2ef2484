"""How many Live sessions one app server carries: sessions vs per-session *analysed* fps and server CPU.

Starts ``streamlit run app.py`` on 127.0.0.1 (optionally pinned to some CPUs with ``taskset``), then for
each session count opens that many tabs in one headless Debian Chromium whose fake webcam plays the
astronaut photo, presses START in each, waits for the warm-up, and for the measuring window reads:

* each tab's "N frames analysed per second" (what the server analysed for that session),
* the server process's CPU time (``/proc/<pid>/stat``) as % of one core, and the browsers' (every
  Chromium process this script started) beside it: when they are the limit, the figures say so,
* the system's load average (``/proc/loadavg``) at the end of the window: the machine may be shared,
* sessions that never started or whose status said the video failed or stalled, and the server's own
  warnings (drops, failed starts, closed tabs).

Bounded (at most 16 sessions, 180 s per level) and loopback only. Prints a table; writes JSON only when
asked (``--write`` → bench/capacity.json, or ``--out FILE``), so a run never dirties the work tree.

    python bench/capacity.py --sessions 1,2,4,8 --seconds 40 [--server-cpus 0] [--write]
    python bench/capacity.py --sessions 16 --server-cpus 0 --camera 320x240   # lighter browsers
    python bench/capacity.py --sessions 8,16 --server-cpus 0 --env MOODTUNE_LIVE_VIDEO_BACK=0   # a server setting

With ``--server-cpus`` the browsers run on the other CPUs (``--browser-cpus`` to choose). ``--camera`` sets
the fake webcam's size (a smaller one costs the browsers less to encode; the app still asks the browser
for its own capture size, ``config.LIVE_CAPTURE_WIDTH``).
    python bench/capacity.py --replicas 2 --sessions 2,4,8 --seconds 30   # two replicas behind nginx
    python bench/capacity.py --through http://127.0.0.1:8080 --replica-ports a=8501,b=8502 --sessions 2,4
        (through a load balancer: sessions per replica, per-replica CPU; see bench/capacity_through.py)
    python bench/capacity.py --mode device --sessions 10,20,40 --browsers 2 --server-cpus 0 --client-cpus 1
        ("On this device" sessions: server CPU per session; see bench/capacity_device.py)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests" / "e2e"))  # the real-browser harness: Chromium flags, Y4M, START

import cv2  # noqa: E402

import config  # noqa: E402
from bench._timing import write_figures  # noqa: E402
from browser import (CHROMIUM, ensure_ice_address, face_canvas, free_port, webcam_flags, webrtc_component,  # noqa: E402
                     write_y4m)

MAX_SESSIONS = 16
MAX_SECONDS = 180
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FPS_TEXT = "frames analysed per second"
PROBLEM_TEXT = ("stopped arriving", "connection failed", "No video has reached")


@dataclass
class Level:
    """One measured session count."""

    sessions: int
    started: int  # sessions that showed an analysed rate
    analysed_fps_median: float
    analysed_fps_min: float
    server_cpu_percent: float  # of one core, over the measuring window
    problems: int  # sessions whose status reported a failed or stalled stream
    server_warnings: int  # warning lines the server logged during the level
    browser_cpu_percent: float = 0.0  # every Chromium process together, % of one core
    load_average: str = ""  # /proc/loadavg's 1, 5 and 15 minute figures at the end of the window
    per_session_fps: tuple[float, ...] = ()  # each streaming tab's median analysed rate
    browser_capture: str = ""  # what the first tab's camera delivered (width x height @ fps)
    not_started: int = 0  # tabs that never showed an analysed rate (a dropped or failed connection)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its threads, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# Records what the page asked the camera for and what the browser delivered (in the component's frame).
CAPTURE_PROBE = """
(() => {
  const media = navigator.mediaDevices;
  if (!media || !media.getUserMedia || media.__moodtuneProbe) return;
  const original = media.getUserMedia.bind(media);
  media.__moodtuneProbe = true;
  media.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    const track = stream.getVideoTracks()[0];
    window.__moodtuneCapture = {asked: constraints, got: track ? track.getSettings() : null};
    return stream;
  };
})();
"""


def browser_capture(page: object) -> dict | None:
    """What the page's camera request asked for and got (width, height, frameRate), from any of its frames."""
    for frame in page.frames:  # type: ignore[attr-defined]
        try:
            found = frame.evaluate("window.__moodtuneCapture || null")
        except Exception:  # noqa: BLE001 - a frame that went away
            continue
        if found:
            return found
    return None


def capture_text(page: object) -> str:
    """"320x240@15" for what the tab's camera delivered (empty when unknown)."""
    got = (browser_capture(page) or {}).get("got") or {}
    return f"{got.get('width')}x{got.get('height')}@{got.get('frameRate'):g}" if got.get("frameRate") else ""


def descendants(pid: int) -> set[int]:
    """Every living process below ``pid`` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def browsers_cpu_seconds(server_pid: int) -> dict[int, float]:
    """CPU seconds of each process this script started, except the app server (the browsers, their driver)."""
    server_tree = descendants(server_pid) | {server_pid}
    seconds = {}
    for pid in descendants(os.getpid()) - server_tree:
        try:
            seconds[pid] = cpu_seconds(pid)
        except (OSError, IndexError, ValueError):
            continue  # it exited meanwhile
    return seconds


def load_average() -> str:
    """``uptime``'s 1, 5 and 15 minute load averages."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def start_server(workdir: Path, server_cpus: str | None,
                 extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {**os.environ, "MOODTUNE_DB_URL": f"sqlite:///{workdir / 'moodtune.db'}", "MOODTUNE_ICE_SERVERS": "[]",
           "MOODTUNE_SCHEDULER": "0", **(extra_env or {})}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"]
    if server_cpus:
        command = ["taskset", "-c", server_cpus, *command]
    log_path = workdir / "server.log"
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_path.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    import urllib.request

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return server, url, log_path
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the app server did not start:\n" + log_path.read_text(errors="replace")[-2000:])


def tab_rate(page: object) -> float | None:
    """The analysed rate a tab shows, or None when it shows none (not streaming)."""
    texts = page.get_by_text(FPS_TEXT).all_inner_texts()  # type: ignore[attr-defined]
    try:
        return float(texts[-1].split()[0]) if texts else None
    except ValueError:
        return None


def open_sessions(context: object, url: str, sessions: int) -> list[object]:
    """``sessions`` tabs on the Live screen, START pressed in each."""
    pages = [context.new_page() for _ in range(sessions)]  # type: ignore[attr-defined]
    for page in pages:
        page.goto(url, wait_until="domcontentloaded")
    for page in pages:
        start = webrtc_component(page).get_by_role("button", name="START")
        start.wait_for(timeout=90_000)
        start.click(timeout=90_000)  # a loaded machine: 16 tabs starting their cameras at once
    return pages


def measure_level(context: object, url: str, sessions: int, warmup_s: float, seconds: float, server_pid: int,
                  log_path: Path) -> Level:
    log_before = log_path.read_text(errors="replace").count("WARNING")
    pages: list = []
    try:
        pages = open_sessions(context, url, sessions)
        time.sleep(warmup_s)
        cpu_before, wall_before = cpu_seconds(server_pid), time.monotonic()
        browsers_before = browsers_cpu_seconds(server_pid)
        samples: list[list[float]] = [[] for _ in pages]
        problems = [False] * sessions
        while time.monotonic() - wall_before < seconds:
            time.sleep(min(5.0, seconds / 4))
            for i, page in enumerate(pages):
                rate = tab_rate(page)
                if rate is not None:
                    samples[i].append(rate)
                body = page.inner_text("body")
                problems[i] |= any(text in body for text in PROBLEM_TEXT)
        elapsed = time.monotonic() - wall_before
        cpu = (cpu_seconds(server_pid) - cpu_before) / elapsed * 100
        browsers_after = browsers_cpu_seconds(server_pid)
        browsers = sum(after - browsers_before.get(pid, 0.0) for pid, after in browsers_after.items())
        per_session = [statistics.median(s) for s in samples if s]
        warnings = log_path.read_text(errors="replace").count("WARNING") - log_before
        return Level(sessions, len(per_session),
                     round(statistics.median(per_session), 2) if per_session else 0.0,
                     round(min(per_session), 2) if per_session else 0.0,
                     round(cpu, 1), sum(problems), warnings, browser_cpu_percent=round(browsers / elapsed * 100, 1),
                     load_average=load_average(), per_session_fps=tuple(round(f, 2) for f in per_session),
                     browser_capture=capture_text(pages[0]), not_started=sessions - len(per_session))
    finally:
        for page in pages:
            page.close()  # the tabs go without STOP, as users' tabs do
        time.sleep(8)  # the server releases closed tabs' video connections (ui/live.py)


def cpu_list(parser: argparse.ArgumentParser, text: str) -> set[int]:
    """CPUs from "0", "1,3" or "0-1" (taskset's list form), each one this process may use."""
    cpus: set[int] = set()
    try:
        for part in text.split(","):
            low, _, high = part.partition("-")
            cpus.update(range(int(low), int(high or low) + 1))
    except ValueError:
        parser.error(f"{text!r} is not a CPU list such as 0 or 0,1 or 0-1")
    if not cpus or not cpus <= set(os.sched_getaffinity(0)):
        parser.error(f"CPU list {text!r} names CPUs this machine does not offer ({sorted(os.sched_getaffinity(0))})")
    return cpus


def server_settings(parser: argparse.ArgumentParser, items: list[str]) -> dict[str, str]:
    """``--env MOODTUNE_NAME=VALUE`` options as environment entries for the server (only Moodtune's settings)."""
    settings = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("MOODTUNE_"):
            parser.error(f"--env takes MOODTUNE_NAME=VALUE, got {item!r}")
        settings[name] = value
    if settings:  # refused by the app's own checks (config.py): say so now, not after a run on the defaults
        check = subprocess.run([sys.executable, "-c", "import config; "
                                "config.exit_on_settings_problems('--env')"], cwd=ROOT, capture_output=True,
                               text=True, timeout=60, env={**os.environ, **settings})
        if check.returncode != 0:
            parser.error(check.stderr.strip() or "the server settings were refused")
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,2,4", help="comma-separated session counts (each <= 16)")
    parser.add_argument("--seconds", type=float, default=40.0, help="measuring window per level (<= 180)")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds after START before measuring")
    parser.add_argument("--server-cpus", default=None, help="pin the server with taskset, e.g. 0 (one core)")
    parser.add_argument("--browser-cpus", default=None,
                        help="pin the browsers, e.g. 1 (default: the CPUs the server is not pinned to)")
    parser.add_argument("--camera", default="640x480", help="the fake webcam's WIDTHxHEIGHT (e.g. 320x240)")
    parser.add_argument("--camera-fps", type=int, default=15, help="the fake webcam's frame rate (1..30)")
    parser.add_argument("--mode", choices=("server", "device"), default="server",
                        help="server: video analysed on the server (WebRTC); device: 'On this device' sessions")
    parser.add_argument("--browsers", type=int, default=0,
                        help="device mode: real Chromium tabs measured first (0..4), beside the protocol clients")
    parser.add_argument("--client-cpus", default=None, help="device mode: pin the clients, e.g. 1")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the server, e.g. MOODTUNE_LIVE_VIDEO_BACK=0 (repeatable)")
    parser.add_argument("--replicas", type=int, default=0, choices=(0, 2),
                        help="2: start two replicas on one PostgreSQL behind nginx (deploy/nginx.conf) and sweep "
                             "through it (bench/capacity_through.py; figures to capacity_through.json)")
    parser.add_argument("--through", default=None, metavar="URL",
                        help="sweep through a load balancer already running at URL (e.g. http://127.0.0.1:8080)")
    parser.add_argument("--replica-ports", default=None, metavar="a=8501,b=8502",
                        help="with --through: the local replicas (nginx's letters) whose CPU to read")
    parser.add_argument("--write", action="store_true", help="write the figures to bench/capacity.json")
    parser.add_argument("--out", type=Path, default=None, help="write the figures to this JSON file instead")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.sessions.split(",") if n.strip()]
    if args.mode == "device":
        return device_main(parser, args, levels)
    if not levels or any(not 1 <= n <= MAX_SESSIONS for n in levels):
        parser.error(f"--sessions must be counts from 1 to {MAX_SESSIONS}")
    if not 5 <= args.seconds <= MAX_SECONDS or not 0 <= args.warmup <= 60:
        parser.error(f"--seconds must be 5..{MAX_SECONDS} and --warmup 0..60")
    try:
        camera = tuple(int(v) for v in args.camera.lower().split("x"))
        if len(camera) != 2 or not (64 <= camera[0] <= 1920 and 48 <= camera[1] <= 1080):
            raise ValueError
    except ValueError:
        parser.error("--camera must be WIDTHxHEIGHT within 64x48..1920x1080, e.g. 320x240")
    if not 1 <= args.camera_fps <= 30:
        parser.error("--camera-fps must be 1..30")
    extra_env = server_settings(parser, args.env)
    browser_cpus = cpu_list(parser, args.browser_cpus) if args.browser_cpus else None
    if browser_cpus is None and args.server_cpus:
        browser_cpus = (set(os.sched_getaffinity(0)) - cpu_list(parser, args.server_cpus)) or None
    if not CHROMIUM.exists():
        parser.error("needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    if args.replicas or args.through:
        if args.env:
            parser.error("--env sets the one server this script starts; not with --replicas or --through")
        return through_main(parser, args, levels, camera, browser_cpus)
    from playwright.sync_api import sync_playwright

    ensure_ice_address()
    results: list[Level] = []
    with tempfile.TemporaryDirectory(prefix="moodtune-capacity-") as tmp:
        workdir = Path(tmp)
        video = workdir / "webcam.y4m"
        face = cv2.imread(str(config.TEST_FACES_DIR / "happy_astronaut.png"))
        width, height = camera
        write_y4m(video, [(face_canvas(face, width, height, round(height * 440 / 480)), 2.0)], fps=args.camera_fps)
        server, url, log_path = start_server(workdir, args.server_cpus, extra_env)
        if browser_cpus:
            os.sched_setaffinity(0, browser_cpus)  # Chromium and its driver inherit it; the server is started
        try:
            with sync_playwright() as pw:
                context = pw.chromium.launch_persistent_context(
                    str(workdir / "profile"), executable_path=str(CHROMIUM), headless=False,
                    args=webcam_flags(video), viewport={"width": 1280, "height": 900})
                context.add_init_script(CAPTURE_PROBE)
                try:
                    for sessions in levels:
                        level = measure_level(context, url, sessions, args.warmup, args.seconds, server.pid,
                                              log_path)
                        results.append(level)
                        print(f"{level.sessions:>3} sessions: {level.started} streaming, analysed fps median "
                              f"{level.analysed_fps_median:.1f} (min {level.analysed_fps_min:.1f}), server CPU "
                              f"{level.server_cpu_percent:.0f}% of a core, {level.problems} failed/stalled, "
                              f"{level.not_started} never streamed, {level.server_warnings} server warnings; "
                              f"browsers {level.browser_cpu_percent:.0f}% of a core, each camera delivering "
                              f"{level.browser_capture or '?'}; load {level.load_average}; "
                              f"per session {', '.join(f'{f:.1f}' for f in level.per_session_fps)}", flush=True)
                finally:
                    context.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    figures = {"what": "sessions vs per-session analysed fps and server CPU (bench/capacity.py)",
               "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "server_cpus": args.server_cpus,
               "browser_cpus": ",".join(map(str, sorted(browser_cpus))) if browser_cpus else None,
               "webcam": f"{width}x{height} at {args.camera_fps} fps, the astronaut photo",
               "analysis_fps_cap": float(extra_env.get("MOODTUNE_LIVE_ANALYSIS_FPS") or config.LIVE_ANALYSIS_FPS),
               "settings": extra_env,
               "seconds": args.seconds, "warmup": args.warmup, "levels": [asdict(level) for level in results]}
    write_figures(args, "capacity", figures)
    return 0


def device_main(parser: argparse.ArgumentParser, args: argparse.Namespace, levels: list[int]) -> int:
    """``--mode device``: on-device sessions (bench/capacity_device.py); figures to capacity_device.json."""
    from capacity_device import MAX_CLIENTS
    from capacity_device import MAX_SECONDS as DEVICE_MAX_SECONDS
    from capacity_device import run_device_mode

    if not levels or any(not 1 <= n <= MAX_CLIENTS for n in levels):
        parser.error(f"--sessions must be counts from 1 to {MAX_CLIENTS} in device mode")
    if not 5 <= args.seconds <= DEVICE_MAX_SECONDS or not 0 <= args.warmup <= 60 or not 0 <= args.browsers <= 4:
        parser.error(f"--seconds must be 5..{DEVICE_MAX_SECONDS}, --warmup 0..60 and --browsers 0..4")
    if args.browsers and not CHROMIUM.exists():
        parser.error("--browsers needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium)")
    args.device_levels = levels
    figures = run_device_mode(args, start_server, cpu_seconds)
    write_figures(args, "capacity_device", figures)
    return 0


def through_main(parser: argparse.ArgumentParser, args: argparse.Namespace, levels: list[int],
                 camera: tuple[int, ...], browser_cpus: set[int] | None) -> int:
    """``--replicas 2`` / ``--through URL``: the sweep through the load balancer (bench/capacity_through.py)."""
    from capacity_through import parse_replica_ports, run_through_mode

    if args.replicas and args.through:
        parser.error("--replicas starts its own balancer: give either --replicas 2 or --through URL")
    if args.through and not args.through.startswith(("http://", "https://")):
        parser.error("--through must be the balancer's URL, e.g. http://127.0.0.1:8080")
    if args.replica_ports and not args.through:
        parser.error("--replica-ports goes with --through (--replicas 2 knows its replicas)")
    try:
        args.replica_ports = parse_replica_ports(args.replica_ports) if args.replica_ports else None
    except ValueError as error:
        parser.error(f"--replica-ports: {error}")
    args.browser_cpus_set = browser_cpus
    ensure_ice_address()
    with tempfile.TemporaryDirectory(prefix="moodtune-capacity-video-") as tmp:
        video = Path(tmp) / f"webcam_{camera[0]}x{camera[1]}.y4m"
        face = cv2.imread(str(config.TEST_FACES_DIR / "happy_astronaut.png"))
        write_y4m(video, [(face_canvas(face, camera[0], camera[1], round(camera[1] * 440 / 480)), 2.0)],
                  fps=args.camera_fps)
        figures = run_through_mode(args, levels, video, webcam_flags(video))
    write_figures(args, "capacity_through", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
