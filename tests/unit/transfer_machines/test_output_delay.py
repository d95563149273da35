"""A target behind a sound server (an output delay inside its start lead): the machines leave it
that delay whole, and give the source's acknowledgement its own room (rules.ACK_SLACK_US).

Such a target starts its player the output's delay before the switch instant, so a commit that
reaches it later than that makes it late, whatever else its start lead holds.
"""

from __future__ import annotations

from connect.clock import ClockEstimate
from connect.transfer import coordination as c
from connect.transfer import rules
from connect.transfer import target as t
from connect.transfer.ledger import Ledger
from connect.transfer.roles import Reply
from connect.wire import messages as m

DELAY_US = 175_000  # what Baton's pulse output reports (devices/_pulse_stream.py)
NOW = 10_000_000
ITEM = m.QueueItem("u1", "http://media/track.wav", duration_ms=600_000)
STATE = m.PlaybackState(
    session_id="s1", revision=4, queue=(ITEM,), current_uid="u1",
    clock=m.PlaybackClock(30_000, NOW, 1.0, True), status=m.PlaybackStatus.PLAYING,
    volume=50, active=True, device_id="src",
)  # fmt: skip
NO_DELAY = ClockEstimate(0, 0, 3)  # a link with no round trip: only the rules count


def _coordination() -> tuple[c.Coordination, int]:
    options = m.TransferOptions(mode=m.TransferMode.HANDOFF)
    plan = c.Plan(
        "t1", "src", "tgt", options, STATE, NO_DELAY, NO_DELAY, NOW, 3_000_000, "A", "B",
        target_address=("tgt", "http://tgt"),
    )  # fmt: skip
    coordination = c.Coordination(plan)
    coordination.start(NOW)
    return coordination, NOW + 100_000  # Ready comes 100 ms after the request


def _target_ready(at: int, start_lead_us: int, output_delay_us: int) -> m.TransferReady:
    position = STATE.clock.position_at(at + 400_000)  # pre-rolled well ahead: no seek needed
    return m.TransferReady("t1", position, at, output_delay_us, start_lead_us)


def _commit_for(actions: list[c.Action], role: m.TransferRole) -> m.TransferCommit:
    [commit] = [
        a.body for a in actions
        if isinstance(a, c.Send) and a.role is role and isinstance(a.body, m.TransferCommit)
    ]  # fmt: skip
    return commit


def test_the_switch_leaves_the_acknowledgement_its_slack_and_the_target_its_delay() -> None:
    coordination, ready_at = _coordination()
    start_lead = t.START_LEAD_US + DELAY_US
    ready = _target_ready(ready_at, start_lead, DELAY_US)
    actions = coordination.step(c.Ready(m.TransferRole.TARGET, ready), ready_at)
    source_commit = _commit_for(actions, m.TransferRole.SOURCE)
    switch_at = source_commit.switch_at_us
    assert switch_at >= ready_at + start_lead + rules.SOURCE_TURNAROUND_US + rules.ACK_SLACK_US
    # An acknowledgement a busy source sends 40 ms after Ready (later than the 17 ms the lead
    # leaves it without the slack) still lets the target go at the planned instant...
    ack_at = ready_at + 40_000
    ack = m.TransferReady("t1", source_commit.position_ms, ack_at)
    actions = coordination.step(c.Ready(m.TransferRole.SOURCE, ack), ack_at)
    target_commit = _commit_for(actions, m.TransferRole.TARGET)
    assert target_commit.switch_at_us == switch_at
    # ... with the output's delay and half the rest of its start lead still ahead of it.
    assert switch_at - ack_at >= DELAY_US + t.START_LEAD_US // 2


def test_an_acknowledgement_that_would_eat_into_the_delay_moves_the_switch() -> None:
    coordination, ready_at = _coordination()
    ready = _target_ready(ready_at, t.START_LEAD_US + DELAY_US, DELAY_US)
    actions = coordination.step(c.Ready(m.TransferRole.TARGET, ready), ready_at)
    source_commit = _commit_for(actions, m.TransferRole.SOURCE)
    planned = source_commit.switch_at_us
    # Still before half the start lead (the rule for a lead that is all margin), but with less
    # than the output's delay left: the target could not start in time.
    ack_at = planned - DELAY_US + 5_000
    ack = m.TransferReady("t1", source_commit.position_ms, ack_at)
    actions = coordination.step(c.Ready(m.TransferRole.SOURCE, ack), ack_at)
    target_commit = _commit_for(actions, m.TransferRole.TARGET)
    assert target_commit.switch_at_us >= ack_at + DELAY_US + t.START_LEAD_US
    assert any(isinstance(a, c.Note) and a.phase == "late acknowledgement" for a in actions)


def test_without_an_output_delay_the_lead_is_as_before() -> None:
    coordination, ready_at = _coordination()
    ready = _target_ready(ready_at, t.START_LEAD_US, 0)
    actions = coordination.step(c.Ready(m.TransferRole.TARGET, ready), ready_at)
    switch_at = _commit_for(actions, m.TransferRole.SOURCE).switch_at_us
    # The pre-rolled position is far ahead, so the switch waits for the source to reach it;
    # the earliest instant the rules allow is what matters here.
    assert rules.start_lead_us(NO_DELAY, NO_DELAY, ready) == (
        t.START_LEAD_US + rules.SOURCE_TURNAROUND_US
    )
    assert switch_at >= ready_at + t.START_LEAD_US


def test_a_target_with_an_output_delay_asks_for_it_and_pre_rolls_past_it() -> None:
    machine = t.TargetMachine(Ledger(), ("wav",))
    own = m.PlaybackState("own", 1, device_id="tgt", volume=40)
    offer = m.TransferOffer(
        "t1", STATE, m.TransferOptions(), "src", NOW + 3_000_000, 50, commit_lead_us=2_000
    )
    [load] = machine.step(t.Offer(offer, "link", own, output_delay_us=DELAY_US), NOW)
    assert isinstance(load, t.Load)
    # Where the source will be once Ready is back, the commits are out, the acknowledgement has
    # had its slack, and the player has started its output the delay ahead of the switch.
    lead = 2_000 + t.COLD_START_LEAD_US + DELAY_US + rules.ACK_SLACK_US
    guess = t.PREROLL_GUESS_US
    assert load.position_ms == STATE.clock.position_at(NOW + lead + guess)
    done_at = NOW + guess - 2_000  # a pre-roll as long as guessed: no true-up seek
    [reply] = machine.step(t.LoadDone("t1"), done_at)
    assert isinstance(reply, Reply)
    assert isinstance(reply.body, m.TransferReady)
    assert reply.body.output_delay_us == DELAY_US
    assert reply.body.start_lead_us == t.COLD_START_LEAD_US + DELAY_US
