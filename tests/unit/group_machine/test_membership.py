"""The group machine, step by step: forming, joining at a shared instant, leaving, a new leader,
volume, and the refusals that keep a member from being half-joined."""

from __future__ import annotations

from connect.group import rules
from connect.group.events import (
    Answered,
    ArmTimer,
    ClockUpdate,
    Deadline,
    Finish,
    JoinAsked,
    LeaderState,
    LeaderTimeline,
    LeaveAsked,
    Lost,
    Outcome,
    Timer,
    TimerKind,
    VolumeAsked,
)
from connect.group.membership import Membership
from connect.wire import messages as m
from tests.unit.group_machine.support import (
    CLOCKS,
    GROUP,
    OFFSETS,
    STATE,
    answer,
    done,
    leader_timeline,
    outcomes,
    plan,
    refused,
    sends,
)

LEAD, JOIN, LEAVE, VOLUME = (
    m.GroupStep.LEAD,
    m.GroupStep.JOIN,
    m.GroupStep.LEAVE,
    m.GroupStep.VOLUME,
)
PLAYING, JOINING, LEAVING = (
    m.GroupMemberPhase.PLAYING,
    m.GroupMemberPhase.JOINING,
    m.GroupMemberPhase.LEAVING,
)


def formed(now: int = 0) -> Membership:
    """A group led by a, which took its roster and said where the music is."""
    group = Membership(plan())
    group.start(now)
    answer(group, "a", now=now)
    group.step(LeaderTimeline("a", leader_timeline()), now)
    return group


def with_members(*names: str, now: int = 0) -> Membership:
    group = formed(now)
    for name in names:
        group.step(JoinAsked(name, CLOCKS[name]), now)
        answer(group, name, now=now)
    return group


def phases(group: Membership) -> dict[str, m.GroupMemberPhase]:
    return {x.device_id: x.phase for x in group.roster.members}


# ------------------------------------------------------------------ forming


def test_forming_sends_the_leader_a_roster_of_one() -> None:
    group = Membership(plan())
    actions = group.start(0)
    assert sends(actions, "a") == [
        m.GroupLead(m.Group(GROUP, 1, "a", (m.GroupMember("a", 0, PLAYING, 40),)))
    ]
    assert ArmTimer(Timer(TimerKind.REFRESH), 2_000_000) in actions
    assert outcomes(answer(group, "a", now=10)) == [Outcome("a", LEAD)]


def test_a_leader_that_refuses_to_lead_ends_the_group_before_it_began() -> None:
    group = Membership(plan())
    group.start(0)
    actions = answer(group, "a", ok=False, code=m.ErrorCode.BUSY, now=10)
    assert outcomes(actions)[0].failure == m.Failure(m.ErrorCode.BUSY, "not ready")
    assert isinstance(actions[-1], Finish)
    assert group.over


# ------------------------------------------------------------------ joining


def test_a_join_starts_at_a_shared_instant_in_the_members_clock_with_its_offset() -> None:
    group = formed()
    actions = group.step(JoinAsked("b", CLOCKS["b"], volume=25), 1_000)
    (join,) = sends(actions, "b", m.GroupJoin)
    assert isinstance(join, m.GroupJoin)
    assert join.start_at_us == 1_000 + rules.JOIN_LEAD_US + OFFSETS["b"]
    assert join.fade_ms == 30
    # b's clock minus a's, and how far that may be off: half of each round trip.
    assert (join.timeline.clock_offset_us, join.timeline.offset_uncertainty_us) == (
        OFFSETS["b"] - OFFSETS["a"],
        400,
    )
    assert join.group.member("b") == m.GroupMember("b", 1, JOINING, 25)
    # The leader hears of it in a roster; the members already playing are not touched.
    assert sends(actions, "a") == [m.GroupLead(join.group)]


def test_the_joining_member_plays_where_the_leader_does_at_the_instant() -> None:
    group = formed()
    # Asked at the controller's 1 s, the instant the leader's timeline is anchored at.
    (join,) = sends(group.step(JoinAsked("b", CLOCKS["b"]), 1_000_000), "b", m.GroupJoin)
    assert isinstance(join, m.GroupJoin)
    # At the shared instant the leader's timeline has moved on by the join lead.
    position = join.timeline.position_for_member(join.start_at_us)
    assert position == 12_000_000 + rules.JOIN_LEAD_US


def test_a_member_plays_with_the_group_only_once_it_says_it_joined() -> None:
    group = formed()
    group.step(JoinAsked("b", CLOCKS["b"]), 0)
    assert phases(group) == {"a": PLAYING, "b": JOINING}
    actions = answer(group, "b", edge=400_000, now=400_000)
    assert phases(group) == {"a": PLAYING, "b": PLAYING}
    assert Outcome("b", JOIN) in actions


def test_a_refused_join_leaves_no_trace_and_a_group_of_one_ends() -> None:
    group = formed()
    group.step(JoinAsked("b", CLOCKS["b"]), 0)
    actions = answer(group, "b", ok=False, now=100_000)
    assert outcomes(actions)[0] == Outcome("b", JOIN, m.Failure(m.ErrorCode.TIMEOUT, "not ready"))
    # Back to the leader alone: no group; it forgets it and plays on.
    assert sends(actions, "a") == [m.GroupLeave(GROUP, 3, end_group=True)]
    assert isinstance(actions[-1], Finish)


def test_a_join_never_answered_is_told_to_stop_and_taken_out() -> None:
    group = with_members("c")
    group.step(JoinAsked("b", CLOCKS["b"]), 0)
    actions = group.step(Deadline(Timer(TimerKind.ANSWER, "b")), 2_400_000)
    assert sends(actions, "b") == [m.GroupLeave(GROUP, group.roster.group_epoch - 1)]
    assert outcomes(actions)[0].failure is not None
    assert phases(group) == {"a": PLAYING, "c": PLAYING}


def test_a_join_asked_before_the_leader_says_where_the_music_is_waits_for_it() -> None:
    group = Membership(plan())
    group.start(0)
    assert sends(group.step(JoinAsked("b", CLOCKS["b"]), 0)) == []
    actions = group.step(LeaderTimeline("a", leader_timeline()), 50_000)
    assert len(sends(actions, "b", m.GroupJoin)) == 1


def test_the_late_refusal_of_an_earlier_join_is_not_taken_for_a_later_ones() -> None:
    group = with_members("c")
    (first,) = sends(group.step(JoinAsked("b", CLOCKS["b"]), 0), "b", m.GroupJoin)
    group.step(Deadline(Timer(TimerKind.ANSWER, "b")), 2_400_000)  # silent: told to stop
    (second,) = sends(group.step(JoinAsked("b", CLOCKS["b"]), 2_500_000), "b", m.GroupJoin)
    assert isinstance(first, m.GroupJoin)
    assert isinstance(second, m.GroupJoin)
    # b refuses the first join (the stop called it off), then carries out the second.
    late = refused(JOIN, first.group.group_epoch)
    assert group.step(Answered("b", late), 2_600_000) == []
    assert phases(group)["b"] is JOINING
    answer(group, "b", now=2_900_000)
    assert phases(group)["b"] is PLAYING


def test_joining_twice_is_refused() -> None:
    group = with_members("b")
    (outcome,) = outcomes(group.step(JoinAsked("b", CLOCKS["b"]), 0))
    assert outcome.failure is not None
    assert "already" in outcome.failure.message


# ------------------------------------------------------------------ the timeline


def test_the_leaders_timeline_reaches_each_follower_with_its_own_offset() -> None:
    group = with_members("b", "c")
    actions = group.step(LeaderTimeline("a", leader_timeline(position_us=20_000_000)), 0)
    by_member = {b.clock_offset_us for b in sends(actions, kind=m.GroupTimeline)}  # type: ignore[union-attr]
    assert by_member == {OFFSETS["b"] - OFFSETS["a"], OFFSETS["c"] - OFFSETS["a"]}
    assert sends(actions, "a") == []


def test_a_timeline_from_a_member_that_does_not_lead_is_ignored() -> None:
    group = with_members("b")
    assert group.step(LeaderTimeline("b", leader_timeline("b")), 0) == []


def test_followers_get_the_timeline_again_with_newer_clock_estimates() -> None:
    group = with_members("b")
    group.step(ClockUpdate("b", CLOCKS["b"].__class__(OFFSETS["b"] + 30, 200, 9)), 0)
    actions = group.step(Deadline(Timer(TimerKind.REFRESH)), 2_000_000)
    (timeline,) = sends(actions, "b", m.GroupTimeline)
    assert isinstance(timeline, m.GroupTimeline)
    assert timeline.clock_offset_us == OFFSETS["b"] + 30 - OFFSETS["a"]
    assert ArmTimer(Timer(TimerKind.REFRESH), 4_000_000) in actions


# ------------------------------------------------------------------ leaving


def test_a_leave_fades_out_that_member_alone() -> None:
    group = with_members("b", "c")
    actions = group.step(LeaveAsked("c"), 1_000)
    assert sends(actions, "c") == [
        m.GroupLeave(GROUP, group.roster.group_epoch, 1_000 + 30_000 + OFFSETS["c"], 30)
    ]
    assert sends(actions, "b") == []  # the others are not touched
    assert phases(group)["c"] is LEAVING
    answer(group, "c", now=40_000)
    assert phases(group) == {"a": PLAYING, "b": PLAYING}


def test_a_follower_lost_leaves_the_others_playing() -> None:
    group = with_members("b", "c")
    actions = group.step(Lost("c"), 0)
    assert sends(actions, "b") == []
    assert phases(group) == {"a": PLAYING, "b": PLAYING}
    assert not group.over


# ------------------------------------------------------------------ a new leader


def test_the_leader_lost_the_lowest_ranked_playing_follower_takes_the_session() -> None:
    group = with_members("c", "b", "d")  # ranks 1, 2, 3
    group.step(JoinAsked("d", CLOCKS["d"]), 0)  # refused: already in
    actions = group.step(Lost("a"), 5_000)
    (lead,) = sends(actions, "c")
    assert isinstance(lead, m.GroupLead)
    assert lead.group.leader_device_id == "c"
    assert lead.group.member("a") is None
    assert lead.state is not None
    # The session moves into c's clock, one epoch up; the position clock is the same instant.
    assert lead.state.clock.as_of_us == STATE.clock.as_of_us - OFFSETS["a"] + OFFSETS["c"]
    assert (lead.state.epoch, lead.state.device_id, lead.state.active) == (4, "c", True)
    assert sends(actions, "b") == sends(actions, "d") == []  # nobody else hears a thing


def test_a_new_leader_that_fails_hands_on_to_the_next_in_rank() -> None:
    group = with_members("c", "b")
    group.step(Lost("a"), 0)
    actions = answer(group, "c", ok=False, now=10_000)
    (lead,) = sends(actions, "b", m.GroupLead)
    assert isinstance(lead, m.GroupLead)
    assert lead.group.leader_device_id == "b"
    assert lead.state is not None
    assert lead.state.epoch == 5


def test_a_leader_asked_to_leave_stops_only_once_its_successor_leads() -> None:
    group = with_members("b")
    actions = group.step(LeaveAsked("a"), 0)
    assert sends(actions, "a") == []  # make-before-break: a plays on
    assert group.roster.leader_device_id == "b"
    actions = answer(group, "b", now=20_000)
    (leave,) = sends(actions, "a", m.GroupLeave)
    assert isinstance(leave, m.GroupLeave)
    assert leave.fade_ms == 30
    actions = answer(group, "a", now=60_000)
    assert Outcome("a", LEAVE) in actions
    assert sends(actions, "b") == [m.GroupLeave(GROUP, group.roster.group_epoch, end_group=True)]


def test_a_leader_whose_successor_fails_keeps_the_group() -> None:
    group = with_members("b", "c")
    group.step(LeaveAsked("a"), 0)
    actions = group.step(Lost("b"), 10_000)  # b was to lead
    assert group.roster.leader_device_id == "a"
    assert phases(group) == {"a": PLAYING, "c": PLAYING}
    why = m.Failure(m.ErrorCode.INVALID_ARGUMENT, "b could not take the session over")
    assert Outcome("a", LEAVE, why) in actions


def test_the_leaders_last_state_is_what_a_new_leader_takes() -> None:
    group = with_members("b")
    later = m.PlaybackState("sess-1", 9, device_id="a", active=True, epoch=3)
    group.step(LeaderState("a", later), 0)
    (lead,) = sends(group.step(Lost("a"), 0), "b")
    assert isinstance(lead, m.GroupLead)
    assert lead.state is not None
    assert lead.state.revision == 9


def test_the_leader_lost_with_nobody_playing_ends_the_group() -> None:
    group = formed()
    group.step(JoinAsked("b", CLOCKS["b"]), 0)  # joining, not playing
    actions = group.step(Lost("a"), 0)
    assert sends(actions, "b") == [m.GroupLeave(GROUP, group.roster.group_epoch)]
    assert isinstance(actions[-1], Finish)


# ------------------------------------------------------------------ volume


def test_volume_goes_to_that_member_and_into_the_roster() -> None:
    group = with_members("b")
    actions = group.step(VolumeAsked("b", 70, muted=True), 0)
    assert sends(actions, "b") == [m.GroupVolume(GROUP, "b", 70, True)]
    assert group.roster.member("b") == m.GroupMember("b", 1, PLAYING, 70, True)
    assert outcomes(group.step(Answered("b", done(VOLUME, 0)), 0)) == [Outcome("b", VOLUME)]


def test_requests_after_the_end_are_answered_not_dropped() -> None:
    group = formed()
    group.step(LeaveAsked("a"), 0)
    assert group.over
    (outcome,) = outcomes(group.step(JoinAsked("b", CLOCKS["b"]), 0))
    assert outcome.failure is not None
