"""Receivers started for a group test, with the test as their coordinating controller.

`async_group_run` starts a capture receiver per member (its own simulated drift, corrected),
opens a session of the test's own to each (group_link.py), plays the position-encoding track
on the first and makes it lead; `GroupRun` then joins the others at an instant, relays the
leader's timelines to the followers as a controller would, and has a member leave.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from connect.clock import monotonic_us
from connect.wire import messages as m
from tests.integration.devices.group_link import GroupLink
from tests.integration.devices.proof_drift import CODE, Member
from tests.integration.devices.proof_group import Heard, read_heard
from tests.integration.transfer.proof_audio import write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver, stop_all

GROUP = "g-test"
JOIN_LEAD_US = 400_000  # connect/group's JOIN_LEAD_US: a join's instant this far ahead
FADE_MS = 50
PLAYING_TIMEOUT_S = 15.0


@dataclass
class GroupRun:
    """A group being played: its receivers, the test's link to each, what was asked when."""

    members: Sequence[Member]
    receivers: list[RunningReceiver]
    links: list[GroupLink]
    item: m.QueueItem
    epoch: int = 1
    phases: dict[str, m.GroupMemberPhase] = field(default_factory=dict)
    joined_at: dict[str, int] = field(default_factory=dict)  # member name -> join instant
    timeline: m.GroupTimeline | None = None  # the leader's last, as relayed
    leader: int = 0  # which member leads

    def id_of(self, index: int) -> str:
        """Return member *index*'s device id."""
        return self.receivers[index].device_id

    def roster(self) -> m.Group:
        """Return the roster as it stands (members in join order)."""
        ranked = tuple(
            m.GroupMember(device, rank, phase)
            for rank, (device, phase) in enumerate(self.phases.items())
        )
        return m.Group(GROUP, self.epoch, self.id_of(self.leader), ranked)

    async def lead(self) -> m.GroupTimeline:
        """Make member 0 (playing) lead; return its first timeline."""
        link = self.links[0]
        self.phases[self.id_of(0)] = m.GroupMemberPhase.PLAYING
        mark = link.mark()
        await link.send(m.GroupLead(self.roster()))
        done = await link.next(m.GroupDone, after=mark)
        assert (done.step, done.group_epoch) == (m.GroupStep.LEAD, self.epoch), done
        self.timeline = await link.next(m.GroupTimeline, after=mark)
        return self.timeline

    async def join(self, index: int) -> m.GroupDone:
        """Join member *index* at an instant JOIN_LEAD_US ahead; return its answer."""
        assert self.timeline is not None
        self.epoch += 1
        device, link = self.id_of(index), self.links[index]
        self.phases[device] = m.GroupMemberPhase.JOINING
        start_at = monotonic_us() + JOIN_LEAD_US
        mark = link.mark()
        await link.send(m.GroupJoin(self.roster(), self.timeline, start_at, FADE_MS))
        done = await link.next(m.GroupDone, after=mark)
        assert (done.step, done.group_epoch) == (m.GroupStep.JOIN, self.epoch), done
        self.phases[device] = m.GroupMemberPhase.PLAYING
        self.joined_at[self.members[index].name] = start_at
        return done

    async def relay(self, after: int, says: Callable[[m.GroupTimeline], bool]) -> m.GroupTimeline:
        """Wait for the leader's first timeline from link index *after* on that *says* what the
        test changed, and send it to every follower, as the coordinating controller does."""
        return await self.relay_from(0, after, says)

    async def relay_from(
        self, leader: int, after: int, says: Callable[[m.GroupTimeline], bool]
    ) -> m.GroupTimeline:
        """`relay`, from member *leader* (the group's leader now)."""
        timeline = await self.links[leader].next(m.GroupTimeline, says, after=after)
        self.timeline = timeline
        for index, link in enumerate(self.links):
            playing = self.phases.get(self.id_of(index)) is m.GroupMemberPhase.PLAYING
            if index != leader and playing:
                await link.send(timeline)  # its offset is 0: one machine, one clock
        return timeline

    async def move_lead(self, index: int, state: m.PlaybackState) -> m.GroupDone:
        """Make member *index* (a follower) the leader, taking *state* over; return its answer."""
        self.epoch += 1
        self.leader = index
        link = self.links[index]
        mark = link.mark()
        await link.send(m.GroupLead(self.roster(), state))
        done = await link.next(m.GroupDone, after=mark)
        assert (done.step, done.group_epoch) == (m.GroupStep.LEAD, self.epoch), done
        return done

    async def leave(
        self, index: int, fade_ms: int, lead_us: int = 300_000
    ) -> tuple[int, m.GroupDone]:
        """Have member *index* leave, silent *lead_us* from now; return that instant, the answer."""
        self.epoch += 1
        leave_at = monotonic_us() + lead_us
        link = self.links[index]
        mark = link.mark()
        await link.send(m.GroupLeave(GROUP, self.epoch, leave_at, fade_ms))
        done = await link.next(m.GroupDone, after=mark)
        assert done.step is m.GroupStep.LEAVE, done
        del self.phases[self.id_of(index)]
        return leave_at, done

    def heard(self) -> list[Heard]:
        """Read every member's capture (after the run)."""
        return [
            read_heard(r.recording, member.name)
            for member, r in zip(self.members, self.receivers, strict=True)
        ]


@contextlib.asynccontextmanager
async def async_group_run(
    tmp_path: Path,
    media: MediaServer,
    members: Sequence[Member],
    track_ms: int,
    *,
    before: Sequence[m.QueueItem] = (),
) -> AsyncIterator[GroupRun]:
    """Start the members' receivers and links, play the track (after the items *before*, if
    any) on member 0; stop all after."""
    write_cyclic_position_track(media.root / "group.wav", track_ms, CODE)
    item = m.QueueItem("g1", media.url("group.wav"), title="group", duration_ms=track_ms)
    receivers = list(
        await asyncio.gather(
            *(
                start_receiver(tmp_path, member.name, output="capture", extra=member.extra())
                for member in members
            )
        )
    )
    links: list[GroupLink] = []
    try:
        links.extend([await GroupLink.open(r.host, r.port) for r in receivers])
        run = GroupRun(members, receivers, links, item)
        result = await links[0].command(m.SetQueue((*before, item), play=True))
        assert result.failure is None, result.failure
        await links[0].next(
            m.StateSnapshot,
            lambda s: s.state.status is m.PlaybackStatus.PLAYING,
            timeout=PLAYING_TIMEOUT_S,
        )
        yield run
    finally:
        for link in links:
            await link.close()
        await stop_all(receivers)
