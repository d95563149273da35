"""Key repeat throttling with acceleration, and long-press detection; no Qt, clock injected."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]  # monotonic seconds; tests pass a fake they advance by hand


@dataclass(frozen=True)
class RepeatSettings:
    """How fast a held arrow moves focus (spatnav.md §8.5; StreamClient #89)."""

    min_interval: float = 0.10  # at most 10 moves per second while held
    accelerate_after: float = 0.6  # seconds held before moving faster
    fast_interval: float = 0.04  # then 25 moves per second: long rows stay usable
    long_press: float = 0.5  # OK held this long is a long press, not a click


class KeyRepeatGate:
    """Decides which presses of a held key move focus: leading edge, throttled, accelerating.

    Presses are never queued: a release stops movement at once (Norigin cancels its
    throttle on keyup; luke-chang #61 on slow TVs).
    """

    def __init__(self, settings: RepeatSettings | None = None, clock: Clock = time.monotonic):
        self._settings = settings or RepeatSettings()
        self._clock = clock
        self._held: int | None = None
        self._since = 0.0
        self._last = 0.0

    def press(self, key: int, auto_repeat: bool) -> bool:
        """Return True if this press of `key` should move focus now."""
        now = self._clock()
        if not auto_repeat or key != self._held:
            self._held, self._since, self._last = key, now, now
            return True
        s = self._settings
        interval = s.fast_interval if now - self._since >= s.accelerate_after else s.min_interval
        if now - self._last >= interval:
            self._last = now
            return True
        return False

    def release(self, key: int) -> None:
        """Forget the held key; the next press moves immediately."""
        if key == self._held:
            self._held = None


class LongPress:
    """Tells a click (released early) from a long press (fires once while held, no click)."""

    def __init__(self, threshold: float = 0.5, clock: Clock = time.monotonic) -> None:
        self._threshold = threshold
        self._clock = clock
        self._start: float | None = None
        self._fired = False

    @property
    def held(self) -> bool:
        """Return True between press and release."""
        return self._start is not None

    def press(self) -> None:
        """Start timing a press (call on the first, non-repeated key press only)."""
        self._start, self._fired = self._clock(), False

    def poll(self) -> bool:
        """Return True exactly once, when the press has lasted the threshold."""
        if self._start is None or self._fired:
            return False
        if self._clock() - self._start >= self._threshold:
            self._fired = True
            return True
        return False

    def release(self) -> bool:
        """End the press; return True if it was a click (no long press fired)."""
        if self._start is None:
            return False
        fired = self._fired or self.poll()
        self._start = None
        return not fired
