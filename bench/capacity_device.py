"""``bench/capacity.py --mode device``: server CPU per "On this device" Live session.

On this path the browser does all the video work; the server only receives, once a second, the batch of
readings the component sends (``ui/on_device``) and reruns the Live screen's fragment (validation, the same
smoother and pacer, headline, bars, timeline). What costs the server is therefore that message and that
rerun, so sessions are played by light protocol clients: each opens Streamlit's own websocket
(``/_stcore/stream``), runs the Live page, picks "On this device", and then, once a second, sends what the
component sends (six frames' readings of a happy face) exactly as Streamlit's frontend forwards a component
value: a ``rerun_script`` BackMsg carrying the widget states and the fragment's id. It counts each session's
mood updates (a fragment run that redraws the headline) and reads the server's CPU time from /proc.

``--browsers K`` first opens K real Chromium tabs running the real component (camera, YuNet and the CNN in
WebAssembly) and measures the server's CPU per tab the same way, to check that the clients cost the server
what real browsers cost it. Loopback only, bounded (at most 60 clients, 120 s per level).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from emotion.labels import EMOTIONS

MAX_CLIENTS = 60
MAX_SECONDS = 120
ON_DEVICE = "On this device"  # ui.live_device.ON_DEVICE (not imported: that module imports Streamlit's UI)
PATH_LABEL = "Where your face is read"
COMPONENT_NAME = "on_device_camera"
HEADLINE = 'mt-emotion-name">'


@dataclass
class DeviceLevel:
    """One measured count of on-device sessions."""

    sessions: int
    kind: str  # "protocol clients" or "Chromium tabs"
    started: int  # sessions that reached the on-device path and got a mood
    mood_updates_per_s_median: float
    mood_updates_per_s_min: float
    server_cpu_percent: float  # of one core, over the measuring window
    server_cpu_percent_per_session: float
    server_warnings: int


@dataclass
class _Client:
    index: int
    radio_id: str | None = None
    component_id: str | None = None
    fragment_id: str | None = None
    updates: list[float] = field(default_factory=list)  # when a fragment run redrew the headline
    error: str | None = None


def _happy_batch(run: str, seq: int, sent: float, frames: int = 6) -> dict[str, object]:
    """What the component sends after a second of a happy face (as ui/on_device/frontend/src/component.js)."""
    readings = []
    for i in range(frames):
        probs = [0.01 + random.random() * 0.01 for _ in EMOTIONS]
        probs[EMOTIONS.index("happy")] = 0.0
        probs[EMOTIONS.index("happy")] = 1.0 - sum(probs)
        readings.append({"t": round(sent - 1.0 + (i + 1) / frames, 3),
                         "faces": [{"box": [200 + random.randint(-3, 3), 120, 230, 250],
                                    "probs": [round(p, 4) for p in probs]}]})
    return {"run": run, "seq": seq, "sent": round(sent, 3), "state": "running", "message": "", "frame": [640, 480],
            "ms": 45.0, "readings": readings}


def _rerun(widgets: list[tuple[str, str, str]], fragment_id: str | None = None) -> bytes:
    """A ``rerun_script`` BackMsg: ``widgets`` = (id, kind, value) with kind string_value or json_value."""
    message = BackMsg()
    state = message.rerun_script
    state.query_string = ""
    state.page_script_hash = ""
    for widget_id, kind, value in widgets:
        widget = state.widget_states.widgets.add()
        widget.id = widget_id
        setattr(widget, kind, value)
    if fragment_id:
        state.fragment_id = fragment_id
    return message.SerializeToString()


async def _run_until_finished(socket: object, client: _Client, timeout_s: float = 60.0) -> None:
    """Read ForwardMsgs until the script run ends, noting the widgets' ids and the headline redraws."""
    deadline = time.monotonic() + timeout_s
    while True:
        data = await asyncio.wait_for(socket.recv(), timeout=max(0.1, deadline - time.monotonic()))
        message = ForwardMsg()
        message.ParseFromString(data)
        kind = message.WhichOneof("type")
        if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
            element = message.delta.new_element
            which = element.WhichOneof("type")
            if which == "radio" and element.radio.label == PATH_LABEL:
                client.radio_id = element.radio.id
            elif which == "component_instance" and COMPONENT_NAME in element.component_instance.component_name:
                client.component_id = element.component_instance.id
                client.fragment_id = message.delta.fragment_id or client.fragment_id
            elif which == "html" and HEADLINE in element.html.body:
                client.updates.append(time.monotonic())
        elif kind == "script_finished":
            return


async def _read_forever(socket: object, client: _Client) -> None:
    """Read every script run's messages, noting the headline redraws, until the socket closes."""
    try:
        while True:
            await _run_until_finished(socket, client, timeout_s=3600.0)
    except Exception:  # noqa: BLE001 - the socket closed at the end of the level (or the server went away)
        return


async def _play_session(url: str, client: _Client, stop_at: float) -> None:
    """One on-device session over Streamlit's websocket, until ``stop_at`` (monotonic)."""
    from websockets.asyncio.client import connect

    parts = urlsplit(url)
    try:
        async with connect(f"ws://{parts.netloc}/_stcore/stream", subprotocols=["streamlit"], origin=url,
                           max_size=None, ping_interval=None) as socket:
            await socket.send(_rerun([]))
            await _run_until_finished(socket, client)
            if client.radio_id is None:
                raise RuntimeError("the Live page showed no path choice")
            choice = (client.radio_id, "string_value", ON_DEVICE)
            await socket.send(_rerun([choice]))
            await _run_until_finished(socket, client)
            if client.component_id is None or client.fragment_id is None:
                raise RuntimeError("the on-device component was not drawn (in a fragment)")
            run, seq, started = f"bench{client.index}", 0, time.monotonic()
            await asyncio.sleep(random.random())  # the sessions' seconds are spread out, as real ones are
            # As the component does: a batch every second on a fixed clock, whether or not the server has
            # finished the last run (Streamlit then queues the next run); the runs are read meanwhile.
            reader = asyncio.create_task(_read_forever(socket, client))
            next_at = time.monotonic()
            while time.monotonic() < stop_at and not reader.done():
                seq += 1
                value = json.dumps(_happy_batch(run, seq, time.monotonic() - started + 5.0))
                await socket.send(_rerun([choice, (client.component_id, "json_value", value)], client.fragment_id))
                next_at += 1.0
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            reader.cancel()
    except Exception as error:  # noqa: BLE001 - one failed client is counted, the others go on
        client.error = f"{type(error).__name__}: {error}"


def measure_protocol_level(url: str, sessions: int, warmup_s: float, seconds: float, server_pid: int,
                           log_path: Path, cpu_seconds: object) -> DeviceLevel:
    """``sessions`` protocol clients at once; server CPU and mood updates over the window after the warm-up."""
    clients = [_Client(i) for i in range(sessions)]
    window: dict[str, float] = {}

    async def everything() -> None:
        stop_at = time.monotonic() + warmup_s + seconds
        tasks = [asyncio.create_task(_play_session(url, c, stop_at)) for c in clients]
        await asyncio.sleep(warmup_s)
        window["start"], window["cpu"] = time.monotonic(), cpu_seconds(server_pid)  # type: ignore[operator]
        await asyncio.sleep(seconds)
        window["end"], window["cpu_end"] = time.monotonic(), cpu_seconds(server_pid)  # type: ignore[operator]
        await asyncio.gather(*tasks)

    warnings_before = log_path.read_text(errors="replace").count("WARNING")
    asyncio.run(everything())
    span = window["end"] - window["start"]
    cpu = (window["cpu_end"] - window["cpu"]) / span * 100
    rates = [sum(window["start"] <= t <= window["end"] for t in c.updates) / span for c in clients]
    started = [r for r, c in zip(rates, clients) if c.error is None and r > 0]
    for c in clients:
        if c.error:
            print(f"  client {c.index}: {c.error}")
    return DeviceLevel(sessions, "protocol clients", len(started),
                       round(statistics.median(rates), 2), round(min(rates), 2), round(cpu, 1),
                       round(cpu / sessions, 2),
                       log_path.read_text(errors="replace").count("WARNING") - warnings_before)


def measure_browser_level(context: object, url: str, tabs: int, warmup_s: float, seconds: float, server_pid: int,
                          log_path: Path, cpu_seconds: object) -> DeviceLevel:
    """``tabs`` real Chromium tabs on the on-device path (the real component); the same figures."""
    pages = [context.new_page() for _ in range(tabs)]  # type: ignore[attr-defined]
    warnings_before = log_path.read_text(errors="replace").count("WARNING")
    try:
        for page in pages:
            page.add_init_script(WATCH_HEADLINE)
            page.goto(url, wait_until="domcontentloaded")
            choice = page.get_by_text(ON_DEVICE, exact=True)
            choice.wait_for(timeout=90_000)
            choice.click()
        for page in pages:  # each tab has loaded the models and shows a mood (the assets are served by then)
            page.locator(".mt-emotion-name").first.wait_for(timeout=120_000)
        time.sleep(warmup_s)
        counts_before = [page.evaluate("() => window.__mtHeadlines || 0") for page in pages]
        cpu_before, wall_before = cpu_seconds(server_pid), time.monotonic()  # type: ignore[operator]
        time.sleep(seconds)
        span = time.monotonic() - wall_before
        cpu = (cpu_seconds(server_pid) - cpu_before) / span * 100  # type: ignore[operator]
        counts = [page.evaluate("() => window.__mtHeadlines || 0") for page in pages]
        rates = [(after - before) / span for before, after in zip(counts_before, counts)]
        return DeviceLevel(tabs, "Chromium tabs", sum(r > 0 for r in rates), round(statistics.median(rates), 2),
                           round(min(rates), 2), round(cpu, 1), round(cpu / tabs, 2),
                           log_path.read_text(errors="replace").count("WARNING") - warnings_before)
    finally:
        for page in pages:
            page.close()


# Counts a tab's redraws while it shows a mood: DOM changes more than 300 ms apart are separate fragment runs
# (one run's deltas land within a few milliseconds), i.e. the tab's mood updates.
WATCH_HEADLINE = """
window.__mtHeadlines = 0;
let last = 0;
new MutationObserver(() => {
  const now = performance.now();
  if (now - last > 300 && document.querySelector('.mt-emotion-name')) window.__mtHeadlines += 1;
  last = now;
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def run_device_mode(args: object, start_server: object, cpu_seconds: object) -> dict[str, object]:
    """The whole ``--mode device`` run: optional real tabs, then each protocol-client level."""
    import tempfile

    results: list[DeviceLevel] = []
    client_cpus = getattr(args, "client_cpus", None)
    with tempfile.TemporaryDirectory(prefix="moodtune-capacity-device-") as tmp:
        workdir = Path(tmp)
        server, url, log_path = start_server(workdir, args.server_cpus)  # type: ignore[operator]
        try:
            if client_cpus:
                os.sched_setaffinity(0, {int(c) for c in client_cpus.split(",")})
            if args.browsers:
                results.append(_browser_level(args, workdir, url, server.pid, log_path, cpu_seconds))
                _print(results[-1])
            for sessions in args.device_levels:
                results.append(measure_protocol_level(url, sessions, args.warmup, args.seconds, server.pid, log_path,
                                                      cpu_seconds))
                _print(results[-1])
        finally:
            server.terminate()
            server.wait(timeout=20)
    return {"what": "on-device Live sessions vs server CPU and mood updates (bench/capacity.py --mode device)",
            "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "server_cpus": args.server_cpus,
            "client_cpus": client_cpus, "seconds": args.seconds, "warmup": args.warmup,
            "levels": [asdict(level) for level in results]}


def _browser_level(args: object, workdir: Path, url: str, pid: int, log_path: Path, cpu_seconds: object) -> DeviceLevel:
    import cv2
    from browser import BASE_FLAGS, CHROMIUM, face_canvas, write_y4m
    from playwright.sync_api import sync_playwright

    import config

    video = workdir / "webcam.y4m"
    face = cv2.imread(str(config.TEST_FACES_DIR / "happy_astronaut.png"))
    write_y4m(video, [(face_canvas(face, 640, 480, 440), 2.0)], fps=15)
    flags = ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}",
             "--use-fake-ui-for-media-stream", *BASE_FLAGS,
             # every tab analyses as a visible one would (background tabs' timers are otherwise throttled)
             "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
             "--disable-backgrounding-occluded-windows"]
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(str(workdir / "profile"), executable_path=str(CHROMIUM),
                                                        headless=False, args=flags,
                                                        viewport={"width": 1280, "height": 900})
        try:
            return measure_browser_level(context, url, args.browsers, 10.0, args.seconds, pid, log_path,
                                         cpu_seconds)
        finally:
            context.close()


def _print(level: DeviceLevel) -> None:
    print(f"{level.sessions:>3} {level.kind}: {level.started} with a mood, mood updates per second median "
          f"{level.mood_updates_per_s_median:.2f} (min {level.mood_updates_per_s_min:.2f}), server CPU "
          f"{level.server_cpu_percent:.1f}% of a core ({level.server_cpu_percent_per_session:.2f}% per session), "
          f"{level.server_warnings} server warnings", flush=True)
