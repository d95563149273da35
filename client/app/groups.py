"""Groups as the screens show them, from the rosters the devices publish (no Qt).

A group's members each carry its roster in their PlaybackState (`m.Group`, protocol 1.2); the
rosters may differ for a moment while a change spreads, so the one with the highest epoch is
the group. A group is shown as one entry: its name ("Living Room + Kitchen"), then its
members, the leader first and the others in join order, each with its phase and volume.
A roster of one device (the others left) is no group to show: that device plays alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from client.app import views as v
from connect.wire import messages as m

PHASE_WORDS = {
    m.GroupMemberPhase.JOINING: "joining…",
    m.GroupMemberPhase.PLAYING: "in sync",
    m.GroupMemberPhase.LEAVING: "leaving…",
}


@dataclass(frozen=True)
class MemberShown:
    """One member of a shown group."""

    device_id: str
    name: str
    phase: m.GroupMemberPhase
    volume: int
    muted: bool
    leads: bool

    @property
    def words(self) -> str:
        """Return what the member does, in words ("leads", "joining…", "in sync")."""
        if self.leads:
            return "leads the group"
        return PHASE_WORDS[self.phase]


@dataclass(frozen=True)
class GroupShown:
    """A group as one entry: its members, the leader first."""

    group_id: str
    epoch: int
    members: tuple[MemberShown, ...]

    @property
    def leader_id(self) -> str:
        """Return the leader's device id."""
        return self.members[0].device_id

    @property
    def name(self) -> str:
        """Return the group's name: its members' names, the leader first."""
        return " + ".join(member.name for member in self.members)

    @property
    def ids(self) -> tuple[str, ...]:
        """Return the members' device ids, the leader first."""
        return tuple(member.device_id for member in self.members)

    def member(self, device_id: str) -> MemberShown | None:
        """Return member *device_id*, or None."""
        return next((m for m in self.members if m.device_id == device_id), None)


def groups_shown(views: Iterable[v.DeviceView]) -> tuple[GroupShown, ...]:
    """Return the groups that *views* play in, newest roster each, in the order of *views*."""
    views = list(views)
    names = {view.id: view.name for view in views}
    newest: dict[str, m.Group] = {}
    for view in views:
        roster = view.group
        if roster is None or not view.online:
            continue
        held = newest.get(roster.group_id)
        if held is None or roster.group_epoch > held.group_epoch:
            newest[roster.group_id] = roster
    shown = []
    for roster in newest.values():
        ordered = sorted(
            roster.members, key=lambda g: (g.device_id != roster.leader_device_id, g.rank)
        )
        members = tuple(
            MemberShown(
                g.device_id,
                names.get(g.device_id, g.device_id[:8]),
                g.phase,
                g.volume,
                g.muted,
                g.device_id == roster.leader_device_id,
            )
            for g in ordered
        )
        if len(members) >= 2:
            shown.append(GroupShown(roster.group_id, roster.group_epoch, members))
    return tuple(shown)


def group_of(groups: Sequence[GroupShown], device_id: str) -> GroupShown | None:
    """Return the shown group *device_id* is a member of, or None."""
    return next((g for g in groups if g.member(device_id) is not None), None)


def where_playing(views: Iterable[v.DeviceView], device_id: str, name: str) -> str:
    """Return where the music of *device_id* (named *name*) plays: its group's name when it
    plays in one ("Living Room + Kitchen"), else *name*."""
    group = group_of(groups_shown(views), device_id)
    return group.name if group is not None else name


def arranged(
    views: Sequence[v.DeviceView], groups: Sequence[GroupShown]
) -> list[tuple[v.DeviceView, GroupShown | None]]:
    """Return *views* in the order a list shows them: each group's members together, the
    leader first, where the group's first member was; other devices where they were."""
    by_id = {view.id: view for view in views}
    placed: set[str] = set()
    rows: list[tuple[v.DeviceView, GroupShown | None]] = []
    for view in views:
        if view.id in placed:
            continue
        group = group_of(groups, view.id)
        if group is None:
            rows.append((view, None))
            placed.add(view.id)
            continue
        for member_id in group.ids:
            member = by_id.get(member_id)
            if member is not None and member_id not in placed:
                rows.append((member, group))
                placed.add(member_id)
    return rows


@dataclass(frozen=True)
class Together:
    """What "Play here too" on a device does: which ids to group, and its words."""

    device_ids: tuple[str, ...]  # for the group action: the leader (or playing device) first
    text: str  # the button's text
    accessible: str  # its accessible name


def together(
    view: v.DeviceView,
    playing: v.DeviceView | None,
    groups: Sequence[GroupShown],
) -> Together | None:
    """Return what "Play here too" on *view* does while *playing* plays, or None when it is
    not offered: nothing plays, it is that device or already in its group, in another group,
    offline, locked, or either device cannot play in a group."""
    if playing is None or view.id == playing.id or not view.online or view.locked:
        return None
    if not (view.can_group and playing.can_group) or group_of(groups, view.id) is not None:
        return None
    group = group_of(groups, playing.id)
    if group is None:
        return Together(
            (playing.id, view.id), "Play here too", f"Play on {view.name} too, with {playing.name}"
        )
    return Together(
        (group.leader_id, view.id), "Add to group", f"Add {view.name} to the group {group.name}"
    )
