"""The controller that coordinates a transfer is SIGKILLed mid-way; the devices settle alone.

Expected outcomes (the controller dies inside its own event dispatch, on the cue named):
* after the target's Ready (nothing committed): the source plays on, untouched; the target
  drops its pre-roll, so the next controller's transfer to it is not refused as busy;
* after the source acknowledged its Commit, before the target's Commit left: the source fades
  out, finds its controller's session closed, asks the target (named in its Commit) and hears
  PREROLLED: it takes the music back and plays on from where it faded. One player, the source;
  the target never sounds (asked, it dropped its pre-roll);
* after the target's Done (both committed, neither confirmed): the target plays the session;
  the source stays silent, asks the target, hears STARTED and lets go. Exactly one player
  throughout.
An observer controller in the test process watches both devices; their capture recordings
prove what was heard.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from devices.transfer import HOLD_S
from tests.audio import read_capture
from tests.faults.controller_kills import (
    kill_controller_between_commits,
    transfer_by_doomed_controller,
)
from tests.faults.helpers import open_pair, players
from tests.integration.transfer.fault_bench import (
    PLAY_OUT_S,
    assert_plays_on,
    assert_session_kept,
    audible_within,
    controller_for,
    play_out,
    silences,
    start_session,
    wait_state,
)

pytestmark = pytest.mark.slow


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
        outcome = await TransferCoordinator(observer).async_transfer(source, target)
        assert outcome.ok, outcome.failure
        took = await wait_state(observer, target, lambda s: s.active and s.clock.playing)
        await wait_state(observer, source, lambda s: s.status is m.PlaybackStatus.STOPPED)
        assert_session_kept(took, before)
        assert players(observer, source, target) == [target]
    assert_plays_on(
        read_capture(pair.source.recording), asked, dead + round(PLAY_OUT_S * 1e6),
        position_ms_at=kept.clock.position_at,
    )  # fmt: skip


async def test_controller_killed_between_the_two_commits_the_source_takes_the_music_back(
    tmp_path: Path,
) -> None:
    seen = await kill_controller_between_commits(tmp_path)
    print(f"\n  source playing again {seen.recovery_ms:.0f} ms after the controller died")
    assert seen.back.status is m.PlaybackStatus.PLAYING
    assert seen.back.revision >= seen.before.revision + 2  # the fade-out's revision, then this
    assert_session_kept(seen.back, seen.before)
    assert seen.playing == [seen.source_id]
    assert seen.target_state is not None
    assert not seen.target_state.active
    capture = read_capture(seen.source_recording)
    dips = silences(capture, seen.asked_us, seen.end_us, longer_than_us=2_000)
    print(f"  source silences (ms): {[(b - a) / 1000 for a, b in dips]}")
    assert len(dips) <= 1, dips  # at most one dip: between its fade-out and its resumption
    assert_plays_on(capture, seen.back_us, seen.end_us, position_ms_at=seen.back.clock.position_at)
    assert not audible_within(read_capture(seen.target_recording), seen.asked_us, seen.end_us)


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
        # Unconfirmed, the source asks the target, hears STARTED and lets go: it never resumes.
        let_go = await wait_state(
            observer, source, lambda s: s.status is m.PlaybackStatus.STOPPED, HOLD_S + 5
        )
        gone_ms = (monotonic_us() - dead) / 1000
        print(f"\n  source let go {gone_ms:.0f} ms after the controller died")
        assert not let_go.active
        await play_out()
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
