"""Groups on the wire (protocol 1.2): every step round-trips, rosters and timelines a member
could not act on are refused in both directions, and the timeline's arithmetic holds."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect.errors import EncodeError, MalformedFrameError
from connect.wire import codec
from connect.wire import messages as m
from connect.wire._pb import connect_pb2 as pb
from tests import strategies as s

PLAYING, JOINING = m.GroupMemberPhase.PLAYING, m.GroupMemberPhase.JOINING
ROSTER = m.Group(
    "g-1",
    3,
    "dev-a",
    (m.GroupMember("dev-a", 0, PLAYING, 40), m.GroupMember("dev-b", 1, JOINING, 25, True)),
)
ITEM = m.QueueItem("q1", "http://127.0.0.1:8000/a.flac", "Tone A")
TIMELINE = m.GroupTimeline(
    "g-1", 3, "sess-1", 42, ITEM, anchor_us=1_000_000, position_us=5_000_000, rate=1.0,
    playing=True, clock_offset_us=-250_000, offset_uncertainty_us=180,
)  # fmt: skip


def round_trip(body: m.Body) -> m.Body:
    return codec.decode(codec.encode(m.Envelope(1, "msg-1", body))).body


@given(s.group_bodies)
def test_every_group_step_round_trips(body: m.Body) -> None:
    assert round_trip(body) == body


@given(s.playback_states(), s.groups())
def test_a_state_carries_its_group_through_a_snapshot(state: m.PlaybackState, group: m.Group):
    snapshot = m.StateSnapshot(replace(state, group=group))
    assert round_trip(snapshot) == snapshot


@given(s.device_infos, st.booleans())
def test_device_info_says_whether_the_device_can_be_a_member(info: m.DeviceInfo, member: bool):
    info = replace(info, capabilities=replace(info.capabilities, group_member=member))
    assert codec.decode_device_info(codec.encode_device_info(info)).capabilities.group_member is (
        member
    )


# ------------------------------------------------------------------ rosters a member refuses

BAD_ROSTERS = {
    "no leader among the members": replace(ROSTER, leader_device_id="dev-z"),
    "a leader that is not playing": replace(ROSTER, leader_device_id="dev-b"),
    "a device twice": replace(ROSTER, members=(*ROSTER.members, m.GroupMember("dev-a", 7))),
    "a rank twice": replace(ROSTER, members=(*ROSTER.members, m.GroupMember("dev-c", 1))),
    "no group id": replace(ROSTER, group_id=""),
    "a member without an id": replace(ROSTER, members=(*ROSTER.members, m.GroupMember("", 2))),
    "a volume over 100": replace(
        ROSTER, members=(ROSTER.members[0], replace(ROSTER.members[1], volume=101))
    ),
}


@pytest.mark.parametrize("roster", BAD_ROSTERS.values(), ids=BAD_ROSTERS.keys())
def test_a_roster_a_member_could_not_act_on_is_never_sent(roster: m.Group) -> None:
    with pytest.raises(EncodeError):
        codec.encode(m.Envelope(1, "x", m.GroupLead(roster)))


@pytest.mark.parametrize("roster", BAD_ROSTERS.values(), ids=BAD_ROSTERS.keys())
def test_a_roster_a_member_could_not_act_on_is_refused_on_arrival(roster: m.Group) -> None:
    wire = pb.Envelope(seq=2, msg_id="w")
    lead = wire.group_lead.group
    lead.group_id, lead.group_epoch = roster.group_id, roster.group_epoch
    lead.leader_device_id = roster.leader_device_id
    for x in roster.members:
        lead.members.add(device_id=x.device_id, rank=x.rank, phase=x.phase.value, volume=x.volume)
    with pytest.raises(MalformedFrameError) as caught:
        codec.decode(wire.SerializeToString())
    assert (caught.value.seq, caught.value.msg_id) == (2, "w")


def test_an_unknown_member_phase_reads_as_joining_never_as_playing() -> None:
    wire = pb.Envelope(seq=2, msg_id="w")
    group = wire.group_lead.group
    group.group_id, group.leader_device_id = "g", "a"
    group.members.add(device_id="a", rank=0, phase=PLAYING.value)
    group.members.add(device_id="b", rank=1, phase=9)  # a newer peer's phase
    body = codec.decode(wire.SerializeToString()).body
    assert isinstance(body, m.GroupLead)
    assert body.group.member("b") == m.GroupMember("b", 1, JOINING, 0)


def test_a_join_whose_timeline_is_another_groups_is_refused_both_ways() -> None:
    join = m.GroupJoin(ROSTER, replace(TIMELINE, group_id="g-2"), 10, 30)
    with pytest.raises(EncodeError, match="another group"):
        codec.encode(m.Envelope(1, "x", join))
    wire = pb.Envelope(seq=1, msg_id="x")
    wire.ParseFromString(codec.encode(m.Envelope(1, "x", replace(join, timeline=TIMELINE))))
    wire.group_join.timeline.group_id = "g-2"
    with pytest.raises(MalformedFrameError, match="another group"):
        codec.decode(wire.SerializeToString())


@pytest.mark.parametrize("field", ["group", "timeline"])
def test_a_join_without_its_roster_or_timeline_is_malformed(field: str) -> None:
    wire = pb.Envelope(seq=1, msg_id="x")
    wire.ParseFromString(codec.encode(m.Envelope(1, "x", m.GroupJoin(ROSTER, TIMELINE, 10))))
    wire.group_join.ClearField(field)
    with pytest.raises(MalformedFrameError, match=f"{field} is missing"):
        codec.decode(wire.SerializeToString())


@pytest.mark.parametrize("step", [0, 9])
def test_an_answer_must_name_a_step_this_version_knows(step: int) -> None:
    wire = pb.Envelope(seq=1, msg_id="x")
    wire.group_done.group_id, wire.group_done.step = "g-1", step
    with pytest.raises(MalformedFrameError, match="group step"):
        codec.decode(wire.SerializeToString())


def test_a_refusal_without_its_failure_is_malformed() -> None:
    wire = pb.Envelope(seq=1, msg_id="x")
    wire.group_refused.group_id, wire.group_refused.step = "g-1", m.GroupStep.JOIN.value
    with pytest.raises(MalformedFrameError, match="failure is missing"):
        codec.decode(wire.SerializeToString())


@pytest.mark.parametrize(
    "timeline",
    [
        replace(TIMELINE, rate=0.0),
        replace(TIMELINE, rate=float("nan")),
        replace(TIMELINE, item=replace(ITEM, uid="")),
        replace(TIMELINE, next_item=replace(ITEM, uid="u" * 129)),
        replace(TIMELINE, group_id=""),
    ],
    ids=["rate 0", "rate nan", "item without uid", "next item uid too long", "no group id"],
)
def test_a_timeline_no_member_could_follow_is_never_sent(timeline: m.GroupTimeline) -> None:
    with pytest.raises(EncodeError):
        codec.encode(m.Envelope(1, "x", timeline))


def test_a_volume_over_100_is_refused_on_arrival() -> None:
    wire = pb.Envelope(seq=1, msg_id="x")
    wire.group_volume.group_id, wire.group_volume.device_id = "g-1", "dev-b"
    wire.group_volume.volume = 101
    with pytest.raises(MalformedFrameError, match="volume"):
        codec.decode(wire.SerializeToString())


# ------------------------------------------------------------------ the timeline's arithmetic


def test_the_timeline_gives_the_position_at_a_leader_instant() -> None:
    assert TIMELINE.position_at(1_000_000) == 5_000_000
    assert TIMELINE.position_at(1_500_000) == 5_500_000
    assert replace(TIMELINE, rate=2.0).position_at(1_500_000) == 6_000_000
    assert replace(TIMELINE, playing=False).position_at(9_000_000) == 5_000_000
    assert TIMELINE.position_at(-10_000_000) == 0  # never before the item's start


def test_a_member_maps_its_own_instant_through_its_clock_offset() -> None:
    # The member's clock reads 250 ms less than the leader's: its 750 000 is the leader's 1 s.
    assert TIMELINE.position_for_member(750_000) == 5_000_000
    assert TIMELINE.position_for_member(1_250_000) == 5_500_000


@given(st.integers(-(2**40), 2**40), st.integers(-(2**40), 2**40))
def test_every_member_computes_one_position_for_one_true_instant(offset_a: int, offset_b: int):
    # Two members whose clocks read leader + offset: at one true instant they agree exactly.
    leader_now = 3_000_000
    a, b = replace(TIMELINE, clock_offset_us=offset_a), replace(TIMELINE, clock_offset_us=offset_b)
    assert a.position_for_member(leader_now + offset_a) == b.position_for_member(
        leader_now + offset_b
    )
