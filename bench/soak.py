"""Soak benchmark (issue 19): a receiver playing for an hour while controllers come and go.

`./dev bench soak --minutes N` (default 10; `--quick`: 0.2, the suite's smoke). Two real
receivers on `lo` in pin mode (TLS, tokens), both playing into capture outputs: A, the one
under test, runs in bench/_soak_host.py (the same receiver, reporting its own resources on a
Unix socket), B is a plain `baton-receiver`. A plays a 441 Hz tone on repeat. Then:

1. **Hammer** (`soak.hammer`): 20 paired controllers (quick: 5) send SetVolume at 2/s each
   to A for 30 s (quick: 2 s). **Flood** (`soak.flood`): an unauthenticated peer floods A from 16
   workers for as long (bench/_soak_pressure.py) while one paired controller keeps commanding
   it. Whether A kept playing is read from its capture: the longest silence in each window
   (judged ≤ 50 ms; the analysis resolves 10 ms).
2. **Cycles** for the rest of the run (bench/_soak_cycle.py): a new controller connects,
   commands the receiver that plays (A), transfers it to B and back, disconnects; again and
   again. After every transfer exactly one receiver must be PLAYING (the target, if it
   completed); a refused transfer leaves the music where it was and the cycle goes on from there.
3. **Every sample period** (60 s; a sixth of the run when shorter), between two cycles (no
   controller connected; SAMPLE_SETTLE_S after the last one left): A's RSS, open file
   descriptors, threads and asyncio tasks, and how often its saved session (`session.bin`,
   polled every 100 ms: each save is an atomic rename, a new inode) was written, and how many
   bytes. A table per sample is printed.

Growth verdict (`levels_off`): the samples are cut into thirds; a series fails when its last
third's median is more than an allowance above the middle third's *and* that rise is at least
half the one before it (growth that keeps going, not a warm-up that flattens).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench._heard import longest_silence_ms
from bench._runner import Measurement
from bench._soak_cycle import CycleTally, Peer, controller_for, one_cycle, pair_all
from bench._soak_pressure import Pressure, flood, hammer
from bench.session import receiver_argv, start_receivers
from connect.wire import messages as m
from tests.audio import read_capture, write_wav
from tests.media_server import MediaServer

HAMMER_CONTROLLERS = 20
QUICK_HAMMER_CONTROLLERS = 5
HAMMER_RATE_HZ = 2.0
FLOOD_WORKERS = 16
SILENCE_TARGET_MS = 50.0
SAMPLE_SETTLE_S = 0.5  # server-side teardown of the cycle's sessions, before a sample
CYCLE_IDENTITIES = 4
TONE_HZ = 441  # 100 samples a period at 44.1 kHz: the WAV is one period repeated
TRACK_S = 120
# Allowed rise from the middle third to the last one, per series (see levels_off).
ALLOWANCE = {"rss_mb": 2.0, "fds": 2.0, "threads": 1.0, "tasks": 3.0}


@dataclass
class Sample:
    """A's resources at one sample, and the session writes since the previous one."""

    minute: float
    rss_mb: float
    fds: float
    threads: float
    tasks: float
    writes: int = 0
    written_kb: float = 0.0
    cycles: int = 0


@dataclass
class SoakResult:
    """Everything the soak measured."""

    samples: list[Sample] = field(default_factory=list)
    tally: CycleTally = field(default_factory=CycleTally)
    hammer: Pressure = field(default_factory=Pressure)
    flood: Pressure = field(default_factory=Pressure)
    hammer_silence_ms: float = 0.0
    flood_silence_ms: float = 0.0
    minutes: float = 0.0


def run(quick: bool, minutes: float | None = None) -> Iterable[Measurement]:
    """Soak for *minutes* (quick: 0.2, else 10) and yield the figures and verdicts."""
    minutes = minutes if minutes is not None else (0.2 if quick else 10.0)
    pressure_s = 2.0 if quick else 30.0
    hammering = QUICK_HAMMER_CONTROLLERS if quick else HAMMER_CONTROLLERS
    result = asyncio.run(_soak(minutes, pressure_s, hammering))
    _print_errors(result)
    yield from _figures(result)


def levels_off(values: Sequence[float], allowance: float) -> bool:
    """Return False when *values* keep growing (see the module docstring), True otherwise."""
    if len(values) < 3:
        return True
    third = len(values) // 3
    first, middle, last = values[:third], values[third : len(values) - third], values[-third:]
    a, b, c = (statistics.median(part) for part in (first, middle, last))
    rise = c - b
    return rise <= allowance or rise < 0.5 * (b - a)


async def _soak(minutes: float, pressure_s: float, hammering: int) -> SoakResult:
    result = SoakResult(minutes=minutes)
    with tempfile.TemporaryDirectory(prefix="baton-bench-soak-") as tmp:
        work = Path(tmp)
        media = work / "media"
        media.mkdir()
        _write_cyclic_tone(media / "tone.wav", TRACK_S)
        recordings = {name: work / f"{name}.wav" for name in ("a", "b")}
        state_dirs = [work / "a-state", work / "b-state"]
        stats = work / "a-stats.sock"
        argvs = []
        for name, state_dir in zip(("a", "b"), state_dirs, strict=True):
            (work / name).mkdir()
            argv = receiver_argv(f"capture:{recordings[name]}", state_dir, f"Soak {name.upper()}")
            argv[argv.index("open")] = "pin"
            argvs.append(argv)
        host = argvs[0]
        argvs[0] = [*host[:2], "bench._soak_host", "--stats", str(stats), *host[3:]]
        async with contextlib.AsyncExitStack() as stack:
            server = await stack.enter_async_context(MediaServer(media))
            started = await start_receivers(
                stack, [(argv, work / name) for argv, name in zip(argvs, ("a", "b"), strict=True)]
            )
            peers = [Peer(r.device_id, "127.0.0.1", r.port) for r in started]
            await _setup(work, peers, state_dirs, server.url("tone.wav"))
            await _pressure(work, peers[0], state_dirs[0], pressure_s, hammering, result)
            await _cycles(work, peers, stats, state_dirs[0], minutes, result)
        capture = read_capture(recordings["a"])
        result.hammer_silence_ms = longest_silence_ms(
            capture, result.hammer.start_us, result.hammer.end_us
        )
        result.flood_silence_ms = longest_silence_ms(
            capture, result.flood.start_us, result.flood.end_us
        )
    return result


def _write_cyclic_tone(path: Path, seconds: int) -> None:
    period = array.array("h", (round(16383 * math.sin(2 * math.pi * i / 100)) for i in range(100)))
    write_wav(path, period * (TONE_HZ * seconds))


async def _setup(work: Path, peers: list[Peer], state_dirs: list[Path], url: str) -> None:
    """Pair the cycle identities with both receivers; start the tone on A, on repeat."""
    for index in range(CYCLE_IDENTITIES):
        controller = controller_for(index, work / "credentials")
        await controller.async_start()
        try:
            await pair_all(controller, peers, state_dirs)
            if index == 0:
                item = m.QueueItem("tone", url, title="441 Hz", duration_ms=TRACK_S * 1000)
                for action in (
                    m.SetQueue((item,), play=True),
                    m.SetOptions(repeat=m.RepeatMode.ONE),
                ):
                    answer = await controller.async_command(peers[0].device_id, action)
                    if answer.failure is not None:
                        raise RuntimeError(f"cannot start the tone: {answer.failure}")
        finally:
            await controller.async_close()


async def _pressure(
    work: Path, a: Peer, state_dir: Path, seconds: float, count: int, result: SoakResult
) -> None:
    """Hammer A with *count* controllers, then flood it unauthenticated; note the windows."""
    controllers = [controller_for(100 + i, work / "credentials") for i in range(count)]
    try:
        for controller in controllers:
            await controller.async_start()
            await pair_all(controller, [a], [state_dir])
            await controller.async_connect(a.device_id, timeout=15.0)
        result.hammer = await hammer(controllers, a.device_id, HAMMER_RATE_HZ, seconds)
        result.flood = await flood(
            controllers[0], a.device_id, a.host, a.port, FLOOD_WORKERS, seconds
        )
    finally:
        await asyncio.gather(*(c.async_close() for c in controllers), return_exceptions=True)


async def _cycles(
    work: Path, peers: list[Peer], stats: Path, state_dir: Path, minutes: float,
    result: SoakResult,
) -> None:  # fmt: skip
    """Cycle until *minutes* have passed, sampling A every period between two cycles."""
    period_s = min(60.0, minutes * 60 / 6)
    rng = random.Random(7)
    writes = _WriteCounter(state_dir / "session.bin")
    counting = asyncio.create_task(writes.run())
    start = time.monotonic()
    next_sample = start  # a first sample at once: the baseline
    _print_head()
    try:
        while True:
            now = time.monotonic()
            if now >= next_sample:
                await asyncio.sleep(SAMPLE_SETTLE_S)  # let the last cycle's sessions end
                result.samples.append(await _sample(stats, (now - start) / 60, writes, result))
                _print_row(result.samples[-1])  # as it comes: a long run shows its progress
                next_sample += period_s
                if now - start >= minutes * 60:
                    break
            index = result.tally.cycles % CYCLE_IDENTITIES
            try:
                await one_cycle(index, work / "credentials", peers[0], peers[1], result.tally, rng)
            except Exception as exc:  # counted and shown; the soak goes on
                result.tally.errors.append(
                    f"cycle {result.tally.cycles}: {type(exc).__name__}: {exc}"
                )
    finally:
        counting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await counting


async def _sample(stats: Path, minute: float, writes: _WriteCounter, result: SoakResult) -> Sample:
    """Ask the host for its resources (one line on its Unix socket)."""
    reader, writer = await asyncio.open_unix_connection(str(stats))
    try:
        async with asyncio.timeout(10.0):
            line = json.loads(await reader.readline())
    finally:
        writer.close()
    count, size = writes.take()
    return Sample(
        minute, line["rss_kb"] * 1024 / 1e6, line["fds"], line["threads"], line["tasks"],
        count, size / 1000, result.tally.cycles,
    )  # fmt: skip


class _WriteCounter:
    """Counts saves of a file written by atomic rename (each save is a new inode)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._last: tuple[int, int] | None = None
        self._count = 0
        self._bytes = 0

    async def run(self) -> None:
        while True:
            with contextlib.suppress(FileNotFoundError):
                st = self._path.stat()
                key = (st.st_ino, st.st_mtime_ns)
                if key != self._last:
                    if self._last is not None:
                        self._count += 1
                        self._bytes += st.st_size
                    self._last = key
            await asyncio.sleep(0.1)  # saves are at least a second apart: none is missed

    def take(self) -> tuple[int, int]:
        count, size = self._count, self._bytes
        self._count = self._bytes = 0
        return count, size


def _print_head() -> None:
    print("soak: receiver A, sampled between cycles", flush=True)
    heads = ("minute", "RSS MB", "fds", "threads", "tasks", "saves", "kB saved", "cycles")
    print(" ".join(f"{h:>8}" for h in heads), flush=True)


def _print_row(s: Sample) -> None:
    print(
        f"{s.minute:>8.1f} {s.rss_mb:>8.1f} {s.fds:>8.0f} {s.threads:>8.0f} {s.tasks:>8.0f}"
        f" {s.writes:>8} {s.written_kb:>8.1f} {s.cycles:>8}",
        flush=True,
    )


def _print_errors(result: SoakResult) -> None:
    for error in result.tally.errors[:5]:
        print(f"!! soak: {error}", file=sys.stderr)
    for violation in result.tally.violations[:5]:
        print(f"!! soak: one player broken: {violation}", file=sys.stderr)


def _figures(result: SoakResult) -> Iterable[Measurement]:
    tally = result.tally
    samples = result.samples
    yield Measurement(
        "soak.transfer",
        "ms",
        tally.transfer_ms or [0.0],
        "every transfer leaves exactly one receiver playing; nothing lost",
        {
            "minutes": result.minutes,
            "cycles": tally.cycles,
            "transfers": tally.transfers,
            "transfers_failed": tally.transfers_failed,
            "commands": tally.commands,
            "violations": len(tally.violations),
            "errors": len(tally.errors),
        },
        met=not tally.violations and tally.cycles > 0,
    )
    for key, unit in (("rss_mb", "MB"), ("fds", "fds"), ("threads", "n"), ("tasks", "n")):
        series = [float(getattr(s, key)) for s in samples]
        steady = series[1:] or series  # the first sample is before any cycle: the baseline
        yield Measurement(
            f"soak.{key}",
            unit,
            series,
            f"levels off (last third ≤ middle third + {ALLOWANCE[key]:g}, or slowing)",
            {"first": series[0], "last": series[-1], "max": max(series)},
            met=levels_off(steady, ALLOWANCE[key]),
        )
    per_min = [s.writes for s in samples[1:]]
    yield Measurement(
        "soak.session_saves",
        "per_period",
        [float(x) for x in per_min] or [0.0],
        "reported: session.bin saves per sample period (60 s in a full run)",
        {"kb_per_period": statistics.mean(s.written_kb for s in samples[1:]) if per_min else 0.0},
    )
    for name, pressure, silence in (
        ("hammer", result.hammer, result.hammer_silence_ms),
        ("flood", result.flood, result.flood_silence_ms),
    ):
        for failure in pressure.failures[:3]:
            print(f"!! soak.{name}: {failure}", file=sys.stderr)
        yield Measurement(
            f"soak.{name}.command",
            "ms",
            pressure.command_ms or [0.0],
            f"A keeps playing: longest silence ≤ {SILENCE_TARGET_MS:g} ms; every command ok",
            {
                "longest_silence_ms": silence,
                "commands": pressure.commands,
                "failures": len(pressure.failures),
                **{f"hostile_{k}": float(v) for k, v in sorted(pressure.hostile.items())},
            },
            met=silence <= SILENCE_TARGET_MS and not pressure.failures and pressure.commands > 0,
        )
