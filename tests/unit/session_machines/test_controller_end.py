"""The controller's session machine, one event at a time: what it sends, reports and ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import pytest

from connect.errors import ConnectionLostError
from connect.session.controller_end import (
    CommandDone,
    ControllerAction,
    ControllerEnd,
    Ended,
    TimeAnswered,
)
from connect.session.machine import Send
from connect.wire import messages as m
from tests.unit.session_machines.support import DEAD_US, DEVICE, HEARTBEAT_US, HELLO, S, frame
from tests.unit.session_machines.support import summary as words

T0 = 10 * S
OPEN_AT = T0 + 2000
AT = OPEN_AT + 100_000
WELCOME = m.Welcome(m.ProtocolVersion(1, 0), m.Role.CONTROLLER, DEVICE, "conn-1", 1000)


def started() -> ControllerEnd:
    end = ControllerEnd(DEVICE.id, HELLO)
    assert words(end.start(T0)) == ["Send Hello"]
    return end


def opened() -> ControllerEnd:
    end = started()
    assert words(end.receive(frame(WELCOME), OPEN_AT)) == ["Welcomed"]
    return end


def waiting(*command_ids: str) -> ControllerEnd:
    """Return an open session with these commands sent and unanswered (seq 2, 3, ...)."""
    end = opened()
    for command_id in command_ids:
        end.command(m.Command(command_id, m.Pause()), AT)
    return end


def goodbye(reason: m.GoodbyeReason) -> bytes:
    return frame(m.Goodbye(reason, "said so"))


@dataclass(frozen=True)
class Case:
    name: str
    event: Callable[[ControllerEnd], list[ControllerAction]]
    expected: list[str]
    start: Callable[[], ControllerEnd] = field(default=opened)


CASES = [
    # ---- the handshake
    Case("Welcome", lambda e: e.receive(frame(WELCOME), OPEN_AT), ["Welcomed"], started),
    Case(
        "a Welcome from another device",
        lambda e: e.receive(frame(replace(WELCOME, device=replace(DEVICE, id="x"))), OPEN_AT),
        ["Ended ConnectionLostError"],
        started,
    ),
    Case(
        "no common version",
        lambda e: e.receive(goodbye(m.GoodbyeReason.VERSION), OPEN_AT),
        ["Ended VersionMismatchError"],
        started,
    ),
    Case(
        "not paired",
        lambda e: e.receive(goodbye(m.GoodbyeReason.UNAUTHENTICATED), OPEN_AT),
        ["Ended NotPairedError"],
        started,
    ),
    Case(
        "revoked",
        lambda e: e.receive(goodbye(m.GoodbyeReason.REVOKED), OPEN_AT),
        ["Ended AccessRevokedError"],
        started,
    ),
    Case(
        "refused otherwise",
        lambda e: e.receive(goodbye(m.GoodbyeReason.PROTOCOL_ERROR), OPEN_AT),
        ["Ended ConnectionLostError"],
        started,
    ),
    Case(
        "something else first",
        lambda e: e.receive(frame(m.Heartbeat()), OPEN_AT),
        ["Ended ConnectionLostError"],
        started,
    ),
    Case(
        "garbage first",
        lambda e: e.receive(b"\xff\xfe", OPEN_AT),
        ["Ended MalformedFrameError"],
        started,
    ),
    Case("no Welcome yet", lambda e: e.tick(T0 + 5 * S - 1), [], started),
    Case(
        "no Welcome within 5 s",
        lambda e: e.tick(T0 + 5 * S),
        ["Ended ConnectTimeoutError"],
        started,
    ),
    # ---- open
    Case(
        "a snapshot",
        lambda e: e.receive(frame(m.StateSnapshot(m.PlaybackState("s", 3)), 2), AT),
        ["SnapshotReceived"],
    ),
    Case(
        "a command goes out", lambda e: e.command(m.Command("c-1", m.Pause()), AT), ["Send Command"]
    ),
    Case(
        "its result ends its wait",
        lambda e: e.receive(frame(m.CommandResult("c-1", 4), 2), AT),
        ["CommandDone c-1 ok"],
        lambda: waiting("c-1"),
    ),
    Case(
        "a result nobody waits for",
        lambda e: e.receive(frame(m.CommandResult("c-9", 4), 2), AT),
        [],
        lambda: waiting("c-1"),
    ),
    Case(
        "an Error naming the command's frame ends its wait",
        lambda e: e.receive(frame(m.Error(m.ErrorCode.MALFORMED, "no", ref_seq=3), 2), AT),
        ["ErrorReported MALFORMED", "CommandDone c-2 MALFORMED"],
        lambda: waiting("c-1", "c-2"),
    ),
    Case(
        "an Error naming no command",
        lambda e: e.receive(frame(m.Error(m.ErrorCode.UNSUPPORTED, "no", ref_seq=9), 2), AT),
        ["ErrorReported UNSUPPORTED"],
        lambda: waiting("c-1"),
    ),
    Case(
        "a time response",
        lambda e: e.receive(frame(m.TimeResponse(AT - 10, 5, 6), 2), AT),
        ["TimeAnswered"],
    ),
    Case(
        "a transfer reply",
        lambda e: e.receive(frame(m.TransferReady("t-1", 0, 0), 2), AT),
        ["TransferReceived TransferReady"],
    ),
    Case(
        "a member's answer to a group step (protocol 1.2)",
        lambda e: e.receive(frame(m.GroupDone("g-1", m.GroupStep.JOIN, 2), 2), AT),
        ["GroupReceived GroupDone"],
    ),
    Case(
        "a leader's group timeline",
        lambda e: e.receive(frame(m.GroupTimeline("g-1", 2, "s-1", 3, None, AT, 0), 2), AT),
        ["GroupReceived GroupTimeline"],
    ),
    Case("a heartbeat", lambda e: e.receive(frame(m.Heartbeat(3), 2), AT), []),
    Case("a frame it cannot read", lambda e: e.receive(b"\xff\xfe", AT), ["Unreadable"]),
    Case(
        "the device's goodbye",
        lambda e: e.receive(goodbye(m.GoodbyeReason.SHUTDOWN), AT),
        ["CommandLost c-1", "Ended ConnectionLostError"],
        lambda: waiting("c-1"),
    ),
    Case(
        "revoked mid-session",
        lambda e: e.receive(goodbye(m.GoodbyeReason.REVOKED), AT),
        ["Ended AccessRevokedError"],
    ),
    # ---- time
    Case(
        "no heartbeat before an interval since the Hello",
        lambda e: e.tick(T0 + HEARTBEAT_US - 1),
        [],
    ),
    Case(
        "a TimeRequest keeps the link alive",
        lambda e: e.tick(T0 + HEARTBEAT_US),
        ["Send TimeRequest"],
    ),
    Case(
        "dead after 3 silent intervals",
        lambda e: e.tick(OPEN_AT + DEAD_US),
        ["CommandLost c-1", "Ended ConnectTimeoutError"],
        lambda: waiting("c-1"),
    ),
    # ---- the controller's side
    Case(
        "closing says goodbye and fails what waits",
        lambda e: e.close(AT),
        ["Send Goodbye SHUTDOWN", "CommandLost c-1", "Close"],
        lambda: waiting("c-1"),
    ),
    Case("closing before the Welcome says nothing", lambda e: e.close(AT), ["Close"], started),
    Case(
        "a lost transport",
        lambda e: e.lost(ConnectionLostError("reset")),
        ["CommandLost c-1", "Ended ConnectionLostError"],
        lambda: waiting("c-1"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_one_event(case: Case) -> None:
    assert words(case.event(case.start())) == case.expected


def test_the_hello_opens_the_session_and_its_first_frame_is_seq_1() -> None:
    send = ControllerEnd(DEVICE.id, HELLO).start(T0, "00-abc-def-01")[0]
    assert isinstance(send, Send)
    assert (send.envelope.seq, send.body, send.envelope.traceparent) == (1, HELLO, "00-abc-def-01")


def test_a_device_asking_for_fast_heartbeats_gets_them_every_100_ms() -> None:
    end = started()
    end.receive(frame(replace(WELCOME, heartbeat_interval_ms=10)), OPEN_AT)
    assert end.deadline == OPEN_AT + 100_000 - 2000  # the Hello went out at T0


def test_an_abandoned_command_takes_no_late_result() -> None:
    end = waiting("c-1")
    end.abandon("c-1")
    assert end.waiting == frozenset()
    assert end.receive(frame(m.CommandResult("c-1", 4), 2), AT) == []
    assert words(end.lost(ConnectionLostError("x"))) == ["Ended ConnectionLostError"]


def test_a_result_is_taken_once() -> None:
    end = waiting("c-1")
    result = frame(m.CommandResult("c-1", 4), 2)
    first = end.receive(result, AT)
    assert isinstance(first[0], CommandDone)
    assert first[0].result == m.CommandResult("c-1", 4)
    assert end.receive(result, AT) == []


def test_an_error_for_a_command_carries_the_last_revision() -> None:
    end = waiting("c-1")
    end.receive(frame(m.StateSnapshot(m.PlaybackState("s", 12)), 2), AT)
    done = end.receive(frame(m.Error(m.ErrorCode.MALFORMED, "bad", ref_seq=2), 3), AT)[1]
    assert isinstance(done, CommandDone)
    assert done.result == m.CommandResult("c-1", 12, m.Failure(m.ErrorCode.MALFORMED, "bad"))


def test_a_time_response_is_a_clock_sample() -> None:
    sample = opened().receive(frame(m.TimeResponse(AT - 1000, 5_000, 5_100), 2), AT)[0]
    assert isinstance(sample, TimeAnswered)
    assert (sample.sample.delay_us, sample.sample.taken_at_us) == (900, AT)


def test_the_goodbye_flag_tells_a_goodbye_from_a_lost_link() -> None:
    said = opened().receive(goodbye(m.GoodbyeReason.SHUTDOWN), AT)[-1]
    lost = opened().tick(OPEN_AT + DEAD_US)[-1]
    assert isinstance(said, Ended)
    assert isinstance(lost, Ended)
    assert (said.goodbye, lost.goodbye) == (True, False)


def test_sending_needs_an_open_session() -> None:
    end = started()
    with pytest.raises(ConnectionLostError):
        end.command(m.Command("c-1", m.Pause()), AT)
    with pytest.raises(ConnectionLostError):
        end.request_time(AT)
    opened_end = opened()
    opened_end.close(AT)
    with pytest.raises(ConnectionLostError):
        opened_end.send(m.Heartbeat(), AT)


def test_a_command_id_waits_once() -> None:
    end = waiting("c-1")
    with pytest.raises(ValueError, match="already waiting"):
        end.command(m.Command("c-1", m.Resume()), AT)


def test_nothing_happens_after_the_end() -> None:
    end = waiting("c-1")
    end.lost(ConnectionLostError("gone"))
    assert end.receive(frame(m.CommandResult("c-1", 4), 2), AT) == []
    assert end.tick(AT + 100 * S) == []
    assert end.close(AT) == []
    assert end.lost(ConnectionLostError("again")) == []
    assert end.deadline is None
