"""A transfer target SIGKILLed at the switch, as a measured scenario: shared by the fault suite
(tests/faults/test_receiver_kill.py) and bench/faults.py."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

from connect.clock import monotonic_us
from connect.transfer.coordinator import TransferCoordinator, TransferOutcome
from connect.wire import messages as m
from tests.faults.helpers import open_pair, players
from tests.integration.transfer.fault_bench import (
    controller_for,
    on_ready_from,
    play_out,
    start_session,
    wait_state,
)


@dataclass(frozen=True)
class TargetKilled:
    """What happened around the kill: the outcome, the states, instants (monotonic µs)."""

    outcome: TransferOutcome
    before: m.PlaybackState
    kept: m.PlaybackState  # the source's state once it plays again
    asked_us: int
    killed_us: int
    recovered_us: int  # the controller saw the source playing the session again
    end_us: int  # after PLAY_OUT_S more of music
    playing: list[str]  # the devices playing at the end
    source_id: str
    source_recording: Path
    target_recording: Path

    @property
    def recovery_ms(self) -> float:
        """Kill → the controller sees the source playing the session again."""
        return (self.recovered_us - self.killed_us) / 1000


async def kill_target_at_switch(tmp_path: Path) -> TargetKilled:
    """Transfer source → target and SIGKILL the target when the source acknowledges its Commit."""
    async with open_pair(tmp_path) as pair, controller_for(pair.source, pair.target) as controller:
        source, target = pair.source.device_id, pair.target.device_id
        before = await start_session(controller, source, pair.url)
        killed: list[int] = []

        def kill_target() -> None:
            pair.target.process.send_signal(signal.SIGKILL)
            killed.append(monotonic_us())

        unsubscribe = on_ready_from(controller, source, kill_target)  # the source's ack
        asked = monotonic_us()
        outcome = await TransferCoordinator(controller).async_transfer(source, target)
        unsubscribe()
        assert killed, "the source never acknowledged its commit"
        # Committed, the source paused at the switch (a revision), then rolled back (another).
        kept = await wait_state(
            controller,
            source,
            lambda s: s.active and s.clock.playing and s.revision >= before.revision + 2,
        )
        recovered = monotonic_us()
        await play_out()
        return TargetKilled(
            outcome, before, kept, asked, killed[0], recovered, monotonic_us(),
            players(controller, source, target), source, pair.source.recording,
            pair.target.recording,
        )  # fmt: skip
