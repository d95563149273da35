"""Receiver memory benchmark: resident set size (RSS) of a real `baton-receiver`, idle and playing.

One receiver process is started on `lo` with libVLC writing to an afile WAV, exactly as
`bench.session` starts one (`python -m devices.cli`, so the measured pid is the receiver's own
Python process, libVLC and its threads included, with no wrapper in between). "Idle": after
its ready line and a short settle, with nothing connected, VmRSS is read from
/proc/PID/status a few times. "Playing": a controller sends SetQueue with a generated WAV tone
served over HTTP from this process (play=True); once the StateSnapshot says PLAYING, VmRSS is
read every 200 ms for as long as it keeps saying so. Each figure also reports the process's
peak (VmHWM) at the end of its phase, and the playing one checks that audio really reached the
afile output.

Accuracy: VmRSS is exact for the moment it is read but moves with Python's and libVLC's
allocations between reads, which is why several are taken and the peak is reported too. It
counts shared library pages (libVLC, Python's own) in full, as RSS does. MB here is 10^6 bytes
(the kernel's kB are KiB), the stricter reading of the DESIGN.md target; `met` is judged on the
largest reading of the phase.
"""

from __future__ import annotations

import array
import asyncio
import math
import tempfile
import time
import wave
from collections.abc import Iterable
from pathlib import Path

import aiohttp

from bench._runner import Measurement
from bench.session import (
    close_controllers,
    connect_controllers,
    receiver_argv,
    running_receiver,
)
from connect.session import ConnectionEvent, DeviceConnection, StateChanged
from connect.wire import messages as m
from tests.media_server import MediaServer

IDLE_TARGET_MB = 80.0
PLAYING_TARGET_MB = 110.0
SETTLE_S = 1.5
READ_INTERVAL_S = 0.2
PLAYING_TIMEOUT_S = 10.0
RATE = 44_100


def run(quick: bool) -> Iterable[Measurement]:
    """Yield idle and playing RSS (quick: a 3 s track, full: 20 s)."""
    idle, idle_peak, playing, playing_peak = asyncio.run(
        _measure(track_s=3 if quick else 20, idle_reads=3 if quick else 20)
    )
    yield Measurement(
        name="receiver_memory.idle",
        unit="MB",
        samples=idle,
        target=f"≤ {IDLE_TARGET_MB:g} MB RSS idle",
        extra={"peak_mb": idle_peak},
        met=max(idle) <= IDLE_TARGET_MB,
    )
    yield Measurement(
        name="receiver_memory.playing",
        unit="MB",
        samples=playing,
        target=f"≤ {PLAYING_TARGET_MB:g} MB RSS playing",
        extra={"peak_mb": playing_peak},
        met=max(playing) <= PLAYING_TARGET_MB,
    )


def _status_mb(pid: int, field: str) -> float:
    """Return a kB field of /proc/PID/status (VmRSS, VmHWM) in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def _write_tone(path: Path, seconds: int, freq_hz: float = 440.0) -> None:
    """Write a stereo 16-bit 44.1 kHz sine (what a typical CD rip decodes to)."""
    step = 2 * math.pi * freq_hz / RATE
    mono = [round(12_000 * math.sin(step * i)) for i in range(RATE)]  # one second, repeated
    stereo = array.array("h", (s for s in mono for _ in range(2)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(stereo.tobytes() * seconds)  # 440 Hz: whole cycles in a second


async def _measure(track_s: int, idle_reads: int) -> tuple[list[float], float, list[float], float]:
    with tempfile.TemporaryDirectory(prefix="baton-bench-memory-") as tmp:
        workdir = Path(tmp)
        media = workdir / "media"
        media.mkdir()
        _write_tone(media / "tone.wav", track_s)
        played = workdir / "out.wav"
        argv = receiver_argv(f"afile:{played}", workdir / "state")
        async with (
            MediaServer(media) as server,
            running_receiver(argv, workdir) as receiver,
            aiohttp.ClientSession() as http,
        ):
            pid = receiver.pid
            # Settle: start-up allocations (libVLC plugins, first mDNS announcements) finish
            # in the first second; the readings then describe a receiver at rest.
            await asyncio.sleep(SETTLE_S)
            idle = []
            for _ in range(idle_reads):
                idle.append(_status_mb(pid, "VmRSS"))
                await asyncio.sleep(READ_INTERVAL_S)
            idle_peak = _status_mb(pid, "VmHWM")

            (connection,) = await connect_controllers(receiver, http, 1)
            try:
                item = m.QueueItem(
                    "bench-tone",
                    server.url("tone.wav"),
                    title="Bench tone",
                    duration_ms=track_s * 1000,
                    content_type="audio/wav",
                )
                result = await connection.async_command(m.SetQueue((item,), play=True))
                if result.failure is not None:
                    raise RuntimeError(f"SetQueue failed: {result.failure}")
                await _wait_playing(connection)
                playing = []
                # Stop reading a second before the end, well clear of the end-of-track stop.
                deadline = time.monotonic() + track_s - 1
                while time.monotonic() < deadline and _is_playing(connection.state):
                    playing.append(_status_mb(pid, "VmRSS"))
                    await asyncio.sleep(READ_INTERVAL_S)
                playing_peak = _status_mb(pid, "VmHWM")
            finally:
                await close_controllers([connection])
            if not playing:
                raise RuntimeError("the receiver stopped playing before RSS could be read")
            if not played.exists() or played.stat().st_size <= 44:  # a WAV header and no audio
                raise RuntimeError(f"no audio reached {played}: the receiver did not play")
    return idle, idle_peak, playing, playing_peak


def _is_playing(state: m.PlaybackState | None) -> bool:
    return state is not None and state.status is m.PlaybackStatus.PLAYING


async def _wait_playing(connection: DeviceConnection) -> None:
    """Return once the connection's latest StateSnapshot says PLAYING (bounded wait)."""
    playing = asyncio.Event()

    def check(event: ConnectionEvent) -> None:
        if isinstance(event, StateChanged) and _is_playing(event.snapshot.state):
            playing.set()

    unsubscribe = connection.subscribe(check)
    try:
        if not _is_playing(connection.state):
            await asyncio.wait_for(playing.wait(), PLAYING_TIMEOUT_S)
    except TimeoutError:
        state = connection.state
        raise RuntimeError(
            f"not PLAYING within {PLAYING_TIMEOUT_S:g} s: {state and state.status.name}"
            f" ({state and state.error})"
        ) from None
    finally:
        unsubscribe()
