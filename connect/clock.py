"""Device clocks and the per-link clock-offset estimate (NTP-style, lowest-delay samples win).

Every instant on the wire is in a device's monotonic clock in microseconds (proto: Clocks).
`ClockOffsetEstimator` turns TimeRequest/TimeResponse exchanges into an offset between the
controller's clock and the device's, so each side can convert instants into the other's clock.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from connect.wire.messages import TimeResponse

Clock = Callable[[], int]
"""A function returning the current instant in microseconds of one monotonic clock."""


def monotonic_us() -> int:
    """Return this host's monotonic clock in microseconds: the device clock of the wire."""
    return time.monotonic_ns() // 1000


@dataclass(frozen=True, slots=True)
class ClockSample:
    """One four-timestamp exchange, reduced to its offset and round-trip delay (both in µs)."""

    offset_us: int  # device clock minus local clock
    delay_us: int  # round trip minus the device's processing time
    taken_at_us: int  # local instant of t4

    @classmethod
    def from_exchange(cls, response: TimeResponse, received_at_us: int) -> ClockSample:
        """Build a sample from a device's TimeResponse and the local instant it arrived (t4)."""
        t1, t2, t3, t4 = (
            response.client_send_us,
            response.device_receive_us,
            response.device_send_us,
            received_at_us,
        )
        return cls(
            offset_us=((t2 - t1) + (t3 - t4)) // 2,
            delay_us=max(0, (t4 - t1) - (t3 - t2)),
            taken_at_us=t4,
        )


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """The current offset estimate for a link and how good it is."""

    offset_us: int  # device clock minus local clock
    delay_us: int  # round-trip delay of the sample the offset comes from
    samples: int  # how many samples are kept

    @property
    def error_bound_us(self) -> int:
        """Return the worst-case error of the offset: half the round trip of its sample."""
        return self.delay_us // 2

    def to_device(self, local_us: int) -> int:
        """Convert a local instant into the device's clock."""
        return local_us + self.offset_us

    def to_local(self, device_us: int) -> int:
        """Convert a device instant into the local clock."""
        return device_us - self.offset_us


class ClockOffsetEstimator:
    """Keeps the last `window` samples of a link; the offset is the lowest-delay sample's.

    The lowest round trip bounds the offset error most tightly (an asymmetric queueing delay
    can shift the offset by at most half the round trip), so it wins over the newest or the
    mean. Old samples age out of the window, which lets slow drift through.
    """

    def __init__(self, window: int = 16) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        self._samples: deque[ClockSample] = deque(maxlen=window)

    def add(self, sample: ClockSample) -> None:
        """Record a sample."""
        self._samples.append(sample)

    def reset(self) -> None:
        """Forget every sample (after a reconnect the device may be another process)."""
        self._samples.clear()

    @property
    def estimate(self) -> ClockEstimate | None:
        """Return the best estimate so far, or None before the first sample."""
        if not self._samples:
            return None
        best = min(self._samples, key=lambda s: s.delay_us)
        return ClockEstimate(best.offset_us, best.delay_us, len(self._samples))
