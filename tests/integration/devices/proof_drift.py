"""What receivers with drifting capture outputs presented: content minus true instant, over time.

Shared by test_drift.py and bench/drift.py. Each receiver (`--simulated-drift PPM`, with
`--drift-correction on` or `off`) plays the position-encoding track
(tests/integration/transfer/proof_audio.py) from its start; its capture timeline holds the
true CLOCK_MONOTONIC instant each block reached its simulated converter. The *skew* at an
instant is the content offset (content minus instant, read to the sample from the segment
boundaries heard in a short window there) minus the offset at the start of play: 0 on the true
timeline, growing by PPM µs every second on a converter left to drift.
"""

from __future__ import annotations

import asyncio
import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from connect.controller import Controller
from connect.wire import messages as m
from tests.audio import RATE, Capture, read_capture
from tests.integration.transfer.proof_audio import (
    CONTINUOUS_US,
    PositionCode,
    content_offset,
    write_cyclic_position_track,
)
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver

CODE = PositionCode(150)  # the code repeats every 15 s: skews are far smaller than 7.5 s
READ_SPAN_US = 300_000  # each skew reading: the boundaries heard in this much play
FIRST_READ_US = 200_000  # the reference reading starts this long after play started
PLAYING_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Member:
    """One receiver of a run: its name, simulated clock error and whether it corrects it."""

    name: str
    ppm: float
    correct: bool

    def extra(self) -> list[str]:
        """Return its receiver flags."""
        return [
            "--simulated-drift",
            f"{self.ppm:+g}",
            "--drift-correction",
            "on" if self.correct else "off",
        ]


@dataclass(frozen=True)
class Skew:
    """One receiver's skew readings over a run."""

    member: Member
    # (seconds since play started, skew in µs, which continuous presentation it is in)
    readings: tuple[tuple[float, int, int], ...]
    # Content offset change at each break in the presentation (libVLC dropping audio that came
    # too late on a loaded machine): the converter starts on time again after one, so the skew
    # is read from there against the new stretch's start.
    jumps_us: tuple[int, ...] = ()

    @property
    def worst_us(self) -> int:
        """Return the largest skew magnitude read."""
        return max(abs(skew) for _t, skew, _n in self.readings)

    def longest(self) -> list[tuple[float, int]]:
        """Return the readings of the longest continuous presentation."""
        stretches = [[(t, s) for t, s, n in self.readings if n == k] for k in self._numbers()]
        return max(stretches, key=len)

    @property
    def longest_s(self) -> float:
        """Return how long the longest continuous presentation was read for (seconds)."""
        readings = self.longest()
        return readings[-1][0] - readings[0][0]

    @property
    def slope_ppm(self) -> float:
        """Return the skew's least-squares slope over the longest presentation, µs/s (ppm)."""
        readings = self.longest()
        if len(readings) < 2:
            return 0.0
        times = [t for t, _ in readings]
        skews = [float(s) for _, s in readings]
        return statistics.linear_regression(times, skews).slope

    def _numbers(self) -> list[int]:
        return sorted({n for _t, _s, n in self.readings})


class IndexedCapture(Capture):
    """A capture whose sample instants are found by bisection (long recordings)."""

    def instant_of(self, index: int) -> int:
        """Return the presentation instant of sample *index* (µs)."""
        firsts = self._firsts()
        block = bisect.bisect_right(firsts, index) - 1
        start_us, first, frames = self.blocks[block]
        if block < 0 or index >= first + frames:
            raise IndexError(f"sample {index} is not in the capture")
        return start_us + (index - first) * 1_000_000 // RATE

    def _firsts(self) -> list[int]:
        cached = self.__dict__.get("_first_cache")
        if cached is None:
            cached = [first for _at, first, _frames in self.blocks]
            object.__setattr__(self, "_first_cache", cached)
        return cached


def read_skew(path: Path, member: Member, *, every_us: int) -> Skew:
    """Read *member*'s capture at *path*: the skew every *every_us* from the start of play,
    each reading against the start of its continuous presentation.

    Raise ValueError when a reading cannot be made (silence where the track plays).
    """
    plain = read_capture(path)
    capture = IndexedCapture(plain.recording, plain.blocks)
    stretches = continuous_stretches(capture)
    run_start = stretches[0][0]
    readings: list[tuple[float, int, int]] = []
    jumps: list[int] = []
    reference: int | None = None
    current = -1
    at = run_start + FIRST_READ_US
    while at + READ_SPAN_US <= stretches[-1][1]:
        inside = [k for k, (lo, hi) in enumerate(stretches) if lo <= at and at + READ_SPAN_US <= hi]
        if inside:
            if inside[0] != current:
                current = inside[0]
                first = _offset(capture, stretches[current][0] + FIRST_READ_US, member)
                if reference is not None:
                    jumps.append(CODE.wrap(first - reference))
                reference = first
            assert reference is not None
            skew = CODE.wrap(_offset(capture, at, member) - reference)
            readings.append(((at - run_start) / 1e6, skew, current))
        at += every_us
    if len(readings) < 2:
        raise ValueError(f"{member.name}: play too short to read a skew ({len(readings)})")
    return Skew(member, tuple(readings), tuple(jumps))


def _offset(capture: Capture, at: int, member: Member) -> int:
    offset = content_offset(capture, at, at + READ_SPAN_US, CODE)
    if offset is None:
        raise ValueError(f"{member.name}: no content offset in [{at}, {at + READ_SPAN_US})")
    return offset.offset_us


def continuous_stretches(capture: Capture) -> list[tuple[int, int]]:
    """Return the [start_us, end_us) of each continuous presentation at least a second long:
    blocks follow on within CONTINUOUS_US (a drifting converter's blocks are a few µs off the
    nominal spacing)."""
    out: list[tuple[int, int]] = []
    for at, _first, frames in capture.blocks:
        end_us = at + frames * 1_000_000 // RATE
        if out and abs(at - out[-1][1]) <= CONTINUOUS_US:
            out[-1] = (out[-1][0], end_us)
        else:
            out.append((at, end_us))
    return [(lo, hi) for lo, hi in out if hi - lo >= 1_000_000]


async def play_members(
    tmp_path: Path,
    media: MediaServer,
    members: Sequence[Member],
    seconds: float,
    *,
    track_s: float | None = None,
) -> list[RunningReceiver]:
    """Start a capture receiver per member, play the track (*seconds* + 5 s long, or
    *track_s*) on each for *seconds*, stop them."""
    track_ms = int(1000 * (seconds + 5 if track_s is None else track_s))
    write_cyclic_position_track(media.root / "drift.wav", track_ms, CODE)
    receivers = await asyncio.gather(
        *(
            start_receiver(tmp_path, member.name, output="capture", extra=member.extra())
            for member in members
        )
    )
    identity = m.ClientIdentity("drift-proof", "Drift proof")
    controller = Controller(identity, interfaces=["127.0.0.1"])
    await controller.async_start()
    try:
        item = m.QueueItem("drift", media.url("drift.wav"), title="drift", duration_ms=track_ms)
        for receiver in receivers:
            await controller.async_add_address("127.0.0.1", receiver.port)
            play = m.SetQueue((item,), play=True)
            played = await controller.async_command(receiver.device_id, play)
            if not played.ok:
                raise RuntimeError(f"{receiver.name} refused to play: {played.failure}")
        await asyncio.gather(*(_until_playing(controller, r) for r in receivers))
        await asyncio.sleep(seconds)  # the run itself: the music's own pace, not a wait
    finally:
        await controller.async_close()
        for receiver in receivers:
            if receiver.process.returncode is None:
                await receiver.stop()
    return list(receivers)


async def _until_playing(controller: Controller, receiver: RunningReceiver) -> None:
    """Return once *receiver* says it plays (bounded)."""
    conn = controller.connection(receiver.device_id)
    changed = asyncio.Event()
    unsubscribe = conn.subscribe(lambda _event: changed.set())
    try:
        async with asyncio.timeout(PLAYING_TIMEOUT_S):
            while conn.state is None or conn.state.status is not m.PlaybackStatus.PLAYING:
                changed.clear()
                await changed.wait()
    finally:
        unsubscribe()
