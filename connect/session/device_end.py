"""One controller's session as the device sees it, sans-IO: frames in; sends, handler calls out.

`DeviceEnd` follows a session from the WebSocket upgrade to its close:

1. **Awaiting Hello.** The first frame must be a readable Hello, within `HELLO_TIMEOUT_US`
   (silence: Close, nothing said). Anything else: Goodbye(PROTOCOL_ERROR) and Close. No
   protocol version in common: Goodbye(VERSION) with the device's range, and Close.
2. **Admitting.** The machine returns `Admit`; its adapter decides who the controller is
   (connect.session.admission: the token, the role) and calls `admit`, which answers Welcome
   and `Opened`, or a Goodbye saying why not and Close.
3. **Open.** A Command goes to the host (`HandleCommand`) unless the role forbids it or it
   cannot be applied as sent; either way it is answered by one CommandResult with its id. A
   transfer message goes to the host (`HandleTransfer`) unless the role forbids it
   (TransferRejected). A group step (protocol 1.2) goes to the host (`HandleGroup`) on a
   session negotiated at 1.2 or above, unless the controller is an observer (GroupRefused,
   FORBIDDEN); below 1.2 it is refused with Error(UNSUPPORTED) and changes nothing, so a
   device whose range stops below 1.2 (a bridge) never takes part in a group. A group
   message the device sends never goes to a session below 1.2. A TimeRequest is answered at
   once; a frame that cannot be read gets a typed Error (TOO_LARGE, MALFORMED, UNSUPPORTED),
   the session stays up. A Heartbeat goes out whenever nothing else did for an interval; a
   controller silent for `DEAD_AFTER_BEATS` intervals gets Goodbye(TIMEOUT) and Close.
4. **Closed.** Nothing more goes out, whatever comes in.

The machine remembers the revision of the last state it sent this controller: heartbeats
carry it, and a command refused before the host sees it is answered with it (unchanged).

Queues as large as a library (connect/queues.py): the host hands the machine whole
states; the machine sends each controller what its protocol version takes. A 1.1 controller
gets a window of the queue and, when the queue changed, the edits from the queue revision it
last had (or a reset); it asks for pages (QueueRequest), answered here from the last state
sent. A 1.0 controller gets the whole queue while it fits in a frame.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connect import queues as q
from connect.access import pairing
from connect.errors import (
    FrameError,
    FrameTooLargeError,
    InvalidCommandError,
    MalformedCommandError,
    UnknownCommandError,
    UnknownMessageError,
)
from connect.paths import HEARTBEAT_INTERVAL_MS
from connect.session.machine import Close, IdSource, Liveness, Numbering, Send, random_id
from connect.wire import codec
from connect.wire import messages as m

__all__ = [
    "HELLO_TIMEOUT_US",
    "NO_HELLO",
    "Admission",
    "Admit",
    "Admitted",
    "DeviceAction",
    "DeviceEnd",
    "FrameRefused",
    "HandleCommand",
    "HandleGroup",
    "HandleTransfer",
    "Opened",
    "TurnedAway",
    "error_code_for",
    "group_refused",
]

NO_HELLO = "no Hello within the timeout"
HELLO_TIMEOUT_US = 5_000_000
"""A controller's first frame is Hello, within 5 s of the upgrade (proto: Session duties)."""

TRANSFER_BODIES = (m.TransferOffer, m.TransferCommit, m.TransferAborted, m.TransferDone)
# A controller's group steps (protocol 1.2): below it each is refused by name and changes
# nothing, so a device is never half in a group.
GROUP_STEPS = (m.GroupLead, m.GroupJoin, m.GroupLeave, m.GroupTimeline, m.GroupVolume)
# What a member sends its controllers (a leader's timeline, its answers): 1.2 sessions only.
GROUP_ANSWERS = (m.GroupTimeline, m.GroupDone, m.GroupRefused)


# ------------------------------------------------------------------------------ admission


@dataclass(frozen=True, slots=True)
class Admitted:
    """Let the controller in with *role*; *token_id* names the token it presented ("": open)."""

    role: m.Role
    token_id: str = ""


@dataclass(frozen=True, slots=True)
class TurnedAway:
    """Refuse the controller with Goodbye(*reason*)."""

    reason: m.GoodbyeReason
    message: str


Admission = Admitted | TurnedAway


# ------------------------------------------------------------------------------ actions


@dataclass(frozen=True, slots=True)
class Admit:
    """Decide who sent this Hello, then call `DeviceEnd.admit` (before any other frame)."""

    envelope: m.Envelope
    hello: m.Hello


@dataclass(frozen=True, slots=True)
class Opened:
    """The session is up: the controller may now be sent state (its initial snapshot first)."""

    welcome: m.Welcome


@dataclass(frozen=True, slots=True)
class HandleCommand:
    """Apply this command for the controller; give its result to `DeviceEnd.answer`."""

    envelope: m.Envelope
    command: m.Command


@dataclass(frozen=True, slots=True)
class HandleTransfer:
    """Hand this transfer message to the device's transfer logic (its replies: `send`)."""

    envelope: m.Envelope
    body: m.TransferOffer | m.TransferCommit | m.TransferAborted | m.TransferDone


@dataclass(frozen=True, slots=True)
class HandleGroup:
    """Hand this group step (protocol 1.2) to the device's group logic (its replies: `send`)."""

    envelope: m.Envelope
    body: m.GroupLead | m.GroupJoin | m.GroupLeave | m.GroupTimeline | m.GroupVolume


@dataclass(frozen=True, slots=True)
class FrameRefused:
    """A frame could not be read (its Error is the next Send): for logs and telemetry."""

    code: m.ErrorCode
    reason: str


DeviceAction = (
    Send | Close | Admit | Opened | HandleCommand | HandleTransfer | HandleGroup | FrameRefused
)


class _Phase(enum.Enum):
    AWAITING_HELLO = enum.auto()
    ADMITTING = enum.auto()
    OPEN = enum.auto()
    CLOSED = enum.auto()


class DeviceEnd:
    """The device's end of one session (see the module docstring)."""

    def __init__(
        self,
        connection_id: str,
        now: int,
        *,
        protocol: m.VersionRange = m.PROTOCOL_V1,
        heartbeat_interval_ms: int = HEARTBEAT_INTERVAL_MS,
        hello_timeout_us: int = HELLO_TIMEOUT_US,
        ids: IdSource = random_id,
    ) -> None:
        self.connection_id = connection_id
        self._protocol = protocol
        self._heartbeat_ms = heartbeat_interval_ms
        self._liveness = Liveness.of_interval_ms(heartbeat_interval_ms)
        self._hello_deadline = now + hello_timeout_us
        self._out = Numbering(ids)
        self._phase = _Phase.AWAITING_HELLO
        self._hello: m.Hello | None = None
        self._version: m.ProtocolVersion | None = None
        self._last_received = now
        self._unanswered: dict[str, int] = {}  # command id -> commands with it at the host
        self.client = m.ClientIdentity("", "")
        self.role = m.Role.OBSERVER
        self.token_id = ""
        self.device_id = ""
        self.revision = 0  # of the last state sent to this controller
        self._state: m.PlaybackState | None = None  # the last one, whole: pages come from it
        self._told: tuple[str, int] | None = None  # (session, queue revision) it has items of

    @classmethod
    def opened(
        cls,
        connection_id: str,
        client: m.ClientIdentity,
        role: m.Role,
        now: int,
        *,
        token_id: str = "",
        device_id: str = "",
        heartbeat_interval_ms: int = HEARTBEAT_INTERVAL_MS,
        ids: IdSource = random_id,
    ) -> DeviceEnd:
        """Return a session already past its Welcome (for a host's tests, or an in-process link)."""
        end = cls(connection_id, now, heartbeat_interval_ms=heartbeat_interval_ms, ids=ids)
        end.client, end.role, end.token_id, end.device_id = client, role, token_id, device_id
        end._version = end._protocol.highest
        end._phase = _Phase.OPEN
        end._out.last_sent_us = now
        return end

    # -------------------------------------------------------------------------- queries

    @property
    def is_open(self) -> bool:
        """Return True between Welcome and the close."""
        return self._phase is _Phase.OPEN

    @property
    def closed(self) -> bool:
        """Return True once the session is over (nothing more goes out)."""
        return self._phase is _Phase.CLOSED

    @property
    def deadline(self) -> int | None:
        """Return the instant `tick` must be called at (or after) next; None: no timer."""
        if self._phase is _Phase.AWAITING_HELLO:
            return self._hello_deadline
        if self._phase is not _Phase.OPEN:
            return None
        last_sent = self._out.last_sent_us
        dead_at = self._liveness.dead_at(self._last_received)
        if last_sent is None:
            return dead_at
        return min(dead_at, self._liveness.heartbeat_at(last_sent))

    @property
    def unanswered(self) -> int:
        """Return how many commands the host holds without having answered them."""
        return sum(self._unanswered.values())

    # -------------------------------------------------------------------------- events

    def receive(self, frame: bytes, now: int) -> list[DeviceAction]:
        """A binary frame arrived at *now*."""
        if self._phase is _Phase.CLOSED:
            return []
        if self._phase is _Phase.ADMITTING:
            raise RuntimeError("admit() the Hello before feeding more frames")
        self._last_received = now
        if self._phase is _Phase.AWAITING_HELLO:
            return self._on_hello(frame, now)
        try:
            envelope = codec.decode(frame)
        except (UnknownCommandError, MalformedCommandError) as exc:
            # The controller waits on this command's id: it gets its result, refused, nothing
            # changed (a typed code: UNSUPPORTED, INVALID_ARGUMENT or MALFORMED).
            failure = m.Failure(error_code_for(exc), str(exc))
            return [self._wrap(m.CommandResult(exc.command_id, self.revision, failure), now)]
        except FrameError as exc:
            code = error_code_for(exc)
            error = m.Error(code, str(exc), exc.seq or 0, exc.msg_id)
            return [FrameRefused(code, str(exc)), self._wrap(error, now)]
        return self._dispatch(envelope, now)

    def receive_text(self, now: int) -> list[DeviceAction]:
        """A text frame arrived at *now* (the protocol uses binary frames only)."""
        if self._phase is _Phase.CLOSED:
            return []
        if self._phase is _Phase.ADMITTING:
            raise RuntimeError("admit() the Hello before feeding more frames")
        self._last_received = now
        if self._phase is _Phase.AWAITING_HELLO:
            return self._end(m.Goodbye(m.GoodbyeReason.PROTOCOL_ERROR, "expected Hello"), now)
        return [self._wrap(m.Error(m.ErrorCode.MALFORMED, "only binary frames are used"), now)]

    def admit(self, admission: Admission, device: m.DeviceInfo, now: int) -> list[DeviceAction]:
        """Answer the Hello of the last `Admit`: Welcome as *device* says, or Goodbye."""
        if self._phase is not _Phase.ADMITTING or self._hello is None or self._version is None:
            raise RuntimeError("admit() answers an Admit action, and only once")
        if isinstance(admission, TurnedAway):
            return self._end(m.Goodbye(admission.reason, admission.message), now)
        self.client, self.role, self.token_id = (
            self._hello.client,
            admission.role,
            admission.token_id,
        )
        self.device_id, self.revision = device.id, device.revision
        welcome = m.Welcome(
            self._version, self.role, device, self.connection_id, self._heartbeat_ms
        )
        self._phase = _Phase.OPEN
        self._last_received = now
        return [self._wrap(welcome, now), Opened(welcome)]

    def tick(self, now: int) -> list[DeviceAction]:
        """Time passed: a Hello that never came, a silent controller, a heartbeat due."""
        if self._phase is _Phase.AWAITING_HELLO and now >= self._hello_deadline:
            self._phase = _Phase.CLOSED
            return [Close(NO_HELLO)]
        if self._phase is not _Phase.OPEN:
            return []
        if now >= self._liveness.dead_at(self._last_received):
            goodbye = m.Goodbye(m.GoodbyeReason.TIMEOUT, "no frame within the timeout")
            silent_s = (now - self._last_received) / 1e6
            return self._end(goodbye, now, f"silent for {silent_s:.1f} s")
        last_sent = self._out.last_sent_us
        if last_sent is None or now >= self._liveness.heartbeat_at(last_sent):
            return [self._wrap(m.Heartbeat(self.revision), now)]
        return []

    def send(
        self, body: m.Body, now: int, traceparent: str = "", tracestate: str = ""
    ) -> list[DeviceAction]:
        """Send *body* to the controller (dropped unless the session is open)."""
        if self._phase is not _Phase.OPEN:
            return []
        if isinstance(body, GROUP_ANSWERS) and not self.groups:
            return []  # a controller below 1.2 knows no group message: it is never sent one
        if isinstance(body, m.StateSnapshot):
            self.revision = body.state.revision
            body = self._for_peer(body)
        return [self._wrap(body, now, traceparent, tracestate)]

    @property
    def pages(self) -> bool:
        """Return True when the controller takes queues by window and page (protocol 1.1)."""
        return self._version is not None and self._version >= m.QUEUE_PAGES

    @property
    def groups(self) -> bool:
        """Return True when the session speaks the group steps (protocol 1.2)."""
        return self._version is not None and self._version >= m.GROUPS

    def _for_peer(self, snapshot: m.StateSnapshot) -> m.StateSnapshot:
        """Return *snapshot* (a whole state) as this controller's protocol version takes it."""
        state = self._state = snapshot.state
        if not self.pages:
            return m.StateSnapshot(q.fitting(state), snapshot.reason)
        told, self._told = self._told, (state.session_id, state.queue_revision)
        change = None
        if told is not None and told[0] != state.session_id:
            change = m.QueueChange(told[1], reset=True)  # another session's queue: all new
        elif told is not None:
            change = q.change_for(told[1], state, snapshot.queue_change)
        return m.StateSnapshot(q.window(state), snapshot.reason, change)

    def answer(
        self, result: m.CommandResult, now: int, traceparent: str = "", tracestate: str = ""
    ) -> list[DeviceAction]:
        """The host applied (or refused) a command of a `HandleCommand`: send its result."""
        count = self._unanswered.get(result.command_id, 0)
        if count <= 1:
            self._unanswered.pop(result.command_id, None)
        else:
            self._unanswered[result.command_id] = count - 1
        return self.send(result, now, traceparent, tracestate)

    def close(
        self, now: int, goodbye: m.Goodbye | None = None, reason: str = ""
    ) -> list[DeviceAction]:
        """End the session on the device's side, saying *goodbye* first if given."""
        if self._phase is _Phase.CLOSED:
            return []
        if goodbye is None:
            self._phase = _Phase.CLOSED
            return [Close(reason or "closed by the device")]
        return self._end(goodbye, now, reason)

    def lost(self, reason: str) -> list[DeviceAction]:
        """The transport ended (the controller closed it, or it broke): nothing more to send."""
        if self._phase is _Phase.CLOSED:
            return []
        self._phase = _Phase.CLOSED
        return [Close(reason)]

    # -------------------------------------------------------------------------- internals

    def _on_hello(self, frame: bytes, now: int) -> list[DeviceAction]:
        try:
            envelope: m.Envelope | None = codec.decode(frame)
        except FrameError:
            envelope = None
        if envelope is None or not isinstance(envelope.body, m.Hello):
            return self._end(m.Goodbye(m.GoodbyeReason.PROTOCOL_ERROR, "expected Hello"), now)
        hello = envelope.body
        version = self._protocol.highest_common(hello.supported)
        if version is None:
            goodbye = m.Goodbye(
                m.GoodbyeReason.VERSION,
                f"this device speaks {self._protocol}, not {hello.supported}",
                self._protocol,
            )
            return self._end(goodbye, now)
        self._phase, self._hello, self._version = _Phase.ADMITTING, hello, version
        return [Admit(envelope, hello)]

    def _dispatch(self, envelope: m.Envelope, now: int) -> list[DeviceAction]:
        body = envelope.body
        if isinstance(body, m.TimeRequest):
            # device_send_us is stamped by the adapter just before the frame leaves.
            return [self._wrap(m.TimeResponse(body.client_send_us, now, 0), now)]
        if isinstance(body, m.Command):
            refusal = pairing.command_refusal(self.role)
            if refusal is not None:  # refused before the host sees it: nothing changes
                return [self._wrap(m.CommandResult(body.command_id, self.revision, refusal), now)]
            self._unanswered[body.command_id] = self._unanswered.get(body.command_id, 0) + 1
            return [HandleCommand(envelope, body)]
        if isinstance(body, TRANSFER_BODIES):
            refusal = pairing.transfer_refusal(self.role, body, self.device_id)
            if refusal is not None:
                return [self._wrap(m.TransferRejected(body.transfer_id, refusal), now)]
            return [HandleTransfer(envelope, body)]
        if isinstance(body, m.Goodbye):
            self._phase = _Phase.CLOSED
            return [Close(f"said goodbye ({body.reason.name.lower()})")]
        if isinstance(body, m.Heartbeat):
            return []
        if isinstance(body, m.QueueRequest):
            state = self._state or m.PlaybackState("", self.revision)
            return [self._wrap(q.page(state, body), now)]
        if isinstance(body, GROUP_STEPS) and self.groups:
            refusal = pairing.command_refusal(self.role)
            if refusal is None:
                return [HandleGroup(envelope, body)]
            # An observer steers no group: the step is refused as the member would, unchanged.
            if isinstance(body, m.GroupTimeline):
                return []  # a timeline is never answered
            failure = m.Failure(refusal.code, "an observer may not steer a group")
            return [self._wrap(group_refused(body, failure), now)]
        why = f"{type(body).__name__} is not a controller-to-device message"
        if isinstance(body, GROUP_STEPS):
            why = (
                f"{type(body).__name__} needs protocol {m.GROUPS}; this session is {self._version}"
            )
        error = m.Error(m.ErrorCode.UNSUPPORTED, why, envelope.seq, envelope.msg_id)
        return [self._wrap(error, now)]

    def _end(self, goodbye: m.Goodbye, now: int, reason: str = "") -> list[DeviceAction]:
        """Say *goodbye*, then close."""
        send = self._wrap(goodbye, now)
        self._phase = _Phase.CLOSED
        return [send, Close(reason or goodbye.message)]

    def _wrap(self, body: m.Body, now: int, traceparent: str = "", tracestate: str = "") -> Send:
        return self._out.wrap(body, now, traceparent, tracestate)


def group_refused(
    body: m.GroupLead | m.GroupJoin | m.GroupLeave | m.GroupVolume, failure: m.Failure
) -> m.GroupRefused:
    """Return the GroupRefused that answers the group step *body* with *failure*."""
    if isinstance(body, m.GroupLead | m.GroupJoin):
        step = m.GroupStep.LEAD if isinstance(body, m.GroupLead) else m.GroupStep.JOIN
        return m.GroupRefused(body.group.group_id, step, failure, body.group.group_epoch)
    if isinstance(body, m.GroupLeave):
        return m.GroupRefused(body.group_id, m.GroupStep.LEAVE, failure, body.group_epoch)
    return m.GroupRefused(body.group_id, m.GroupStep.VOLUME, failure)


def error_code_for(exc: FrameError) -> m.ErrorCode:
    """Return the code a device answers a refused frame (or refused command) with."""
    if isinstance(exc, UnknownMessageError):
        return m.ErrorCode.UNSUPPORTED
    if isinstance(exc, FrameTooLargeError):
        return m.ErrorCode.TOO_LARGE
    if isinstance(exc, InvalidCommandError):
        return m.ErrorCode.INVALID_ARGUMENT
    return m.ErrorCode.MALFORMED
