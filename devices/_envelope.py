"""Gain as a function of the instant a sample is heard: volume, gates and linear fades.

Shared by Baton's own outputs (devices/_timed_sink.py): applied per frame as a function of its
presentation instant, a fade is sample-exact and needs no libVLC call, and a volume is in the
samples before any of them leaves the process.
"""

from __future__ import annotations

import array
import itertools
import math
import time
from dataclasses import dataclass

RATE = 44_100
FOREVER = 2**62


def now_us() -> int:
    """Return the device clock: time.monotonic_ns() in µs."""
    return time.monotonic_ns() // 1000


def frames_before(start_us: int, cut_us: int) -> int:
    """Return how many frames from *start_us* on are presented before *cut_us*."""
    if cut_us <= start_us:
        return 0
    return math.ceil((cut_us - start_us) * RATE / 1_000_000)


def sample_instant(start_us: int, index: int) -> int:
    """Return the presentation instant (µs) of frame *index* of a stretch from *start_us*."""
    return start_us + index * 1_000_000 // RATE


@dataclass(frozen=True)
class Envelope:
    """Gain at each instant: silent outside [open_us, close_us), linear fades at both ends."""

    volume_gain: float = 1.0
    open_us: int = 0
    fade_in_us: int = 0
    close_us: int = FOREVER
    fade_out_us: int = 0

    def is_open(self, at_us: int) -> bool:
        """Return whether a sample presented at *at_us* is output (audible unless faded to 0)."""
        return self.open_us <= at_us < self.close_us

    def gain(self, at_us: int) -> float:
        """Return the amplitude factor for a sample presented at *at_us*."""
        if not self.is_open(at_us):
            return 0.0
        gain = self.volume_gain
        if self.fade_in_us > 0 and at_us < self.open_us + self.fade_in_us:
            gain *= (at_us - self.open_us) / self.fade_in_us
        if self.fade_out_us > 0 and at_us > self.close_us - self.fade_out_us:
            gain *= (self.close_us - at_us) / self.fade_out_us
        return gain

    def breakpoints(self) -> tuple[int, ...]:
        """Return the instants between which the gain is linear."""
        return (
            self.open_us,
            self.open_us + self.fade_in_us,
            self.close_us - self.fade_out_us,
            self.close_us,
        )


Envelopes = tuple[tuple[int, Envelope], ...]
"""(since_us, envelope) in order: each applies to samples presented from its since_us on."""


def pieces(envelopes: Envelopes, start_us: int, end_us: int) -> list[tuple[int, int, Envelope]]:
    """Split [start_us, end_us) where the envelope in force or its gain's slope changes."""
    out: list[tuple[int, int, Envelope]] = []
    for i, (since, envelope) in enumerate(envelopes):
        until = envelopes[i + 1][0] if i + 1 < len(envelopes) else FOREVER
        lo, hi = max(start_us, since), min(end_us, until)
        if lo >= hi:
            continue
        cuts = sorted({lo, hi, *(b for b in envelope.breakpoints() if lo < b < hi)})
        out.extend((a, b, envelope) for a, b in itertools.pairwise(cuts))
    return out


def apply_gain(
    samples: array.array[int], envelope: Envelope, start_us: int, channels: int = 1
) -> array.array[int]:
    """Return interleaved *samples* scaled by the envelope's gain at each frame's instant."""
    frames = len(samples) // channels
    g0 = envelope.gain(start_us)
    g1 = envelope.gain(sample_instant(start_us, frames - 1)) if frames > 1 else g0
    if g0 == g1 == 1.0:
        return samples
    if g0 == g1 == 0.0:
        return array.array("h", bytes(2 * len(samples)))
    if g0 == g1:
        return array.array("h", [round(x * g0) for x in samples])
    step = (g1 - g0) / (frames - 1)
    if channels == 1:
        return array.array("h", [round(x * (g0 + step * i)) for i, x in enumerate(samples)])
    return array.array(
        "h", [round(x * (g0 + step * (i // channels))) for i, x in enumerate(samples)]
    )
