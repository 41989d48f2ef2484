"""``bench/capacity.py --replicas 2`` / ``--through URL``: the capacity sweep through the load balancer.

``--replicas 2`` starts what the README's "More users than one server holds" describes and
``tests/e2e/test_e2e_replicas.py`` runs: two ``streamlit run app.py`` replicas (each optionally pinned with
``--server-cpus``), both on one PostgreSQL (a throw-away cluster, as the tests start one; or CI's, from
``MOODTUNE_TEST_PG_URL``) with the same cookie secret, and Debian's nginx with ``deploy/nginx.conf`` (only
its ports changed) in front; ``--through URL`` instead measures a load balancer that is already running
(``--replica-ports a=8501,b=8502`` names the local replicas whose CPU to read).

Each session is its own visitor: its own browser context (cookies), so nginx places it as it places a new
visitor (fewest connections, then the ``moodtune_replica`` cookie keeps it there). For each session count
the sessions open Live through the balancer and press START; after the warm-up, each tab's replica is read
from the ``X-Moodtune-Replica`` header nginx adds, and over the window:

* each tab's analysed rate ("N frames analysed per second"), per session and per replica,
* each replica's CPU time (``/proc/<pid>/stat``) as % of one core, and the browsers' beside it,
* dropped connections: tabs that never streamed, tabs whose status said the video failed or stalled, and
  tabs that were moved to another replica (the app's "another server has picked it up" notice),
* nginx's upstream errors (its error log) and the replicas' warnings.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

MOVED_TEXT = "another server has picked it up"  # ui.live's notice after the replica went away
UNKNOWN = "?"  # a tab whose replica could not be read (no header: not nginx with deploy/nginx.conf)


@dataclass
class ReplicaFigures:
    """One replica's share of a level."""

    sessions: int  # tabs nginx placed on it
    streaming: int  # of those, tabs that showed an analysed rate
    analysed_fps_median: float  # over its streaming tabs' medians
    analysed_fps_min: float
    cpu_percent: float | None  # of one core; None when its process is not known (``--through`` without ports)


@dataclass
class ThroughLevel:
    """One measured session count through the load balancer."""

    sessions: int
    started: int
    analysed_fps_median: float
    analysed_fps_min: float
    replicas: dict[str, ReplicaFigures]
    spread: str  # "a 2 / b 2"
    not_started: int  # tabs that never showed an analysed rate
    problems: int  # tabs whose status said failed or stalled
    moved: int  # tabs moved to another replica during the level (their first one went away)
    dropped: int  # tabs with any of the three
    servers_cpu_percent: float | None  # every known replica together
    browser_cpu_percent: float
    nginx_errors: int  # upstream errors nginx logged during the level (None-free: 0 when its log is unknown)
    server_warnings: int
    load_average: str = ""
    per_session: list[tuple[str, float | None]] = field(default_factory=list)  # (replica, median analysed fps)


def summarise(sessions: int, homes: Sequence[str], rates: Sequence[Sequence[float]], problems: Sequence[bool],
              moved: Sequence[bool], replica_cpu_s: Mapping[str, float], elapsed_s: float,
              replica_names: Sequence[str] = ()) -> ThroughLevel:
    """The level's figures from what each tab showed.

    ``homes[i]``: the replica tab ``i`` was on; ``rates[i]``: the analysed rates it showed over the window;
    ``replica_cpu_s``: each known replica's CPU seconds over ``elapsed_s``; ``replica_names``: replicas to list
    even when no tab reached them (a replica nginx never used is a finding). The browsers' CPU, nginx's
    errors and the warnings are filled in by the caller.
    """
    if not len(homes) == len(rates) == len(problems) == len(moved) == sessions:
        raise ValueError("one home, rate list, problem and moved flag per session")
    if elapsed_s <= 0:
        raise ValueError("the measuring window must be longer than 0 s")
    medians = [statistics.median(r) if r else None for r in rates]
    streaming = [m for m in medians if m is not None]
    names = sorted(set(replica_names) | set(homes) | set(replica_cpu_s))
    replicas = {}
    for name in names:
        mine = [m for home, m in zip(homes, medians) if home == name]
        rated = [m for m in mine if m is not None]
        cpu = replica_cpu_s.get(name)
        replicas[name] = ReplicaFigures(
            sessions=len(mine), streaming=len(rated),
            analysed_fps_median=round(statistics.median(rated), 2) if rated else 0.0,
            analysed_fps_min=round(min(rated), 2) if rated else 0.0,
            cpu_percent=None if cpu is None else round(cpu / elapsed_s * 100, 1))
    dropped = sum(1 for m, p, mv in zip(medians, problems, moved) if m is None or p or mv)
    known_cpu = [r.cpu_percent for r in replicas.values() if r.cpu_percent is not None]
    return ThroughLevel(
        sessions=sessions, started=len(streaming),
        analysed_fps_median=round(statistics.median(streaming), 2) if streaming else 0.0,
        analysed_fps_min=round(min(streaming), 2) if streaming else 0.0,
        replicas=replicas, spread=" / ".join(f"{name} {r.sessions}" for name, r in replicas.items()),
        not_started=sessions - len(streaming), problems=sum(problems), moved=sum(moved), dropped=dropped,
        servers_cpu_percent=round(sum(known_cpu), 1) if known_cpu else None, browser_cpu_percent=0.0,
        nginx_errors=0, server_warnings=0,
        per_session=[(home, None if m is None else round(m, 2)) for home, m in zip(homes, medians)])


def parse_replica_ports(text: str) -> dict[str, int]:
    """``"a=8501,b=8502"`` -> {"a": 8501, "b": 8502}; ValueError saying what was expected."""
    ports: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, port = part.partition("=")
        if not sep or not name.strip() or not port.strip().isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"{part!r} is not NAME=PORT (e.g. a=8501,b=8502: the replica letters nginx names)")
        ports[name.strip()] = int(port)
    if not ports:
        raise ValueError("no replica given: use NAME=PORT pairs such as a=8501,b=8502")
    return ports


def nginx_upstream_errors(log: Path | None) -> int:
    """Upstream errors in nginx's error log so far (a replica refused, reset or timed out a connection)."""
    if log is None or not log.exists():
        return 0
    return sum(1 for line in log.read_text(errors="replace").splitlines() if "upstream" in line)


@dataclass
class _Front:
    """What the sweep measures through: the balancer's URL and what is known about its replicas."""

    url: str
    pids: dict[str, int]  # replica letter -> server pid (empty: CPU unknown)
    logs: dict[str, Path] = field(default_factory=dict)
    nginx_log: Path | None = None
    roots: set[int] = field(default_factory=set)  # processes whose trees are not browsers (replicas, nginx)

    def not_browsers(self) -> set[int]:
        """The replicas, nginx and everything below them now (a server may have started new processes)."""
        from bench.capacity import descendants

        found = set(self.roots)
        for pid in self.roots:
            found |= descendants(pid)
        return found


@contextlib.contextmanager
def two_replicas(workdir: Path, server_cpus: str | None) -> Iterator[_Front]:
    """Two app replicas on one PostgreSQL behind deploy/nginx.conf (tests/e2e/nginx_front.py)."""
    from bench.capacity import descendants, start_server
    from nginx_front import SHIPPED_PORTS, nginx_in_front, postgres_database

    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(postgres_database())
        shared = {"MOODTUNE_DB_URL": db_url, "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(16)}
        servers = {}
        for name in SHIPPED_PORTS:
            folder = workdir / f"replica_{name}"
            folder.mkdir()
            servers[name] = start_server(folder, server_cpus, shared)
            stack.callback(_stop, servers[name][0])
        ports = {name: int(url.rsplit(":", 1)[1]) for name, (_, url, _) in servers.items()}
        front = stack.enter_context(nginx_in_front(workdir, ports))
        pids = {name: server.pid for name, (server, _, _) in servers.items()}
        # every process of ours so far (replicas, nginx, a PostgreSQL started here) is not a browser
        roots = set(pids.values()) | descendants(os.getpid())
        yield _Front(front, pids, {name: log for name, (_, _, log) in servers.items()},
                     workdir / "nginx" / "error.log", roots)


def _stop(server: object) -> None:
    server.terminate()  # type: ignore[attr-defined]
    try:
        server.wait(timeout=20)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a replica that will not stop must not hide the figures
        server.kill()  # type: ignore[attr-defined]


def existing_front(url: str, replica_ports: dict[str, int] | None) -> _Front:
    """A load balancer already running at ``url``; the local replicas' pids from their ports, if given."""
    from app_process import server_pid

    from bench.capacity import descendants

    pids = {name: server_pid(f"http://127.0.0.1:{port}") for name, port in (replica_ports or {}).items()}
    return _Front(url.rstrip("/"), pids, roots=set(pids.values()) | descendants(os.getpid()))


def measure_level(browser: object, front: _Front, sessions: int, warmup_s: float, seconds: float,
                  probe: str) -> ThroughLevel:
    """Open ``sessions`` visitors through ``front``, START each, measure for ``seconds`` after ``warmup_s``."""
    from browser import webrtc_component
    from bench.capacity import PROBLEM_TEXT, cpu_seconds, descendants, load_average, tab_rate
    from nginx_front import replica_of

    warnings_before = {name: log.read_text(errors="replace").count("WARNING") for name, log in front.logs.items()}
    nginx_before = nginx_upstream_errors(front.nginx_log)
    contexts: list = []
    try:
        pages = []
        for _ in range(sessions):  # each visitor its own cookies: nginx places it as a new visitor
            context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
            context.add_init_script(probe)
            contexts.append(context)
            pages.append(context.new_page())
        for page in pages:
            page.goto(front.url, wait_until="domcontentloaded")
        for page in pages:
            start = webrtc_component(page).get_by_role("button", name="START")
            start.wait_for(timeout=90_000)
            start.click()
        time.sleep(warmup_s)
        homes = []
        for page in pages:
            try:
                homes.append(replica_of(page) or UNKNOWN)
            except Exception:  # noqa: BLE001 - a tab whose page went away
                homes.append(UNKNOWN)

        def browsers_cpu() -> dict[int, float]:
            found = {}
            for pid in descendants(os.getpid()) - front.not_browsers():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    found[pid] = cpu_seconds(pid)
            return found

        cpu_before = {name: cpu_seconds(pid) for name, pid in front.pids.items()}
        browsers_before, wall_before = browsers_cpu(), time.monotonic()
        rates: list[list[float]] = [[] for _ in pages]
        problems, moved = [False] * sessions, [False] * sessions
        while time.monotonic() - wall_before < seconds:
            time.sleep(min(5.0, seconds / 4))
            for i, page in enumerate(pages):
                rate = tab_rate(page)
                if rate is not None:
                    rates[i].append(rate)
                body = page.inner_text("body")
                problems[i] |= any(text in body for text in PROBLEM_TEXT)
                moved[i] |= MOVED_TEXT in body
        elapsed = time.monotonic() - wall_before
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in front.pids.items()}
        browsers_after = browsers_cpu()
        browsers = sum(after - browsers_before.get(pid, 0.0) for pid, after in browsers_after.items())
        level = summarise(sessions, homes, rates, problems, moved, cpu, elapsed, replica_names=sorted(front.pids))
        level.browser_cpu_percent = round(browsers / elapsed * 100, 1)
        level.nginx_errors = nginx_upstream_errors(front.nginx_log) - nginx_before
        level.server_warnings = sum(log.read_text(errors="replace").count("WARNING") - warnings_before[name]
                                    for name, log in front.logs.items())
        level.load_average = load_average()
        return level
    finally:
        for context in contexts:
            with contextlib.suppress(Exception):
                context.close()  # the visitors go without STOP, as users' tabs do
        time.sleep(8)  # the replicas release closed tabs' video connections (ui/live.py)


def print_level(level: ThroughLevel) -> None:
    """One line per level, then one per replica."""
    cpu = "?" if level.servers_cpu_percent is None else f"{level.servers_cpu_percent:.0f}%"
    print(f"{level.sessions:>3} sessions through the balancer: spread {level.spread}; {level.started} streaming, "
          f"analysed fps median {level.analysed_fps_median:.1f} (min {level.analysed_fps_min:.1f}); dropped "
          f"{level.dropped} ({level.not_started} never streamed, {level.problems} failed/stalled, {level.moved} "
          f"moved); replicas' CPU {cpu} of a core together, browsers {level.browser_cpu_percent:.0f}%; nginx "
          f"upstream errors {level.nginx_errors}, server warnings {level.server_warnings}; load "
          f"{level.load_average}", flush=True)
    for name, replica in level.replicas.items():
        cpu = "?" if replica.cpu_percent is None else f"{replica.cpu_percent:.0f}% of a core"
        print(f"      replica {name}: {replica.sessions} sessions ({replica.streaming} streaming), analysed fps "
              f"median {replica.analysed_fps_median:.1f} (min {replica.analysed_fps_min:.1f}), CPU {cpu}",
              flush=True)


def run_through_mode(args: object, levels: list[int], video: Path, flags: list[str]) -> dict[str, object]:
    """The whole sweep: start (``--replicas 2``) or reach (``--through``) the balancer, then each level."""
    from playwright.sync_api import sync_playwright

    from bench.capacity import CAPTURE_PROBE
    from browser import CHROMIUM

    results: list[ThroughLevel] = []
    through = getattr(args, "through", None)
    with tempfile.TemporaryDirectory(prefix="moodtune-capacity-through-") as tmp, contextlib.ExitStack() as stack:
        if through:
            front = existing_front(through, getattr(args, "replica_ports", None))
        else:
            front = stack.enter_context(two_replicas(Path(tmp), args.server_cpus))  # type: ignore[attr-defined]
        browser_cpus = getattr(args, "browser_cpus_set", None)
        if browser_cpus:
            os.sched_setaffinity(0, browser_cpus)  # Chromium inherits it; the replicas are already running
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=False, args=flags)
            try:
                for sessions in levels:
                    results.append(measure_level(browser, front, sessions, args.warmup,  # type: ignore[attr-defined]
                                                 args.seconds, CAPTURE_PROBE))  # type: ignore[attr-defined]
                    print_level(results[-1])
            finally:
                browser.close()
    return {"what": "sessions through the load balancer: spread, per-replica CPU, analysed fps, dropped "
                    "(bench/capacity.py " + (f"--through {through}" if through else "--replicas 2") + ")",
            "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
            "server_cpus": getattr(args, "server_cpus", None), "through": through or "nginx, deploy/nginx.conf",
            "replicas": sorted(front.pids), "webcam": str(video.name),
            "seconds": args.seconds, "warmup": args.warmup,  # type: ignore[attr-defined]
            "levels": [asdict(level) for level in results]}
