"""The pure rules of groups: who may join (version and capabilities), who leads next, and how
a session and a timeline move between clocks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from connect.clock import ClockEstimate
from connect.group import rules
from connect.wire import messages as m
from tests.unit.group_machine.support import STATE, leader_timeline

PLAYING, JOINING, LEAVING = (
    m.GroupMemberPhase.PLAYING,
    m.GroupMemberPhase.JOINING,
    m.GroupMemberPhase.LEAVING,
)
CAN = m.Capabilities(group_member=True)


def test_a_device_on_a_session_below_1_2_is_refused_with_the_reason() -> None:
    failure = rules.why_not_member("Kitchen", m.ProtocolVersion(1, 1), CAN)
    assert failure == m.Failure(
        m.ErrorCode.UNSUPPORTED, "Kitchen speaks protocol 1.1; playing in a group needs 1.2"
    )


@pytest.mark.parametrize(
    "capabilities",
    [m.Capabilities(), replace(CAN, no_timed_start=True)],
    ids=["not a group member", "no timed start"],
)
def test_a_device_that_cannot_start_at_an_instant_is_refused(capabilities: m.Capabilities):
    failure = rules.why_not_member("Hall", m.GROUPS, capabilities)
    assert failure is not None
    assert failure.code is m.ErrorCode.UNSUPPORTED
    assert "Hall cannot play in a group" in failure.message


def test_a_device_that_speaks_groups_may_join() -> None:
    assert rules.why_not_member("Hall", m.ProtocolVersion(1, 3), CAN) is None


def test_a_device_that_cannot_group_speaks_below_1_2() -> None:
    # Baton speaks 1.2 (its receiver plays in groups); a bridge's range stops below it, so a
    # controller refuses it by its version before sending it anything.
    assert m.PROTOCOL_V1.highest == m.GROUPS
    assert m.PROTOCOL_V1_ALONE.highest < m.GROUPS
    assert rules.why_not_member("Kitchen MPD", m.PROTOCOL_V1_ALONE.highest, CAN) is not None


def roster(*members: m.GroupMember, leader: str = "a") -> m.Group:
    return m.Group("g", 1, leader, members)


def test_the_next_leader_is_the_playing_follower_of_lowest_rank() -> None:
    group = roster(
        m.GroupMember("a", 0, PLAYING),
        m.GroupMember("b", 4, PLAYING),
        m.GroupMember("c", 2, JOINING),  # not playing: cannot lead
        m.GroupMember("d", 3, PLAYING),
        m.GroupMember("e", 1, LEAVING),
    )
    assert rules.next_leader(group) == "d"
    assert rules.next_leader(group, frozenset({"d"})) == "b"
    assert rules.next_leader(group, frozenset({"b", "d"})) is None


def test_the_next_leader_does_not_depend_on_the_rosters_order() -> None:
    members = [m.GroupMember("a", 0, PLAYING), m.GroupMember("x", 7, PLAYING)]
    members += [m.GroupMember("y", 5, PLAYING)]
    assert rules.next_leader(roster(*members)) == rules.next_leader(roster(*reversed(members)))


def test_a_follower_gets_the_timeline_with_its_offset_to_the_leader() -> None:
    leader, member = ClockEstimate(1_000, 600, 4), ClockEstimate(-4_000, 200, 4)
    timeline = rules.for_member(leader_timeline(), member, leader)
    assert (timeline.clock_offset_us, timeline.offset_uncertainty_us) == (-5_000, 400)
    assert replace(timeline, clock_offset_us=0, offset_uncertainty_us=0) == leader_timeline()


def test_a_new_leader_takes_the_session_at_the_same_true_instant() -> None:
    old, new = ClockEstimate(1_000_000, 400, 8), ClockEstimate(-2_000_000, 400, 8)
    taken = rules.session_for_new_leader(STATE, old, new, "b")
    assert taken.clock.as_of_us == STATE.clock.as_of_us - 3_000_000
    assert taken.clock.position_ms == STATE.clock.position_ms
    assert (taken.device_id, taken.active, taken.epoch) == ("b", True, STATE.epoch + 1)
