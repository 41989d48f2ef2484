"""The app server's process, found from outside (``serve_app`` yields only its URL)."""

from __future__ import annotations

import os
from pathlib import Path


def server_pid(url: str) -> int:
    """The ``streamlit run`` process serving ``url`` (found by its --server.port argument)."""
    port = url.rsplit(":", 1)[1].strip("/")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(argv) and port.encode() in argv:
            return int(entry)
    raise AssertionError(f"no streamlit process serves {url}")
