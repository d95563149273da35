"""Queue edits by uid (remove, move, clear): property tests of the device-side rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect.session import playback as p
from connect.wire import messages as m

NOW = 10_000_000
UIDS = tuple("abcdefgh")


@st.composite
def playing_states(draw: st.DrawFn) -> m.PlaybackState:
    """A session of 0-8 items, maybe one current (playing or paused), at some revision."""
    uids = draw(st.lists(st.sampled_from(UIDS), max_size=8, unique=True))
    queue = tuple(m.QueueItem(uid, f"http://h/{uid}.flac", title=uid.upper()) for uid in uids)
    current = draw(st.sampled_from(["", *uids]))
    playing = bool(current) and draw(st.booleans())
    return m.PlaybackState(
        "s",
        revision=draw(st.integers(0, 1000)),
        queue=queue,
        current_uid=current,
        clock=m.PlaybackClock(draw(st.integers(0, 60_000)), NOW - 1_000, 1.0, playing),
        status=m.PlaybackStatus.PLAYING if playing else m.PlaybackStatus.PAUSED,
    )


def run(action: m.Action, state: m.PlaybackState, **kw: int) -> m.PlaybackState:
    return p.apply_command(state, m.Command("cmd", action, **kw), NOW).state  # type: ignore[arg-type]


def uids(state: m.PlaybackState) -> list[str]:
    return [item.uid for item in state.queue]


def unchanged_but_the_queue(before: m.PlaybackState, after: m.PlaybackState) -> None:
    """An edit touches the queue (and the revision) only: what plays, where, goes on."""
    assert after.revision == before.revision + 1
    assert after.current_uid == before.current_uid
    assert after.clock == before.clock
    assert after.status is before.status


@given(playing_states(), st.data())
def test_remove_takes_out_exactly_the_uids_named_in_order(state, data) -> None:
    removable = [u for u in uids(state) if u != state.current_uid]
    gone = (
        data.draw(st.lists(st.sampled_from(removable), min_size=1, unique=True))
        if removable
        else []
    )
    if not gone:
        return
    after = run(m.RemoveFromQueue(tuple(gone)), state)
    assert uids(after) == [u for u in uids(state) if u not in gone]
    unchanged_but_the_queue(state, after)


@given(playing_states(), st.data())
def test_move_puts_the_item_after_its_new_neighbour_and_keeps_the_rest_in_order(state, data):
    if len(state.queue) < 2:
        return
    uid = data.draw(st.sampled_from(uids(state)))
    after_uid = data.draw(st.sampled_from(["", *(u for u in uids(state) if u != uid)]))
    after = run(m.MoveInQueue(uid, after_uid), state)
    order = uids(after)
    assert sorted(order) == sorted(uids(state))  # a permutation: nothing lost, nothing added
    assert [u for u in order if u != uid] == [u for u in uids(state) if u != uid]
    at = order.index(uid)
    assert (order[at - 1] if at else "") == after_uid
    unchanged_but_the_queue(state, after)


@given(playing_states())
def test_clear_keeps_only_the_current_item(state) -> None:
    after = run(m.ClearQueue(), state)
    assert uids(after) == ([state.current_uid] if state.current_uid else [])
    unchanged_but_the_queue(state, after)


REFUSALS = (
    "remove-current",
    "remove-missing",
    "move-missing",
    "move-after-missing",
    "move-after-itself",
    "stale",
)


@given(playing_states(), st.sampled_from(REFUSALS))
def test_a_refused_edit_says_why_and_changes_nothing(state, case) -> None:
    first = uids(state)[0] if state.queue else "a"
    action: m.Action
    code = m.ErrorCode.NOT_FOUND
    revision: dict[str, int] = {}
    if case == "remove-current":
        if not state.current_uid:
            return
        action, code = m.RemoveFromQueue((state.current_uid,)), m.ErrorCode.INVALID_ARGUMENT
    elif case == "remove-missing":
        action = m.RemoveFromQueue((first, "zz")) if state.queue else m.RemoveFromQueue(("zz",))
    elif case == "move-missing":
        action = m.MoveInQueue("zz", "")
    elif case == "move-after-missing":
        if not state.queue:
            return
        action = m.MoveInQueue(first, "zz")
    elif case == "move-after-itself":
        action, code = m.MoveInQueue(first, first), m.ErrorCode.INVALID_ARGUMENT
    else:
        action, code = m.ClearQueue(), m.ErrorCode.CONFLICT
        revision = {"expected_revision": state.revision + 1}
    with pytest.raises(p.CommandRejectedError) as caught:
        p.apply_command(state, m.Command("cmd", action, **revision), NOW)  # type: ignore[arg-type]
    assert caught.value.failure.code is code
    # The rules are pure: the state given is the state kept (a refused edit has no outcome).


def test_an_edit_at_the_revision_seen_applies() -> None:
    a, b, c = (m.QueueItem(u, f"http://h/{u}.flac") for u in "abc")
    state = m.PlaybackState("s", revision=7, queue=(a, b, c), current_uid="a")
    after = run(m.MoveInQueue("c", "a"), state, expected_revision=7)
    assert uids(after) == ["a", "c", "b"]
    assert after.revision == 8


def test_a_restricted_edit_is_refused_by_its_own_kind() -> None:
    a, b = (m.QueueItem(u, f"http://h/{u}.flac") for u in "ab")
    state = m.PlaybackState(
        "s", 1, queue=(a, b), restrictions=(m.Restriction(m.CommandKind.CLEAR_QUEUE, ("ad",)),)
    )
    with pytest.raises(p.CommandRejectedError, match="ad") as caught:
        run(m.ClearQueue(), state)
    assert caught.value.failure.code is m.ErrorCode.RESTRICTED
    assert uids(run(m.RemoveFromQueue(("b",)), state)) == ["a"]  # other edits still apply
