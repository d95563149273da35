"""A receiver SIGKILLed at the switch of a transfer (the gaps left by tests/integration/transfer).

Expected outcomes, both killed the moment the source acknowledges its Commit (the coordinator
is about to commit the target; the source will fade out at the switch instant):
* the target dies: it never plays; the coordinator reports it did not start and rolls the
  source back, which plays the session on from where it faded out (one dip, then music);
* the source dies: the target is committed as planned and plays the session from the
  source's last state; the transfer succeeds (the source had acknowledged its Commit).
Either way exactly one device plays afterwards, with the session (id, queue, item) intact.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.transfer.coordinator import TransferCoordinator
from tests.audio import read_capture
from tests.faults.helpers import open_pair, players
from tests.faults.kills import kill_target_at_switch
from tests.integration.transfer.fault_bench import (
    PLAY_OUT_S,
    assert_plays_on,
    assert_session_kept,
    audible_within,
    controller_for,
    on_ready_from,
    play_out,
    report,
    silences,
    start_session,
    wait_state,
)

pytestmark = pytest.mark.slow


@pytest.mark.warning_logs(r"offline: .*closed by the device")
async def test_target_killed_at_the_switch_the_source_takes_the_music_back(
    tmp_path: Path,
) -> None:
    seen = await kill_target_at_switch(tmp_path)
    report(seen.outcome, seen.asked_us, seen.recovered_us)
    print(f"  source playing again {seen.recovery_ms:.0f} ms after the kill")
    assert not seen.outcome.ok
    assert seen.outcome.failure is not None
    assert seen.outcome.failure.message == "Target did not start playing"
    assert seen.outcome.rolled_back
    assert_session_kept(seen.kept, seen.before)
    assert seen.playing == [seen.source_id]
    capture = read_capture(seen.source_recording)
    dips = silences(capture, seen.killed_us, seen.end_us, longer_than_us=2_000)
    print(f"  source silences after the kill (ms): {[(b - a) / 1000 for a, b in dips]}")
    assert len(dips) <= 1, dips
    assert_plays_on(
        capture, seen.recovered_us, seen.end_us, position_ms_at=seen.kept.clock.position_at
    )
    assert not audible_within(read_capture(seen.target_recording), seen.asked_us, seen.end_us)


@pytest.mark.warning_logs(r"offline: .*closed by the device")
async def test_source_killed_at_the_switch_the_target_plays_the_session(tmp_path: Path) -> None:
    async with open_pair(tmp_path) as pair, controller_for(pair.source, pair.target) as controller:
        source, target = pair.source.device_id, pair.target.device_id
        before = await start_session(controller, source, pair.url)
        killed: list[int] = []

        def kill_source() -> None:
            pair.source.process.send_signal(signal.SIGKILL)
            killed.append(monotonic_us())

        unsubscribe = on_ready_from(controller, source, kill_source)
        asked = monotonic_us()
        outcome = await TransferCoordinator(controller).async_transfer(source, target)
        settled = monotonic_us()
        unsubscribe()
        report(outcome, asked, settled)
        assert killed, "the source never acknowledged its commit"
        assert outcome.ok, outcome.failure
        took = await wait_state(controller, target, lambda s: s.active and s.clock.playing)
        await play_out()
        assert_session_kept(took, before)
        # As if the source had played on: its last state's clock, extrapolated.
        assert abs(took.clock.position_at(settled) - before.clock.position_at(settled)) < 100
        assert players(controller, target) == [target]
    end = settled + round(PLAY_OUT_S * 1e6)
    assert_plays_on(
        read_capture(pair.target.recording), settled, end, position_ms_at=took.clock.position_at
    )
