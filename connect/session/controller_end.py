"""A device's session as a controller sees it, sans-IO: frames in; sends and outcomes out.

`ControllerEnd` follows one session (one WebSocket) from Hello to its end:

1. **Awaiting Welcome.** `start` sends Hello. The device answers Welcome (`Welcomed`) within
   `WELCOME_TIMEOUT_US`, or a Goodbye saying why not: `Ended` with the error that says it
   (VersionMismatchError, NotPairedError, AccessRevokedError, ConnectionLostError).
2. **Open.** Snapshots, transfer replies, group messages and Errors are handed up as they come; a
   CommandResult ends the wait of its command (`CommandDone`), and so does an Error naming
   the command's frame (`ref_seq`) from a device that sends only that. Each TimeResponse is a
   clock sample. When the controller has sent nothing for an interval it sends a TimeRequest
   (one frame that keeps the link alive and feeds the clock estimate); a device silent for
   `DEAD_AFTER_BEATS` intervals is dead.
3. **Ended.** Every command still waiting ends with `CommandLost`, then `Ended` (or `Close`
   when the controller closed it itself); nothing more is sent.

Each command therefore ends exactly once: `CommandDone`, `CommandLost`, or `abandon` by a
caller that stopped waiting (its own timeout). A QueueRequest (protocol 1.1) waits the same
way for its QueuePage: `PageDone` or `PageLost`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from connect.clock import ClockSample
from connect.errors import ConnectError, ConnectionLostError, ConnectTimeoutError, FrameError
from connect.session._device_answers import raise_if_access_denied, welcome_from
from connect.session.machine import Close, IdSource, Liveness, Numbering, Send, random_id
from connect.wire import codec
from connect.wire import messages as m

__all__ = [
    "MIN_HEARTBEAT_MS",
    "WELCOME_TIMEOUT_US",
    "CommandDone",
    "CommandLost",
    "ControllerAction",
    "ControllerEnd",
    "Ended",
    "ErrorReported",
    "GroupReceived",
    "PageDone",
    "PageLost",
    "SnapshotReceived",
    "TimeAnswered",
    "TransferReceived",
    "Unreadable",
    "Welcomed",
]

WELCOME_TIMEOUT_US = 5_000_000
MIN_HEARTBEAT_MS = 100
"""A device asking for heartbeats more often than this gets them this often."""

TransferReplyBody = m.TransferReady | m.TransferRejected | m.TransferDone | m.TransferAborted
_TRANSFER_REPLIES = (m.TransferReady, m.TransferRejected, m.TransferDone, m.TransferAborted)
GroupMessageBody = m.GroupDone | m.GroupRefused | m.GroupTimeline
_GROUP_MESSAGES = (m.GroupDone, m.GroupRefused, m.GroupTimeline)


# ------------------------------------------------------------------------------ actions


@dataclass(frozen=True, slots=True)
class Welcomed:
    """The session is up."""

    welcome: m.Welcome


@dataclass(frozen=True, slots=True)
class SnapshotReceived:
    """The device pushed its state."""

    envelope: m.Envelope
    snapshot: m.StateSnapshot


@dataclass(frozen=True, slots=True)
class CommandDone:
    """The device answered command *command_id* (a refusal is a result too).

    *envelope* is the frame of the answer (None: an Error naming the command's frame).
    """

    command_id: str
    result: m.CommandResult
    envelope: m.Envelope | None = None


@dataclass(frozen=True, slots=True)
class CommandLost:
    """The session ended before command *command_id* was answered."""

    command_id: str
    error: ConnectionLostError


@dataclass(frozen=True, slots=True)
class PageDone:
    """The device answered queue request *request_id* (a page with a failure is an answer)."""

    request_id: str
    page: m.QueuePage


@dataclass(frozen=True, slots=True)
class PageLost:
    """The session ended before queue request *request_id* was answered."""

    request_id: str
    error: ConnectionLostError


@dataclass(frozen=True, slots=True)
class TimeAnswered:
    """A TimeResponse came: one clock sample."""

    sample: ClockSample


@dataclass(frozen=True, slots=True)
class TransferReceived:
    """A transfer message from the device (Ready, Rejected, Done, Aborted)."""

    envelope: m.Envelope
    body: TransferReplyBody


@dataclass(frozen=True, slots=True)
class GroupReceived:
    """A group message from the device (protocol 1.2): a step's answer, or a leader's timeline."""

    envelope: m.Envelope
    body: GroupMessageBody


@dataclass(frozen=True, slots=True)
class ErrorReported:
    """The device could not handle one of our frames; the session stays up."""

    error: m.Error


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A frame from the device could not be read and is ignored."""

    reason: str


@dataclass(frozen=True, slots=True)
class Ended:
    """The session is over because of the device or the link: close, and say *error*.

    *goodbye* is True when the device ended it on purpose (its Goodbye), not a lost link.
    """

    error: ConnectError
    goodbye: bool = False


ControllerAction = (
    Send
    | Close
    | Welcomed
    | SnapshotReceived
    | CommandDone
    | CommandLost
    | PageDone
    | PageLost
    | TimeAnswered
    | TransferReceived
    | GroupReceived
    | ErrorReported
    | Unreadable
    | Ended
)


class _Phase(enum.Enum):
    NEW = enum.auto()
    AWAITING_WELCOME = enum.auto()
    OPEN = enum.auto()
    ENDED = enum.auto()


class ControllerEnd:
    """The controller's end of one session with *device_id* (see the module docstring)."""

    def __init__(
        self,
        device_id: str,
        hello: m.Hello,
        *,
        welcome_timeout_us: int = WELCOME_TIMEOUT_US,
        ids: IdSource = random_id,
    ) -> None:
        self.device_id = device_id
        self.hello = hello
        self._welcome_timeout_us = welcome_timeout_us
        self._welcome_deadline = 0
        self._out = Numbering(ids)
        self._phase = _Phase.NEW
        self._liveness = Liveness.of_interval_ms(MIN_HEARTBEAT_MS)
        self._last_received = 0
        self._waiting: dict[str, int] = {}  # command id -> the seq of its frame
        self._by_seq: dict[int, str] = {}  # the seq of a waiting command's frame -> its id
        self._pages: dict[str, int] = {}  # queue request id -> the seq of its frame
        self.welcome: m.Welcome | None = None
        self.revision = 0  # of the last state the device sent

    # -------------------------------------------------------------------------- queries

    @property
    def is_open(self) -> bool:
        """Return True between Welcome and the end."""
        return self._phase is _Phase.OPEN

    @property
    def ended(self) -> bool:
        """Return True once the session is over."""
        return self._phase is _Phase.ENDED

    @property
    def waiting(self) -> frozenset[str]:
        """Return the ids of the commands sent and not yet answered."""
        return frozenset(self._waiting)

    @property
    def deadline(self) -> int | None:
        """Return the instant `tick` must be called at (or after) next; None: no timer."""
        if self._phase is _Phase.AWAITING_WELCOME:
            return self._welcome_deadline
        if self._phase is not _Phase.OPEN:
            return None
        dead_at = self._liveness.dead_at(self._last_received)
        last_sent = self._out.last_sent_us
        if last_sent is None:
            return dead_at
        return min(dead_at, self._liveness.heartbeat_at(last_sent))

    # -------------------------------------------------------------------------- events

    def start(
        self, now: int, traceparent: str = "", tracestate: str = ""
    ) -> list[ControllerAction]:
        """The transport is open: say Hello."""
        if self._phase is not _Phase.NEW:
            raise RuntimeError("a session starts once")
        self._phase = _Phase.AWAITING_WELCOME
        self._welcome_deadline = now + self._welcome_timeout_us
        self._last_received = now
        return [self._out.wrap(self.hello, now, traceparent, tracestate)]

    def receive(self, frame: bytes, now: int) -> list[ControllerAction]:
        """A binary frame arrived at *now*."""
        if self._phase in (_Phase.NEW, _Phase.ENDED):
            return []
        self._last_received = now
        try:
            envelope = codec.decode(frame)
        except FrameError as exc:
            if self._phase is _Phase.AWAITING_WELCOME:
                return self._end(exc)
            return [Unreadable(str(exc))]
        if self._phase is _Phase.AWAITING_WELCOME:
            return self._on_welcome(envelope.body, now)
        return self._dispatch(envelope, now)

    def tick(self, now: int) -> list[ControllerAction]:
        """Time passed: a Welcome that never came, a silent device, a heartbeat due."""
        if self._phase is _Phase.AWAITING_WELCOME and now >= self._welcome_deadline:
            seconds = self._welcome_timeout_us / 1e6
            return self._end(
                ConnectTimeoutError(f"device {self.device_id} sent no Welcome within {seconds:g} s")
            )
        if self._phase is not _Phase.OPEN:
            return []
        if now >= self._liveness.dead_at(self._last_received):
            silent_s = (now - self._last_received) / 1e6
            return self._end(
                ConnectTimeoutError(f"device {self.device_id} silent for {silent_s:.1f} s")
            )
        last_sent = self._out.last_sent_us
        if last_sent is None or now >= self._liveness.heartbeat_at(last_sent):
            return [self._out.wrap(m.TimeRequest(now), now)]
        return []

    def command(
        self,
        command: m.Command,
        now: int,
        traceparent: str = "",
        tracestate: str = "",
    ) -> list[ControllerAction]:
        """Send *command* and wait for its result; raise ConnectionLostError when not open."""
        self._require_open()
        if command.command_id in self._waiting:
            raise ValueError(f"command {command.command_id!r} is already waiting")
        send = self._out.wrap(command, now, traceparent, tracestate)
        self._waiting[command.command_id] = send.envelope.seq
        self._by_seq[send.envelope.seq] = command.command_id
        return [send]

    def abandon(self, command_id: str) -> None:
        """The caller stopped waiting for *command_id* (its own timeout): forget it."""
        seq = self._waiting.pop(command_id, None)
        if seq is not None:
            self._by_seq.pop(seq, None)
        self._pages.pop(command_id, None)

    def request_queue(self, request: m.QueueRequest, now: int) -> list[ControllerAction]:
        """Ask for a page of the queue; raise ConnectionLostError when not open."""
        self._require_open()
        if request.request_id in self._pages or request.request_id in self._waiting:
            raise ValueError(f"request {request.request_id!r} is already waiting")
        send = self._out.wrap(request, now)
        self._pages[request.request_id] = send.envelope.seq
        return [send]

    def request_time(self, now: int) -> list[ControllerAction]:
        """Send a TimeRequest stamped *now*; raise ConnectionLostError when not open."""
        self._require_open()
        return [self._out.wrap(m.TimeRequest(now), now)]

    def send(
        self, body: m.Body, now: int, traceparent: str = "", tracestate: str = ""
    ) -> list[ControllerAction]:
        """Send *body* (a transfer message, ...); raise ConnectionLostError when not open."""
        self._require_open()
        return [self._out.wrap(body, now, traceparent, tracestate)]

    def close(self, now: int) -> list[ControllerAction]:
        """Say goodbye (when open) and end the session on the controller's side."""
        if self._phase is _Phase.ENDED:
            return []
        actions: list[ControllerAction] = []
        if self._phase is _Phase.OPEN:
            goodbye = m.Goodbye(m.GoodbyeReason.SHUTDOWN, "controller closing")
            actions.append(self._out.wrap(goodbye, now))
        reason = "the controller closed the session"
        actions += self._fail_waiting(reason)
        self._phase = _Phase.ENDED
        return [*actions, Close(reason)]

    def lost(self, error: ConnectError) -> list[ControllerAction]:
        """The transport ended under the session (closed, broken): say *error*."""
        if self._phase is _Phase.ENDED:
            return []
        return self._end(error)

    # -------------------------------------------------------------------------- internals

    def _on_welcome(self, body: m.Body, now: int) -> list[ControllerAction]:
        try:
            welcome = welcome_from(body, self.device_id)
        except ConnectError as exc:
            return self._end(exc, goodbye=isinstance(body, m.Goodbye))
        self.welcome = welcome
        self._liveness = Liveness.of_interval_ms(
            max(welcome.heartbeat_interval_ms, MIN_HEARTBEAT_MS)
        )
        self._phase = _Phase.OPEN
        self._last_received = now
        return [Welcomed(welcome)]

    def _dispatch(self, envelope: m.Envelope, now: int) -> list[ControllerAction]:
        body = envelope.body
        if isinstance(body, m.StateSnapshot):
            self.revision = body.state.revision
            return [SnapshotReceived(envelope, body)]
        if isinstance(body, m.CommandResult):
            if not self._take(body.command_id):
                return []  # late (its caller gave up) or a duplicate
            return [CommandDone(body.command_id, body, envelope)]
        if isinstance(body, m.TimeResponse):
            return [TimeAnswered(ClockSample.from_exchange(body, now))]
        if isinstance(body, m.QueuePage):
            if self._pages.pop(body.request_id, None) is None:
                return []
            return [PageDone(body.request_id, body)]
        if isinstance(body, _TRANSFER_REPLIES):
            return [TransferReceived(envelope, body)]
        if isinstance(body, _GROUP_MESSAGES):
            return [GroupReceived(envelope, body)]
        if isinstance(body, m.Goodbye):
            try:
                raise_if_access_denied(body, self.device_id)
            except ConnectError as exc:
                return self._end(exc, goodbye=True)
            said = f"said goodbye ({body.reason.name.lower()}): {body.message}"
            return self._end(ConnectionLostError(f"device {self.device_id} {said}"), goodbye=True)
        if isinstance(body, m.Error):
            return [ErrorReported(body), *self._refused_by_error(body)]
        return []  # a Heartbeat (liveness is noted above), or a frame a device does not send

    def _refused_by_error(self, error: m.Error) -> list[ControllerAction]:
        """End the command or page request whose frame *error* names (a device that sends
        only an Error: an older one, UNSUPPORTED for a QueueRequest)."""
        failure = m.Failure(error.code, error.message)
        for request_id, seq in self._pages.items():
            if error.ref_seq and seq == error.ref_seq:
                del self._pages[request_id]
                return [PageDone(request_id, m.QueuePage(request_id, 0, 0, 0, (), failure))]
        command_id = self._by_seq.get(error.ref_seq) if error.ref_seq else None
        if command_id is None or not self._take(command_id):
            return []
        return [CommandDone(command_id, m.CommandResult(command_id, self.revision, failure))]

    def _take(self, command_id: str) -> bool:
        seq = self._waiting.pop(command_id, None)
        if seq is None:
            return False
        self._by_seq.pop(seq, None)
        return True

    def _fail_waiting(self, reason: str) -> list[ControllerAction]:
        lost: list[ControllerAction] = [
            CommandLost(cid, ConnectionLostError(reason)) for cid in self._waiting
        ]
        lost += [PageLost(rid, ConnectionLostError(reason)) for rid in self._pages]
        self._waiting.clear()
        self._by_seq.clear()
        self._pages.clear()
        return lost

    def _end(self, error: ConnectError, *, goodbye: bool = False) -> list[ControllerAction]:
        actions = self._fail_waiting(str(error))
        self._phase = _Phase.ENDED
        return [*actions, Ended(error, goodbye)]

    def _require_open(self) -> None:
        if self._phase is not _Phase.OPEN:
            raise ConnectionLostError(f"not connected to device {self.device_id}")
