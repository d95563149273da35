"""Moving a live station both ways between two capture receivers, and hearing each move.

Shared by the Icecast-style and the HLS transfer tests: they differ in the station and in how
far apart two connections may play the programme, not in how a move is made or heard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from connect.clock import monotonic_us
from connect.controller import Controller
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.audio import read_capture
from tests.integration.live.test_radio import wait_state
from tests.integration.transfer.proof_audio import HeardTransfer, hear_transfer
from tests.live_station import CODE
from tests.receivers import RunningReceiver

FADE_MS = 30
PLAY_S = 1.5  # each device plays this long after a transfer before the next
MAX_GAP_US = 100_000  # a gap or an overlap beyond this would be a broken switch, not jitter

Pair = tuple[RunningReceiver, RunningReceiver]


async def move_both_ways(
    controller: Controller, devices: Pair, check: Callable[[m.PlaybackState], None]
) -> list[tuple[int, int]]:
    """Move the live session from the first device to the second and back; return each
    move's window on the monotonic clock (request, end). *check* judges each target's state."""
    a, b = devices
    windows = []
    for source, target in ((a, b), (b, a)):
        requested = monotonic_us()
        outcome = await TransferCoordinator(controller).async_transfer(
            source.device_id, target.device_id, m.TransferOptions(fade_ms=FADE_MS)
        )
        assert outcome.ok, outcome.failure
        windows.append((requested, monotonic_us() + 500_000))
        moved = await wait_state(
            controller.connection(target.device_id),
            lambda s: s.active and s.status is m.PlaybackStatus.PLAYING,
        )
        assert moved.live  # the session stays live on its new device
        check(moved)
        await asyncio.sleep(PLAY_S)  # the target plays on: the music's own pace
    return windows


async def hear_both_ways(devices: Pair, windows: list[tuple[int, int]]) -> list[HeardTransfer]:
    """Stop both receivers and hear the two moves of `move_both_ways` in their recordings."""
    a, b = devices
    for receiver in devices:
        assert await receiver.stop() == 0, "".join(receiver.output)
    captures = {r.device_id: read_capture(r.recording) for r in devices}
    return [
        hear_transfer(
            captures[source.device_id], captures[target.device_id], start, end, CODE,
            fade_us=FADE_MS * 1000,
        )
        for (source, target), (start, end) in zip(((a, b), (b, a)), windows, strict=True)
    ]  # fmt: skip


def assert_at_the_live_edge(heard: list[HeardTransfer], max_offset_us: int) -> None:
    """Each move switched without a broken gap and the programme offset is within bounds."""
    for one in heard:
        assert abs(one.gap_us) <= MAX_GAP_US, one
        offset = one.position_error_us
        assert offset is not None, one
        assert abs(offset) <= max_offset_us, one
