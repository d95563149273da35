"""What the capture outputs of a group's members say: skew between them, gaps, jumps, starts.

Shared by the group tests and bench/group.py. Each member is a `baton-receiver` with a capture
output (`--simulated-drift PPM` gives it its own converter clock); its capture timeline holds
the true CLOCK_MONOTONIC instant each block reached the converter, so instants of different
members compare directly. The members play the cyclic position-encoding track
(tests/integration/transfer/proof_audio.py, the code of proof_drift.py): at any instant a
member's *offset* is its content minus that instant, read to the sample from the segment
boundaries heard in a short window, and the *skew* between two members at an instant is the
difference of their offsets: what one plays ahead of the other, 0 when in sync.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.audio import AUDIBLE_SAMPLE, RATE, read_capture
from tests.integration.devices.proof_drift import (
    CODE,
    READ_SPAN_US,
    IndexedCapture,
    continuous_stretches,
)
from tests.integration.transfer.proof_audio import (
    CONTINUOUS_US,
    content_offset,
    first_audible_between,
)

SILENT_RUN_US = 1_000  # this long without an audible sample, inside a tone, is a gap
READERS = min(4, len(os.sched_getaffinity(0)))  # processes reading offsets: one a core


@dataclass(frozen=True)
class Heard:
    """One member's recording, read for group figures."""

    name: str
    capture: IndexedCapture

    @property
    def stretches(self) -> list[tuple[int, int]]:
        """The [start, end) instants of each continuous presentation of a second or more."""
        cached = self.__dict__.get("_stretches")
        if cached is None:
            cached = continuous_stretches(self.capture)
            object.__setattr__(self, "_stretches", cached)
        return cached

    def offset_at(self, at_us: int) -> int | None:
        """Return the content offset read over [at, at + 300 ms), None where none is steady."""
        found = content_offset(self.capture, at_us, at_us + READ_SPAN_US, CODE)
        return None if found is None else found.offset_us

    def offsets(self, start_us: int, end_us: int, every_us: int) -> dict[int, int]:
        """Return {instant: offset} on the grid start, start + every, ... where one is read."""
        out: dict[int, int] = {}
        for at in range(start_us, end_us - READ_SPAN_US + 1, every_us):
            offset = self.offset_at(at)
            if offset is not None:
                out[at] = offset
        return out

    def first_heard(self, after_us: int, within_us: int = 10_000_000) -> int | None:
        """Return the instant of the first audible sample at or after *after_us*."""
        return first_audible_between(self.capture, after_us, after_us + within_us)

    def playing_through(self, start_us: int, end_us: int) -> bool:
        """Say whether one continuous presentation covers [start_us, end_us)."""
        return any(lo <= start_us and end_us <= hi for lo, hi in self.stretches)

    def breaks(self, start_us: int, end_us: int) -> list[tuple[int, int]]:
        """Return each break in the presentation inside the window: (where one block ended,
        where the next began), the next more than CONTINUOUS_US away either way."""
        out: list[tuple[int, int]] = []
        for (at, _first, frames), (next_at, _n, _f) in itertools.pairwise(self.capture.blocks):
            ended = at + frames * 1_000_000 // RATE
            if start_us <= ended < end_us and abs(next_at - ended) > CONTINUOUS_US:
                out.append((ended, next_at))
        return out

    def silent_runs(self, start_us: int, end_us: int) -> list[tuple[int, int]]:
        """Return each run of SILENT_RUN_US or more without an audible sample in the window."""
        samples, instant_of = self.capture.samples, self.capture.instant_of
        out: list[tuple[int, int]] = []
        shortest = SILENT_RUN_US * RATE // 1_000_000
        for block_us, first, frames in self.capture.blocks:
            end_block = block_us + frames * 1_000_000 // RATE
            if end_block <= start_us or block_us >= end_us:
                continue
            quiet_from: int | None = None
            for i in range(first, first + frames):
                if abs(samples[i]) < AUDIBLE_SAMPLE:
                    quiet_from = i if quiet_from is None else quiet_from
                    continue
                if quiet_from is not None and i - quiet_from >= shortest:
                    out.append((instant_of(quiet_from), instant_of(i)))
                quiet_from = None
            if quiet_from is not None and first + frames - quiet_from >= shortest:
                out.append((instant_of(quiet_from), end_block))
        return [(lo, hi) for lo, hi in _merged(out) if hi > start_us and lo < end_us]


def _merged(runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join runs that follow on within a sample (a quiet stretch across two blocks)."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(runs):
        if out and lo - out[-1][1] <= 1_000_000 // RATE + 1:
            out[-1] = (out[-1][0], max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


_pool: ProcessPoolExecutor | None = None


def _readers() -> ProcessPoolExecutor:
    """Return the reading processes, started on first use (by a fork server: the test process
    has threads, which a plain fork would copy in whatever lock they held)."""
    global _pool
    if _pool is None:
        context = multiprocessing.get_context("forkserver")
        _pool = ProcessPoolExecutor(READERS, mp_context=context)
    return _pool


def _offsets_at(capture: IndexedCapture, instants: list[int]) -> dict[int, int]:
    """Return {instant: offset} for those of *instants* where one is read (a reader's share)."""
    heard = Heard("", capture)
    return {at: offset for at in instants if (offset := heard.offset_at(at)) is not None}


def offsets_of(
    heard: Sequence[Heard], start_us: int, end_us: int, every_us: int
) -> dict[str, dict[int, int]]:
    """Return each member's `Heard.offsets` on one grid, read READERS at a time: each reading
    is ~80 ms of pure Python, so one process reads them at a core's pace."""
    grid = list(range(start_us, end_us - READ_SPAN_US + 1, every_us))
    if READERS == 1:
        return {h.name: h.offsets(start_us, end_us, every_us) for h in heard}
    shares = {
        h.name: [
            _readers().submit(_offsets_at, h.capture, grid[i::READERS]) for i in range(READERS)
        ]
        for h in heard
    }
    out: dict[str, dict[int, int]] = {}
    for name, futures in shares.items():
        found = dict(itertools.chain.from_iterable(f.result().items() for f in futures))
        out[name] = dict(sorted(found.items()))
    return out


def read_heard(path: Path, name: str) -> Heard:
    """Read the capture at *path* (the recording and its timeline)."""
    plain = read_capture(path)
    return Heard(name, IndexedCapture(plain.recording, plain.blocks))


def skews(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    """Return {instant: a's offset minus b's} wherever both were read: + means a plays ahead."""
    return {at: CODE.wrap(a[at] - b[at]) for at in sorted(a.keys() & b.keys())}


def pairwise_skews(offsets: dict[str, dict[int, int]]) -> dict[tuple[str, str], dict[int, int]]:
    """Return the skews of every pair of members, keyed by their names."""
    return {
        (one, other): skews(offsets[one], offsets[other])
        for one, other in itertools.combinations(sorted(offsets), 2)
    }


def content_jump(heard: Heard, before_us: int, after_us: int) -> int | None:
    """Return the offset read at *after_us* minus the one at *before_us* (0: no jump), None
    when either cannot be read."""
    before, after = heard.offset_at(before_us), heard.offset_at(after_us)
    if before is None or after is None:
        return None
    return CODE.wrap(after - before)
