"""What one PostgreSQL serves: a pgbench-style load of the app's own database work, ``python bench/db_load.py``.

Starts a throw-away PostgreSQL cluster on a free local port (``tests/recommender/pg_cluster.py``: the tests'
own, fsync off), fills a database with the bundled catalogue (``open_engine`` seeds it as the app does), and
for each client count runs each kind of transaction from that many threads, each with its own engine (the
app's PostgreSQL settings: pre-ping, timeouts), for ``--seconds``. Each kind is the app's own code:

* ``version_check``: the data-version read ``recommend()`` makes through ``get_index`` when its 5-s recheck
  is due (``read_tx`` + ``schema.data_version``): the only database work of a Live visitor's page.
* ``recommend``: ``recommend()`` itself, as the Live page calls it on a music change, every client on one
  engine as a replica's sessions share theirs (the index built once, its version rechecked at most every
  ``index.RECHECK_S``); the figures say how many transactions it issued per call.
* ``list_playlists``: ``list_playlists()``, the Library screen's list of playlists.
* ``index_build``: ``build_index`` in one read transaction: every replica reads the whole catalogue once
  after each write that changes tracks or playlists (a sync, an added playlist); at most 8 clients (replicas).
* ``sync_write``: what a sync stores for one playlist (``recommender.sync._store``: the tracks upserted,
  the playlist's track list replaced, the playlist row and the data version updated, under the writers' lock),
  100 tracks per playlist, each client its own playlist.

Prints transactions/s and latency p50/p95/p99 per kind and client count, and the cluster's own CPU time
per transaction (its postmaster and backends, from /proc): the clients share the machine's cores with the
server, so transactions per PostgreSQL core-second is the figure that carries to a dedicated server.

``--record-visit SECONDS`` counts what one Live visitor asks of the database: the app server on a database
of this cluster with every statement logged (``log_statement = all``), one headless Chromium tab on Live
whose fake webcam alternates a happy and a sad face (so the music changes as it would for a person), and
the statements and transactions the app issued per minute once the music played. From both, how many Live
visitors one PostgreSQL serves is printed with its derivation.

    python bench/db_load.py --clients 1,8,32,64 --seconds 10 [--write]
    python bench/db_load.py --no-load --record-visit 120          # only the recorded visit
    python bench/db_load.py --clients 1,8 --seconds 2 --kinds version_check,list_playlists   # a smoke run

Bounded: at most 64 clients, 60 s per kind and level, a 300-s visit. Writes ``bench/db_load.json`` only
with ``--write`` (``--out FILE`` elsewhere); a run never dirties the work tree otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests" / "e2e"))  # the real-browser harness (--record-visit)

import numpy as np  # noqa: E402

from bench._timing import write_figures  # noqa: E402

KINDS = ("version_check", "recommend", "list_playlists", "index_build", "sync_write")
MAX_CLIENTS = 64
# Every replica rebuilds its index once after a write, so as many run together as there are replicas: more
# clients than this would measure a situation the app never creates (and 64 builds take minutes here).
KIND_MAX_CLIENTS = {"index_build": 8}
MAX_SECONDS = 60.0
MAX_VISIT_S = 300.0
SYNC_TRACKS = 100  # tracks in each client's playlist for sync_write (a typical mood playlist holds 50-100)
APP_NAME = "moodtune"  # the application_name the app's engines give PostgreSQL (recommender/db.py)


# --- the arithmetic (tests/test_bench_scale.py) ---------------------------------------------------------------

def latency_summary(samples_ms: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean/max of ``samples_ms`` in milliseconds (all 0 for no samples)."""
    if not samples_ms:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0, "max_ms": 0.0}
    arr = np.asarray(samples_ms, dtype=np.float64)
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"p50_ms": round(float(p50), 3), "p95_ms": round(float(p95), 3), "p99_ms": round(float(p99), 3),
            "mean_ms": round(float(arr.mean()), 3), "max_ms": round(float(arr.max()), 3)}


@dataclass(frozen=True)
class StatementCounts:
    """What an app server asked of PostgreSQL in a stretch of its statement log."""

    statements: int  # every statement (BEGIN, COMMIT and the pool's pre-ping included)
    transactions: int  # BEGINs
    version_checks: int  # reads of the data version (meta.value for key 'data_version')
    index_reads: int  # reads of the whole tracks table (an index build)
    pings: int  # the pool's pre-ping (";") before a connection is handed out
    other: dict[str, int] = field(default_factory=dict)  # the rest, by first word


_ENTRY = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \w+ \[\d+\] (?P<app>[^:]*): (?P<level>[A-Z]+):\s+(?P<text>.*)$")
_STATEMENT = re.compile(r"^(?:statement|execute [^:]*):\s*(?P<sql>.*)$", re.S)


def _log_entries(log_text: str) -> Iterator[tuple[str, str, str]]:
    """(application, level, text) of each entry of a log whose prefix is ``%m [%p] %a: `` (a statement's
    further lines, which start with a tab, joined to it)."""
    current: list[str] | None = None
    for line in log_text.splitlines():
        found = _ENTRY.match(line)
        if found:
            if current is not None:
                yield current[0], current[1], " ".join(current[2:])
            current = [found["app"], found["level"], found["text"]]
        elif current is not None and line.startswith("\t"):
            current.append(line.strip())
    if current is not None:
        yield current[0], current[1], " ".join(current[2:])


def count_statements(log_text: str, app_name: str = APP_NAME) -> StatementCounts:
    """Count the statements ``app_name`` sent, in a PostgreSQL log written with ``log_statement = all`` and
    ``log_line_prefix = '%m [%p] %a: '`` (a parameterised statement's values follow in a DETAIL entry)."""
    statements = transactions = versions = index_reads = pings = 0
    other: dict[str, int] = {}
    pending_meta = False  # a meta read whose key the next DETAIL names
    for app, level, text in _log_entries(log_text):
        if app != app_name:
            continue
        if level == "DETAIL":
            if pending_meta and "'data_version'" in text:
                versions += 1
                other["SELECT meta"] -= 1
                if not other["SELECT meta"]:
                    del other["SELECT meta"]
            pending_meta = False
            continue
        found = _STATEMENT.match(text) if level == "LOG" else None
        if not found:
            continue
        sql = found["sql"].strip()
        upper = sql.upper()
        statements += 1
        pending_meta = False
        if upper.startswith("BEGIN"):
            transactions += 1
        elif upper.startswith(("COMMIT", "ROLLBACK")):
            pass
        elif upper in ("", ";"):
            pings += 1
        elif upper.startswith("SELECT META.VALUE") and "FROM META" in upper:
            pending_meta = True
            other["SELECT meta"] = other.get("SELECT meta", 0) + 1
        elif "FROM TRACKS ORDER BY TRACKS.ID" in upper:
            index_reads += 1
        else:
            word = upper.split(None, 1)[0]
            other[word] = other.get(word, 0) + 1
    return StatementCounts(statements, transactions, versions, index_reads, pings, other)


def visitors_served(transactions_per_s: float, transactions_per_visitor_per_min: float) -> int:
    """Live visitors whose database work a server doing ``transactions_per_s`` keeps up with."""
    if transactions_per_visitor_per_min <= 0:
        raise ValueError("a visitor must issue some transactions for the figure to mean anything")
    return int(transactions_per_s * 60 / transactions_per_visitor_per_min)


# --- the cluster ----------------------------------------------------------------------------------------------

def postgres_cpu_seconds(cluster: Any) -> float | None:
    """CPU seconds of the cluster's postmaster, its live backends and its reaped children (None: not ours)."""
    from bench.capacity import CLOCK_TICKS, cpu_seconds, descendants

    if cluster.folder is None:
        return None
    try:
        postmaster = int((cluster.folder / "data" / "postmaster.pid").read_text().split()[0])
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, ValueError):
        return None
    total = sum(int(v) for v in fields[11:15]) / CLOCK_TICKS  # utime, stime, cutime, cstime
    for pid in descendants(postmaster):
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += cpu_seconds(pid)
    return total


@contextlib.contextmanager
def seeded_database(log_statements: bool = False) -> Iterator[tuple[Any, str]]:
    """A throw-away cluster and a database on it seeded with the bundled catalogue: (cluster, url)."""
    from sqlalchemy import text

    from recommender.db import open_engine
    from tests.recommender.pg_cluster import create_database, drop_database, start_cluster

    cluster = start_cluster()
    try:
        if log_statements:
            from sqlalchemy import create_engine

            admin = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text("ALTER SYSTEM SET log_statement = 'all'"))
                conn.execute(text("ALTER SYSTEM SET log_line_prefix = '%m [%p] %a: '"))
                conn.execute(text("SELECT pg_reload_conf()"))
            admin.dispose()
        url = create_database(cluster.url)
        started = time.monotonic()
        open_engine(url).dispose()  # creates the tables and seeds the catalogue, as the app's first visit does
        print(f"database seeded with the bundled catalogue in {time.monotonic() - started:.1f} s", flush=True)
        try:
            yield cluster, url
        finally:
            drop_database(cluster.url, url)
    finally:
        cluster.stop()


# --- the load -------------------------------------------------------------------------------------------------

@dataclass
class KindResult:
    """One kind of transaction from one number of clients."""

    kind: str
    clients: int
    transactions: int
    seconds: float
    transactions_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int
    postgres_cpu_percent: float | None  # of one core, over the run
    postgres_cpu_ms_per_transaction: float | None
    db_transactions_per_call: float  # transactions the call issued (1 for most kinds; recommend: fewer)
    first_error: str = ""


def _sync_items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Web API playlist items for catalogue ``rows`` (what ``_store`` receives from Spotify)."""
    return [{"track": {"id": r["id"], "name": r["name"], "artists": [{"name": r["artists"]}],
                       "album": {"name": r["album"], "images": []}, "duration_ms": 200_000 + i,
                       "popularity": r["popularity"], "type": "track"}} for i, r in enumerate(rows)]


class _Begins:
    """Transactions begun on every engine of this run (SQLAlchemy's "begin" event), from any thread."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, _conn: Any) -> None:
        with self._lock:
            self.count += 1

    def watch(self, engine: Any) -> Any:
        from sqlalchemy import event

        event.listen(engine, "begin", self)
        return engine


BEGINS = _Begins()


class Workload:
    """Each kind's one call, for one client (its own engine, like its own app process).

    ``recommend`` runs on ``shared``, one engine for every client, as a replica's sessions share theirs: the
    index is built once and rechecked every ``index.RECHECK_S`` for all of them.
    """

    def __init__(self, url: str, client: int, catalogue: list[dict[str, Any]], shared: Any) -> None:
        from recommender.db import open_engine

        self.engine = BEGINS.watch(open_engine(url, initialise=False))
        self.shared = shared
        self.client = client
        self._emotions = itertools.cycle(("happy", "sad", "angry", "neutral", "surprise", "fear", "disgust"))
        self._shown: list[str] = []
        start = (client * SYNC_TRACKS) % max(1, len(catalogue) - SYNC_TRACKS)
        self._items = _sync_items(catalogue[start:start + SYNC_TRACKS])
        self._playlist = f"{client:02d}".rjust(22, "L")  # a well-formed 22-character id of its own
        self._round = 0

    def prepare_sync(self) -> None:
        """Add this client's playlist (once), so that ``sync_write`` has its own playlist to store."""
        from recommender.playlists import add_playlist

        add_playlist(self.engine, "happy", self._playlist, name=f"db_load client {self.client}")

    def version_check(self) -> None:
        from recommender import schema
        from recommender.tx import read_tx

        with read_tx(self.engine, "load the music catalogue") as conn:
            schema.data_version(conn)

    def recommend(self) -> None:
        import config
        from recommender.selection import recommend

        rec = recommend(self.shared, next(self._emotions), "match", n=config.APP_TRACKS, exclude=self._shown)
        self._shown = (self._shown + [t.id for t in rec.tracks])[-200:]

    def list_playlists(self) -> None:
        from recommender.playlists import list_playlists

        list_playlists(self.engine)

    def index_build(self) -> None:
        from recommender.index import build_index
        from recommender.moods import default_moods
        from recommender.tx import read_tx

        with read_tx(self.engine, "load the music catalogue") as conn:
            build_index(conn, default_moods())

    def sync_write(self) -> None:
        from recommender.sync import _store, _Target

        self._round += 1
        target = _Target(self._playlist, f"db_load client {self.client}", ("happy",), None, True)
        # a new snapshot each round, and the track order rotated: a playlist that really changed
        shift = self._round % len(self._items)
        _store(self.engine, target, {"name": target.name, "snapshot_id": f"s{self._round}"},
               self._items[shift:] + self._items[:shift])

    def call(self, kind: str) -> Callable[[], None]:
        return getattr(self, kind)


def run_kind(workloads: list[Workload], kind: str, seconds: float, cluster: Any) -> KindResult:
    """Every workload calls ``kind`` in a loop from its own thread for ``seconds``; the figures."""
    latencies: list[list[float]] = [[] for _ in workloads]
    errors = [0] * len(workloads)
    first_error: list[str] = []
    go = threading.Event()
    stop_at = [0.0]
    begins_before = BEGINS.count

    def client(i: int) -> None:
        fn = workloads[i].call(kind)
        go.wait()
        while time.monotonic() < stop_at[0]:
            started = time.perf_counter()
            try:
                fn()
            except Exception as error:  # noqa: BLE001 - counted and reported: a load test must finish
                errors[i] += 1
                if not first_error:
                    first_error.append(f"{type(error).__name__}: {error}"[:300])
                continue
            latencies[i].append((time.perf_counter() - started) * 1000)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(len(workloads))]
    for thread in threads:
        thread.start()
    cpu_before = postgres_cpu_seconds(cluster)
    started = time.monotonic()
    stop_at[0] = started + seconds
    go.set()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    elapsed = time.monotonic() - started
    cpu_after = postgres_cpu_seconds(cluster)
    samples = [x for per_client in latencies for x in per_client]
    calls = len(samples)
    begins = BEGINS.count - begins_before
    pg_cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    stats = latency_summary(samples)
    return KindResult(
        kind=kind, clients=len(workloads), transactions=calls, seconds=round(elapsed, 2),
        transactions_per_s=round(calls / elapsed, 1), errors=sum(errors),
        postgres_cpu_percent=None if pg_cpu is None else round(pg_cpu / elapsed * 100, 1),
        postgres_cpu_ms_per_transaction=None if pg_cpu is None or not calls else round(pg_cpu / calls * 1000, 3),
        db_transactions_per_call=round(begins / calls, 5) if calls else 0.0, first_error=first_error[0] if
        first_error else "", **stats)


def print_result(result: KindResult) -> None:
    cpu = "" if result.postgres_cpu_percent is None else (
        f"; PostgreSQL CPU {result.postgres_cpu_percent:.0f}% of a core, "
        f"{result.postgres_cpu_ms_per_transaction:.2f} ms per call")
    errors = f"; {result.errors} errors ({result.first_error})" if result.errors else ""
    print(f"{result.kind:>15} x{result.clients:<3} {result.transactions_per_s:>8.1f} calls/s  p50 "
          f"{result.p50_ms:7.2f}  p95 {result.p95_ms:7.2f}  p99 {result.p99_ms:7.2f} ms  "
          f"({result.db_transactions_per_call:.4g} db transactions a call){cpu}{errors}", flush=True)


def run_load(levels: list[int], kinds: list[str], seconds: float) -> tuple[list[KindResult], dict[str, Any]]:
    """Every kind at every client count on one seeded database."""
    from sqlalchemy import func, select

    from recommender import schema
    from recommender.catalog import read_catalogue
    from recommender.db import open_engine
    from recommender.index import get_index
    from recommender.tx import read_tx

    catalogue = list(read_catalogue())
    results: list[KindResult] = []
    with seeded_database() as (cluster, url):
        shared = BEGINS.watch(open_engine(url, initialise=False))
        workloads = [Workload(url, i, catalogue, shared) for i in range(max(levels))]
        try:
            with read_tx(shared) as conn:
                tracks = int(conn.execute(select(func.count()).select_from(schema.tracks)).scalar() or 0)
            if "sync_write" in kinds:
                for workload in workloads:
                    workload.prepare_sync()
            for kind in kinds:  # one kind at a time: a sync's writes would make the readers rebuild their index
                if kind == "recommend":
                    get_index(shared)  # built once, as a replica's first visitor builds it
                for clients in levels:
                    if clients > KIND_MAX_CLIENTS.get(kind, MAX_CLIENTS):
                        print(f"{kind:>15} x{clients:<3} left out: more than {KIND_MAX_CLIENTS[kind]} at once "
                              "(one per replica) never happens", flush=True)
                        continue
                    results.append(run_kind(workloads[:clients], kind, seconds, cluster))
                    print_result(results[-1])
        finally:
            for workload in workloads:
                workload.engine.dispose()
            shared.dispose()
    return results, {"catalogue_tracks": tracks}


# --- one recorded Live visit ----------------------------------------------------------------------------------

def record_visit(seconds: float) -> dict[str, Any]:
    """One Live visitor on an app server whose PostgreSQL logs every statement: what it asked per minute."""
    import tempfile

    from playwright.sync_api import sync_playwright

    from bench.capacity import start_server
    from browser import CHROMIUM, ensure_ice_address, webcam_flags, webrtc_component, write_y4m
    from faces import clear_face

    ensure_ice_address()
    with tempfile.TemporaryDirectory(prefix="moodtune-db-visit-") as tmp, seeded_database(True) as (cluster, url):
        workdir = Path(tmp)
        video = workdir / "moods.y4m"
        # 20 s happy, 20 s sad, looped: the mood changes every 20 s, so the music follows (the dwell is 15 s)
        write_y4m(video, [(clear_face("happy"), 20.0), (clear_face("sad"), 20.0)], fps=5)
        log = cluster.folder / "server.log"
        server, app_url, _ = start_server(workdir, None, {"MOODTUNE_DB_URL": url})
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=False,
                                             args=webcam_flags(video))
                try:
                    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                    arrival_offset = log.stat().st_size
                    arrived = time.monotonic()
                    page.goto(app_url, wait_until="domcontentloaded")
                    webrtc_component(page).get_by_role(
                        "button", name="START").click(timeout=90_000)
                    page.locator('[data-testid="stSidebar"] iframe[src*="open.spotify.com/embed/playlist/"]') \
                        .first.wait_for(state="attached", timeout=90_000)
                    arrival_s = time.monotonic() - arrived
                    steady_offset = log.stat().st_size
                    steady_started = time.monotonic()
                    changes, last = 0, None
                    while time.monotonic() - steady_started < seconds:
                        time.sleep(2.0)
                        names = page.locator(".mt-emotion-name").all_inner_texts()
                        mood = names[0].strip() if names else None
                        if mood and last and mood != last:
                            changes += 1
                        last = mood or last
                    steady_s = time.monotonic() - steady_started
                    text = log.read_bytes()
                finally:
                    browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    arrival = count_statements(text[arrival_offset:steady_offset].decode(errors="replace"))
    steady = count_statements(text[steady_offset:].decode(errors="replace"))
    per_min = 60.0 / steady_s
    return {"steady_seconds": round(steady_s, 1), "arrival_seconds": round(arrival_s, 1),
            "mood_changes_seen": changes, "arrival": asdict(arrival), "steady": asdict(steady),
            "statements_per_min": round(steady.statements * per_min, 2),
            "transactions_per_min": round(steady.transactions * per_min, 2),
            "version_checks_per_min": round(steady.version_checks * per_min, 2),
            "index_reads_per_min": round(steady.index_reads * per_min, 2)}


# --- the command ----------------------------------------------------------------------------------------------

def pool_limits(max_connections: int = 100, reserved: int = 3) -> dict[str, int]:
    """How many connections one replica may hold (its engine's pool: size + overflow), and so how many
    replicas a PostgreSQL with ``max_connections`` (100 by default, 3 reserved for superusers) accepts at
    their peak."""
    from recommender.db import open_engine

    engine = open_engine("postgresql+psycopg://moodtune@127.0.0.1:1/none", initialise=False)  # never connects
    try:
        per_replica = engine.pool.size() + max(engine.pool._max_overflow, 0)  # type: ignore[attr-defined]
    finally:
        engine.dispose()
    return {"connections_per_replica_max": per_replica, "postgres_max_connections_default": max_connections,
            "replicas_per_default_postgres": (max_connections - reserved) // per_replica}


def derive(results: list[KindResult], visit: dict[str, Any] | None) -> dict[str, Any]:
    """How many Live visitors one PostgreSQL serves, with the figures it comes from."""
    checks = [r for r in results if r.kind == "version_check" and r.errors == 0]
    if not checks:
        return {}
    best = max(checks, key=lambda r: r.transactions_per_s)
    # a Live visitor's page: a recommend() on each music change, at most one per dwell (15 s) -> <= 4 a
    # minute, each at most one version check (none when the replica checked in the last 5 s): <= 4 a minute
    code_bound = 60.0 / 15.0
    measured = visit["transactions_per_min"] if visit else None
    per_visitor = max(measured or 0.0, code_bound)  # the larger: a conservative figure
    out = {"version_check_best_tps": best.transactions_per_s, "at_clients": best.clients,
           "transactions_per_visitor_per_min_code_bound": code_bound,
           "transactions_per_visitor_per_min_measured": measured,
           "transactions_per_visitor_per_min_used": per_visitor,
           "visitors_served_measured_tps": visitors_served(best.transactions_per_s, per_visitor)}
    pool = pool_limits()
    out.update(pool)
    if best.postgres_cpu_ms_per_transaction:  # the server's own CPU per check, at the busiest level
        tps_per_core = 1000.0 / best.postgres_cpu_ms_per_transaction
        out["version_checks_per_postgres_core_s"] = round(tps_per_core, 1)
        out["visitors_served_per_postgres_core"] = visitors_served(tps_per_core, per_visitor)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,8,32,64", help=f"comma-separated client counts (each 1..{MAX_CLIENTS})")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help=f"seconds per kind and client count (1..{MAX_SECONDS:g})")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, from {', '.join(KINDS)}")
    parser.add_argument("--record-visit", type=float, default=0.0, metavar="SECONDS",
                        help=f"also record one Live visitor's statements for SECONDS (20..{MAX_VISIT_S:g})")
    parser.add_argument("--no-load", action="store_true", help="only the recorded visit (with --record-visit)")
    parser.add_argument("--write", action="store_true", help="write the figures to bench/db_load.json")
    parser.add_argument("--out", type=Path, default=None, help="write the figures to this JSON file instead")
    args = parser.parse_args(argv)
    try:
        levels = [int(n) for n in args.clients.split(",") if n.strip()]
    except ValueError:
        parser.error("--clients must be whole numbers such as 1,8,32,64")
    if not levels or any(not 1 <= n <= MAX_CLIENTS for n in levels):
        parser.error(f"--clients must be counts from 1 to {MAX_CLIENTS}")
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or any(k not in KINDS for k in kinds):
        parser.error(f"--kinds must be taken from {', '.join(KINDS)}")
    if not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be 1..{MAX_SECONDS:g}")
    if args.record_visit and not 20 <= args.record_visit <= MAX_VISIT_S:
        parser.error(f"--record-visit must be 20..{MAX_VISIT_S:g} seconds")
    if args.no_load and not args.record_visit:
        parser.error("--no-load leaves nothing to do without --record-visit")

    from tests.recommender.pg_cluster import postgres_bin

    if postgres_bin() is None:
        parser.error("needs PostgreSQL's initdb and pg_ctl (apt-get install postgresql)")
    results: list[KindResult] = []
    extra: dict[str, Any] = {}
    if not args.no_load:
        results, extra = run_load(levels, kinds, args.seconds)
    visit = None
    if args.record_visit:
        visit = record_visit(args.record_visit)
        print(f"one Live visitor, {visit['steady_seconds']:.0f} s after the music started "
              f"({visit['mood_changes_seen']} mood changes seen): {visit['statements_per_min']:.1f} statements, "
              f"{visit['transactions_per_min']:.1f} transactions, {visit['version_checks_per_min']:.1f} version "
              f"checks, {visit['index_reads_per_min']:.1f} index builds a minute; arriving (page, START, first "
              f"music, {visit['arrival_seconds']:.0f} s): "
              f"{visit['arrival']['statements']} statements, {visit['arrival']['transactions']} transactions",
              flush=True)
    derived = derive(results, visit)
    if derived:
        print(f"one PostgreSQL: {derived['version_check_best_tps']:.0f} version checks/s at {derived['at_clients']} "
              f"clients on this machine (clients and server sharing its cores); a Live visitor issues at most "
              f"{derived['transactions_per_visitor_per_min_used']:g} transactions a minute -> "
              f"{derived['visitors_served_measured_tps']} visitors"
              + (f"; per PostgreSQL core {derived['version_checks_per_postgres_core_s']:.0f} checks/s -> "
                 f"{derived['visitors_served_per_postgres_core']} visitors" if "visitors_served_per_postgres_core"
                 in derived else ""), flush=True)
        print(f"connections: each replica's pool holds up to {derived['connections_per_replica_max']}, so a "
              f"PostgreSQL with the default max_connections {derived['postgres_max_connections_default']} takes "
              f"{derived['replicas_per_default_postgres']} replicas at their peak", flush=True)
    figures = {"what": "the app's own database work from N clients on one PostgreSQL (bench/db_load.py)",
               "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "seconds": args.seconds,
               "postgres": "throw-away cluster (tests/recommender/pg_cluster.py): fsync and synchronous_commit off",
               **extra, "results": [asdict(r) for r in results], "visit": visit, "derived": derived}
    write_figures(args, "db_load", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
