"""A model's history across runs: the runs whose weights it grew from, in order, as one learning curve.

``models/history.csv`` logs every epoch of every run, including runs that were abandoned. A run started
from earlier weights (``--init-weights``, or ``--resume`` without a checkpoint) records its ancestry in
``TrainConfig.lineage``; this module turns that into the epochs that made the served model.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

# Without a recorded lineage: a run whose first epoch already scores this on (augmented) training data
# started from earlier weights, so it continues the run before it.
WARM_START_ACCURACY = 0.5


def read_history(path: Path) -> list[dict[str, Any]]:
    """The rows of history.csv with numbers parsed; [] when the file is missing or unreadable."""
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            raw = list(csv.DictReader(handle))
        return [{"run_id": row["run_id"], "epoch": int(row["epoch"]), "train_acc": float(row["train_acc"]),
                 "public_acc": float(row["public_acc"])} for row in raw]
    except (OSError, KeyError, TypeError, ValueError):
        return []


def model_lineage(history: list[dict[str, Any]], run_id: str | None,
                  lineage: list[str] | None = None) -> list[dict[str, Any]]:
    """The epochs that made the model of ``run_id`` (default: the last run), numbered as one history.

    With a recorded ``lineage`` (ancestor run ids, oldest first, ending with the model's own run) exactly
    those runs are used. Without one, a run that started from earlier weights (first epoch at or above
    ``WARM_START_ACCURACY`` on training data) continues the run logged before it. Each row gains ``step``
    (1, 2, … over the whole lineage).
    """
    runs = list(dict.fromkeys(row["run_id"] for row in history))
    if not runs:
        return []
    if lineage:
        chosen = [run for run in lineage if run in runs]
    else:
        last = runs.index(run_id) if run_id in runs else len(runs) - 1
        first = last
        while first > 0:
            opening = min((r for r in history if r["run_id"] == runs[first]), key=lambda r: r["epoch"])
            if opening["train_acc"] < WARM_START_ACCURACY:
                break
            first -= 1
        chosen = runs[first:last + 1]
    rows = [r for run in chosen for r in sorted((r for r in history if r["run_id"] == run),
                                                key=lambda r: r["epoch"])]
    return [{**row, "step": step} for step, row in enumerate(rows, start=1)]
