"""A controller SIGKILLed mid-transfer, as measured scenarios: shared by the fault suite
(tests/faults/test_controller_kill.py) and bench/faults.py.

The dying controller runs as its own process (tests/faults/controller_kill_scenario.py); it
prints the monotonic instant it kills itself at (one clock for every process on the host), so
recovery is timed from the death itself, not from when this process reaped it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from connect.clock import monotonic_us
from connect.wire import messages as m
from devices.transfer import HOLD_S
from tests.faults.helpers import OpenPair, open_pair, players
from tests.integration.transfer.fault_bench import (
    EVENT_TIMEOUT_S,
    controller_for,
    play_out,
    start_session,
    wait_state,
)

ROOT = Path(__file__).resolve().parents[2]


async def transfer_by_doomed_controller(pair: OpenPair, phase: str) -> tuple[int, int]:
    """Run the dying controller; return when it asked and when it killed itself (monotonic µs)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.faults.controller_kill_scenario",
        "--source", f"{pair.source.host}:{pair.source.port}",
        "--target", f"{pair.target.host}:{pair.target.port}",
        "--phase", phase,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), EVENT_TIMEOUT_S)
    asked = monotonic_us()
    if line != b"asking\n":
        _, err = await asyncio.wait_for(process.communicate(), EVENT_TIMEOUT_S)
        raise AssertionError(f"the controller did not get to ask: {line!r} {err.decode()}")
    out, err = await asyncio.wait_for(process.communicate(), EVENT_TIMEOUT_S)
    assert process.returncode == -signal.SIGKILL, (out + err).decode()
    words = out.split()
    assert len(words) == 2 and words[0] == b"killing", out  # noqa: PT018 - one line's shape
    return asked, int(words[1])


@dataclass(frozen=True)
class ControllerKilled:
    """What happened around the controller's death: states and instants (monotonic µs)."""

    before: m.PlaybackState
    back: m.PlaybackState  # the source's state once it plays the session again
    asked_us: int
    dead_us: int
    back_us: int  # the observer saw the source playing the session again
    end_us: int  # after PLAY_OUT_S more of music
    playing: list[str]  # the devices playing at the end
    target_state: m.PlaybackState | None
    source_id: str
    source_recording: Path
    target_recording: Path

    @property
    def recovery_ms(self) -> float:
        """The controller's death → the observer sees the source playing the session again."""
        return (self.back_us - self.dead_us) / 1000


async def kill_controller_between_commits(tmp_path: Path) -> ControllerKilled:
    """Transfer source → target by a controller that dies once the source acknowledged its
    Commit (the target's Commit not sent); wait for the source to take the music back."""
    async with open_pair(tmp_path) as pair, controller_for(pair.source, pair.target) as observer:
        source, target = pair.source.device_id, pair.target.device_id
        before = await start_session(observer, source, pair.url)
        asked, dead = await transfer_by_doomed_controller(pair, "source-ack")
        # Committed, it faded out at the switch (a new, inactive revision); with no verdict it
        # asks the target, which was never committed, and takes the session back (active).
        back = await wait_state(
            observer, source, lambda s: s.active and s.revision > before.revision, HOLD_S + 5
        )
        back_at = monotonic_us()
        await play_out()
        return ControllerKilled(
            before, back, asked, dead, back_at, monotonic_us(),
            players(observer, source, target), observer.connection(target).state,
            source, pair.source.recording, pair.target.recording,
        )  # fmt: skip
