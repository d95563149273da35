"""Drift correction: receivers whose sound cards' clocks are off keep to the true timeline.

Skew: three `baton-receiver` processes on `lo` play the position-encoding track into capture
outputs whose simulated converters run -100, 0 and +100 ppm off the true clock
(`--simulated-drift`), correcting their drift, and a fourth at +100 ppm with the correction
off, for 5 minutes (`--minutes`; quick: 5 s, two receivers). Each capture timeline stamps every
block with the TRUE CLOCK_MONOTONIC instant it reached the converter; every second the
content offset (content minus instant) is read to the sample from the segment boundaries in
300 ms of play, and the skew is that offset minus the one at the start of play
(tests/integration/devices/proof_drift.py). Figures: each receiver's |skew| (p50/p99), and
between any two corrected receivers |skew A - skew B| at the same second of play: what two
members of a group would differ by, each started on time (the issue's target, 1 ms p99 over
5 minutes, 0.2 ms median). The uncorrected receiver's skew shows what was corrected.

CPU: the correction's own cost, in this process: 60 s of 44.1 kHz audio (mono, as capture
writes, and stereo, as a sound card plays) in libVLC's block sizes (1 024 frames: AAC; 2 205:
WAV), through devices/_converter.py's stage and a converter 100 ppm fast with nothing
written, with the correction on, minus the same with it off; as a percentage of one core
(target ≤ 5 %). The machine's load is printed with the figures.
"""

from __future__ import annotations

import array
import asyncio
import itertools
import math
import os
import statistics
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from bench._runner import Measurement
from devices._converter import DriftStage, SimulatedConverter
from tests.integration.devices.proof_drift import Member, Skew, play_members, read_skew
from tests.media_server import MediaServer

MINUTES = 5.0
QUICK_S = 5.0
READ_EVERY_US = 1_000_000
PAIR_P99_TARGET_US = 1_000.0
PAIR_MEDIAN_TARGET_US = 200.0
CPU_TARGET_PERCENT = 5.0
CPU_AUDIO_S = 60
RATE = 44_100
MEMBERS = (
    Member("Slow", -100, correct=True),
    Member("Exact", 0, correct=True),
    Member("Fast", +100, correct=True),
    Member("Fast Loose", +100, correct=False),
)
QUICK_MEMBERS = (MEMBERS[2], MEMBERS[3])


def run(quick: bool, minutes: float | None = None) -> Iterable[Measurement]:
    """Yield each receiver's skew, the skew between corrected ones, and the correction's CPU."""
    seconds = QUICK_S if quick else 60 * (MINUTES if minutes is None else minutes)
    members = QUICK_MEMBERS if quick else MEMBERS
    print(f"drift: {len(members)} receivers for {seconds:g} s; load {_load()}")
    skews = asyncio.run(_skews(members, seconds))
    print(f"drift: load after the run {_load()}")
    yield from _skew_figures(skews, judge=not quick)
    yield from _cpu_figures(audio_s=2 if quick else CPU_AUDIO_S, rounds=1 if quick else 3)


async def _skews(members: tuple[Member, ...], seconds: float) -> list[Skew]:
    with tempfile.TemporaryDirectory(prefix="baton-drift-") as tmp:
        root = Path(tmp)
        (root / "media").mkdir()
        async with MediaServer(root / "media") as media:
            receivers = await play_members(root, media, members, seconds)
        return [
            read_skew(r.recording, member, every_us=READ_EVERY_US)
            for member, r in zip(members, receivers, strict=True)
        ]


def _skew_figures(skews: list[Skew], *, judge: bool) -> Iterable[Measurement]:
    for skew in skews:
        member = skew.member
        starts = sorted(
            {min(t for t, _s, n in skew.readings if n == k) for *_r, k in skew.readings}
        )
        if len(starts) > 1:
            print(
                f"drift: {member.name}: presentation broken, read again from {starts[1:]} s; "
                f"content jumps {list(skew.jumps_us)} µs"
            )
        name = f"drift.skew.{member.ppm:+g}ppm.{'corrected' if member.correct else 'uncorrected'}"
        yield Measurement(
            name,
            "us",
            [abs(s) for _t, s, _n in skew.readings],
            extra={
                "slope_ppm": skew.slope_ppm,
                "last_us": skew.readings[-1][1],
                "breaks": len(skew.jumps_us),
                "largest_jump_us": max((abs(j) for j in skew.jumps_us), default=0),
            },
        )
    corrected = [s for s in skews if s.member.correct]
    pairs: list[float] = []
    for a, b in itertools.combinations(corrected, 2):
        # Readings fall on one grid (every second from each one's start of play).
        at_b = {round(t, 1): skew for t, skew, _n in b.readings}
        pairs.extend(
            abs(skew - at_b[round(t, 1)]) for t, skew, _n in a.readings if round(t, 1) in at_b
        )
    if pairs:
        p99 = Measurement("x", "us", pairs).percentile(99)
        yield Measurement(
            "drift.skew.between_members",
            "us",
            pairs,
            target=f"≤ {PAIR_P99_TARGET_US:g} µs p99, ≤ {PAIR_MEDIAN_TARGET_US:g} µs median",
            met=(p99 <= PAIR_P99_TARGET_US and statistics.median(pairs) <= PAIR_MEDIAN_TARGET_US)
            if judge
            else None,
        )


def _cpu_figures(*, audio_s: int, rounds: int) -> Iterable[Measurement]:
    judge = rounds > 1  # a quick run's single round judges nothing
    for channels, block in ((1, 2205), (1, 1024), (2, 2205), (2, 1024)):
        samples = []
        for _round in range(rounds):
            on = _stage_cpu(channels, block, audio_s, correct=True)
            off = _stage_cpu(channels, block, audio_s, correct=False)
            samples.append(100 * max(0.0, on - off) / audio_s)
        worst = max(samples)
        yield Measurement(
            f"drift.cpu.{'stereo' if channels == 2 else 'mono'}.{block}",
            "%",
            samples,
            target=f"≤ {CPU_TARGET_PERCENT:g} % of a core at 44.1 kHz",
            met=worst <= CPU_TARGET_PERCENT if judge else None,
        )


class _Nowhere:
    """Converter files that keep nothing."""

    def write(self, start_us: int, samples: array.array[int]) -> None:
        """Drop *samples*."""

    def close(self) -> None:
        """Nothing to close."""


def _stage_cpu(channels: int, block: int, audio_s: int, *, correct: bool) -> float:
    """Return the CPU seconds *audio_s* of a tone take through a drift stage, 100 ppm fast."""
    tone = array.array(
        "h",
        (
            round(8_000 * math.sin(2 * math.pi * 441 * (i // channels) / RATE))
            for i in range(block * channels)
        ),
    )
    stage = DriftStage(SimulatedConverter(_Nowhere(), 100.0), channels, correct=correct)
    start, frames = 10**9, 0
    began = time.process_time()
    while frames < audio_s * RATE:
        stage.write(start + frames * 1_000_000 // RATE, tone)
        frames += block
    return time.process_time() - began


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
