"""Receivers playing in a group, proven from the audio (proto "Groups", issue 17).

Three receivers with capture outputs (the leader on the true clock, two followers whose
converters run 100 ppm fast and slow, corrected) play the position-encoding track. The test is
the coordinating controller: over a session of its own to each (group_link.py) it makes the
playing receiver lead, joins the others at a shared instant with the leader's timeline, and
later makes one leave. Read from the captures: the followers present the leader's content at
the same true instant (the proof bound below), the leader had no gap and no jump at the joins,
and the leave faded out that member alone.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from connect.clock import monotonic_us
from connect.wire import messages as m
from tests.audio import Capture, last_audible_us, read_capture
from tests.integration.devices.group_link import GroupLink
from tests.integration.devices.proof_drift import CODE, Member, continuous_stretches
from tests.integration.transfer.proof_audio import content_offset, write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow

TRACK_MS = 40_000
SKEW_BOUND_US = 1_500  # the members' content at one true instant: the issue's ~1 ms, read
JUMP_BOUND_US = 100  # the leader's content offset either side of a join: unchanged
JOIN_LEAD_US = 400_000  # connect/group's JOIN_LEAD_US: the join's instant this far ahead
FADE_MS = 50
LEAVE_FADE_MS = 100
READ_SPAN_US = 300_000
PLAYING_TIMEOUT_S = 15.0
GROUP = "g-test"

LEADER = Member("Lead", 0, correct=True)
FOLLOWERS = (Member("Fast", +100, correct=True), Member("Slow", -100, correct=True))


async def _playing(link: GroupLink) -> None:
    await link.next(
        m.StateSnapshot,
        lambda s: s.state.status is m.PlaybackStatus.PLAYING,
        timeout=PLAYING_TIMEOUT_S,
    )


def _roster(epoch: int, leader: str, *members: tuple[str, m.GroupMemberPhase]) -> m.Group:
    ranked = tuple(m.GroupMember(d, rank, phase) for rank, (d, phase) in enumerate(members))
    return m.Group(GROUP, epoch, leader, ranked)


def _offset(capture: Capture, at: int) -> int:
    offset = content_offset(capture, at, at + READ_SPAN_US, CODE)
    assert offset is not None, f"no content read at {at}"
    return offset.offset_us


async def test_followers_play_the_leaders_content_at_the_same_instant_and_one_leaves_alone(
    tmp_path: Path, media_server: MediaServer
) -> None:
    write_cyclic_position_track(media_server.root / "group.wav", TRACK_MS, CODE)
    item = m.QueueItem("g1", media_server.url("group.wav"), title="group", duration_ms=TRACK_MS)
    receivers: list[RunningReceiver] = list(
        await asyncio.gather(
            *(
                start_receiver(tmp_path, member.name, output="capture", extra=member.extra())
                for member in (LEADER, *FOLLOWERS)
            )
        )
    )
    links = [await GroupLink.open(r.host, r.port) for r in receivers]
    lead, fast, slow = links
    ids = [r.device_id for r in receivers]
    joined: list[int] = []
    try:
        assert all(link.welcome and link.welcome.version == m.GROUPS for link in links)
        assert all(link.welcome and link.welcome.device.capabilities.group_member for link in links)
        assert (await lead.command(m.SetQueue((item,), play=True))).failure is None
        await _playing(lead)
        await asyncio.sleep(1.0)  # the music's own pace: the leader plays alone a while

        # Form the group on the playing receiver: it answers and sends its timeline.
        mark = lead.mark()
        roster = _roster(1, ids[0], (ids[0], m.GroupMemberPhase.PLAYING))
        await lead.send(m.GroupLead(roster))
        done = await lead.next(m.GroupDone, after=mark)
        assert (done.step, done.group_epoch) == (m.GroupStep.LEAD, 1)
        timeline = await lead.next(m.GroupTimeline, after=mark)
        assert timeline.playing
        assert timeline.item is not None
        assert timeline.item.uid == item.uid

        # Join the followers one after the other, each at an instant of its own.
        phases = [(ids[0], m.GroupMemberPhase.PLAYING)]
        for epoch, (link, device) in enumerate(((fast, ids[1]), (slow, ids[2])), start=2):
            roster = _roster(epoch, ids[0], *phases, (device, m.GroupMemberPhase.JOINING))
            start_at = monotonic_us() + JOIN_LEAD_US
            mark = link.mark()
            await link.send(m.GroupJoin(roster, timeline, start_at, FADE_MS))
            done = await link.next(m.GroupDone, after=mark)
            assert (done.step, done.group_epoch) == (m.GroupStep.JOIN, epoch), done
            assert abs(done.edge_at_us - start_at) <= 2_000, done.edge_at_us - start_at
            joined.append(start_at)
            phases.append((device, m.GroupMemberPhase.PLAYING))
            await asyncio.sleep(1.0)  # the music's own pace between the joins

        await asyncio.sleep(4.0)  # all three play together
        leave_at = monotonic_us() + 300_000
        mark = slow.mark()
        await slow.send(m.GroupLeave(GROUP, 4, leave_at, LEAVE_FADE_MS))
        left = await slow.next(m.GroupDone, after=mark)
        assert left.step is m.GroupStep.LEAVE
        await asyncio.sleep(1.5)  # the others play on
    finally:
        for link in links:
            await link.close()
        for receiver in receivers:
            if receiver.process.returncode is None:
                await receiver.stop()

    captures = [read_capture(r.recording) for r in receivers]
    leader_capture = captures[0]
    # The leader: one continuous presentation across both joins, its content unmoved.
    stretches = continuous_stretches(leader_capture)
    assert any(lo < joined[0] - 1_000_000 and joined[-1] + 1_000_000 < hi for lo, hi in stretches)
    for at in joined:
        before = _offset(leader_capture, at - 700_000)
        after = _offset(leader_capture, at + 400_000)
        assert abs(CODE.wrap(after - before)) <= JUMP_BOUND_US, (at, after - before)

    # Each follower presents the leader's content at the same true instants.
    skews: dict[str, list[int]] = {}
    for member, capture, start in zip(FOLLOWERS, captures[1:], joined, strict=True):
        end = leave_at - LEAVE_FADE_MS * 1000 if member is FOLLOWERS[1] else joined[-1] + 5_000_000
        at = start + FADE_MS * 1000 + 100_000
        readings = []
        while at + READ_SPAN_US < end:
            readings.append(CODE.wrap(_offset(capture, at) - _offset(leader_capture, at)))
            at += 500_000
        skews[member.name] = readings
    print("group skews (µs):", skews)
    assert all(readings for readings in skews.values()), skews
    assert all(abs(s) <= SKEW_BOUND_US for r in skews.values() for s in r), skews

    # The leave faded out that member alone: silent by its instant, the others playing on.
    slow_capture = captures[2]
    last = last_audible_us(slow_capture)
    assert last is not None
    assert abs(last - leave_at) <= 5_000, (last, leave_at)
    for capture in captures[:2]:
        assert _offset(capture, leave_at + 200_000) is not None
