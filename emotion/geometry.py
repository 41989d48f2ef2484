"""Crop geometry: where, relative to the detector's box, the FER2013-like face square lies.

The numbers come from ``python -m emotion.training.calibrate`` (the serving detector run over FER2013 training
faces) and live in one committed file, ``models/crop_geometry.json``. ``crop_face`` serves with the
medians; training augments with the spread, so the network is robust to where the box falls.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

import config

QUANTILE_STEPS = 256


@dataclass(frozen=True)
class Spread:
    """Percentiles of one measured quantity over the calibration faces."""

    p2_5: float
    p25: float
    p50: float
    p75: float
    p97_5: float


@dataclass(frozen=True)
class SizePoint:
    """The median framing measured for boxes of about ``box_px`` detector pixels (sqrt(w*h))."""

    box_px: float
    scale: float
    offset_y: float


@dataclass(frozen=True)
class CropGeometry:
    """The face square in detector-box units.

    ``side = scale * reference``, where ``reference`` is ``sqrt(w * h)`` of the detector box; the square's
    centre is the box centre plus ``(offset_x, offset_y) * reference``. ``level`` says whether the crop is
    rotated to level the eyes (it must match training, which does not level FER2013 faces).

    YuNet's box hugs a face differently at different sizes (its anchors change stride), so ``by_size``
    holds the measured medians per box size in the detector's own pixels; ``scale`` and ``offset_y``
    are the medians over all sizes. With ``by_size`` the spreads are measured *around the size's
    median* and expressed around ``scale`` / ``offset_y``.
    """

    scale: float = 1.0
    offset_x: float = 0.0
    offset_y: float = 0.0
    level: bool = False
    # Spread over the calibration faces (None when the file was written by hand or is missing).
    scale_spread: Spread | None = None
    offset_x_spread: Spread | None = None
    offset_y_spread: Spread | None = None
    roll_deg_spread: Spread | None = None
    by_size: tuple[SizePoint, ...] = ()
    meta: dict = field(default_factory=dict)

    def framing_at(self, box_px: float) -> tuple[float, float]:
        """``(scale, offset_y)`` for a box of ``box_px`` detector pixels: linear between the measured
        sizes, the end values beyond them, and the overall medians when no sizes were measured."""
        if not self.by_size:
            return self.scale, self.offset_y
        sizes = [p.box_px for p in self.by_size]
        return (float(np.interp(box_px, sizes, [p.scale for p in self.by_size])),
                float(np.interp(box_px, sizes, [p.offset_y for p in self.by_size])))

    def to_json(self) -> str:
        """The committed file's text."""
        return json.dumps(asdict(self), indent=2) + "\n"


def _spread(raw: dict | None) -> Spread | None:
    return Spread(**raw) if raw else None


def _size_points(raw: list | None) -> tuple[SizePoint, ...]:
    points = tuple(SizePoint(float(p["box_px"]), float(p["scale"]), float(p["offset_y"])) for p in raw or [])
    if any(b.box_px <= a.box_px for a, b in zip(points, points[1:])):
        raise ValueError("by_size must be in increasing box_px order")
    if any(not 0.3 < p.scale < 3.0 for p in points):
        raise ValueError("by_size holds an implausible scale")
    return points


def read_geometry(path: Path) -> CropGeometry:
    """Read a geometry file; ``ValueError`` with the file's name when it is malformed."""
    try:
        raw = json.loads(Path(path).read_text())
        return CropGeometry(
            scale=float(raw["scale"]),
            offset_x=float(raw["offset_x"]),
            offset_y=float(raw["offset_y"]),
            level=bool(raw.get("level", False)),
            scale_spread=_spread(raw.get("scale_spread")),
            offset_x_spread=_spread(raw.get("offset_x_spread")),
            offset_y_spread=_spread(raw.get("offset_y_spread")),
            roll_deg_spread=_spread(raw.get("roll_deg_spread")),
            by_size=_size_points(raw.get("by_size")),
            meta=dict(raw.get("meta", {})),
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"crop geometry file {path} is missing or malformed: {exc}") from exc


@lru_cache(maxsize=1)
def serving_geometry() -> CropGeometry:
    """The committed geometry that ``crop_face`` uses (read once per process)."""
    return read_geometry(config.CROP_GEOMETRY_PATH)


def quantile_table(spread: Spread, centre: float, divide: float = 1.0) -> np.ndarray:
    """Inverse CDF of a measured quantity, as ``QUANTILE_STEPS`` values (linear between percentiles).

    Values are ``(q - centre) / divide`` for ratios centred at 0, or ``q / divide`` with ``centre=0``.
    Sampling a uniform index into this table draws from the measured distribution, clipped to its
    2.5..97.5 % range (the tails of a detector's errors are outliers, not framing).
    """
    probs = np.array([0.025, 0.25, 0.5, 0.75, 0.975])
    values = (np.array([spread.p2_5, spread.p25, spread.p50, spread.p75, spread.p97_5]) - centre) / divide
    u = np.linspace(0.025, 0.975, QUANTILE_STEPS)
    return np.interp(u, probs, values).astype(np.float32)


@dataclass(frozen=True)
class FramingTables:
    """Per-face framing distributions relative to the serving crop (see ``framing_tables``)."""

    zoom: np.ndarray  # face scale in the serving crop relative to the FER2013 framing
    shift_x: np.ndarray  # face centre shift, in crop widths
    shift_y: np.ndarray
    roll_deg: np.ndarray


def framing_tables(geometry: CropGeometry) -> FramingTables:
    """Turn the measured geometry spread into the distributions training samples from.

    A face whose FER2013 square is ``s`` box units wide (``o`` offset) appears in the serving crop,
    ``S`` wide at offset ``m``, at scale ``s / S`` and shifted by ``(o - m) / S`` crop widths.
    """
    if not (geometry.scale_spread and geometry.offset_x_spread and geometry.offset_y_spread
            and geometry.roll_deg_spread):
        raise ValueError("the crop geometry has no measured spread: run python -m emotion.training.calibrate")
    return FramingTables(
        zoom=quantile_table(geometry.scale_spread, 0.0, geometry.scale),
        # Horizontal: faces are mirrored at random, so the shift is symmetric around the served centre.
        shift_x=quantile_table(geometry.offset_x_spread, geometry.offset_x_spread.p50, geometry.scale),
        shift_y=quantile_table(geometry.offset_y_spread, geometry.offset_y, geometry.scale),
        roll_deg=quantile_table(geometry.roll_deg_spread, geometry.roll_deg_spread.p50),
    )
