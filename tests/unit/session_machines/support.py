"""Helpers for driving the session machines in tests: frames, and actions in a few words."""

from __future__ import annotations

from collections.abc import Iterable

from connect.session.controller_end import (
    CommandDone,
    CommandLost,
    Ended,
    ErrorReported,
    GroupReceived,
    SnapshotReceived,
    TimeAnswered,
    TransferReceived,
    Unreadable,
    Welcomed,
)
from connect.session.device_end import (
    Admit,
    FrameRefused,
    HandleCommand,
    HandleGroup,
    HandleTransfer,
    Opened,
)
from connect.session.machine import Close, Send
from connect.wire import codec
from connect.wire import messages as m

DEVICE = m.DeviceInfo(
    id="dev-1", name="Speaker", type=m.DeviceType.SPEAKER, protocol=m.PROTOCOL_V1, revision=7
)
ME = m.ClientIdentity("ctl-1", "Test controller")
HELLO = m.Hello(m.PROTOCOL_V1, ME)
S = 1_000_000  # one second in microseconds
HEARTBEAT_US = 1 * S
DEAD_US = 3 * S


def frame(body: m.Body, seq: int = 1, msg_id: str = "m") -> bytes:
    """Return the wire bytes of *body* in an envelope."""
    return codec.encode(m.Envelope(seq, msg_id, body))


def summary(actions: Iterable[object]) -> list[str]:
    """Return *actions* in words: "Send Welcome", "Close", "HandleCommand c-1", ..."""
    words = []
    for action in actions:
        if isinstance(action, Send):
            body = action.body
            detail = ""
            if isinstance(body, m.Goodbye):
                detail = f" {body.reason.name}"
            elif isinstance(body, m.Error):
                detail = f" {body.code.name}"
            elif isinstance(body, m.CommandResult):
                detail = f" {body.command_id} {body.failure.code.name if body.failure else 'ok'}"
            elif isinstance(body, m.TransferRejected) and body.failure is not None:
                detail = f" {body.failure.code.name}"
            elif isinstance(body, m.GroupRefused):
                detail = f" {body.step.name} {body.failure.code.name}"
            words.append(f"Send {type(body).__name__}{detail}")
        elif isinstance(action, Close):
            words.append("Close")
        elif isinstance(action, HandleCommand):
            words.append(f"HandleCommand {action.command.command_id}")
        elif isinstance(action, HandleTransfer):
            words.append(f"HandleTransfer {type(action.body).__name__}")
        elif isinstance(action, HandleGroup):
            words.append(f"HandleGroup {type(action.body).__name__}")
        elif isinstance(action, FrameRefused):
            words.append(f"FrameRefused {action.code.name}")
        elif isinstance(action, CommandDone):
            failure = action.result.failure
            words.append(
                f"CommandDone {action.command_id} {failure.code.name if failure else 'ok'}"
            )
        elif isinstance(action, CommandLost):
            words.append(f"CommandLost {action.command_id}")
        elif isinstance(action, Ended):
            words.append(f"Ended {type(action.error).__name__}")
        elif isinstance(action, TransferReceived):
            words.append(f"TransferReceived {type(action.body).__name__}")
        elif isinstance(action, GroupReceived):
            words.append(f"GroupReceived {type(action.body).__name__}")
        elif isinstance(action, ErrorReported):
            words.append(f"ErrorReported {action.error.code.name}")
        elif isinstance(action, Admit | Opened | Welcomed | SnapshotReceived | TimeAnswered):
            words.append(type(action).__name__)
        elif isinstance(action, Unreadable):
            words.append("Unreadable")
        else:
            raise AssertionError(f"unknown action {action!r}")
    return words
