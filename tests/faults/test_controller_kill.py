"""The controller that coordinates a transfer is SIGKILLed mid-way; the devices settle alone.

Expected outcomes (the controller dies inside its own event dispatch, on the cue named):
* after the target's Ready (nothing committed): the source plays on, untouched; the target
  drops its pre-roll, so the next controller's transfer to it is not refused as busy;
* after the source acknowledged its Commit, before the target's Commit left: the source should
  take the music back (one player). It does not today: it holds paused, then lets go after
  HOLD_S, leaving no player (marked xfail; docs/reliability.md says what would fix it);
* after the target's Done (both committed, neither confirmed): the target plays the session;
  the source stays silent and lets go after HOLD_S. Exactly one player throughout.
An observer controller in the test process watches both devices; their capture recordings
prove what was heard.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from connect import messages as m
from connect.clock import monotonic_us
from connect.transfer import TransferCoordinator
from devices.transfer import HOLD_S
from tests.audio import read_capture
from tests.faults.helpers import OpenPair, open_pair, players
from tests.integration.transfer.fault_bench import (
    EVENT_TIMEOUT_S,
    PLAY_OUT_S,
    assert_plays_on,
    assert_session_kept,
    audible_within,
    controller_for,
    play_out,
    start_session,
    wait_state,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


async def transfer_by_doomed_controller(pair: OpenPair, phase: str) -> tuple[int, int]:
    """Run the dying controller; return when it asked and when it was reaped (monotonic µs)."""
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
    return asked, monotonic_us()


async def test_controller_killed_after_ready_leaves_the_source_playing_and_the_target_free(
    tmp_path: Path,
) -> None:
    async with open_pair(tmp_path) as pair, controller_for(pair.source, pair.target) as observer:
        source, target = pair.source.device_id, pair.target.device_id
        before = await start_session(observer, source, pair.url)
        asked, dead = await transfer_by_doomed_controller(pair, "target-ready")
        await play_out()
        kept = observer.connection(source).state
        assert kept is not None
        assert_session_kept(kept, before)
        assert kept.revision == before.revision  # never committed: untouched
        assert players(observer, source, target) == [source]
        # The target dropped the dead controller's pre-roll: a new transfer is not BUSY.
        outcome = await TransferCoordinator(observer).transfer(source, target)
        assert outcome.ok, outcome.failure
        took = await wait_state(observer, target, lambda s: s.active and s.clock.playing)
        await wait_state(observer, source, lambda s: s.status is m.PlaybackStatus.STOPPED)
        assert_session_kept(took, before)
        assert players(observer, source, target) == [target]
    assert_plays_on(
        read_capture(pair.source.recording), asked, dead + round(PLAY_OUT_S * 1e6),
        position_ms_at=kept.clock.position_at,
    )  # fmt: skip


@pytest.mark.xfail(
    raises=AssertionError,
    reason="a source committed by a controller that then died cannot tell whether the target "
    "was committed too; it lets go after its hold (docs/reliability.md, 'controller killed')",
)
async def test_controller_killed_between_the_two_commits_leaves_one_player(
    tmp_path: Path,
) -> None:
    async with open_pair(tmp_path) as pair, controller_for(pair.source, pair.target) as observer:
        source, target = pair.source.device_id, pair.target.device_id
        before = await start_session(observer, source, pair.url)
        await transfer_by_doomed_controller(pair, "source-ack")
        # It was committed: it fades out at the switch and holds, paused, for a verdict...
        await wait_state(observer, source, lambda s: s.status is m.PlaybackStatus.PAUSED)
        # ...which never comes: the hold ends one way or the other within HOLD_S.
        settled = await wait_state(
            observer, source, lambda s: s.status is not m.PlaybackStatus.PAUSED, HOLD_S + 5
        )
        print(f"\n  source after its hold: {settled.status.name}, active={settled.active}")
        # What holds today: the session stays on the source (a press of play resumes it)...
        assert settled.session_id == before.session_id
        assert [i.uid for i in settled.queue] == [i.uid for i in before.queue]
        assert settled.current_uid == before.current_uid
        # ...what does not: it should play it.
        assert players(observer, source, target) == [source]
        assert settled.active


async def test_controller_killed_after_the_target_started_leaves_the_target_alone_playing(
    tmp_path: Path,
) -> None:
    async with open_pair(tmp_path) as pair, controller_for(pair.source, pair.target) as observer:
        source, target = pair.source.device_id, pair.target.device_id
        before = await start_session(observer, source, pair.url)
        _, dead = await transfer_by_doomed_controller(pair, "target-done")
        took = await wait_state(observer, target, lambda s: s.active and s.clock.playing)
        assert_session_kept(took, before)
        assert players(observer, source, target) == [target]
        # Unconfirmed, the source holds the media paused, then lets go: it never resumes.
        let_go = await wait_state(
            observer, source, lambda s: s.status is m.PlaybackStatus.STOPPED, HOLD_S + 5
        )
        print(f"\n  source let go {(monotonic_us() - dead) / 1e6:.1f} s after the controller died")
        assert not let_go.active
        assert players(observer, source, target) == [target]
        end = monotonic_us()
    assert not audible_within(read_capture(pair.source.recording), dead, end)
    # The target's first seconds alone: later its 12 s item ends and the next one starts,
    # a track change with a gap of its own, which is not what this test is about.
    heard_until = dead + round(PLAY_OUT_S * 1e6)
    assert_plays_on(
        read_capture(pair.target.recording), dead, heard_until,
        position_ms_at=took.clock.position_at,
    )  # fmt: skip
