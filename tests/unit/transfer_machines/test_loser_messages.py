"""The loser of a race is told where the music is now and how to move it from there (Baton
issue 23): the coordinator's failure and owner, and the CLI's last line."""

from __future__ import annotations

from client.commands import transfer_failure
from connect.clock import ClockEstimate
from connect.transfer import coordination as c
from connect.wire import messages as m

ITEM = m.QueueItem("u1", "http://media/track.wav", duration_ms=600_000)
STATE = m.PlaybackState(
    "sess", 3, "dev-a", (ITEM,), ITEM.uid, m.PlaybackClock(1_000, 0, 1.0, True),
    m.PlaybackStatus.PLAYING, active=True, epoch=2,
)  # fmt: skip
CLOCK = ClockEstimate(0, 1_000, 3)


def refused_by_source(owner: str, code: m.ErrorCode = m.ErrorCode.NOT_ACTIVE) -> c.TransferOutcome:
    plan = c.Plan(
        "t1", "dev-a", "dev-b", m.TransferOptions(), STATE, CLOCK, CLOCK, 0, 3_000_000,
        "Living Room", "Car", names={"dev-c": "Kitchen"},
    )  # fmt: skip
    machine = c.Coordination(plan)
    [offer, _] = machine.start(0)
    assert isinstance(offer, c.Send)
    ready = m.TransferReady("t1", 1_100, 20_000, start_lead_us=30_000, offer_received_at_us=1_000)
    [*_, commit, _timer] = machine.step(c.Ready(c.TARGET, ready), 21_000)
    assert isinstance(commit, c.Send)
    assert isinstance(commit.body, m.TransferCommit)
    assert commit.body.epoch == 2  # the epoch this controller saw the source hold
    rejected = m.TransferRejected("t1", m.Failure(code, "it does not hold the session now"), owner)
    actions = machine.step(c.Rejected(c.SOURCE, rejected), 22_000)
    [finish] = [a for a in actions if isinstance(a, c.Finish)]
    aborts = [a for a in actions if isinstance(a, c.Send)]
    assert {a.role for a in aborts} == {c.SOURCE, c.TARGET}  # the target drops its pre-roll
    return finish.outcome


def test_the_loser_is_told_which_device_has_the_music_now() -> None:
    outcome = refused_by_source("dev-c")
    assert outcome.failure is not None
    assert outcome.failure.code is m.ErrorCode.NOT_ACTIVE
    assert outcome.owner_id == "dev-c"
    assert (
        outcome.failure.message
        == "Living Room does not have the music any more: it is on Kitchen now"
    )
    assert transfer_failure(outcome, "Kitchen", "Car") == (
        "transfer failed: Living Room does not have the music any more: it is on Kitchen now; "
        "move it from there: baton transfer Kitchen Car"
    )


def test_a_source_in_its_switch_says_where_the_music_is_going() -> None:
    outcome = refused_by_source("dev-c", m.ErrorCode.CONFLICT)
    assert outcome.failure is not None
    assert outcome.owner_id == "dev-c"
    assert outcome.failure.message == "Living Room is handing the music over to Kitchen"
    assert transfer_failure(outcome, "Kitchen", "Car") == (
        "transfer failed: Living Room is handing the music over to Kitchen; "
        "move it from there: baton transfer Kitchen Car"
    )


def test_a_stale_view_of_a_source_that_has_it_says_try_again() -> None:
    outcome = refused_by_source("dev-a", m.ErrorCode.CONFLICT)
    assert outcome.failure is not None
    assert "try again" in outcome.failure.message
    assert transfer_failure(outcome, "Living Room", "Car").startswith("transfer failed: Living")


def test_the_target_holding_it_already_is_said_so() -> None:
    outcome = refused_by_source("dev-b", m.ErrorCode.CONFLICT)
    assert outcome.failure is not None
    assert outcome.failure.message == "Car has the music already"
    assert "baton transfer" not in transfer_failure(outcome, "Car", "Car")
