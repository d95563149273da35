"""A group's roster and timeline (protocol 1.2, proto: "Groups"), shared by every group step."""

from __future__ import annotations

from dataclasses import dataclass

from connect.wire._enums import GroupMemberPhase
from connect.wire._queue import QueueItem


@dataclass(frozen=True, slots=True)
class GroupMember:
    """One device of a group: its join order (`rank`), phase and volume as last known."""

    device_id: str
    rank: int
    phase: GroupMemberPhase = GroupMemberPhase.JOINING
    volume: int = 50
    muted: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """A group's roster: its id, epoch (grows with each change), leader and members."""

    group_id: str
    group_epoch: int
    leader_device_id: str
    members: tuple[GroupMember, ...] = ()

    def member(self, device_id: str) -> GroupMember | None:
        """Return the member *device_id*, or None if it is not in the roster."""
        return next((m for m in self.members if m.device_id == device_id), None)


@dataclass(frozen=True, slots=True)
class GroupTimeline:
    """Where the group's content is: `position_us` of `item` at the leader's instant `anchor_us`.

    `clock_offset_us` is the receiving member's clock minus the leader's, so a member instant T
    is the leader instant T - clock_offset_us.
    """

    group_id: str
    group_epoch: int
    session_id: str
    revision: int
    item: QueueItem | None
    anchor_us: int
    position_us: int
    rate: float = 1.0
    playing: bool = False
    next_item: QueueItem | None = None
    clock_offset_us: int = 0
    offset_uncertainty_us: int = 0

    def position_at(self, leader_us: int) -> int:
        """Return the content position (µs) at *leader_us*, an instant of the leader's clock."""
        if not self.playing:
            return self.position_us
        return max(0, self.position_us + round((leader_us - self.anchor_us) * self.rate))

    def position_for_member(self, member_us: int) -> int:
        """Return the content position (µs) due at *member_us*, an instant of the member's clock."""
        return self.position_at(member_us - self.clock_offset_us)
