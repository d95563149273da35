"""A controller's copy of a long queue follows the device's through windows, edits and pages."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from connect import queues as q
from connect.session import playback as p
from connect.session.device_end import DeviceEnd
from connect.session.machine import Send
from connect.session.queue_mirror import QueueMirror, Span
from connect.wire import messages as m


def items(count: int, prefix: str = "u") -> tuple[m.QueueItem, ...]:
    return tuple(m.QueueItem(f"{prefix}{i}", f"http://h/{prefix}{i}") for i in range(count))


def wire(end: DeviceEnd, snapshot: m.StateSnapshot) -> m.StateSnapshot:
    """Return *snapshot* as the device's session machine sends it to a 1.1 controller."""
    send = end.send(snapshot, 0)[0]
    assert isinstance(send, Send)
    assert isinstance(send.body, m.StateSnapshot)
    return send.body


START = m.PlaybackState("s", 1, queue=items(5000), current_uid="u2500", queue_revision=1)


def test_a_window_fills_in_what_it_shows_and_the_rest_is_missing() -> None:
    mirror = QueueMirror()
    end = DeviceEnd.opened("c", m.ClientIdentity("x", "x"), m.Role.CONTROLLER, 0)
    assert mirror.update(wire(end, m.StateSnapshot(START)))
    assert mirror.length == 5000
    assert mirror.known() == q.WINDOW_ITEMS
    assert mirror.item(2500) == START.queue[2500]
    assert mirror.missing(0, 2100) == [Span(0, 1000), Span(1000, 2000), Span(2000, 2100)]
    assert mirror.missing(2484, 2548) == []


def test_pages_of_another_revision_are_not_taken() -> None:
    mirror = QueueMirror()
    end = DeviceEnd.opened("c", m.ClientIdentity("x", "x"), m.Role.CONTROLLER, 0)
    mirror.update(wire(end, m.StateSnapshot(START)))
    assert mirror.add_page(q.page(START, m.QueueRequest("r", 0, 1000)))
    assert mirror.items(0, 1000) == list(START.queue[:1000])
    stale = q.page(replace(START, queue_revision=0), m.QueueRequest("r", 1000, 10))
    assert not mirror.add_page(stale)
    assert mirror.item(1000) is None


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 5000), st.integers(1, 30)),
        st.tuples(st.just("remove"), st.integers(0, 5000), st.integers(1, 3)),
        st.tuples(st.just("move"), st.integers(0, 5000), st.integers(0, 5000)),
        st.tuples(st.just("page"), st.integers(0, 5000), st.integers(1, 1500)),
        st.tuples(st.just("volume"), st.integers(0, 100), st.integers(0, 0)),
        st.tuples(st.just("skip"), st.integers(0, 0), st.integers(0, 0)),
        st.tuples(st.just("replace"), st.integers(1, 200), st.integers(0, 0)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(OPS)
def test_whatever_the_device_does_the_mirror_holds_only_true_items(ops) -> None:
    """Every item the mirror holds is the device's item at that index, after any edits."""
    end = DeviceEnd.opened("c", m.ClientIdentity("x", "x"), m.Role.CONTROLLER, 0)
    mirror = QueueMirror()
    state = START
    mirror.update(wire(end, m.StateSnapshot(state)))
    fresh = 0
    for n, (kind, a, b) in enumerate(ops):
        queue = state.queue
        action: m.Action | None = None
        if kind == "insert":
            fresh += 1
            after = queue[a % len(queue)].uid
            action = m.AddToQueue(items(b, f"n{fresh}-"), after)
        elif kind == "remove":
            gone = {queue[(a + k) % len(queue)].uid for k in range(b)} - {state.current_uid}
            action = m.RemoveFromQueue(tuple(sorted(gone))) if gone else None
        elif kind == "move":
            uid, after = queue[a % len(queue)].uid, queue[b % len(queue)].uid
            action = m.MoveInQueue(uid, after) if uid != after else None
        elif kind == "page":
            mirror.add_page(q.page(state, m.QueueRequest("r", a, b)))
        elif kind == "volume":
            action = m.SetVolume(a)
        elif kind == "skip":
            action = m.SkipNext()
        else:
            fresh += 1
            action = m.SetQueue(items(a, f"r{fresh}-"))
        if action is not None:
            try:
                outcome = p.apply_command(state, m.Command(f"c{n}", action), 0)
            except p.CommandRejectedError:
                continue
            state = outcome.state
            mirror.update(wire(end, m.StateSnapshot(state, queue_change=outcome.queue_change)))
        assert mirror.length == len(state.queue)
        for index, held in enumerate(mirror):
            assert held is None or held == state.queue[index]
        assert mirror.item(q.window(state).queue_offset) is not None  # the window is always held
