"""The device's session machine, one event at a time: what it sends, asks and closes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from connect.session.device_end import Admitted, DeviceAction, DeviceEnd, TurnedAway
from connect.session.machine import Send
from connect.wire import messages as m
from connect.wire._pb import connect_pb2 as pb
from tests.unit.session_machines.support import DEAD_US, DEVICE, HEARTBEAT_US, HELLO, ME, S, frame
from tests.unit.session_machines.support import summary as words

T0 = 10 * S  # the upgrade; the session opens one millisecond later
OPEN_AT = T0 + 1000


def opened(
    role: m.Role = m.Role.CONTROLLER,
    hello: m.Hello = HELLO,
    device_range: m.VersionRange = m.PROTOCOL_V1,
) -> DeviceEnd:
    """Return a session past its Welcome, opened at OPEN_AT."""
    end = DeviceEnd("conn-1", T0, protocol=device_range)
    assert words(end.receive(frame(hello), OPEN_AT)) == ["Admit"]
    assert words(end.admit(Admitted(role), DEVICE, OPEN_AT)) == ["Send Welcome", "Opened"]
    return end


def raw_command(command_id: str = "c-1", seq: int = 2) -> pb.Envelope:
    wire = pb.Envelope(seq=seq, msg_id="m2")
    wire.command.command_id = command_id
    return wire


def unknown_action() -> bytes:
    wire = raw_command()
    wire.command.SetInParent()  # a command with no action this version knows
    return wire.SerializeToString()


def bad_uid() -> bytes:
    wire = raw_command()
    wire.command.set_queue.items.add(uid="", url="http://h/a.mp3")
    return wire.SerializeToString()


def no_seq() -> bytes:
    wire = raw_command(seq=0)
    wire.command.pause.SetInParent()
    return wire.SerializeToString()


OVERSIZED = b"\x08\x05" + b"\xfa\x07\x83\x80\x40" + b"x" * (m.MAX_FRAME_BYTES + 3)
UNKNOWN_BODY = b"\x08\x02\x12\x01u" + b"\xc2\x02\x00"  # seq 2, field 40 only


@dataclass(frozen=True)
class Case:
    """One row: a session in some phase, one event at *at*, the actions expected."""

    name: str
    event: Callable[[DeviceEnd], list[DeviceAction]]
    expected: list[str]
    start: Callable[[], DeviceEnd] = field(default=opened)


def command(action: m.Action, command_id: str = "c-1") -> bytes:
    return frame(m.Command(command_id, action), seq=2)


AT = OPEN_AT + 100_000  # an instant inside the session's first heartbeat interval


def _new() -> DeviceEnd:
    return DeviceEnd("c", T0)


CASES = [
    # ---- the handshake
    Case("Hello asks who it is", lambda e: e.receive(frame(HELLO), T0), ["Admit"], _new),
    Case(
        "garbage first is not a Hello",
        lambda e: e.receive(b"\xff", T0),
        ["Send Goodbye PROTOCOL_ERROR", "Close"],
        _new,
    ),
    Case(
        "a Heartbeat first is not a Hello",
        lambda e: e.receive(frame(m.Heartbeat()), T0),
        ["Send Goodbye PROTOCOL_ERROR", "Close"],
        _new,
    ),
    Case(
        "text first is not a Hello",
        lambda e: e.receive_text(T0),
        ["Send Goodbye PROTOCOL_ERROR", "Close"],
        _new,
    ),
    Case(
        "no common version",
        lambda e: e.receive(
            frame(
                m.Hello(
                    m.VersionRange(m.ProtocolVersion(2, 0), m.ProtocolVersion(3, 1)), HELLO.client
                )
            ),
            T0,
        ),
        ["Send Goodbye VERSION", "Close"],
        _new,
    ),
    Case("no Hello yet, before the timeout", lambda e: e.tick(T0 + 5 * S - 1), [], _new),
    Case("no Hello within 5 s", lambda e: e.tick(T0 + 5 * S), ["Close"], _new),
    # ---- commands
    Case(
        "a command goes to the host",
        lambda e: e.receive(command(m.Pause()), AT),
        ["HandleCommand c-1"],
    ),
    Case(
        "an observer's command is refused here",
        lambda e: e.receive(command(m.Pause()), AT),
        ["Send CommandResult c-1 FORBIDDEN"],
        lambda: opened(m.Role.OBSERVER),
    ),
    Case(
        "an unknown action is answered by id",
        lambda e: e.receive(unknown_action(), AT),
        ["Send CommandResult c-1 UNSUPPORTED"],
    ),
    Case(
        "an empty uid is answered by id",
        lambda e: e.receive(bad_uid(), AT),
        ["Send CommandResult c-1 INVALID_ARGUMENT"],
    ),
    Case(
        "a readable command in a broken envelope",
        lambda e: e.receive(no_seq(), AT),
        ["Send CommandResult c-1 MALFORMED"],
    ),
    Case(
        "the host's result goes out",
        lambda e: e.answer(m.CommandResult("c-1", 8), AT),
        ["Send CommandResult c-1 ok"],
    ),
    # ---- frames it cannot use
    Case(
        "over 1 MiB",
        lambda e: e.receive(OVERSIZED, AT),
        ["FrameRefused TOO_LARGE", "Send Error TOO_LARGE"],
    ),
    Case(
        "garbage",
        lambda e: e.receive(b"\xff\xfe garbage", AT),
        ["FrameRefused MALFORMED", "Send Error MALFORMED"],
    ),
    Case(
        "an unknown body",
        lambda e: e.receive(UNKNOWN_BODY, AT),
        ["FrameRefused UNSUPPORTED", "Send Error UNSUPPORTED"],
    ),
    Case(
        "a device-to-controller body",
        lambda e: e.receive(frame(m.StateSnapshot(m.PlaybackState("s", 1)), 2), AT),
        ["Send Error UNSUPPORTED"],
    ),
    Case("a text frame", lambda e: e.receive_text(AT), ["Send Error MALFORMED"]),
    # ---- the rest of the session
    Case(
        "a time request is answered at once",
        lambda e: e.receive(frame(m.TimeRequest(5), 2), AT),
        ["Send TimeResponse"],
    ),
    Case("a heartbeat needs no answer", lambda e: e.receive(frame(m.Heartbeat(), 2), AT), []),
    Case(
        "the controller's goodbye closes",
        lambda e: e.receive(frame(m.Goodbye(m.GoodbyeReason.SHUTDOWN), 2), AT),
        ["Close"],
    ),
    Case(
        "a transfer message goes to the host",
        lambda e: e.receive(
            frame(m.TransferAborted("t-1", m.Failure(m.ErrorCode.TIMEOUT, "late")), 2), AT
        ),
        ["HandleTransfer TransferAborted"],
    ),
    Case(
        "an observer takes no part in transfers",
        lambda e: e.receive(
            frame(m.TransferAborted("t-1", m.Failure(m.ErrorCode.TIMEOUT, "late")), 2), AT
        ),
        ["Send TransferRejected FORBIDDEN"],
        lambda: opened(m.Role.OBSERVER),
    ),
    Case(
        "a guest may not move playback away",
        lambda e: e.receive(frame(m.TransferCommit("t-1", m.TransferRole.SOURCE, 0, 0), 2), AT),
        ["Send TransferRejected FORBIDDEN"],
        lambda: opened(m.Role.GUEST),
    ),
    # ---- time
    Case("no heartbeat before an interval", lambda e: e.tick(OPEN_AT + HEARTBEAT_US - 1), []),
    Case(
        "a heartbeat after an idle interval",
        lambda e: e.tick(OPEN_AT + HEARTBEAT_US),
        ["Send Heartbeat"],
    ),
    Case(
        "alive just before 3 intervals", lambda e: e.tick(OPEN_AT + DEAD_US - 1), ["Send Heartbeat"]
    ),
    Case(
        "dead after 3 silent intervals",
        lambda e: e.tick(OPEN_AT + DEAD_US),
        ["Send Goodbye TIMEOUT", "Close"],
    ),
    # ---- the device's side
    Case(
        "the host's goodbye",
        lambda e: e.close(AT, m.Goodbye(m.GoodbyeReason.REVOKED)),
        ["Send Goodbye REVOKED", "Close"],
    ),
    Case("a lost transport says nothing", lambda e: e.lost("reset"), ["Close"]),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_one_event(case: Case) -> None:
    assert words(case.event(case.start())) == case.expected


@pytest.mark.parametrize(
    ("admission", "expected"),
    [
        (Admitted(m.Role.OWNER, "tok1"), ["Send Welcome", "Opened"]),
        (
            TurnedAway(m.GoodbyeReason.UNAUTHENTICATED, "pair first"),
            ["Send Goodbye UNAUTHENTICATED", "Close"],
        ),
        (TurnedAway(m.GoodbyeReason.REVOKED, "revoked"), ["Send Goodbye REVOKED", "Close"]),
    ],
)
def test_admission_outcomes(admission, expected) -> None:
    end = DeviceEnd("conn-1", T0)
    end.receive(frame(HELLO), T0)
    actions = end.admit(admission, DEVICE, T0)
    assert words(actions) == expected
    if isinstance(admission, Admitted):
        welcome = actions[0].body  # type: ignore[union-attr]
        assert welcome == m.Welcome(m.GROUPS, m.Role.OWNER, DEVICE, "conn-1", 1000)
        assert (end.role, end.token_id, end.revision) == (m.Role.OWNER, "tok1", DEVICE.revision)
    else:
        assert end.closed


def test_version_goodbye_names_the_device_range() -> None:
    newer = m.VersionRange(m.ProtocolVersion(2, 0), m.ProtocolVersion(3, 1))
    goodbye = DeviceEnd("c", T0).receive(frame(m.Hello(newer, HELLO.client)), T0)[0]
    assert isinstance(goodbye, Send)
    assert goodbye.body == m.Goodbye(
        m.GoodbyeReason.VERSION, f"this device speaks {m.PROTOCOL_V1}, not {newer}", m.PROTOCOL_V1
    )


def test_refusals_and_heartbeats_carry_the_revision_last_sent() -> None:
    end = opened(m.Role.OBSERVER)
    end.send(m.StateSnapshot(m.PlaybackState("s", 41)), AT)
    refused = end.receive(command(m.Pause()), AT)[0]
    beat = end.tick(AT + HEARTBEAT_US)[0]
    assert isinstance(refused, Send)
    assert isinstance(beat, Send)
    assert refused.body == m.CommandResult(
        "c-1", 41, m.Failure(m.ErrorCode.FORBIDDEN, "an observer may not send commands")
    )
    assert beat.body == m.Heartbeat(41)


def test_time_response_carries_the_receive_instant() -> None:
    send = opened().receive(frame(m.TimeRequest(123), 2), AT)[0]
    assert isinstance(send, Send)
    assert send.body == m.TimeResponse(123, AT, 0)  # t3 is stamped as the frame leaves


def test_unknown_body_error_names_its_frame() -> None:
    send = opened().receive(UNKNOWN_BODY, AT)[1]
    assert isinstance(send, Send)
    assert isinstance(send.body, m.Error)
    assert (send.body.ref_seq, send.body.ref_msg_id) == (2, "u")


@pytest.mark.parametrize(
    "step",
    [
        m.GroupLeave("g-1", 2, 0, 30),
        m.GroupVolume("g-1", "dev-1", 30),
        m.GroupLead(
            m.Group("g-1", 1, "dev-1", (m.GroupMember("dev-1", 0, m.GroupMemberPhase.PLAYING),))
        ),
    ],
    ids=lambda step: type(step).__name__,
)
@pytest.mark.parametrize(
    ("hello", "device_range"),
    [(m.Hello(m.PROTOCOL_V1_ALONE, ME), m.PROTOCOL_V1), (HELLO, m.PROTOCOL_V1_ALONE)],
    ids=["a 1.1 controller", "a device that cannot group (a bridge)"],
)
def test_a_group_step_below_protocol_1_2_is_refused_by_name_and_changes_nothing(
    step: m.Body, hello: m.Hello, device_range: m.VersionRange
):
    end = opened(hello=hello, device_range=device_range)
    assert not end.groups
    actions = end.receive(frame(step, 2, "g"), AT)
    assert words(actions) == ["Send Error UNSUPPORTED"]
    error = actions[0].body  # type: ignore[union-attr]
    assert error == m.Error(
        m.ErrorCode.UNSUPPORTED,
        f"{type(step).__name__} needs protocol 1.2; this session is 1.1",
        2,
        "g",
    )
    assert end.revision == DEVICE.revision  # nothing moved: no handler was asked


GROUP_STEPS = [
    m.GroupLeave("g-1", 2, 0, 30),
    m.GroupVolume("g-1", "dev-1", 30),
    m.GroupLead(
        m.Group("g-1", 1, "dev-1", (m.GroupMember("dev-1", 0, m.GroupMemberPhase.PLAYING),))
    ),
    m.GroupTimeline("g-1", 1, "s-1", 3, None, 0, 0),
]


@pytest.mark.parametrize("step", GROUP_STEPS, ids=lambda step: type(step).__name__)
def test_a_group_step_of_a_1_2_session_goes_to_the_host(step: m.Body) -> None:
    end = opened()
    assert end.groups
    assert words(end.receive(frame(step, 2, "g"), AT)) == [f"HandleGroup {type(step).__name__}"]


@pytest.mark.parametrize("step", GROUP_STEPS, ids=lambda step: type(step).__name__)
def test_an_observer_steers_no_group(step: m.Body) -> None:
    end = opened(m.Role.OBSERVER)
    actions = end.receive(frame(step, 2, "g"), AT)
    if isinstance(step, m.GroupTimeline):
        assert actions == []  # never answered
        return
    assert len(actions) == 1
    refused = actions[0].body  # type: ignore[union-attr]
    assert isinstance(refused, m.GroupRefused)
    assert refused.failure.code is m.ErrorCode.FORBIDDEN


def test_a_group_message_never_goes_to_a_session_below_1_2() -> None:
    timeline = m.GroupTimeline("g-1", 1, "s-1", 3, None, 0, 0)
    done = m.GroupDone("g-1", m.GroupStep.JOIN, 1)
    old = opened(hello=m.Hello(m.PROTOCOL_V1_ALONE, ME))
    assert old.send(timeline, AT) == []
    assert old.send(done, AT) == []
    assert words(opened().send(timeline, AT)) == ["Send GroupTimeline"]


def test_sequence_numbers_count_every_frame_from_one() -> None:
    end = opened()
    sends = [end.send(m.Heartbeat(), AT)[0] for _ in range(3)]
    sends += end.close(AT, m.Goodbye(m.GoodbyeReason.SHUTDOWN))[:1]
    assert [s.envelope.seq for s in sends if isinstance(s, Send)] == [2, 3, 4, 5]  # 1: Welcome


def test_nothing_goes_out_after_the_close() -> None:
    end = opened()
    end.close(AT, m.Goodbye(m.GoodbyeReason.SHUTDOWN))
    assert end.send(m.StateSnapshot(m.PlaybackState("s", 9)), AT) == []
    assert end.answer(m.CommandResult("c-1", 9), AT) == []
    assert end.receive(command(m.Pause()), AT) == []
    assert end.receive_text(AT) == []
    assert end.tick(AT + 10 * DEAD_US) == []
    assert end.close(AT) == []
    assert end.lost("again") == []
    assert end.deadline is None


def test_a_frame_postpones_the_dead_peer_deadline() -> None:
    end = opened()
    end.receive(frame(m.Heartbeat(), 2), OPEN_AT + 2 * S)
    assert words(end.tick(OPEN_AT + DEAD_US)) == ["Send Heartbeat"]
    assert end.deadline == OPEN_AT + DEAD_US + HEARTBEAT_US  # the next heartbeat comes first
    assert words(end.tick(OPEN_AT + 2 * S + DEAD_US)) == ["Send Goodbye TIMEOUT", "Close"]


def test_unanswered_commands_are_counted_until_answered() -> None:
    end = opened()
    end.receive(command(m.Pause(), "c-1"), AT)
    end.receive(command(m.Resume(), "c-2"), AT)
    assert end.unanswered == 2
    end.answer(m.CommandResult("c-1", 8), AT)
    assert end.unanswered == 1


def test_frames_before_admission_are_a_programming_error() -> None:
    end = DeviceEnd("c", T0)
    end.receive(frame(HELLO), T0)
    with pytest.raises(RuntimeError, match="admit"):
        end.receive(frame(m.Heartbeat(), 2), T0)
