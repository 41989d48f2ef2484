"""The scale-out benchmarks' own arithmetic: the sweep through nginx, the database load and the memory soak.

``bench/capacity_through.py`` (sessions per replica, per-replica CPU, dropped tabs), ``bench/db_load.py``
(latency percentiles, a PostgreSQL statement log counted, visitors per server) and ``bench/soak.py`` (start,
end and trend of the server's memory, memory per session): the figures in the README come from these.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(1, str(Path(__file__).resolve().parent / "e2e"))  # nginx_front's own imports

from bench.capacity_through import nginx_upstream_errors, parse_replica_ports, summarise  # noqa: E402
from bench.db_load import (  # noqa: E402
    KindResult, count_statements, derive, latency_summary, visitors_served)
from bench.soak import Cycle, Sample, ramp_slope, slope_per_min  # noqa: E402
from bench.soak import summarise as soak_summary  # noqa: E402


# --- capacity through the balancer ----------------------------------------------------------------------------

def test_the_level_says_where_nginx_put_each_session_and_what_each_replica_spent() -> None:
    level = summarise(4, homes=["a", "b", "a", "b"], rates=[[4.0, 4.0], [3.8, 4.0], [4.0], [3.0, 3.4]],
                      problems=[False] * 4, moved=[False] * 4, replica_cpu_s={"a": 6.0, "b": 9.0}, elapsed_s=30.0)
    assert level.spread == "a 2 / b 2"
    assert level.replicas["a"].cpu_percent == 20.0 and level.replicas["b"].cpu_percent == 30.0
    assert level.servers_cpu_percent == 50.0
    assert level.replicas["b"].analysed_fps_min == 3.2 and level.replicas["a"].analysed_fps_median == 4.0
    assert level.started == 4 and level.dropped == 0 and level.analysed_fps_min == 3.2


def test_a_tab_that_never_streamed_failed_or_moved_counts_once_as_dropped() -> None:
    level = summarise(4, homes=["a", "a", "a", "?"], rates=[[], [4.0], [4.0], [4.0]],
                      problems=[True, True, False, False], moved=[False, False, True, False],
                      replica_cpu_s={"a": 3.0, "b": 0.3}, elapsed_s=10.0, replica_names=["a", "b"])
    assert level.dropped == 3  # the first is both never-streamed and failed: one tab, one drop
    assert (level.not_started, level.problems, level.moved) == (1, 2, 1)
    # a replica nginx never used is listed with its idle CPU: an uneven spread is a finding
    assert level.replicas["b"].sessions == 0 and level.replicas["b"].cpu_percent == 3.0
    assert level.replicas["?"].sessions == 1 and level.replicas["?"].cpu_percent is None
    assert level.per_session[0] == ("a", None)


def test_without_the_replicas_processes_their_cpu_is_unknown_not_zero() -> None:
    level = summarise(2, ["a", "b"], [[4.0], [4.0]], [False, False], [False, False], {}, 10.0)
    assert level.servers_cpu_percent is None and level.replicas["a"].cpu_percent is None
    with pytest.raises(ValueError):
        summarise(2, ["a"], [[4.0], [4.0]], [False, False], [False, False], {}, 10.0)
    with pytest.raises(ValueError):
        summarise(1, ["a"], [[4.0]], [False], [False], {}, 0.0)


def test_replica_ports_are_letter_port_pairs() -> None:
    assert parse_replica_ports("a=8501, b=8502") == {"a": 8501, "b": 8502}
    for bad in ("", "8501", "a=", "a=port", "a=70000", "=8501"):
        with pytest.raises(ValueError):
            parse_replica_ports(bad)


def test_nginx_upstream_errors_are_counted_from_its_log(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    assert nginx_upstream_errors(log) == 0 and nginx_upstream_errors(None) == 0
    log.write_text("2026/12/03 [error] connect() failed (111) while connecting to upstream, client: 127.0.0.1\n"
                   "2026/12/03 [notice] signal process started\n"
                   "2026/12/03 [error] upstream prematurely closed connection\n")
    assert nginx_upstream_errors(log) == 2


def test_nginx_conf_is_the_shipped_file_with_only_its_ports_and_logs_changed(tmp_path: Path) -> None:
    from nginx_front import SHIPPED_PORTS, nginx_conf

    import config

    shipped = (config.ROOT / "deploy" / "nginx.conf").read_text()
    conf = nginx_conf(tmp_path, 18080, {"a": 18501, "b": 18502}).read_text()
    assert "listen 127.0.0.1:18080;" in conf and "listen 8080;" not in conf
    assert "server 127.0.0.1:18501;" in conf and "~:18502$ b;" in conf
    assert all(f":{port}" not in conf for port in SHIPPED_PORTS.values())
    assert f"access_log {tmp_path / 'access.log'};" in conf
    # everything else as shipped: the sticky cookie and the websocket upgrade
    for line in ("least_conn;", "moodtune_replica=$moodtune_answered", "proxy_set_header Upgrade $http_upgrade;"):
        assert line in shipped and line in conf


# --- the database load ----------------------------------------------------------------------------------------

def test_latency_percentiles() -> None:
    stats = latency_summary([float(i) for i in range(1, 101)])
    assert stats["p50_ms"] == pytest.approx(50.5) and stats["p95_ms"] == pytest.approx(95.05)
    assert stats["p99_ms"] == pytest.approx(99.01) and stats["max_ms"] == 100.0
    assert latency_summary([])["p99_ms"] == 0.0


LOG = """\
2026-12-03 11:46:39.972 UTC [17827] moodtune: LOG:  statement: ;
2026-12-03 11:46:39.974 UTC [17827] moodtune: LOG:  statement: BEGIN
2026-12-03 11:46:39.976 UTC [17827] moodtune: LOG:  execute <unnamed>: SELECT meta.value 
\tFROM meta 
\tWHERE meta.key = $1::VARCHAR
2026-12-03 11:46:39.976 UTC [17827] moodtune: DETAIL:  parameters: $1 = 'data_version'
2026-12-03 11:46:39.978 UTC [17827] moodtune: LOG:  statement: SELECT tracks.id, tracks.name, tracks.artists 
\tFROM tracks ORDER BY tracks.id
2026-12-03 11:46:40.469 UTC [17827] moodtune: LOG:  statement: COMMIT
2026-12-03 11:46:41.000 UTC [17828] moodtune: LOG:  statement: BEGIN
2026-12-03 11:46:41.001 UTC [17828] moodtune: LOG:  execute <unnamed>: SELECT meta.value 
\tFROM meta 
\tWHERE meta.key = $1::VARCHAR
2026-12-03 11:46:41.001 UTC [17828] moodtune: DETAIL:  parameters: $1 = 'bundle_sha256'
2026-12-03 11:46:41.002 UTC [17828] moodtune: LOG:  statement: ROLLBACK
2026-12-03 11:46:41.100 UTC [17830] psql: LOG:  statement: SELECT 1
2026-12-03 11:46:41.200 UTC [17831] : LOG:  checkpoint starting: time
"""


def test_a_statement_log_is_counted_by_what_the_app_asked() -> None:
    counts = count_statements(LOG)
    assert counts.statements == 8  # psql's and the checkpointer's lines are not the app's
    assert counts.transactions == 2 and counts.pings == 1 and counts.index_reads == 1
    assert counts.version_checks == 1  # the bundle fingerprint read is a meta read, not a version check
    assert counts.other == {"SELECT meta": 1}
    assert count_statements(LOG, app_name="psql").statements == 1


def _result(kind: str, clients: int, tps: float, cpu_ms: float | None) -> KindResult:
    return KindResult(kind, clients, int(tps * 10), 10.0, tps, 1.0, 2.0, 3.0, 1.0, 4.0, 0, None, cpu_ms, 1.0)


def test_visitors_per_postgresql_come_from_the_busiest_level_and_the_larger_visitor_rate() -> None:
    assert visitors_served(100.0, 4.0) == 1500
    with pytest.raises(ValueError):
        visitors_served(100.0, 0.0)
    results = [_result("version_check", 1, 800.0, 0.2), _result("version_check", 8, 1000.0, 0.1),
               _result("list_playlists", 8, 5000.0, 0.01)]
    derived = derive(results, {"transactions_per_min": 1.5})
    assert derived["version_check_best_tps"] == 1000.0 and derived["at_clients"] == 8
    # the code's bound (a recommend() per 15-s dwell: 4 a minute) is larger than the recorded 1.5: it is used
    assert derived["transactions_per_visitor_per_min_used"] == 4.0
    assert derived["visitors_served_measured_tps"] == 15_000
    assert derived["version_checks_per_postgres_core_s"] == 10_000.0  # 0.1 ms of the server's CPU each
    assert derived["visitors_served_per_postgres_core"] == 150_000
    assert derived["connections_per_replica_max"] == 15 and derived["replicas_per_default_postgres"] == 6
    assert derive(results, {"transactions_per_min": 6.0})["transactions_per_visitor_per_min_used"] == 6.0
    assert derive([_result("list_playlists", 8, 5000.0, 0.01)], None) == {}


# --- the memory soak ------------------------------------------------------------------------------------------

def _samples(rss: list[float], every: float = 10.0, fds: int = 30) -> list[Sample]:
    return [Sample(i * every, value, fds, 20, False) for i, value in enumerate(rss)]


def test_a_flat_run_is_within_ten_percent_and_the_warm_up_is_left_out() -> None:
    rss = [60.0, 300.0] + [350.0, 352.0, 349.0, 351.0] * 5  # models loaded in the first 20 s
    summary = soak_summary(_samples(rss), [], warmup_s=20.0, window_s=40.0)
    assert summary.start_rss_mb == pytest.approx(350.5, abs=1) and summary.end_rss_mb == pytest.approx(350.5, abs=1)
    assert summary.within_tolerance and summary.peak_rss_mb == 352.0
    assert abs(summary.trend_mb_per_min) < 1.0 and summary.mb_per_session is None


def test_a_growing_run_is_not_within_ten_percent() -> None:
    rss = [300.0 + 2.0 * i for i in range(30)]  # 2 MB every 10 s: 12 MB a minute
    summary = soak_summary(_samples(rss), [], warmup_s=0.0, window_s=50.0)
    assert not summary.within_tolerance and summary.change_percent > 10
    assert summary.trend_mb_per_min == pytest.approx(12.0)
    with pytest.raises(ValueError):
        soak_summary(_samples(rss), [], warmup_s=250.0, window_s=50.0)  # too little left after the warm-up


def test_memory_per_session_is_the_ramps_slope_from_the_first_tab_on() -> None:
    # the first tab also loads the models and the music index: left out of the slope
    assert ramp_slope([(0, 60.0), (1, 340.0), (2, 348.0), (3, 356.0), (4, 364.0)]) == 8.0
    assert ramp_slope([(0, 60.0), (1, 340.0)]) is None
    assert slope_per_min([Sample(0.0, 1.0, 1, 1, False)]) == 0.0
    cycles = [Cycle(0.0, 2, 2, 340.0, 350.0)]
    summary = soak_summary(_samples([350.0] * 12), cycles, 0.0, 30.0, ramp=[(1, 340.0), (3, 360.0)])
    assert summary.mb_per_session == 10.0 and summary.tabs_streamed == "2 of 2"
