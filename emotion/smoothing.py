"""Turning noisy per-frame probabilities into a steady "current emotion".

An exponential moving average (time-based, so it behaves the same at 5 or 30 frames per second) keeps
roughly the last second; the stable label only switches when another emotion has led the average for
a sustained time with enough confidence (hysteresis), so the music does not flicker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emotion.labels import EMOTIONS, NUM_CLASSES


@dataclass(frozen=True)
class SmoothedEmotion:
    """The smoothed distribution, the stable label (``None`` until one has held), and whether it changed."""

    probs: np.ndarray
    stable: str | None
    confidence: float
    leader: str | None
    changed: bool


class EmotionSmoother:
    """EMA over ~``window_s`` seconds plus a hysteresis switch after ``switch_after_s`` of leadership."""

    def __init__(self, window_s: float = 1.0, switch_after_s: float = 0.8, min_confidence: float = 0.4) -> None:
        if window_s <= 0 or switch_after_s < 0 or not 0 <= min_confidence <= 1:
            raise ValueError("window_s must be > 0, switch_after_s >= 0, min_confidence in [0, 1]")
        # Time constant: samples older than the window keep exp(-2) ~ 14% of their weight.
        self.tau = window_s / 2.0
        self.switch_after_s = switch_after_s
        self.min_confidence = min_confidence
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new session or a new face)."""
        self._probs: np.ndarray | None = None
        self._last_t: float | None = None
        self._stable: int | None = None
        self._candidate: int | None = None
        self._candidate_since: float | None = None

    @property
    def stable(self) -> str | None:
        return None if self._stable is None else EMOTIONS[self._stable]

    def update(self, probs: np.ndarray | None, now: float) -> SmoothedEmotion:
        """Feed one frame's probabilities (``None`` when no face was seen) observed at time ``now`` (s)."""
        changed = False
        if probs is not None:
            p = np.asarray(probs, dtype=np.float64).reshape(-1)
            if p.shape != (NUM_CLASSES,) or not np.all(np.isfinite(p)):
                raise ValueError(f"probs must be {NUM_CLASSES} finite numbers, got shape {p.shape}")
            if self._probs is None or self._last_t is None:
                self._probs = p.copy()
            else:
                dt = max(0.0, now - self._last_t)
                alpha = 1.0 - math.exp(-dt / self.tau)
                self._probs = (1.0 - alpha) * self._probs + alpha * p
            self._last_t = now
            changed = self._apply_hysteresis(now)
        else:
            # No face: keep the stable emotion (the music should not stop when the user looks away),
            # but a challenger must prove itself again once the face is back.
            self._candidate, self._candidate_since = None, None
        return self._snapshot(changed)

    def _apply_hysteresis(self, now: float) -> bool:
        assert self._probs is not None
        leader = int(np.argmax(self._probs))
        if leader == self._stable or self._probs[leader] < self.min_confidence:
            self._candidate, self._candidate_since = None, None
            return False
        if leader != self._candidate:
            self._candidate, self._candidate_since = leader, now
        assert self._candidate_since is not None
        if now - self._candidate_since >= self.switch_after_s:
            self._stable, self._candidate, self._candidate_since = leader, None, None
            return True
        return False

    def _snapshot(self, changed: bool) -> SmoothedEmotion:
        if self._probs is None:
            return SmoothedEmotion(np.full(NUM_CLASSES, 1.0 / NUM_CLASSES, np.float32), None, 0.0, None, False)
        leader = int(np.argmax(self._probs))
        confidence = float(self._probs[self._stable]) if self._stable is not None else 0.0
        return SmoothedEmotion(self._probs.astype(np.float32), self.stable, confidence, EMOTIONS[leader], changed)
