"""Queue edits as commands: a new queue revision and the edit to tell, or a refusal."""

from __future__ import annotations

import pytest

from connect import queues as q
from connect.session import playback as p
from connect.wire import messages as m

NOW = 1_000_000


def items(count: int, prefix: str = "u") -> tuple[m.QueueItem, ...]:
    return tuple(m.QueueItem(f"{prefix}{i}", f"http://h/{prefix}{i}.flac") for i in range(count))


START = m.PlaybackState("s", 10, queue=items(100), current_uid="u5", queue_revision=7)


def apply(action: m.Action, state: m.PlaybackState = START) -> p.Outcome:
    return p.apply_command(state, m.Command("c-1", action), NOW)


@pytest.mark.parametrize(
    ("action", "edit"),
    [
        (m.AddToQueue(items(3, "n"), "u9"), m.QueueInsert("u9", items(3, "n"))),
        (m.AddToQueue(items(3, "n")), m.QueueInsert("u99", items(3, "n"))),  # the end, by uid
        (m.RemoveFromQueue(("u1", "u2", "u1")), m.QueueRemove(("u1", "u2"))),
        (m.MoveInQueue("u50", "u0"), m.QueueMove("u50", "u0")),
        (m.MoveInQueue("u50"), m.QueueMove("u50", "")),
    ],
)
def test_an_edit_numbers_the_new_queue_and_says_how_it_came(
    action: m.Action, edit: m.QueueEdit
) -> None:
    outcome = apply(action)
    assert outcome.queue_change == m.QueueChange(7, (edit,))
    assert outcome.state.queue_revision == 8
    assert outcome.state.revision == 11
    # What controllers do with the edit gives what the device holds.
    assert q.apply_edits(START.queue, (edit,)) == outcome.state.queue


def test_set_queue_is_a_reset() -> None:
    outcome = apply(m.SetQueue(items(3, "n"), play=True))
    assert outcome.queue_change == m.QueueChange(7, reset=True)
    assert outcome.state.queue_revision == 8


@pytest.mark.parametrize(
    "action", [m.Pause(), m.SetVolume(3), m.SkipNext(), m.SetOptions(shuffle=True), m.Seek(10)]
)
def test_other_commands_leave_the_queue_revision(action: m.Action) -> None:
    outcome = apply(action)
    assert outcome.queue_change is None
    assert outcome.state.queue_revision == 7
    assert outcome.state.queue is START.queue  # the same tuple: nothing to encode again


@pytest.mark.parametrize(
    ("action", "code"),
    [
        (m.RemoveFromQueue(("u5",)), m.ErrorCode.INVALID_ARGUMENT),  # the current item
        (m.RemoveFromQueue(("u1", "nope")), m.ErrorCode.NOT_FOUND),
        (m.MoveInQueue("nope", ""), m.ErrorCode.NOT_FOUND),
        (m.MoveInQueue("u1", "nope"), m.ErrorCode.NOT_FOUND),
        (m.MoveInQueue("u1", "u1"), m.ErrorCode.INVALID_ARGUMENT),
        (m.AddToQueue(items(1), ""), m.ErrorCode.INVALID_ARGUMENT),  # u0 is queued already
        (m.AddToQueue(items(1, "n"), "nope"), m.ErrorCode.NOT_FOUND),
    ],
)
def test_a_refused_edit_changes_nothing(action: m.Action, code: m.ErrorCode) -> None:
    with pytest.raises(p.CommandRejectedError) as refused:
        apply(action)
    assert refused.value.failure.code is code


def test_skipping_through_a_long_shuffled_queue_follows_the_shared_order() -> None:
    long = m.PlaybackState(
        "s",
        1,
        queue=items(20_000),
        current_uid="",
        shuffle=True,
        shuffle_seed=99,
        status=m.PlaybackStatus.PLAYING,
    )
    order, _ = q.play_order(20_000, 99)
    state = p.apply_command(long, m.Command("c", m.Play()), NOW).state
    assert state.current_uid == f"u{order[0]}"
    for step in range(1, 4):
        state = p.apply_command(state, m.Command(f"c{step}", m.SkipNext()), NOW).state
        assert state.current_uid == f"u{order[step]}"
