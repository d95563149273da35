"""Radio moves between two real receivers at the live edge, as their capture outputs show it.

Kitchen plays the live station; `TransferCoordinator` moves it to Study and back. Each receiver's
capture says when each sample was presented (CLOCK_MONOTONIC, shared here) and the programme is
the position code, so the recordings give, per transfer: the gap (or overlap) between the
source's last sound and the target's first, and the programme offset: what the target plays
minus what the source would have played at the same instant (proof_audio.py). Each device
plays the programme as far behind the live edge as its own connection's buffering puts it, so
the offset is that difference; the bounds here are correctness bounds, bench/transfer.py's live
row reports the figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connect.controller import Controller
from connect.wire import messages as m
from tests.integration.live.live_edge import (
    assert_at_the_live_edge,
    hear_both_ways,
    move_both_ways,
)
from tests.integration.live.test_radio import FOUND_TIMEOUT_S, wait_state
from tests.live_station import LiveStation
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow

# A pre-rolled file lands within ms; a live join is as good as the two connections' buffers
# agree: the station's burst and libVLC's network caching, the same on both, so well under a
# second here (the bench reports the real figure).
MAX_OFFSET_US = 500_000


@pytest.fixture
async def devices(tmp_path: Path) -> AsyncIterator[tuple[RunningReceiver, RunningReceiver]]:
    a, b = await asyncio.gather(
        start_receiver(tmp_path, "Kitchen", output="capture"),
        start_receiver(tmp_path, "Study", output="capture"),
    )
    yield a, b
    for receiver in (a, b):
        if receiver.process.returncode is None:
            await receiver.kill()


@pytest.fixture
async def controller() -> AsyncIterator[Controller]:
    ctl = Controller(m.ClientIdentity("test-live", "Live transfer"), interfaces=["127.0.0.1"])
    await ctl.async_start()
    yield ctl
    await ctl.async_close()


async def test_radio_moves_both_ways_at_the_live_edge(
    devices: tuple[RunningReceiver, RunningReceiver],
    controller: Controller,
    station: LiveStation,
) -> None:
    a, b = devices
    for receiver in devices:
        await controller.async_add_address("127.0.0.1", receiver.port)
    item = m.QueueItem("radio-1", station.url, title="radio")
    played = await controller.async_command(a.device_id, m.SetQueue((item,), play=True))
    assert played.ok, played.failure
    await wait_state(
        controller.connection(a.device_id),
        lambda s: s.now_playing is not None and s.now_playing.title == station.title,
        FOUND_TIMEOUT_S,
    )
    await controller.async_connect(b.device_id)

    def shows_the_station(moved: m.PlaybackState) -> None:  # what is on moves with it
        assert moved.now_playing is not None
        assert moved.now_playing.title == station.title

    windows = await move_both_ways(controller, devices, shows_the_station)
    assert_at_the_live_edge(await hear_both_ways(devices, windows), MAX_OFFSET_US)
