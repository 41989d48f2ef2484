"""A real coturn (Debian's ``turnserver``) on 127.0.0.1 for the tests, with time-limited credentials only
(``--use-auth-secret``): started on a free port with a secret made by the test, stopped afterwards."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TURNSERVER = "turnserver"
REALM = "moodtune.test"


@dataclass(frozen=True)
class TurnServer:
    """A running coturn: its address, the shared secret (the test's own) and its log file."""

    port: int
    secret: str = field(repr=False)
    log: Path

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _free_udp_and_tcp_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (coturn listens on both)."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise AssertionError("no port free for both UDP and TCP")


@contextlib.contextmanager
def turn_server(tmp_path: Path) -> Iterator[TurnServer]:
    """coturn on 127.0.0.1 accepting only credentials made from a fresh secret; relays on 127.0.0.1 too
    (``--allow-loopback-peers``: the app server's candidates are local addresses here)."""
    if shutil.which(TURNSERVER) is None:
        pytest.fail("coturn's turnserver is missing: apt-get install coturn (.ci/run installs it)")
    port = _free_udp_and_tcp_port()
    secret = secrets.token_urlsafe(24)
    log = tmp_path / "turnserver.log"
    command = [
        TURNSERVER, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
        "--use-auth-secret", f"--static-auth-secret={secret}", f"--realm={REALM}", "--fingerprint",
        "--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--min-port=40000", "--max-port=40999",
        f"--log-file={log}", "--simple-log", "--no-stdout-log", "--verbose",
        f"--pidfile={tmp_path / 'turnserver.pid'}",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = TurnServer(port, secret, log)
    try:
        deadline = time.monotonic() + 15
        while True:  # ready once it accepts TCP on its port (UDP starts with it)
            with socket.socket() as probe:
                probe.settimeout(0.5)
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"turnserver did not start:\n{server.log_text()[-2000:]}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
