"""Music at a musical pace: the mood may change at once, the music only when the change has lasted.

A ``MusicPacer`` sits between the steady emotion (``emotion.smoothing``) and the players. The first mood
starts the music at once. Afterwards, a different mood becomes a *pending* change: the music switches
by itself only when that mood has held for ``dwell_s`` seconds without a break; a brief change (a
frown, a laugh) that ends sooner leaves the song playing. The user can switch now, or pin the current
music ("keep this music") until they unpin it. Plain Python with an injectable clock, so the timing is
tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import config


@dataclass(frozen=True)
class MusicState:
    """What plays and what waits: ``playing`` is the mood of the music on screen (None before the first).

    ``pending`` is a different mood that has held since ``pending_since`` (monotonic seconds, for
    ``pending_for_s``); the music follows it after ``switch_in_s`` more seconds unless ``pinned``.
    """

    playing: str | None
    pending: str | None
    pending_since: float | None
    switch_in_s: float | None
    pinned: bool
    changed: bool  # the music changed on this observation
    pending_for_s: float = 0.0  # how long the pending mood has held (0 without one)


class MusicPacer:
    """The state machine: ``observe(mood)`` on every refresh, ``switch_now``/``keep``/``unpin`` on clicks."""

    def __init__(self, dwell_s: float = config.MUSIC_DWELL_S, clock: Callable[[], float] | None = None) -> None:
        if not dwell_s > 0:
            raise ValueError(f"dwell_s must be > 0 seconds, got {dwell_s}")
        self.dwell_s = dwell_s
        self._clock = clock or time.monotonic  # looked up now: a test may stand in for the clock
        self._playing: str | None = None
        self._pending: str | None = None
        self._pending_since: float | None = None
        self._pinned = False

    def observe(self, mood: str | None) -> MusicState:
        """Feed the current steady mood (None: none yet); switch the music when a change has lasted."""
        now = self._clock()
        changed = False
        if mood is None or mood == self._playing:
            self._pending, self._pending_since = None, None  # a brief change is over: nothing to do
        elif self._playing is None:
            self._playing, changed = mood, True  # the first mood starts the music at once
        else:
            if mood != self._pending:
                self._pending, self._pending_since = mood, now
            if not self._pinned and self._pending_since is not None and now - self._pending_since >= self.dwell_s:
                changed = self._switch()
        return self._state(now, changed)

    def switch_now(self) -> MusicState:
        """Play the pending mood's music now (nothing happens without a pending change)."""
        changed = self._pending is not None and self._switch()
        return self._state(self._clock(), changed)

    def choose(self, mood: str) -> MusicState:
        """The user says their mood is ``mood`` ("Not right?"): play its music and pin it until ``unpin``."""
        changed = mood != self._playing
        self._playing, self._pending, self._pending_since, self._pinned = mood, None, None, True
        return self._state(self._clock(), changed)

    def keep(self) -> MusicState:
        """Pin the current music: no automatic switch until ``unpin``."""
        self._pinned = True
        return self._state(self._clock(), False)

    def unpin(self) -> MusicState:
        """Follow the mood again. A pending mood keeps the time it has already held: one that has lasted the
        dwell plays at once (``changed``), a younger one switches when it reaches the dwell."""
        self._pinned = False
        now = self._clock()
        changed = (self._pending is not None and self._pending_since is not None
                   and now - self._pending_since >= self.dwell_s and self._switch())
        return self._state(now, changed)

    def reset(self) -> None:
        """Forget the music and any pending change (the next mood starts music at once)."""
        self._playing, self._pending, self._pending_since, self._pinned = None, None, None, False

    def _switch(self) -> bool:
        self._playing, self._pending, self._pending_since = self._pending, None, None
        return True

    def _state(self, now: float, changed: bool) -> MusicState:
        switch_in = None
        if self._pending_since is not None and not self._pinned:
            switch_in = max(0.0, self.dwell_s - (now - self._pending_since))
        held = now - self._pending_since if self._pending_since is not None else 0.0
        return MusicState(self._playing, self._pending, self._pending_since, switch_in, self._pinned, changed, held)

    @property
    def state(self) -> MusicState:
        """The current state, without observing a mood."""
        return self._state(self._clock(), False)
