"""``python -m recommender.cli``: sync the emotion playlists from the command line (or cron).

Exit codes: 0 success (or not due with ``--if-due``), 1 the sync failed, 2 no Spotify credentials,
3 partial (some playlists refused, failed or deferred), 4 the database is unavailable, 128 + the signal's
number when stopped by SIGTERM (143) or Ctrl-C (130): the run is then recorded as "interrupted".
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
from typing import Any

import config
from recommender.db import get_engine
from recommender.errors import DatabaseUnavailable, redact_url
from recommender.scheduler import run_if_due, sync_with_lease
from recommender.spotify import RunLimits, load_credentials
from recommender.sync import NO_CREDENTIALS, PARTIAL, SUCCESS, SyncReport, last_sync_runs, sync_all

EXIT_OK, EXIT_FAILED, EXIT_NO_CREDENTIALS, EXIT_PARTIAL, EXIT_DATABASE = 0, 1, 2, 3, 4


def _exit_code(report: SyncReport) -> int:
    return {SUCCESS: EXIT_OK, PARTIAL: EXIT_PARTIAL, NO_CREDENTIALS: EXIT_NO_CREDENTIALS}.get(
        report.status, EXIT_FAILED
    )


def _interval_days(text: str) -> float:
    """``--interval-days``: a finite number of days within the limits of MOODTUNE_SYNC_INTERVAL_DAYS."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    low, high = config.SYNC_INTERVAL_RANGE_DAYS
    if not math.isfinite(value) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of days from {low:.4g} (one hour) to {high:g}")
    return value


MAX_HISTORY = 1000


def _history(text: str) -> int:
    """``--history``: a whole number of runs from 1 to ``MAX_HISTORY``."""
    if not text.strip().isdigit() or len(text.strip()) > 6 or not 1 <= int(text) <= MAX_HISTORY:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} must be a whole number of runs from 1 to {MAX_HISTORY}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recommender.cli",
        description="Refresh Moodtune's emotion playlists from Spotify into the music database.",
        epilog="Credentials: SPOTIPY_CLIENT_ID, SPOTIPY_CLIENT_SECRET, MOODTUNE_SPOTIFY_REFRESH_TOKEN "
        "(environment or .streamlit/secrets.toml). Exit codes: 0 ok, 1 failed, 2 no credentials, "
        "3 partial, 4 database unavailable, 130/143 stopped by Ctrl-C/SIGTERM (the run is recorded as interrupted).",
    )
    # the default is shown with its password hidden (--help output ends up in terminals and CI logs)
    # (argparse %-formats help texts: a % in the URL, e.g. a percent-encoded name, must be doubled)
    shown = redact_url(config.DB_URL).replace("%", "%%")
    parser.add_argument("--db", default=config.DB_URL,
                        help=f"SQLAlchemy database URL (default: MOODTUNE_DB_URL or {shown})")
    parser.add_argument("--if-due", action="store_true",
                        help="sync only when the last completed sync is older than --interval-days "
                        "and no other process is syncing (for a daily cron job)")
    parser.add_argument("--interval-days", type=_interval_days, default=config.SYNC_INTERVAL_DAYS,
                        help="with --if-due: the interval (default: %(default)s)")
    parser.add_argument("--history", type=_history, metavar="N",
                        help=f"print the last N sync runs (1 to {MAX_HISTORY}) and exit")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def _stop_on_signals(limits: RunLimits) -> dict[int, Any]:
    """SIGTERM (systemd, Docker) and Ctrl-C stop the sync cleanly: the request in flight is cut, the run is
    recorded as "interrupted" and the lease given back. A second signal stops at once. Returns the old
    handlers."""
    def stop(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if limits.cancel.is_set() and limits.interrupted:
            raise KeyboardInterrupt
        print(f"{name} received: stopping the sync; the playlists not read yet wait for the next sync.",
              file=sys.stderr)
        limits.interrupt(name)

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, stop)
    return previous


def sync_main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m recommender.cli``; returns the exit code."""
    config.exit_on_settings_problems("python -m recommender.cli")
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    limits = RunLimits.within(config.SYNC_DEADLINE_S)
    restore = _stop_on_signals(limits)
    try:
        engine = get_engine(args.db)
        if args.history:
            for run in last_sync_runs(engine, args.history):
                print(f"#{run.id} {run.started_at:%Y-%m-%d %H:%M} {run.status:<14} {run.trigger or '':<9} "
                      f"{(run.message or '').splitlines()[0] if run.message else ''}")
            return EXIT_OK
        credentials = load_credentials()
        if credentials is None:
            print(sync_all(engine, None).message, file=sys.stderr)
            return EXIT_NO_CREDENTIALS

        def progress(fraction: float, message: str) -> None:
            if not args.quiet:
                print(f"[{fraction:4.0%}] {message}", file=sys.stderr)

        if args.if_due:
            outcome = run_if_due(engine, lambda: credentials, args.interval_days, trigger="cli", limits=limits)
            if outcome.report is None:
                print(f"Not syncing: {outcome.reason}.")
                return EXIT_OK
            report = outcome.report
        else:
            outcome = sync_with_lease(engine, credentials, progress, trigger="cli", limits=limits)
            if outcome.report is None:
                print(outcome.reason, file=sys.stderr)
                return EXIT_FAILED
            report = outcome.report
    except DatabaseUnavailable as error:
        print(f"Music database unavailable: {error}", file=sys.stderr)
        return EXIT_DATABASE
    except KeyboardInterrupt:  # a second Ctrl-C / SIGTERM: stop at once (the lease lapses by itself)
        print("Stopped at once; the sync lease lapses by itself within "
              f"{config.SYNC_LEASE_S:.0f} s.", file=sys.stderr)
        return 128 + signal.SIGINT
    finally:
        for signum, previous in restore.items():
            signal.signal(signum, previous)
    print(report.message)
    if limits.interrupted in signal.Signals.__members__:
        return 128 + signal.Signals[limits.interrupted]
    return _exit_code(report)


if __name__ == "__main__":
    raise SystemExit(sync_main())
