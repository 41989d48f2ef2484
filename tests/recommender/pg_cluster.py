"""A real, throw-away PostgreSQL server for the tests.

``.ci/run`` starts one and exports its URL as ``MOODTUNE_TEST_PG_URL``. Without that variable the tests
start their own with ``initdb``/``pg_ctl`` (from PATH or ``/usr/lib/postgresql/<version>/bin``) in a temp
folder, on a free port of 127.0.0.1, as the ``postgres`` user when run as root (PostgreSQL refuses to run
as root), so that ``python -m pytest`` alone works on a developer machine. Each test gets its own
database, copied from a seeded template (``CREATE DATABASE ... TEMPLATE``: a file copy, not a re-seed).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

URL_ENV = "MOODTUNE_TEST_PG_URL"
_names = itertools.count(1)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


@dataclass
class Cluster:
    """A running server: ``url`` reaches its ``postgres`` database as a superuser."""

    url: str
    folder: Path | None = None
    bindir: Path | None = None
    run_as: str | None = None

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", self.run_as, "--", *args] if self.run_as else list(args)

    def stop(self) -> None:
        """Stop a server this module started and delete its files (one given by URL is left alone)."""
        if self.folder is None or self.bindir is None:
            return
        subprocess.run(self._cmd(str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate",
                                 "-w", "stop"), capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> Cluster:
    """Start a new server (see the module docstring); raises RuntimeError saying what is missing."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql) and "
                           f"{URL_ENV} is not set: the recommender tests need a real server")
    folder = Path(tempfile.mkdtemp(prefix="moodtune-pg-"))
    run_as = None
    if os.geteuid() == 0:
        run_as = "postgres"
        account = pwd.getpwnam(run_as)
        os.chown(folder, account.pw_uid, account.pw_gid)
    cluster = Cluster("", folder, bindir, run_as)
    port = free_port()
    try:
        subprocess.run(cluster._cmd(str(bindir / "initdb"), "-D", str(folder / "data"), "-A", "trust",
                                    "-U", "moodtune", "-E", "UTF8", "--locale=C", "--no-sync"),
                       capture_output=True, check=True, timeout=120)
        options = (f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(cluster._cmd(str(bindir / "pg_ctl"), "-D", str(folder / "data"), "-l",
                                    str(folder / "server.log"), "-o", options, "-w", "start"),
                       capture_output=True, check=True, timeout=120)
    except subprocess.CalledProcessError as error:
        log = (folder / "server.log").read_text(errors="replace") if (folder / "server.log").exists() else ""
        cluster.stop()
        raise RuntimeError(f"could not start PostgreSQL: {error.stderr!r} {log[-2000:]}") from error
    cluster.url = f"postgresql+psycopg://moodtune@127.0.0.1:{port}/postgres"
    return cluster


def cluster_from_env_or_start() -> Cluster:
    """The server named by ``MOODTUNE_TEST_PG_URL``, or a new one."""
    url = os.environ.get(URL_ENV)
    return Cluster(url) if url else start_cluster()


def _admin(url: str):  # noqa: ANN202 - an Engine in AUTOCOMMIT (CREATE DATABASE cannot run in a transaction)
    return create_engine(url, isolation_level="AUTOCOMMIT")


def create_database(server_url: str, template: str | None = None) -> str:
    """A new, empty (or ``template``-copied) database on the server; returns its URL."""
    name = f"moodtune_test_{os.getpid()}_{next(_names)}"
    admin = _admin(server_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    finally:
        admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    """Drop the database of ``url`` (closing whatever connections are left)."""
    name = make_url(url).database
    admin = _admin(server_url)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
