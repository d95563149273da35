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

On the capture output (Baton as the sound card, every sample stamped with libVLC's pts on the
monotonic clock), the timing is exact rather than observed from outside:
* "capture.start_latency.preroll / .pause": from the play call (from a pre-roll, or from a pause)
  to the first sample presented.
* "capture.play_at.first_audible": first audible sample minus the requested instant (the player
  resumes ahead by its learned latency and gates earlier samples to silence).
* "capture.play_at.first_presented": the first sample libVLC presented, gated or not, minus the
  requested instant: how much margin the early resume left (negative is early).
* "capture.fade_out_at.silent_from": where the fade-out reached silence minus where it was asked to.
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
from devices.player import (
    OutputStarted,
    OutputStopped,
    Player,
    PlayerClock,
    PlayerEvent,
    TrackEnded,
)
from tests.audio import read_capture, write_position_track
from tests.media_server import MediaServer

TRACK_MS = 3000
WAV_HEADER_BYTES = 44  # afile writes the header first; audio is what comes after it
BYTES_PER_MS = 44_100 * 2 / 1000  # mono s16 at 44.1 kHz
TRANSFER_TARGET = "part of transfer request → target audible ≤ 400 ms p95 (DESIGN.md)"


def run(quick: bool) -> Iterable[Measurement]:
    """Measure pre-roll and play latency with real libVLC into afile, on a loopback server."""
    rounds = 2 if quick else 40
    return [*asyncio.run(_measure(rounds)), *asyncio.run(_measure_capture(rounds))]


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


OutputEdge = OutputStarted | OutputStopped


def _forget(events: asyncio.Queue[PlayerEvent]) -> None:
    """Drop the events so far: each measurement waits for an edge after its own call."""
    while not events.empty():
        events.get_nowait()


def _now_us() -> int:
    return time.monotonic_ns() // 1000


async def _edge_at(events: asyncio.Queue[PlayerEvent], kind: type[OutputEdge]) -> int:
    """Return the instant of the next OutputStarted or OutputStopped (as *kind* says)."""
    async with asyncio.timeout(10):
        while True:
            event = await events.get()
            if isinstance(event, kind):
                return event.at_us


async def _measure_capture(rounds: int) -> list[Measurement]:
    latency_preroll, latency_pause, first_audible, fade_end = [], [], [], []
    targets: list[int] = []
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="baton-bench-capture-") as tmp:
        root = Path(tmp) / "media"
        root.mkdir()
        write_position_track(root / "pos.wav", TRACK_MS)
        recording = Path(tmp) / "captured.wav"
        events: asyncio.Queue[PlayerEvent] = asyncio.Queue()
        async with MediaServer(root) as server:
            player = Player(parse_audio_output(f"capture:{recording}"), listener=events.put_nowait)
            await player.async_start()
            try:
                url = server.url("pos.wav")
                for _ in range(rounds):
                    position = rng.randrange(0, TRACK_MS - 1500)
                    # Plain play from a pre-roll, then from a pause.
                    await player.async_load(url, position, play=False)
                    _forget(events)
                    called = _now_us()
                    await player.async_play()
                    latency_preroll.append((await _edge_at(events, OutputStarted) - called) / 1000)
                    await asyncio.sleep(0.1)
                    await player.async_pause()
                    _forget(events)
                    called = _now_us()
                    await player.async_play()
                    latency_pause.append((await _edge_at(events, OutputStarted) - called) / 1000)
                    # A timed start with a fade-in, then a timed fade-out to a pause.
                    await player.async_load(url, position, play=False)
                    _forget(events)
                    targets.append(_now_us() + 100_000)
                    await player.async_play_at(targets[-1], fade_in_ms=20)
                    started = await _edge_at(events, OutputStarted)
                    first_audible.append((started - targets[-1]) / 1000)
                    _forget(events)
                    fade_at = _now_us() + 100_000
                    await player.async_fade_out_at(fade_at, 50, then="pause")
                    stopped = await _edge_at(events, OutputStopped)
                    fade_end.append((stopped - fade_at - 50_000) / 1000)
                    await player.async_stop()
            finally:
                await player.async_close()
        # The stretch that began nearest after each target's early resume.
        starts = [start for start, _end in read_capture(recording).stretches()]
        first_presented = [
            (min((s for s in starts if s >= t - 50_000), key=lambda s: abs(s - t)) - t) / 1000
            for t in targets
        ]
    return [
        Measurement("player.capture.start_latency.preroll", "ms", latency_preroll),
        Measurement("player.capture.start_latency.pause", "ms", latency_pause),
        Measurement("player.capture.play_at.first_audible", "ms", first_audible),
        Measurement("player.capture.play_at.first_presented", "ms", first_presented),
        Measurement("player.capture.fade_out_at.silent_from", "ms", fade_end),
    ]
