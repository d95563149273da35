"""Fixtures for the receiver's integration tests: a real libVLC player recording into a file."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from devices.audio_output import parse_audio_output
from devices.player import Player, PlayerEvent
from tests.corpus import corpus  # noqa: F401  (a fixture, used by name)
from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)
from tests.pulse_server import AudioServer, AudioServerUnavailableError

E = TypeVar("E")

EVENT_TIMEOUT_S = 10.0  # far above any sub-second track; a hang fails instead of stalling


@dataclass
class PlayerHarness:
    """A started Player, its events in arrival order, and where afile writes its output."""

    player: Player
    recording: Path
    events: asyncio.Queue[PlayerEvent] = field(default_factory=asyncio.Queue)

    async def next_event(self, kind: type[E], timeout: float = EVENT_TIMEOUT_S) -> E:
        """Return the next event of *kind*, skipping others; fail after *timeout* s."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self.events.get()
                if isinstance(event, kind):
                    return event

    async def until_position(self, position_ms: int) -> None:
        """Wait until the player's own clock says content *position_ms* is playing."""
        clock = self.player.clock()
        assert clock.playing, "waiting for a position needs a playing player"
        await asyncio.sleep(max(0, position_ms - clock.position_ms) / 1000)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[PlayerHarness]:
    """A Player with an afile output in tmp_path; closed (and its thread gone) afterwards."""
    recording = tmp_path / "played.wav"
    events: asyncio.Queue[PlayerEvent] = asyncio.Queue()
    player = Player(parse_audio_output(f"afile:{recording}"), listener=events.put_nowait)
    await player.async_start()
    try:
        yield PlayerHarness(player, recording, events)
    finally:
        await player.async_close()
    assert not [t for t in threading.enumerate() if t.name == "libvlc"], "libVLC thread leaked"


async def _started_harness(output: str, recording: Path) -> PlayerHarness:
    events: asyncio.Queue[PlayerEvent] = asyncio.Queue()
    player = Player(parse_audio_output(output), listener=events.put_nowait)
    await player.async_start()
    return PlayerHarness(player, recording, events)


@pytest.fixture
async def capture(tmp_path: Path) -> AsyncIterator[PlayerHarness]:
    """A Player with a capture output (WAV + timeline) in tmp_path; closed afterwards."""
    recording = tmp_path / "captured.wav"
    harness = await _started_harness(f"capture:{recording}", recording)
    try:
        yield harness
    finally:
        await harness.player.async_close()
    assert not [t for t in threading.enumerate() if t.name == "libvlc"], "libVLC thread leaked"


@pytest.fixture
async def capture_pair(tmp_path: Path) -> AsyncIterator[tuple[PlayerHarness, PlayerHarness]]:
    """Two Players (two libVLC instances in this process), each capturing into its own file."""
    first = await _started_harness(f"capture:{tmp_path / 'a.wav'}", tmp_path / "a.wav")
    try:
        second = await _started_harness(f"capture:{tmp_path / 'b.wav'}", tmp_path / "b.wav")
        try:
            yield first, second
        finally:
            await second.player.async_close()
    finally:
        await first.player.async_close()


@pytest.fixture
async def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AudioServer]:
    """A PulseAudio of the test's own with one null sink, "room", that players here reach
    (PipeWire's pulse layer instead with BATON_AUDIO_SERVER=pipewire)."""
    kind = os.environ.get("BATON_AUDIO_SERVER", "pulseaudio")
    audio = AudioServer(tmp_path / "pulse", ["room"], kind)
    try:
        await audio.start()
    except AudioServerUnavailableError as exc:
        pytest.skip(f"{kind} cannot run here: {exc}")
    for name in ("PULSE_SERVER", "PULSE_CLIENTCONFIG"):
        monkeypatch.setenv(name, audio.env[name])
    yield audio
    await audio.close()
