"""The pure rules of groups (proto: "Groups"), the same for every controller and member.

Who may join (`why_not_member`: the negotiated version and the device's capabilities, so a
device that does not speak groups is refused before anything is sent to it), who leads when
the leader goes (`next_leader`: the PLAYING follower of lowest rank, whoever computes it), and
how a timeline reaches a follower (`for_member`: the leader's timeline with that follower's
clock offset, from the controller's estimates of both links).
"""

from __future__ import annotations

from dataclasses import replace

from connect.clock import ClockEstimate
from connect.wire import messages as m

__all__ = [
    "JOIN_LEAD_US",
    "SLOW_JOIN_LEAD_US",
    "for_member",
    "next_leader",
    "offset_between",
    "session_for_new_leader",
    "why_not_member",
]

JOIN_LEAD_US = 200_000
"""From a join request to the shared instant: the joining device opens the media and pre-rolls
meanwhile (Baton's receiver: 19-135 ms for WAV, FLAC, MP3, Ogg and AAC on this project's test
machine, its log says each time), so the new room is heard within 300 ms of the request."""

SLOW_JOIN_LEAD_US = 800_000
"""A join refused for want of time (ERROR_CODE_TIMEOUT: the media did not open before the
instant; a first AAC open took 347 ms) is asked once more with this lead."""

PLAYING = m.GroupMemberPhase.PLAYING


def why_not_member(
    name: str, version: m.ProtocolVersion, capabilities: m.Capabilities
) -> m.Failure | None:
    """Return why the device *name*, on a session negotiated at *version*, cannot join a group
    (ERROR_CODE_UNSUPPORTED, a sentence for the listener), or None when it can."""
    if version < m.GROUPS:
        return m.Failure(
            m.ErrorCode.UNSUPPORTED,
            f"{name} speaks protocol {version}; playing in a group needs {m.GROUPS}",
        )
    if not capabilities.group_member or capabilities.no_timed_start:
        return m.Failure(
            m.ErrorCode.UNSUPPORTED,
            f"{name} cannot play in a group: it cannot start at a given instant",
        )
    return None


def next_leader(group: m.Group, gone: frozenset[str] = frozenset()) -> str | None:
    """Return who leads after the leader (and the devices in *gone*): the PLAYING member of
    lowest rank other than them, or None when no member could."""
    candidates = [
        member
        for member in group.members
        if member.phase is PLAYING
        and member.device_id != group.leader_device_id
        and member.device_id not in gone
    ]
    return min(candidates, key=lambda x: x.rank).device_id if candidates else None


def offset_between(member: ClockEstimate, leader: ClockEstimate) -> tuple[int, int]:
    """Return (the member's clock minus the leader's, how far that may be off), in µs, from a
    controller's estimates of its two links (each is device minus controller)."""
    return member.offset_us - leader.offset_us, member.error_bound_us + leader.error_bound_us


def for_member(
    timeline: m.GroupTimeline, member: ClockEstimate, leader: ClockEstimate
) -> m.GroupTimeline:
    """Return the leader's *timeline* as a follower receives it: with its clock offset."""
    offset, uncertainty = offset_between(member, leader)
    return replace(timeline, clock_offset_us=offset, offset_uncertainty_us=uncertainty)


def session_for_new_leader(
    state: m.PlaybackState, old: ClockEstimate, new: ClockEstimate, device_id: str
) -> m.PlaybackState:
    """Return the old leader's last *state* as the new leader takes it: its clock moved from
    the old leader's clock into the new one's, active there, one epoch above."""
    as_of = new.to_device(old.to_local(state.clock.as_of_us))
    return replace(
        state,
        clock=replace(state.clock, as_of_us=as_of),
        device_id=device_id,
        active=True,
        epoch=state.epoch + 1,
    )
