"""The wall clock jumps in the middle of a transfer, in the coordinating controller's process.

Expected outcome: nothing changes. The transfer succeeds and the target plays on from exactly
where the source was, because every instant the coordinator computes (the switch, the clock
conversions, the deadlines) is on the monotonic clock. The wall clock (`time.time`,
`time.time_ns`, what every Python caller reads) jumps an hour forward when the target answers
Ready and a day back when the source acknowledges its Commit. A receiver's own wall-clock jumps
are tests/integration/packaging/test_clock_jump.py's (an in-process receiver playing through
them, and a guard that no position arithmetic in connect/ or devices/ reads the wall clock).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.session import ConnectionEvent
from connect.session.connection import TransferReply
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.audio import read_capture
from tests.faults.helpers import open_pair, players
from tests.integration.transfer.fault_bench import (
    PLAY_OUT_S,
    assert_plays_on,
    assert_session_kept,
    controller_for,
    play_out,
    report,
    start_session,
    wait_state,
)

pytestmark = pytest.mark.slow

JUMPS_S = {"target": 3600, "source": -86400}  # at the target's Ready, at the source's ack


async def test_wall_clock_jumps_during_a_transfer_change_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_time, real_time_ns = time.time, time.time_ns
    jumped: list[int] = []

    def jump(seconds: int) -> None:
        monkeypatch.setattr(time, "time", lambda: real_time() + seconds)
        monkeypatch.setattr(time, "time_ns", lambda: real_time_ns() + seconds * 10**9)
        jumped.append(seconds)

    async with open_pair(tmp_path) as pair, controller_for(pair.source, pair.target) as controller:
        source, target = pair.source.device_id, pair.target.device_id
        roles = {target: "target", source: "source"}
        before = await start_session(controller, source, pair.url)

        def on_event(event: ConnectionEvent) -> None:
            if isinstance(event, TransferReply) and isinstance(event.body, m.TransferReady):
                jump(JUMPS_S[roles[event.device_id]])

        unsubscribe = controller.subscribe(on_event)
        try:
            asked = monotonic_us()
            outcome = await TransferCoordinator(controller).async_transfer(source, target)
            settled = monotonic_us()
        finally:
            unsubscribe()
            monkeypatch.undo()
        report(outcome, asked, settled)
        assert jumped == [3600, -86400]
        assert outcome.ok, outcome.failure
        assert outcome.timings is not None
        print(f"  coordinator's position error: {outcome.timings.position_error_ms} ms")
        took = await wait_state(controller, target, lambda s: s.active and s.clock.playing)
        await play_out()
        assert_session_kept(took, before)
        # The position went on from the source's, as if nothing had happened.
        assert abs(took.clock.position_at(settled) - before.clock.position_at(settled)) < 100
        assert players(controller, source, target) == [target]
    end = settled + round(PLAY_OUT_S * 1e6)
    assert_plays_on(
        read_capture(pair.target.recording), settled, end, position_ms_at=took.clock.position_at
    )
