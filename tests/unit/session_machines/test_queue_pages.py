"""Both session ends with long queues: windows and edits in snapshots, pages on request."""

from __future__ import annotations

from dataclasses import replace

from connect import queues as q
from connect.errors import ConnectionLostError
from connect.session.controller_end import ControllerEnd, PageDone, PageLost
from connect.session.device_end import Admitted, DeviceEnd
from connect.session.machine import Send
from connect.wire import codec
from connect.wire import messages as m
from tests.unit.session_machines.support import DEVICE, HELLO, S, frame
from tests.unit.session_machines.support import summary as words

V10 = m.VersionRange(m.ProtocolVersion(1, 0), m.ProtocolVersion(1, 0))
LONG = tuple(m.QueueItem(f"u{i}", f"http://h/{i:05d}.flac") for i in range(50_000))
STATE = m.PlaybackState("s", 9, queue=LONG, current_uid="u20000", queue_revision=4)


def device(supported: m.VersionRange = m.PROTOCOL_V1) -> DeviceEnd:
    end = DeviceEnd("conn-1", 0)
    end.receive(frame(replace(HELLO, supported=supported)), 0)
    end.admit(Admitted(m.Role.CONTROLLER), DEVICE, 0)
    return end


def sent_snapshot(end: DeviceEnd, snapshot: m.StateSnapshot) -> m.StateSnapshot:
    send = end.send(snapshot, S)[0]
    assert isinstance(send, Send)
    assert isinstance(send.body, m.StateSnapshot)
    return send.body


def test_a_1_1_controller_gets_a_window_and_no_edits_at_first() -> None:
    end = device()
    send = end.send(m.StateSnapshot(STATE, m.StateChangeReason.INITIAL), S)[0]
    assert isinstance(send, Send)
    assert len(codec.encode(send.envelope)) < 4096  # a volume step costs this, whatever the queue
    body = send.body
    assert isinstance(body, m.StateSnapshot)
    assert body.queue_change is None
    assert body.state.queue == LONG[20_000 - 16 : 20_000 + 48]
    assert (body.state.queue_offset, body.state.queue_length) == (19_984, 50_000)


def test_then_the_edit_from_the_revision_it_has() -> None:
    end = device()
    sent_snapshot(end, m.StateSnapshot(STATE))
    edit = m.QueueRemove(("u3",))
    after = replace(STATE, queue=q.apply_edits(LONG, (edit,)), queue_revision=5, revision=10)
    body = sent_snapshot(end, m.StateSnapshot(after, queue_change=m.QueueChange(4, (edit,))))
    assert body.queue_change == m.QueueChange(4, (edit,))
    volume = sent_snapshot(end, m.StateSnapshot(replace(after, volume=9, revision=11)))
    assert volume.queue_change is None  # the queue did not change: nothing to say


def test_a_missed_edit_or_another_session_is_a_reset() -> None:
    end = device()
    sent_snapshot(end, m.StateSnapshot(STATE))
    unexplained = replace(STATE, queue_revision=6)
    assert sent_snapshot(end, m.StateSnapshot(unexplained)).queue_change == m.QueueChange(
        4, reset=True
    )
    other = replace(unexplained, session_id="t")
    assert sent_snapshot(end, m.StateSnapshot(other)).queue_change == m.QueueChange(6, reset=True)


def test_a_1_0_controller_gets_what_fits_and_no_edits() -> None:
    end = device(V10)
    body = sent_snapshot(end, m.StateSnapshot(STATE))
    assert body.queue_change is None
    assert body.state.current_item is not None
    send = end.send(m.StateSnapshot(STATE), S)[0]
    assert isinstance(send, Send)
    assert 900_000 < len(codec.encode(send.envelope)) <= m.MAX_FRAME_BYTES


def test_pages_come_from_the_last_state_sent() -> None:
    end = device()
    end.send(m.StateSnapshot(STATE), S)
    send = end.receive(frame(m.QueueRequest("r-1", 49_990, 100), 2), S)[0]
    assert isinstance(send, Send)
    assert send.body == m.QueuePage("r-1", 4, 49_990, 50_000, LONG[49_990:])


def test_a_controller_waits_for_its_page_and_loses_it_with_the_session() -> None:
    ctl = ControllerEnd(DEVICE.id, HELLO)
    ctl.start(0)
    welcome = m.Welcome(m.ProtocolVersion(1, 1), m.Role.CONTROLLER, DEVICE, "c", 1000)
    ctl.receive(frame(welcome), 0)
    assert words(ctl.request_queue(m.QueueRequest("r-1", 0, 10), 0)) == ["Send QueueRequest"]
    ctl.request_queue(m.QueueRequest("r-2", 10, 10), 0)
    page = m.QueuePage("r-1", 4, 0, 50_000, LONG[:10])
    done = ctl.receive(frame(page, 2), 1)
    assert done == [PageDone("r-1", page)]
    assert ctl.receive(frame(page, 3), 1) == []  # answered already
    lost = ctl.lost(ConnectionLostError("gone"))
    assert [type(a) for a in lost] == [PageLost, type(lost[-1])]
    assert isinstance(lost[0], PageLost)
    assert lost[0].request_id == "r-2"


def test_an_older_device_refusing_the_request_ends_the_wait() -> None:
    ctl = ControllerEnd(DEVICE.id, HELLO)
    ctl.start(0)
    ctl.receive(frame(m.Welcome(m.ProtocolVersion(1, 0), m.Role.CONTROLLER, DEVICE, "c", 1000)), 0)
    seq = ctl.request_queue(m.QueueRequest("r-1", 0, 10), 0)[0]
    assert isinstance(seq, Send)
    refusal = m.Error(m.ErrorCode.UNSUPPORTED, "what?", seq.envelope.seq)
    done = ctl.receive(frame(refusal, 2), 1)[-1]
    assert isinstance(done, PageDone)
    assert done.page.failure == m.Failure(m.ErrorCode.UNSUPPORTED, "what?")
