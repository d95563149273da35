"""A device's group machine (connect/group/member.py): joining at the instant or not at all,
following, leaving, leading, volume; and under random runs, never half-joined."""

from __future__ import annotations

import os
from dataclasses import replace

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from connect.group.member import (
    Abandon,
    ArmInstant,
    Follow,
    InstantPassed,
    Member,
    MemberAction,
    OutputEdge,
    Preroll,
    Prerolled,
    Publish,
    Received,
    Reply,
    Role,
    SendTimeline,
    SetVolume,
    StartAt,
    StopAt,
    TakeSession,
)
from connect.wire import messages as m
from tests.unit.group_machine.support import GROUP, ITEM, STATE

PLAYING, JOINING = m.GroupMemberPhase.PLAYING, m.GroupMemberPhase.JOINING
LEAD, JOIN, LEAVE, VOLUME = (
    m.GroupStep.LEAD,
    m.GroupStep.JOIN,
    m.GroupStep.LEAVE,
    m.GroupStep.VOLUME,
)
ROSTER = m.Group(GROUP, 2, "a", (m.GroupMember("a", 0, PLAYING), m.GroupMember("b", 1, JOINING)))
# The leader's clock is 1 s ahead of b's: b's 9 s is the leader's 10 s, at 30 s into the item.
TIMELINE = m.GroupTimeline(
    GROUP, 2, "sess-1", 7, ITEM, 10_000_000, 30_000_000, 1.0, True, clock_offset_us=-1_000_000
)
JOIN_AT = 9_400_000
JOIN_STEP = m.GroupJoin(ROSTER, TIMELINE, JOIN_AT, 30)


def replies(actions: list[MemberAction]) -> list[m.GroupDone | m.GroupRefused]:
    return [a.body for a in actions if isinstance(a, Reply)]


def following() -> Member:
    b = Member("b")
    b.step(Received(JOIN_STEP), 9_000_000)
    b.step(Prerolled(), 9_200_000)
    b.step(OutputEdge(JOIN_AT, 30_400_000), JOIN_AT)
    return b


def test_a_join_prerolls_where_the_timeline_will_be_at_the_instant() -> None:
    actions = Member("b").step(Received(JOIN_STEP), 9_000_000)
    # At b's 9.4 s the leader's clock reads 10.4 s: 30.4 s into the item.
    assert actions == [Preroll(ITEM, 30_400_000), ArmInstant(JOIN_AT)]


def test_prerolled_in_time_it_starts_at_the_instant_with_a_fade_and_says_so() -> None:
    b = Member("b")
    b.step(Received(JOIN_STEP), 9_000_000)
    assert b.step(Prerolled(), 9_200_000) == [StartAt(JOIN_AT, 30)]
    actions = b.step(OutputEdge(JOIN_AT + 40, 30_400_040), JOIN_AT + 40)
    assert actions == [
        Reply(m.GroupDone(GROUP, JOIN, 2, JOIN_AT + 40, 30_400_040)),
        Follow(TIMELINE),
        Publish(ROSTER),
    ]
    assert b.role is Role.FOLLOWING


def test_a_join_not_ready_by_the_instant_plays_nothing_and_is_refused() -> None:
    b = Member("b")
    b.step(Received(JOIN_STEP), 9_000_000)
    actions = b.step(InstantPassed(), JOIN_AT)
    assert actions == [
        Abandon(),
        Reply(
            m.GroupRefused(
                GROUP, JOIN, m.Failure(m.ErrorCode.TIMEOUT, "not ready by the instant"), 2
            )
        ),
    ]
    assert b.step(Prerolled(), JOIN_AT + 1) == []  # too late: nothing starts
    assert (b.role, b.group) == (Role.ALONE, None)


def test_a_preroll_done_after_the_instant_starts_nothing() -> None:
    # The player answered late, before the instant's timer was fed: starting now would be late.
    b = Member("b")
    b.step(Received(JOIN_STEP), 9_000_000)
    actions = b.step(Prerolled(), JOIN_AT + 5_000)
    assert not any(isinstance(a, StartAt) for a in actions)
    (reply,) = replies(actions)
    assert isinstance(reply, m.GroupRefused)
    assert reply.failure.code is m.ErrorCode.TIMEOUT


def test_a_join_whose_media_fails_plays_nothing_and_says_why() -> None:
    b = Member("b")
    b.step(Received(JOIN_STEP), 9_000_000)
    failure = m.Failure(m.ErrorCode.MEDIA_NOT_FOUND, "404")
    assert replies(b.step(Prerolled(failure), 9_100_000)) == [
        m.GroupRefused(GROUP, JOIN, failure, 2)
    ]
    assert b.role is Role.ALONE


def test_a_join_for_an_instant_already_past_is_refused_at_once() -> None:
    (reply,) = replies(Member("b").step(Received(JOIN_STEP), JOIN_AT))
    assert isinstance(reply, m.GroupRefused)
    assert reply.failure.code is m.ErrorCode.TIMEOUT


def test_a_join_is_refused_when_the_roster_does_not_have_this_device_joining() -> None:
    (reply,) = replies(Member("c").step(Received(JOIN_STEP), 9_000_000))
    assert isinstance(reply, m.GroupRefused)
    assert reply.failure.code is m.ErrorCode.INVALID_ARGUMENT


def test_a_member_already_in_a_group_refuses_another_join() -> None:
    (reply,) = replies(following().step(Received(JOIN_STEP), 20_000_000))
    assert isinstance(reply, m.GroupRefused)
    assert reply.failure.code is m.ErrorCode.BUSY


def test_a_follower_follows_newer_timelines_only() -> None:
    b = following()
    newer = replace(TIMELINE, revision=8, position_us=0)
    assert b.step(Received(newer), 0) == [Follow(newer)]
    assert b.step(Received(TIMELINE), 0) == []  # older
    assert b.step(Received(replace(newer, group_id="other")), 0) == []


def test_a_follower_leaves_with_a_fade_and_says_when_it_went_quiet() -> None:
    b = following()
    leave = m.GroupLeave(GROUP, 4, 12_000_000, 30)
    assert b.step(Received(leave), 11_970_000) == [StopAt(12_000_000, 30)]
    actions = b.step(OutputEdge(12_000_020, 33_000_020), 12_000_020)
    assert actions == [Reply(m.GroupDone(GROUP, LEAVE, 4, 12_000_020, 33_000_020)), Publish(None)]
    assert b.role is Role.ALONE


def test_a_join_told_to_stop_keeps_nothing() -> None:
    b = Member("b")
    b.step(Received(JOIN_STEP), 9_000_000)
    actions = b.step(Received(m.GroupLeave(GROUP, 3)), 9_100_000)
    called_off = m.Failure(m.ErrorCode.TIMEOUT, "called off by a GroupLeave")
    assert actions == [
        Abandon(),
        Reply(m.GroupRefused(GROUP, JOIN, called_off, 2)),  # the join's epoch
        Reply(m.GroupDone(GROUP, LEAVE, 3)),
        Publish(None),
    ]


def test_a_follower_takes_the_session_when_it_is_made_leader() -> None:
    b = following()
    roster = m.Group(GROUP, 5, "b", (m.GroupMember("b", 1, PLAYING),))
    actions = b.step(Received(m.GroupLead(roster, STATE)), 0)
    assert actions == [
        TakeSession(STATE),
        Publish(roster),
        SendTimeline(),
        Reply(m.GroupDone(GROUP, LEAD, 5)),
    ]
    assert b.role is Role.LEADING


def test_forming_needs_a_session_held_here() -> None:
    roster = m.Group(GROUP, 1, "a", (m.GroupMember("a", 0, PLAYING),))
    (reply,) = replies(Member("a").step(Received(m.GroupLead(roster)), 0))
    assert isinstance(reply, m.GroupRefused)
    assert reply.failure.code is m.ErrorCode.NOT_ACTIVE
    actions = Member("a").step(Received(m.GroupLead(roster), holds_session=True), 0)
    assert actions == [Publish(roster), SendTimeline(), Reply(m.GroupDone(GROUP, LEAD, 1))]


def test_the_group_ends_on_its_last_member_which_plays_on() -> None:
    a = Member("a")
    roster = m.Group(GROUP, 1, "a", (m.GroupMember("a", 0, PLAYING),))
    a.step(Received(m.GroupLead(roster), holds_session=True), 0)
    actions = a.step(Received(m.GroupLeave(GROUP, 6, end_group=True)), 0)
    assert actions == [Publish(None), Reply(m.GroupDone(GROUP, LEAVE, 6))]  # no StopAt


def test_volume_is_this_members_own() -> None:
    b = following()
    assert b.step(Received(m.GroupVolume(GROUP, "b", 20, True)), 0) == [
        SetVolume(20, True),
        Reply(m.GroupDone(GROUP, VOLUME)),
    ]
    (reply,) = replies(b.step(Received(m.GroupVolume(GROUP, "c", 20)), 0))
    assert isinstance(reply, m.GroupRefused)


# ------------------------------------------------------------------ random runs


class MemberRun(RuleBasedStateMachine):
    """Steps, player answers and instants in any order: the device is never half-joined."""

    def __init__(self) -> None:
        super().__init__()
        self.b = Member("b")
        self.now = 9_000_000
        self.started = False  # a StartAt went out for the join in progress
        self.joins_open = 0  # joins received and not answered yet
        self.output_on = False

    def feed(self, event: object, busy: bool = False) -> None:
        actions = self.b.step(event, self.now)  # type: ignore[arg-type]
        if busy:  # a join refused because another is under way: that one is untouched
            assert [type(a) for a in actions] == [Reply]
            self.joins_open -= 1
            return
        for action in actions:
            if isinstance(action, StartAt):
                assert self.b.role is Role.STARTING
                assert action.at_us > self.now  # never a start already late
                self.started = True
            if isinstance(action, Reply) and action.body.step is JOIN:
                self.joins_open -= 1
                assert self.joins_open >= 0
                if isinstance(action.body, m.GroupRefused):
                    # Never half-joined: a refused join asked for no output, keeps nothing.
                    assert not self.started
                    assert self.b.role is Role.ALONE
                else:
                    assert self.started or self.no_item
                self.started = False
            if isinstance(action, StopAt | Abandon):
                self.started = False

    no_item = False

    @rule(at=st.integers(-200_000, 800_000), item=st.booleans())
    def join(self, at: int, item: bool) -> None:
        timeline = TIMELINE if item else replace(TIMELINE, item=None)
        before = self.b.role
        self.joins_open += 1
        busy = before is not Role.ALONE
        if not busy:
            self.no_item = not item  # a join with nothing to play starts no output
        self.feed(Received(m.GroupJoin(ROSTER, timeline, self.now + at, 30)), busy)
        assert not busy or self.b.role is before  # refused: nothing changed

    @rule(ok=st.booleans())
    def prerolled(self, ok: bool) -> None:
        self.feed(Prerolled(None if ok else m.Failure(m.ErrorCode.MEDIA_NOT_FOUND, "404")))

    @rule()
    def instant(self) -> None:
        self.feed(InstantPassed())

    @rule()
    def edge(self) -> None:
        self.feed(OutputEdge(self.now, 0))

    @rule(end=st.booleans())
    def leave(self, end: bool) -> None:
        self.feed(Received(m.GroupLeave(GROUP, 9, self.now, 30, end)))

    @rule(us=st.integers(0, 600_000))
    def wait(self, us: int) -> None:
        self.now += us

    def teardown(self) -> None:
        # The instant comes, the output answers: every join received has had its one reply.
        self.now += 1_000_000
        self.feed(InstantPassed())
        self.feed(OutputEdge(self.now, 0))
        assert self.joins_open == 0

    @invariant()
    def alone_means_no_group(self) -> None:
        assert (self.b.role is Role.ALONE) == (self.b.group is None)


def test_a_device_is_never_half_joined_under_random_runs() -> None:
    run_state_machine_as_test(
        MemberRun,
        settings=settings(
            # 300 take ~2 s, the same every run; BATON_GROUP_EXAMPLES hunts with new ones.
            max_examples=int(os.environ.get("BATON_GROUP_EXAMPLES", "300")),
            stateful_step_count=30,
            deadline=None,
            derandomize="BATON_GROUP_EXAMPLES" not in os.environ,
        ),
    )
