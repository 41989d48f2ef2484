"""Replicas behind ``deploy/nginx.conf`` on one PostgreSQL: the start-up shared by the replicas test and the
capacity benchmark (``tests/e2e/test_e2e_replicas.py``, ``bench/capacity.py --replicas 2``).

``deploy/nginx.conf`` runs as shipped with only its ports changed (and its logs and temp files moved to a
folder of the caller's); Debian's nginx runs in the foreground, not as a daemon. Failures raise
``RuntimeError`` saying what is missing, so a benchmark and a test both report them plainly.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import config
from browser import free_port
from tests.recommender.pg_cluster import cluster_from_env_or_start, create_database, drop_database

NGINX = Path("/usr/sbin/nginx")
SHIPPED_PORTS = {"a": 8501, "b": 8502}  # the replicas deploy/nginx.conf names, by the letter it gives them


def nginx_conf(folder: Path, listen: int, replicas: dict[str, int]) -> Path:
    """deploy/nginx.conf with ``replicas``' ports (letter -> port) and ``listen``, its logs in ``folder``."""
    conf = (config.ROOT / "deploy" / "nginx.conf").read_text()
    for name, shipped in SHIPPED_PORTS.items():
        if not (f"127.0.0.1:{shipped};" in conf and f"~:{shipped}$" in conf):
            raise RuntimeError(f"deploy/nginx.conf no longer names replica {name} as 127.0.0.1:{shipped}")
        conf = conf.replace(f"127.0.0.1:{shipped}", f"127.0.0.1:{replicas[name]}")
        conf = conf.replace(f"~:{shipped}$", f"~:{replicas[name]}$")
    if "listen 8080;" not in conf or "http {" not in conf:
        raise RuntimeError("deploy/nginx.conf no longer has `listen 8080;` inside `http {`")
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    local = "".join(f"    {kind}_temp_path {folder / kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                            "uwsgi", "scgi"))
    conf = conf.replace("http {", f"http {{\n    access_log {folder / 'access.log'};\n{local}", 1)
    path = folder / "nginx.conf"
    path.write_text(conf)
    return path


@contextlib.contextmanager
def nginx_in_front(folder: Path, replicas: dict[str, int]) -> Iterator[str]:
    """Debian's nginx, in the foreground, on a free port of 127.0.0.1 in front of ``replicas``; its URL."""
    if not NGINX.exists():
        raise RuntimeError("nginx is missing: apt-get install nginx (.ci/run installs it)")
    folder = folder / "nginx"
    folder.mkdir()
    port = free_port()
    conf = nginx_conf(folder, port, replicas)
    process = subprocess.Popen([str(NGINX), "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log"),
                                "-g", f"daemon off; pid {folder / 'nginx.pid'};"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                log = (folder / "error.log").read_text(errors="replace") if (folder / "error.log").exists() else ""
                raise RuntimeError(f"nginx did not start: {log[-2000:]}")
            time.sleep(0.1)  # polling its port, not a fixed wait
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """An empty database on a real PostgreSQL (CI's, or a throw-away one started here); its URL.

    The replicas create the tables on first use. The database (and a server started here) goes afterwards.
    """
    cluster = cluster_from_env_or_start()
    try:
        url = create_database(cluster.url)
        try:
            yield url
        finally:
            drop_database(cluster.url, url)
    finally:
        cluster.stop()


def replica_of(page: object) -> str:
    """Which replica answers this browser now (nginx names it in the X-Moodtune-Replica header)."""
    return page.evaluate(  # type: ignore[attr-defined]
        "async () => (await fetch('/_stcore/health', {cache: 'no-store'})).headers.get('x-moodtune-replica')")
