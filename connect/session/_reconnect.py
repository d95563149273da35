"""When a controller tries a lost device again: the backoff policy, sans-IO, with its own clock.

A device that was online moments ago most likely dropped off for a short while (Wi-Fi roaming,
a router restart, a cable pulled and put back): it is retried with a low ceiling for
`Backoff.recent_s` after its session ended, so it is noticed within about a second of coming
back. Past that window, or for a device never reached, the delays double up to the long
ceiling, so a device that is truly gone costs at most a couple of attempts a minute.

A sign that the network is back (the device heard on mDNS, its manual host answering, an
interface change) wakes a waiting reconnect early, but never sooner than `woken_gap_s` after
the previous attempt began: a device that keeps announcing itself while refusing sessions
cannot drive a tight loop.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """Reconnect delays: `first_s` doubling up to a ceiling, each scaled by a random ±`jitter`.

    The ceiling is `recent_ceiling_s` (or `ceiling_s` if lower) while the device's last
    session ended less than `recent_s` ago, else `ceiling_s`.
    """

    first_s: float = 0.5
    ceiling_s: float = 30.0
    jitter: float = 0.2
    recent_ceiling_s: float = 1.0
    recent_s: float = 120.0
    woken_gap_s: float = 1.0  # a woken retry starts at least this long after the previous one

    def delay(
        self, attempt: int, rng: random.Random | None = None, *, offline_s: float = math.inf
    ) -> float:
        """Return the delay before retry number *attempt* (0 = the first), *offline_s* after
        the last session ended (infinite: never connected)."""
        ceiling = self.ceiling_s
        if offline_s < self.recent_s:
            ceiling = min(ceiling, self.recent_ceiling_s)
        base = min(ceiling, math.ldexp(self.first_s, min(attempt, 32)))  # first * 2**attempt
        uniform = rng.uniform if rng is not None else random.uniform
        return base * (1 + float(uniform(-self.jitter, self.jitter)))


class ReconnectSchedule:
    """One connection's retry timing: call `attempt_started`, `connected`, then `next_delay`.

    The Backoff comes with each call, so a connection may change its policy between attempts.
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, rng: random.Random | None = None
    ) -> None:
        self._clock = clock
        self._rng = rng
        self._failures = 0  # failed attempts since the last session (or since the start)
        self._online = False
        self._offline_since: float | None = None  # None: no session yet
        self._attempt_at: float | None = None

    def attempt_started(self) -> None:
        """Note that a connection attempt begins now."""
        self._attempt_at = self._clock()

    def connected(self) -> None:
        """Note that a session is up: the next loss starts the delays over, low."""
        self._online = True
        self._failures = 0

    def next_delay(self, backoff: Backoff) -> float:
        """Return how long to wait before the next attempt, now that one failed or a session
        ended (the first call after `connected` marks the session's end)."""
        now = self._clock()
        if self._online:
            self._online = False
            self._offline_since = now
        offline_s = math.inf if self._offline_since is None else now - self._offline_since
        delay = backoff.delay(self._failures, self._rng, offline_s=offline_s)
        self._failures += 1
        return delay

    def woken_delay(self, backoff: Backoff) -> float:
        """Return how long a retry woken by a sign of the network must still wait (0: go)."""
        if self._attempt_at is None:
            return 0.0
        return max(0.0, self._attempt_at + backoff.woken_gap_s - self._clock())
