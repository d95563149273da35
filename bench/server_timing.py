"""How late a sound server's timing reports are: what the output's frame grid is fed.

Starts a private PulseAudio or PipeWire (with pipewire-pulse) with a null sink
(tests/pulse_server.py), plays silence into it through the product's own stream
(devices/_pulse_stream.py) for some seconds, and keeps every timing report the stream used:
the server's stamp, its read index and sink latency. A null sink renders on a timer, so the
instants those reports place the next frame at lie on one straight line, each report above it
by how late it was; the figures are each report's height above the lower edge (its 2nd
percentile), and how far the grid's statistic over its window (devices/_frame_grid.py: the
median until 2026-12-07, the second earliest since) wandered over the run.

It then replays the reports through the grid, by its lower edge's 300 µs rule and on the
edge's line (`FrameGrid(line=True)`, PulseAudio's), as if media played from the 20th report,
and prints how far each placed frames from the sink's own line (fitted through the reports'
lower edge), and how many frames each moved by.

    python -m bench.server_timing pipewire 20     # in a network namespace, as the tests run

Measured 2026-12-07, both cores busy with two busy loops: PipeWire's reports p50 0.11 ms,
p90 2.8 ms, max 16 ms late; the median of 15 wandered 1.7 ms, the second earliest 0.19 ms.
PulseAudio's: max 0.5 ms, both 0.14 ms. The grid, 30 s, load 1-5: devices/_drift.py.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devices._frame_grid import EDGE_RANK, WINDOW, FrameGrid
from devices._pulse_stream import PulseStream, StreamFormat
from tests.pulse_server import AudioServer

FORMAT = StreamFormat(44_100, 2)
SETTLE = 5  # reports left out: the stream's first ones, before it runs steadily


class _Silence:
    """A renderer that plays silence and says media is playing (the stream stays uncorked)."""

    late_frames = 0

    def render(
        self, start_frame: int, start_us: int, frames: int, nudge: int = 0
    ) -> tuple[bytes, bool, bool]:
        """Return *frames* frames of silence."""
        return bytes(frames * FORMAT.frame_bytes), True, True


class _Recording(PulseStream):
    """The product's stream, keeping each timing report it uses: (frame, placed instant)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.placed: list[tuple[int, int]] = []

    def _measured_instant(self) -> int | None:
        measured = super()._measured_instant()
        if measured is not None:
            self.placed.append((self._frames, measured))
        return measured


async def record(kind: str, seconds: float) -> list[tuple[int, int]]:
    """Play silence through *kind*'s null sink for *seconds*; return the reports' placements."""
    with tempfile.TemporaryDirectory() as folder:
        async with AudioServer(Path(folder), ["room"], kind) as server:
            os.environ.update(server.env)  # libpulse finds the private server by these
            stream = _Recording(FORMAT, sink="room")
            await asyncio.to_thread(stream.open, _Silence())
            try:
                await asyncio.to_thread(stream.wake)
                await asyncio.sleep(seconds)  # the stream plays on its own; nothing to wait for
            finally:
                stream.close()
    return stream.placed


def lateness_us(placed: list[tuple[int, int]]) -> list[float]:
    """Return each report's height above the lower edge of the line the sink renders on."""
    heights = [us - frame * 1e6 / FORMAT.rate for frame, us in placed[SETTLE:]]
    edge = sorted(heights)[len(heights) // 50]
    return [h - edge for h in heights]


def grid_off_us(placed: list[tuple[int, int]], *, line: bool) -> tuple[list[float], int]:
    """Replay the reports through a grid (`line`: on the edge's line) as if media played from
    the 20th on; return how far it placed each frame from the sink's own line (fitted through
    the reports' lower edge) after 5 s more, and how many frames it moved by."""
    points = placed[SETTLE:]
    xs = [frame * 1e6 / FORMAT.rate for frame, _us in points]
    ys = [us - x for (_frame, us), x in zip(points, xs, strict=True)]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mean_x) ** 2 for x in xs
    )
    residuals = sorted(y - mean_y - slope * (x - mean_x) for x, y in zip(xs, ys, strict=True))
    base = mean_y + residuals[len(residuals) // 50]  # the lower edge, as lateness_us takes it
    grid = FrameGrid(FORMAT.rate, line=line)
    settled = points[0][1] + 5_000_000
    off = []
    for i, (frame, us) in enumerate(points):
        x = frame * 1e6 / FORMAT.rate
        placed_us = grid.instant(frame, us, quiet=i < 20).instant_us
        if us > settled:
            off.append(abs(placed_us - (x + base + slope * (x - mean_x))))
    return off, grid.nudges


def wander_ms(late: list[float], pick: Callable[[list[float]], float]) -> float:
    """Return how far *pick* (a statistic of WINDOW reports) moved over the run, in ms."""
    picked = [pick(late[i : i + WINDOW]) for i in range(len(late) - WINDOW)]
    return (max(picked) - min(picked)) / 1000


def main() -> None:
    """Print the figures for the server named on the command line."""
    kind = sys.argv[1] if len(sys.argv) > 1 else "pipewire"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    load = os.getloadavg()[0]
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    placed = asyncio.run(record(kind, seconds))
    late = lateness_us(placed)
    ranked = sorted(late)

    def pct(p: float) -> float:
        return ranked[min(len(ranked) - 1, int(p / 100 * len(ranked)))] / 1000

    print(f"{kind}, {started} UTC, load {load:.2f}, {len(late)} reports in {seconds:g} s")
    print(
        f"late above the lower edge, ms: p50 {pct(50):.2f} p90 {pct(90):.2f} "
        f"p99 {pct(99):.2f} max {pct(100):.2f}"
    )
    print(f"median of {WINDOW} wandered {wander_ms(late, statistics.median):.2f} ms")
    edge = wander_ms(late, lambda window: sorted(window)[EDGE_RANK])
    print(f"lower edge of {WINDOW} wandered {edge:.2f} ms")
    for line in (False, True):
        off, nudges = grid_off_us(placed, line=line)
        off.sort()
        print(
            f"grid{' on its line' if line else ''}: off the sink's line, µs: p50 "
            f"{off[len(off) // 2]:.0f} p99 {off[len(off) * 99 // 100]:.0f} max {off[-1]:.0f}; "
            f"{nudges} frames moved"
        )


if __name__ == "__main__":
    main()
