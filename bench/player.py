"""Receiver player timings on loopback: pre-roll, and play → first audio written.

"First audio written" is observed from outside libVLC: a watcher thread stats the afile output
every 0.5 ms and notes when it first holds more than a WAV header. afile creates the file when
the first decoded audio reaches the output (not during a pre-roll: measured), and each round
deletes it first. It is an upper bound: afile writes through stdio, whose 4 KiB buffer (46 ms of
mono s16) may hold the first samples back, though libVLC hands the buffered audio over in a burst
(~140 ms of it after a pre-roll) that fills the buffer at once. A real sound card adds its own
buffer latency on top, which this cannot see.

"afile lead over clock": at each growth of the file after play, the content written so far minus
the content position the Player's clock gives for that instant. afile has no output clock, so
libVLC writes what it has buffered as soon as play starts: a positive lead of about that buffer.
A real output holds the same audio in its device buffer instead. Tests that time afile
recordings against wall clocks must allow for it; position checks on content are unaffected.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from bench._runner import Measurement
from devices.audio_output import parse_audio_output
from devices.player import Player, PlayerClock, PlayerEvent, TrackEnded
from tests.audio import write_position_track
from tests.media_server import MediaServer

TRACK_MS = 3000
WAV_HEADER_BYTES = 44  # afile writes the header first; audio is what comes after it
BYTES_PER_MS = 44_100 * 2 / 1000  # mono s16 at 44.1 kHz
TRANSFER_TARGET = "part of transfer request → target audible ≤ 400 ms p95 (DESIGN.md)"


def run(quick: bool) -> Iterable[Measurement]:
    """Measure pre-roll and play latency with real libVLC into afile, on a loopback server."""
    return asyncio.run(_measure(rounds=5 if quick else 40))


class _GrowthWatcher:
    """Logs when a file grows past a size, and each growth after, from its own thread."""

    def __init__(self, path: Path, baseline: int) -> None:
        self._path = path
        self._baseline = baseline
        self.grew_at: float | None = None  # perf_counter() of the first growth
        self.growth: list[tuple[int, int]] = []  # (monotonic µs, size) at each size change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-afile-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last = self._baseline
        while not self._stop.is_set():
            size = _size(self._path)
            if size > last:
                if self.grew_at is None:
                    self.grew_at = time.perf_counter()
                self.growth.append((time.monotonic_ns() // 1000, size))
                last = size
            time.sleep(0.0005)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def _wait_end(events: asyncio.Queue[PlayerEvent]) -> None:
    async with asyncio.timeout(10):
        while not isinstance(await events.get(), TrackEnded):
            pass


def _afile_lead_ms(watcher: _GrowthWatcher, clock: PlayerClock, start_ms: int) -> float | None:
    """Return the median of (content written to afile - player clock) at each growth instant."""
    # At the instant the file grows, stdio has just flushed: the size is what was written.
    leads = [
        start_ms + (size - WAV_HEADER_BYTES) / BYTES_PER_MS - clock.position_at(at_us)
        for at_us, size in watcher.growth
    ]
    return statistics.median(leads) if leads else None


async def _measure(rounds: int) -> list[Measurement]:
    preroll, play_call, first_audio, cold_first_audio = [], [], [], []
    afile_lead: list[float] = []
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="baton-bench-player-") as tmp:
        root = Path(tmp) / "media"
        root.mkdir()
        write_position_track(root / "pos.wav", TRACK_MS)
        recording = Path(tmp) / "played.wav"
        events: asyncio.Queue[PlayerEvent] = asyncio.Queue()
        async with MediaServer(root) as server:
            player = Player(parse_audio_output(f"afile:{recording}"), listener=events.put_nowait)
            await player.async_start()
            try:
                url = server.url("pos.wav")
                await player.async_load(url, play=True)  # warm-up: plugin and page caches
                await player.async_stop()
                for _ in range(rounds):
                    # Start late in the track so each round plays a few hundred ms only.
                    position = rng.randrange(TRACK_MS - 400, TRACK_MS - 200)
                    recording.unlink(missing_ok=True)  # afile creates it anew on first audio
                    started = time.perf_counter()
                    await player.async_load(url, position, play=False)
                    preroll.append((time.perf_counter() - started) * 1000)
                    watcher = _GrowthWatcher(recording, WAV_HEADER_BYTES)
                    started = time.perf_counter()
                    await player.async_play()
                    play_call.append((time.perf_counter() - started) * 1000)
                    clock = player.clock()
                    await _wait_end(events)
                    watcher.close()
                    if watcher.grew_at is not None:
                        first_audio.append((watcher.grew_at - started) * 1000)
                    lead = _afile_lead_ms(watcher, clock, position)
                    if lead is not None:
                        afile_lead.append(lead)
                    await player.async_stop()

                    recording.unlink()
                    watcher = _GrowthWatcher(recording, WAV_HEADER_BYTES)
                    started = time.perf_counter()
                    await player.async_load(url, position, play=True)
                    await _wait_end(events)
                    watcher.close()
                    if watcher.grew_at is not None:
                        cold_first_audio.append((watcher.grew_at - started) * 1000)
                    await player.async_stop()
            finally:
                await player.async_close()
    return [
        Measurement("player.preroll", "ms", preroll, TRANSFER_TARGET),
        Measurement("player.play_after_preroll.call", "ms", play_call),
        Measurement("player.play_after_preroll.first_audio", "ms", first_audio, TRANSFER_TARGET),
        Measurement("player.load_and_play.first_audio", "ms", cold_first_audio),
        Measurement("player.afile_lead_over_clock", "ms", afile_lead),
    ]
