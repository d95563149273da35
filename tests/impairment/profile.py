"""What an impaired link does, and when each chunk of data it carries may leave it.

A `Profile` is applied per direction of a TCP connection (each chunk read from one side is
written to the other at its release instant) and per mDNS packet. The release instant is
    arrival + delay ± jitter (+ spike_ms for a `spike_rate` share of chunks),
held back by the bandwidth cap (a chunk leaves only once the bytes before it have), pushed past
any stall window (for `stall_s` out of every `stall_every_s`, nothing moves), and never earlier
than the chunk before it in the same direction: TCP does not reorder, so jitter on a stream
shows up as added delay, as on a real link whose retransmissions hold back what follows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """One kind of bad network; every figure is one-way, per direction."""

    name: str
    delay_ms: float = 0.0
    jitter_ms: float = 0.0  # uniform in [-jitter, +jitter], never below zero in all
    spike_rate: float = 0.0  # share of chunks (and mDNS packets) held back spike_ms more
    spike_ms: float = 0.0
    stall_every_s: float = 0.0  # 0: no stalls
    stall_s: float = 0.0
    bandwidth_kbps: float = 0.0  # kilobits a second per direction; 0: unlimited
    reset_every_s: float = 0.0  # reset (RST) every open connection this often; 0: never
    mdns_drop: float = 0.0  # share of mDNS packets lost

    def describe(self) -> str:
        """Return the profile in words, for reports."""
        parts = [f"{self.delay_ms:g} ms ± {self.jitter_ms:g} ms"]
        if self.spike_rate:
            parts.append(f"{self.spike_rate:.0%} of packets +{self.spike_ms:g} ms")
        if self.stall_every_s:
            parts.append(f"a {self.stall_s:g} s stall every {self.stall_every_s:g} s")
        if self.bandwidth_kbps:
            parts.append(f"{self.bandwidth_kbps / 1000:g} Mbit/s")
        if self.reset_every_s:
            parts.append(f"every connection reset every {self.reset_every_s:g} s")
        if self.mdns_drop:
            parts.append(f"{self.mdns_drop:.0%} of mDNS packets lost")
        return ", ".join(parts)


CLEAN = Profile("clean")
# A home Wi-Fi as it behaves on a bad evening: the figures of issue 19.
WIFI = Profile(
    "wifi", delay_ms=20, jitter_ms=15, spike_rate=0.01, spike_ms=300, stall_every_s=60,
    stall_s=2, bandwidth_kbps=20_000, mdns_drop=0.02,
)  # fmt: skip
# The same Wi-Fi while the phone roams between access points: every connection is reset.
ROAMING = Profile(
    "roaming", delay_ms=20, jitter_ms=15, spike_rate=0.01, spike_ms=300, stall_every_s=60,
    stall_s=2, bandwidth_kbps=20_000, reset_every_s=30, mdns_drop=0.02,
)  # fmt: skip
PROFILES = {p.name: p for p in (CLEAN, WIFI, ROAMING)}


class Schedule:
    """Release instants (seconds on one monotonic clock) for one direction of one link."""

    def __init__(self, profile: Profile, origin: float, rng: random.Random) -> None:
        self._profile = profile
        self._origin = origin  # stall windows are counted from here, the same for every link
        self._rng = rng
        self._last = 0.0  # release instant of the previous chunk
        self._wire_free = 0.0  # when the bandwidth cap lets the next byte go

    def release_at(self, arrived: float, size: int, *, ordered: bool = True) -> float:
        """Return when a chunk of *size* bytes that arrived at *arrived* may leave.

        *ordered* (a stream): never before the previous chunk. Datagrams pass False.
        """
        p = self._profile
        delay = p.delay_ms + self._rng.uniform(-p.jitter_ms, p.jitter_ms)
        if p.spike_rate and self._rng.random() < p.spike_rate:
            delay += p.spike_ms
        at = arrived + max(delay, 0.0) / 1000
        if p.bandwidth_kbps:
            start = max(at, self._wire_free)
            self._wire_free = start + size * 8 / (p.bandwidth_kbps * 1000)
            at = self._wire_free
        at = self.after_stall(max(at, self._last) if ordered else at)
        self._last = max(self._last, at)
        return at

    def after_stall(self, at: float) -> float:
        """Return *at*, or the end of the stall window it falls in."""
        p = self._profile
        if not p.stall_every_s or not p.stall_s:
            return at
        # Stalls sit at the end of each period, so a run starts with a clean stretch.
        into = (at - self._origin) % p.stall_every_s
        stall_from = p.stall_every_s - p.stall_s
        return at + (p.stall_every_s - into) if into >= stall_from else at

    def dropped(self) -> bool:
        """Return whether the next mDNS packet is lost."""
        return bool(self._profile.mdns_drop) and self._rng.random() < self._profile.mdns_drop
