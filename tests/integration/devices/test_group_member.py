"""Receivers playing in a group, proven from the audio (proto "Groups", issue 17).

Three receivers with capture outputs (the leader on the true clock, two followers whose
converters run 100 ppm fast and slow, corrected) play the position-encoding track. The test is
the coordinating controller (group_run.py): it makes the playing receiver lead, joins the
others at a shared instant with the leader's timeline, relays the leader's new timelines, and
has members leave. Read from the captures (proof_group.py): the members present the same
content at the same true instant within SKEW_BOUND_US, the leader had no gap and no jump at the
joins, a pause and a seek on the leader are followed, and a leave fades out that member alone.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import replace
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.wire import messages as m
from tests.integration.devices.group_link import GroupLink
from tests.integration.devices.group_run import FADE_MS, GROUP, async_group_run
from tests.integration.devices.proof_drift import CODE, Member
from tests.integration.devices.proof_group import Heard, content_jump, offsets_of, pairwise_skews
from tests.integration.transfer.proof_audio import write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import start_receiver

pytestmark = pytest.mark.slow

SKEW_BOUND_US = 2_000  # every reading: the proofs' bound (a loaded machine's late block aside)
MEDIAN_BOUND_US = 500  # the median reading (the target: 1 ms p99, 0.2 ms median)
JUMP_BOUND_US = 100  # the leader's content offset either side of a join: unchanged
EVERY_US = 250_000  # skews read on this grid
EDGE_US = 10_000  # a start or a silence within this of its instant
LEAVE_FADE_MS = 100
SETTLE_US = 200_000  # after a join's fade or a follower's restart, before skews are read

LEADER = Member("Lead", 0, correct=True)
FAST = Member("Fast", +100, correct=True)
SLOW = Member("Slow", -100, correct=True)


def _skews_within(heard: list[Heard], start: int, end: int) -> dict[tuple[str, str], list[int]]:
    """Return the pairwise skews read over [start, end): fail if a pair has none."""
    offsets = offsets_of(heard, start, end, EVERY_US)
    found = {pair: list(s.values()) for pair, s in pairwise_skews(offsets).items()}
    assert all(found.values()), (start, end, found)
    return found


def _worst(skews: dict[tuple[str, str], list[int]]) -> int:
    """Return the largest skew read, or fail if a pair's median is over MEDIAN_BOUND_US."""
    for pair, readings in skews.items():
        assert abs(statistics.median(readings)) <= MEDIAN_BOUND_US, (pair, readings)
    return max(abs(s) for readings in skews.values() for s in readings)


async def test_members_join_in_sync_with_no_gap_on_the_leader_and_one_leaves_alone(
    tmp_path: Path, media_server: MediaServer
) -> None:
    async with async_group_run(tmp_path, media_server, (LEADER, FAST, SLOW), 40_000) as run:
        assert all(link.welcome and link.welcome.version == m.GROUPS for link in run.links)
        assert all(
            link.welcome and link.welcome.device.capabilities.group_member for link in run.links
        )
        await asyncio.sleep(1.0)  # the music's own pace: the leader plays alone a while
        timeline = await run.lead()
        assert timeline.playing
        assert timeline.item is not None
        assert timeline.item.uid == run.item.uid
        for index in (1, 2):
            done = await run.join(index)
            start_at = run.joined_at[run.members[index].name]
            assert abs(done.edge_at_us - start_at) <= EDGE_US, done.edge_at_us - start_at
            await asyncio.sleep(1.0)  # the music's own pace between the joins

        # A follower holds no session: what plays is the leader's to change, its volume its own.
        refused = await run.links[1].command(m.Pause())
        assert refused.failure is not None
        assert refused.failure.code is m.ErrorCode.NOT_ACTIVE
        assert run.id_of(0) in refused.failure.message
        assert (await run.links[1].command(m.SetVolume(40))).failure is None

        await asyncio.sleep(4.0)  # all three play together
        leave_at, _ = await run.leave(2, LEAVE_FADE_MS)
        # The others play on: the leader's check reads 1 s past the leave's instant (which
        # `leave` returned at); 200 ms more for the captures to hold it. Slow's capture ends at
        # its leave, so a longer wait would show nothing more of it.
        await asyncio.sleep(1.2)
        both_joined = run.joined_at["Slow"]
        for receiver in run.receivers:  # what of the join's lead the pre-roll took
            print(*(line.strip() for line in receiver.output if "pre-rolled" in line), sep="\n")
    lead, fast, slow = run.heard()

    # The leader: one presentation across both joins, its content unmoved by them.
    assert lead.playing_through(run.joined_at["Fast"] - 1_000_000, leave_at + 1_000_000)
    for at in run.joined_at.values():
        jump = content_jump(lead, at - 700_000, at + 400_000)
        assert jump is not None
        assert abs(jump) <= JUMP_BOUND_US, (at, jump)
        assert not lead.silent_runs(at - 500_000, at + 500_000)

    # Each follower started at its instant; all three on one timeline until the leave.
    for heard, name in ((fast, "Fast"), (slow, "Slow")):
        first = heard.first_heard(run.joined_at[name] - 300_000)
        assert first is not None
        assert abs(first - run.joined_at[name]) <= EDGE_US, (name, first - run.joined_at[name])
    start = both_joined + FADE_MS * 1000 + SETTLE_US
    skews = _skews_within([lead, fast, slow], start, leave_at - LEAVE_FADE_MS * 1000)
    print("group skews after the joins (us):", skews)
    assert _worst(skews) <= SKEW_BOUND_US, skews

    # The leave faded out that member alone: silent from its instant, the others playing on.
    last = slow.first_heard(leave_at + 1)
    assert last is None
    # Heard through the fade (its last samples, under the audible level, aside).
    quiet = slow.silent_runs(leave_at - LEAVE_FADE_MS * 1000 - 50_000, leave_at)
    assert all(lo >= leave_at - EDGE_US for lo, _ in quiet), (leave_at, quiet)
    assert lead.playing_through(leave_at - 500_000, leave_at + 500_000)
    assert fast.playing_through(leave_at - 500_000, leave_at + 500_000)


async def test_followers_carry_out_the_leaders_pause_resume_and_seek(
    tmp_path: Path, media_server: MediaServer
) -> None:
    async with async_group_run(tmp_path, media_server, (LEADER, FAST), 60_000) as run:
        await run.lead()
        await run.join(1)
        # The music's own pace: nothing before the pause is read but that the follower plays
        # (asserted below); a second of it, its join's fade long over.
        await asyncio.sleep(1.0)

        mark = run.links[0].mark()
        assert (await run.links[0].command(m.Pause())).failure is None
        paused = await run.relay(mark, lambda t: not t.playing)
        paused_at = monotonic_us()
        # Paused a while: the silence is read over [100 ms, 600 ms) after the pause, and the
        # resume is asked only after this, so its sound comes 200 ms after that window at least.
        await asyncio.sleep(0.8)

        mark = run.links[0].mark()
        assert (await run.links[0].command(m.Resume())).failure is None
        await run.relay(mark, lambda t: t.playing)
        resumed_at = monotonic_us()
        await asyncio.sleep(3.0)  # the music's own pace

        mark = run.links[0].mark()
        target_ms = 30_000
        assert (await run.links[0].command(m.Seek(target_ms))).failure is None
        sought = await run.relay(
            mark, lambda t: abs(t.position_at(monotonic_us()) - target_ms * 1000) < 2_000_000
        )
        sought_at = monotonic_us()
        await asyncio.sleep(3.0)  # the music's own pace
    lead, fast = run.heard()
    assert not paused.playing
    assert sought.playing

    # The follower played before the pause (so its silence after is the pause's) ...
    assert fast.offset_at(paused_at - 600_000) is not None
    # ... paused together (the follower within the relay's delay), silent while paused.
    assert fast.first_heard(paused_at + 100_000, within_us=500_000) is None
    # After the resume and after the seek, one timeline again.
    resumed = _skews_within([lead, fast], resumed_at + 700_000, resumed_at + 2_800_000)
    after_seek = _skews_within([lead, fast], sought_at + 700_000, sought_at + 2_800_000)
    print("skews after resume, after seek (us):", resumed, after_seek)
    assert _worst(resumed) <= SKEW_BOUND_US, resumed
    assert _worst(after_seek) <= SKEW_BOUND_US, after_seek


async def test_a_session_below_1_2_has_group_steps_refused_and_nothing_changes(
    tmp_path: Path,
) -> None:
    receiver = await start_receiver(tmp_path, "Old Session")
    link = await GroupLink.open(receiver.host, receiver.port, m.PROTOCOL_V1_ALONE)
    try:
        assert link.welcome is not None
        assert link.welcome.version == m.PROTOCOL_V1_ALONE.highest
        leader = m.GroupMember("another-device", 0, m.GroupMemberPhase.PLAYING)
        me = m.Group(GROUP, 2, "another-device", (leader, m.GroupMember(receiver.device_id, 1)))
        timeline = m.GroupTimeline(GROUP, 1, "s", 1, None, 0, 0)
        mark = link.mark()
        await link.send(m.GroupJoin(me, timeline, monotonic_us() + 400_000))
        error = await link.next(m.Error, after=mark)
        assert error.code is m.ErrorCode.UNSUPPORTED
        assert "needs protocol 1.2" in error.message
        # Nothing changed: the state is as it was, in no group.
        mark = link.mark()
        await link.send(m.Command("c-volume", m.SetVolume(30)))
        snapshot = await link.next(m.StateSnapshot, after=mark)
        assert snapshot.state.group is None
        assert not any(isinstance(b, m.GroupDone | m.GroupRefused) for b in link.received)
    finally:
        await link.close()
        await receiver.stop()


async def test_the_next_item_goes_on_without_a_gap_and_leadership_moves_with_no_gap(
    tmp_path: Path, media_server: MediaServer
) -> None:
    # Long enough that both joins (400 ms ahead each) and 200 ms of settling are done well
    # before the boundary's readings begin, 700 ms before it; more would only be waited out.
    first_ms = 3_500
    write_cyclic_position_track(media_server.root / "first.wav", first_ms, CODE)
    first = m.QueueItem("g0", media_server.url("first.wav"), title="first", duration_ms=first_ms)
    async with async_group_run(
        tmp_path, media_server, (LEADER, FAST, SLOW), 40_000, before=(first,)
    ) as run:
        await run.lead()
        await run.join(1)
        await run.join(2)
        # The first item ends about 3.5 s after play began: the leader goes on to the next, and
        # the followers with it, gaplessly; its new timeline says what they play already.
        mark = run.links[0].mark()
        changed = await run.relay(mark, lambda t: t.item is not None and t.item.uid == "g1")
        boundary = changed.anchor_us - changed.position_us
        await asyncio.sleep(2.0)  # the music's own pace

        # The leader leaves, make-before-break: Fast takes the session from where it plays.
        state = run.links[0].last(m.StateSnapshot).state
        mark = run.links[1].mark()
        await run.move_lead(1, replace(state, epoch=state.epoch + 1))
        taken_at = monotonic_us()
        leave_at, _ = await run.leave(0, LEAVE_FADE_MS)
        # The new leader holds the session: its timeline goes to the other follower.
        taken = await run.relay_from(1, mark, lambda t: t.playing)
        assert taken.session_id == state.session_id
        # Its commands are its own now: a pause of a few ms and a resume reach the follower.
        assert (await run.links[1].command(m.Pause())).failure is None
        mark = run.links[1].mark()
        assert (await run.links[1].command(m.Resume())).failure is None
        await run.relay_from(1, mark, lambda t: t.playing)
        resumed_at = monotonic_us()
        await asyncio.sleep(2.0)  # the music's own pace
    lead, fast, slow = run.heard()

    # No member had a gap at the item boundary, and they stayed together across it.
    for heard in (lead, fast, slow):
        assert heard.playing_through(boundary - 500_000, boundary + 500_000), heard.name
        assert not heard.silent_runs(boundary - 500_000, boundary + 500_000), heard.name
        jump = content_jump(heard, boundary - 700_000, boundary + 400_000)
        assert jump is not None
        assert abs(jump + first_ms * 1000) <= SKEW_BOUND_US, (heard.name, jump)  # all of it
    skews = _skews_within([lead, fast, slow], boundary + 300_000, boundary + 1_800_000)
    print("skews after the next item (us):", skews)
    assert _worst(skews) <= SKEW_BOUND_US, skews
    # The new leader played on through the move, the other follower too, still together.
    assert fast.playing_through(taken_at - 1_000_000, leave_at + 200_000)
    assert slow.playing_through(taken_at - 1_000_000, leave_at + 200_000)
    assert lead.first_heard(leave_at + 1) is None
    moved_skews = _skews_within([fast, slow], resumed_at + 700_000, resumed_at + 1_900_000)
    print("skews after the leader moved (us):", moved_skews)
    assert _worst(moved_skews) <= SKEW_BOUND_US, moved_skews


async def test_a_changed_clock_offset_is_slewed_out_as_the_music_plays_without_a_seek(
    tmp_path: Path, media_server: MediaServer
) -> None:
    shift_us = 2_000  # the follower's clock now said to read 2 ms less than the leader's
    async with async_group_run(tmp_path, media_server, (LEADER, FAST), 40_000) as run:
        timeline = await run.lead()
        await run.join(1)
        await asyncio.sleep(1.5)  # the music's own pace
        remeasured = replace(timeline, revision=timeline.revision + 1, clock_offset_us=-shift_us)
        await run.links[1].send(remeasured)  # as a controller's fresh measure would say
        sent_at = monotonic_us()
        # The slew, then steady play: 2 ms is 88 frames at a frame a 50 ms block, 4.4 s; the
        # readings after run to 7.0 s; 200 ms more for the capture to hold them.
        await asyncio.sleep(7.2)
    lead, fast = run.heard()
    before = _skews_within([lead, fast], sent_at - 1_000_000, sent_at)
    after = _skews_within([lead, fast], sent_at + 5_500_000, sent_at + 7_000_000)
    print("skews before, after the new offset (us):", before, after)
    assert _worst(before) <= SKEW_BOUND_US, before
    # Fast plays 2 ms on now, as the new offset says, to within the proofs' bound ...
    assert all(abs(s - shift_us) <= 200 for s in after[("Fast", "Lead")]), after
    # ... and got there as it played: one presentation, no silence, no seek.
    assert fast.playing_through(sent_at - 500_000, sent_at + 7_000_000)
    assert not fast.silent_runs(sent_at - 500_000, sent_at + 7_000_000)
