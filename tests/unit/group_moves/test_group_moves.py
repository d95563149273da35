"""A transfer that touches a group (client/group_moves.py and the machines' parts in it): which
transfer runs, who is told what, the refusals in words; the followers' leave at an instant
(connect/group/membership.py) and a switch no sooner than a given lead (coordination.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from client.group_moves import GroupMove, plan_move
from client.transfer_json import options_from_json, options_json, outcome_from_json, outcome_json
from connect.clock import ClockEstimate
from connect.errors import GroupRefusedError
from connect.group.events import LeaderTimeline, LeaveAsked
from connect.group.reports import GroupView, MemberView
from connect.transfer import coordination as c
from connect.transfer.coordination import TransferOutcome
from connect.wire import messages as m
from tests.unit.group_machine.support import GROUP, OFFSETS, leader_timeline, sends
from tests.unit.group_machine.test_membership import with_members

KITCHEN = GroupView(
    "grp-k",
    "hall",
    (
        MemberView("hall", "Hall", "playing", 50, leads=True),
        MemberView("kitchen", "Kitchen", "playing", 40),
        MemberView("bath", "Bath", "playing", 30),
    ),
)
ATTIC = GroupView(
    "grp-a",
    "attic",
    (
        MemberView("attic", "Attic", "playing", 50, leads=True),
        MemberView("den", "Den", "playing", 50),
    ),
)


def test_a_transfer_between_devices_in_no_group_is_the_ordinary_one() -> None:
    assert plan_move("terrace", "porch", [KITCHEN]) == GroupMove("terrace", "porch")


def test_from_a_follower_the_group_moves_from_its_leader_and_says_so() -> None:
    move = plan_move("kitchen", "terrace", [ATTIC, KITCHEN])
    assert move == GroupMove(
        "hall",
        "terrace",
        ("kitchen", "bath"),
        "grp-k",
        "Kitchen follows Hall in a group: moving the group's music from Hall",
    )


def test_from_the_leader_nothing_needs_saying() -> None:
    move = plan_move("hall", "terrace", [KITCHEN])
    assert (move.source_id, move.followers, move.said, move.onto) == (
        "hall",
        ("kitchen", "bath"),
        "",
        False,
    )


def test_onto_a_follower_the_music_goes_to_its_leader_and_the_group_follows() -> None:
    move = plan_move("terrace", "bath", [KITCHEN])
    assert move == GroupMove(
        "terrace",
        "hall",
        ("kitchen", "bath"),
        "grp-k",
        "Bath follows Hall in a group: moving the music to Hall",
        onto=True,
    )


def test_within_one_group_or_between_two_it_is_refused_in_words() -> None:
    with pytest.raises(GroupRefusedError, match="Kitchen and Hall play in one group already"):
        plan_move("kitchen", "hall", [KITCHEN])
    with pytest.raises(GroupRefusedError, match="play in two groups") as refused:
        plan_move("den", "kitchen", [ATTIC, KITCHEN])
    assert refused.value.code == "busy"
    assert "ungroup one of them first" in str(refused.value)


def test_while_a_member_joins_or_leaves_it_is_refused_in_words() -> None:
    joining = MemberView("bath", "Bath", "joining", 30)
    group = replace(KITCHEN, members=(*KITCHEN.members[:2], joining))
    for source, target in (("kitchen", "terrace"), ("terrace", "hall")):
        with pytest.raises(GroupRefusedError, match="Bath is joining the group led by Hall"):
            plan_move(source, target, [group])


def test_options_and_outcomes_cross_the_keeper_unchanged() -> None:
    options = m.TransferOptions(
        m.TransferMode.STOP_FIRST, m.VolumePolicy.KEEP_TARGET, m.SourceAfter.STOP, True, 120
    )
    assert options_from_json(options_json(options)) == options
    with pytest.raises(ValueError, match="fade_ms"):
        options_from_json(options_json(options) | {"fade_ms": -1})
    timings = m.TransferTimings(10, 20, 30, -29_000, 1, 2, 3, 4, 5)
    outcome = TransferOutcome("t", m.TransferMode.HANDOFF, "a", "b", None, timings, revision=9)
    assert outcome_from_json(outcome_json(outcome)) == outcome
    failed = replace(outcome, failure=m.Failure(m.ErrorCode.BUSY, "no"), timings=None)
    assert outcome_from_json(outcome_json(failed)) == failed


def test_a_follower_asked_to_leave_at_an_instant_is_silent_from_then() -> None:
    group = with_members("b", "c")
    actions = group.step(LeaveAsked("c", at_us=500_000), 1_000)
    epoch = group.roster.group_epoch
    assert sends(actions, "c") == [m.GroupLeave(GROUP, epoch, 500_000 + OFFSETS["c"], 30)]
    # An instant sooner than a fade from now: one fade from now, as any leave.
    actions = group.step(LeaveAsked("b", at_us=2_000), 1_000)
    assert sends(actions, "b")[0].leave_at_us == 31_000 + OFFSETS["b"]  # type: ignore[union-attr]


NOW = 10_000_000
ITEM = m.QueueItem("u1", "http://media/track.wav", duration_ms=600_000)
STATE = m.PlaybackState(
    session_id="s1", revision=4, queue=(ITEM,), current_uid="u1",
    clock=m.PlaybackClock(30_000, NOW, 1.0, True), status=m.PlaybackStatus.PLAYING,
    volume=50, active=True, device_id="src",
)  # fmt: skip
LINK = ClockEstimate(0, 0, 3)


def _switch(min_lead_us: int) -> m.TransferCommit:
    plan = c.Plan(
        "t1", "src", "tgt", m.TransferOptions(), STATE, LINK, LINK, NOW, 3_000_000, "A", "B",
        min_lead_us=min_lead_us,
    )  # fmt: skip
    machine = c.Coordination(plan)
    machine.start(NOW)
    ready_at = NOW + 100_000
    ready = m.TransferReady("t1", STATE.clock.position_at(ready_at + 40_000), ready_at, 0, 30_000)
    actions = machine.step(c.Ready(m.TransferRole.TARGET, ready), ready_at)
    [commit] = [a.body for a in actions if isinstance(a, c.Send)]
    assert isinstance(commit, m.TransferCommit)
    return commit


def test_a_switch_comes_no_sooner_than_the_lead_asked_where_the_source_is_then() -> None:
    own = _switch(0)
    assert own.switch_at_us < NOW + 100_000 + 100_000
    later = _switch(450_000)
    assert later.switch_at_us == NOW + 100_000 + 450_000
    assert later.position_ms == STATE.clock.position_at(later.switch_at_us)


def test_a_leader_s_timeline_older_than_the_one_announced_is_not_relayed() -> None:
    group = with_members("b")
    group.step(LeaderTimeline("a", leader_timeline()), 0)  # revision 7
    announced = replace(leader_timeline(position_us=40_000_000), revision=9)
    assert sends(group.step(LeaderTimeline("a", announced), 0), "b") != []
    # The leader's periodic timeline of its old session, sent before it took the new one.
    assert sends(group.step(LeaderTimeline("a", replace(announced, revision=8)), 0)) == []
    # Its own once it took the session: the same revision or a later one, relayed.
    assert sends(group.step(LeaderTimeline("a", announced), 0), "b") != []
