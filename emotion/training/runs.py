"""A training run's identity: its id (the start time) and the seed drawn from it.

Kept apart from ``train.py`` (which imports TensorFlow) so that tools and tests can name and seed runs
without loading it.
"""

from __future__ import annotations

import hashlib
import time


def new_run_id() -> str:
    """The id of a run that starts now: its local start time, e.g. ``20261125-210428``."""
    return time.strftime("%Y%m%d-%H%M%S")


def run_seed(run_id: str, seed: int | None) -> int:
    """The seed of a new run: ``seed`` if given, else one drawn from the run id.

    With one fixed seed, every warm-started run replayed the same shuffles and augmented faces, epoch by
    epoch, as the runs before it: the network saw the same samples again instead of new ones.
    """
    if seed is not None:
        return seed
    return int(hashlib.sha256(run_id.encode()).hexdigest()[:8], 16) % (2**31 - 1)
