"""A group's roster and timeline on the wire, both ways, with their checks (protocol 1.2).

Private to the codec. Shared by the state's `group` field (connect.wire._to_wire and
_from_wire) and the group steps' bodies (connect.wire._group_wire). A roster is refused when
it names no leader among its members, when its leader is not playing, or when two members
share a device id or a rank; a timeline when its rate or an item's uid is not one a member
could follow.
"""

from __future__ import annotations

from typing import Any

from connect.wire import messages as m
from connect.wire._checks import check_id, check_percent, check_rate

Wire = Any

_PHASES = {member.value: member for member in m.GroupMemberPhase}
_STEPS = {member.value: member for member in m.GroupStep}


def check_group_id(value: str) -> None:
    """Refuse an empty or over-long group id."""
    if not value:
        raise ValueError("group_id is empty")
    check_id("group_id", value)


def check_roster(group: m.Group) -> None:
    """Refuse a roster a member could not act on (see the module's docstring)."""
    check_group_id(group.group_id)
    ids: set[str] = set()
    ranks: set[int] = set()
    for member in group.members:
        if not member.device_id:
            raise ValueError("a group member without a device id")
        check_id("member device_id", member.device_id)
        check_percent("member volume", member.volume)
        if member.device_id in ids:
            raise ValueError(f"member {member.device_id!r} appears twice")
        if member.rank in ranks:
            raise ValueError(f"two members have rank {member.rank}")
        ids.add(member.device_id)
        ranks.add(member.rank)
    leader = group.member(group.leader_device_id)
    if leader is None:
        raise ValueError(f"leader {group.leader_device_id!r} is not a member")
    if leader.phase is not m.GroupMemberPhase.PLAYING:
        raise ValueError(f"leader {group.leader_device_id!r} is {leader.phase.name}, not PLAYING")


def fill_group(out: Wire, group: m.Group) -> None:
    check_roster(group)
    out.SetInParent()
    out.group_id = group.group_id
    out.group_epoch = group.group_epoch
    out.leader_device_id = group.leader_device_id
    add = out.members.add
    for member in group.members:
        add(
            device_id=member.device_id,
            rank=member.rank,
            phase=member.phase.value,
            volume=member.volume,
            muted=member.muted,
        )


def read_group(w: Wire) -> m.Group:
    members = tuple(
        m.GroupMember(
            x.device_id,
            x.rank,
            _PHASES.get(x.phase, m.GroupMemberPhase.JOINING),
            x.volume,
            x.muted,
        )
        for x in w.members
    )
    group = m.Group(w.group_id, w.group_epoch, w.leader_device_id, members)
    check_roster(group)
    return group


def group_step(number: int) -> m.GroupStep:
    """Read the step an answer names, which every GroupDone and GroupRefused must."""
    try:
        return _STEPS[number]
    except KeyError:
        raise ValueError(f"group step must be LEAD, JOIN, LEAVE or VOLUME, got {number}") from None


def _check_item(field: str, item: m.QueueItem | None) -> None:
    if item is not None:
        if not item.uid:
            raise ValueError(f"{field} has no uid")
        check_id(f"{field} uid", item.uid)


def _fill_item(out: Wire, item: m.QueueItem) -> None:
    out.uid, out.url, out.title, out.artist = item.uid, item.url, item.title, item.artist
    out.album, out.duration_ms = item.album, item.duration_ms
    out.artwork_url, out.content_type = item.artwork_url, item.content_type


def _read_item(w: Wire) -> m.QueueItem:
    return m.QueueItem(
        w.uid, w.url, w.title, w.artist, w.album, w.duration_ms, w.artwork_url, w.content_type
    )


def check_timeline(t: m.GroupTimeline) -> None:
    """Refuse a timeline no member could follow (no group id, a bad rate or item uid)."""
    check_group_id(t.group_id)
    check_id("session_id", t.session_id)
    check_rate(t.rate)
    _check_item("timeline item", t.item)
    _check_item("timeline next_item", t.next_item)


def fill_timeline(out: Wire, t: m.GroupTimeline) -> None:
    check_timeline(t)
    out.SetInParent()
    out.group_id, out.group_epoch = t.group_id, t.group_epoch
    out.session_id, out.revision = t.session_id, t.revision
    if t.item is not None:
        _fill_item(out.item, t.item)
    if t.next_item is not None:
        _fill_item(out.next_item, t.next_item)
    out.anchor_us, out.position_us = t.anchor_us, t.position_us
    out.rate, out.playing = t.rate, t.playing
    out.clock_offset_us = t.clock_offset_us
    out.offset_uncertainty_us = t.offset_uncertainty_us


def _optional_item(w: Wire, name: str) -> m.QueueItem | None:
    return _read_item(getattr(w, name)) if w.HasField(name) else None


def read_timeline(w: Wire) -> m.GroupTimeline:
    t = m.GroupTimeline(
        group_id=w.group_id,
        group_epoch=w.group_epoch,
        session_id=w.session_id,
        revision=w.revision,
        item=_optional_item(w, "item"),
        anchor_us=w.anchor_us,
        position_us=w.position_us,
        rate=w.rate,
        playing=w.playing,
        next_item=_optional_item(w, "next_item"),
        clock_offset_us=w.clock_offset_us,
        offset_uncertainty_us=w.offset_uncertainty_us,
    )
    check_timeline(t)
    return t
