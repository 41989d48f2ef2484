"""``python -m emotion.training.train --smoke`` in a subprocess, for the tests that train a few batches.

TensorFlow only ever runs in subprocesses in the tests: once imported it makes a later import of aiortc's
libsrtp binding crash the process (segmentation fault), and the app tests import aiortc.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A narrow network: these tests are about checkpoints, schedules and targets, not the model (a third of the
# CPU time).
TINY_WIDTHS = ("--widths", "8,8,16,16")


def run_train(*args: str) -> subprocess.CompletedProcess:
    """The training command on the smoke subset with ``args``; its output captured."""
    return subprocess.run([sys.executable, "-m", "emotion.training.train", "--smoke", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def train_dirs(folder: Path) -> list[str]:
    """Checkpoint and model folders under ``folder``, as the command's arguments."""
    return ["--checkpoint-dir", str(folder / "ckpt"), "--models-dir", str(folder / "models")]
