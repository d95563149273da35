"""The Connect protocol's messages as frozen dataclasses and enums (the wire is in proto/).

Field meanings and units are documented once, in proto/baton/connect/v1/connect.proto; names
here follow it. Enum values equal their wire numbers. Where the wire's zero value has a defined
meaning (RepeatMode 0 = off), the enum has no zero member and the codec maps 0 onto that meaning;
elsewhere `UNKNOWN = 0` stands for "a value this version does not know".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

# The queue's types live in connect.wire._queue; this is where everyone finds them.
from connect.wire._queue import QueueChange as QueueChange
from connect.wire._queue import QueueEdit as QueueEdit
from connect.wire._queue import QueueInsert as QueueInsert
from connect.wire._queue import QueueItem as QueueItem
from connect.wire._queue import QueueMove as QueueMove
from connect.wire._queue import QueueRemove as QueueRemove
from connect.wire._queue import QueueRequest as QueueRequest
from connect.wire._queue import index_of as index_of
from connect.wire._queue import uids_of as uids_of

# ------------------------------------------------------------------------------ enums


class DeviceType(enum.Enum):
    """What kind of device this is (wire 0 and unknown values read as OTHER)."""

    SPEAKER = 1
    CAR = 2
    TV = 3
    COMPUTER = 4
    AVR = 5
    PHONE = 6
    OTHER = 7


class Role(enum.Enum):
    """What a connected controller may do."""

    OWNER = 1
    CONTROLLER = 2
    GUEST = 3
    OBSERVER = 4


class PairingMode(enum.Enum):
    """How a device lets controllers in (wire 0 and unknown values read as PIN, the safe side)."""

    OPEN = 1
    PIN = 2


class ErrorCode(enum.Enum):
    """Typed error codes of CommandResult, transfer failures and Error."""

    UNKNOWN = 0
    UNSUPPORTED = 1
    MALFORMED = 2
    TOO_LARGE = 3
    VERSION = 4
    UNAUTHENTICATED = 5
    FORBIDDEN = 6
    CONFLICT = 7
    NOT_FOUND = 8
    INVALID_ARGUMENT = 9
    RESTRICTED = 10
    MEDIA_NOT_FOUND = 11
    MEDIA_UNSUPPORTED = 12
    MEDIA_UNREACHABLE = 13
    AUDIO_OUTPUT = 14
    BUSY = 15
    TIMEOUT = 16
    NOT_ACTIVE = 17
    RATE_LIMITED = 18
    INTERNAL = 19
    REVOKED = 20
    MEDIA_SOURCE_GONE = 21  # a media capability URL whose server restarted or stopped


class CommandKind(enum.Enum):
    """Kinds of command, as named by restrictions."""

    UNKNOWN = 0
    PLAY = 1
    PAUSE = 2
    RESUME = 3
    SEEK = 4
    SKIP_NEXT = 5
    SKIP_PREVIOUS = 6
    SET_VOLUME = 7
    SET_QUEUE = 8
    ADD_TO_QUEUE = 9
    SET_OPTIONS = 10
    TRANSFER = 11
    REMOVE_FROM_QUEUE = 12
    MOVE_IN_QUEUE = 13
    CLEAR_QUEUE = 14


class GoodbyeReason(enum.Enum):
    """Why a peer closes the session."""

    UNKNOWN = 0
    SHUTDOWN = 1
    VERSION = 2
    UNAUTHENTICATED = 3
    REVOKED = 4
    PROTOCOL_ERROR = 5
    TIMEOUT = 6


class PlaybackStatus(enum.Enum):
    """What the player is doing (wire 0 reads as STOPPED)."""

    STOPPED = 1
    PAUSED = 2
    PLAYING = 3
    BUFFERING = 4


class RepeatMode(enum.Enum):
    """Repeat setting (wire 0 reads as OFF)."""

    OFF = 1
    ALL = 2
    ONE = 3


class StateChangeReason(enum.Enum):
    """Why a StateSnapshot was pushed."""

    UNKNOWN = 0
    INITIAL = 1
    COMMAND = 2
    PLAYBACK = 3
    ERROR = 4
    TRANSFER = 5
    RESTORED = 6


class TransferMode(enum.Enum):
    """Make-before-break handoff, or the stop-then-start others use (wire 0 reads as HANDOFF)."""

    HANDOFF = 1
    STOP_FIRST = 2


class VolumePolicy(enum.Enum):
    """Which volume the transfer target ends up with (wire 0 reads as KEEP_TARGET)."""

    KEEP_TARGET = 1
    CARRY_SOURCE = 2
    LOWER = 3


class SourceAfter(enum.Enum):
    """What the transfer source does after the switch (wire 0 reads as STOP)."""

    STOP = 1
    PAUSE = 2


class TransferRole(enum.Enum):
    """The side of a transfer a device is on (wire 0 is refused where a role is required)."""

    SOURCE = 1
    TARGET = 2


class TransferPhase(enum.Enum):
    """How far a transfer got on its target, as `GET /connect/v1/transfers/{id}` says."""

    UNKNOWN = 1  # never heard of (or forgotten); also what wire 0 reads as
    PREROLLED = 2  # pre-rolled, not committed; once asked, it never will be
    STARTED = 3  # committed: the target took the session
    ABORTED = 4  # refused, called off or dropped: it will never start


# ------------------------------------------------------------------------------ common


@dataclass(frozen=True, slots=True, order=True)
class ProtocolVersion:
    """A protocol version; majors are incompatible, minors only add."""

    major: int
    minor: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True, slots=True)
class VersionRange:
    """An inclusive range of protocol versions."""

    lowest: ProtocolVersion
    highest: ProtocolVersion

    def highest_common(self, other: VersionRange) -> ProtocolVersion | None:
        """Return the highest version both ranges contain, or None when they do not overlap."""
        top = min(self.highest, other.highest)
        return top if top >= max(self.lowest, other.lowest) else None

    def __str__(self) -> str:
        return f"{self.lowest}..{self.highest}"


@dataclass(frozen=True, slots=True)
class Failure:
    """A typed failure with a sentence for humans."""

    code: ErrorCode
    message: str = ""
    pairing_tries_left: int | None = None  # a wrong pairing code: wrong codes left before a pause


@dataclass(frozen=True, slots=True)
class Restriction:
    """Why a kind of command is not allowed now (at least one reason)."""

    command: CommandKind
    reasons: tuple[str, ...]


# ------------------------------------------------------------------------------ devices


@dataclass(frozen=True, slots=True)
class VolumeCapabilities:
    """What a device's volume control can do."""

    settable: bool = True
    reportable: bool = True
    steps: int = 100


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a device can do; controllers offer transfers only where these fit."""

    audio_codecs: tuple[str, ...] = ()
    volume: VolumeCapabilities = VolumeCapabilities()
    seek: bool = True
    queue: bool = True
    transfer_source: bool = True
    transfer_target: bool = True
    output_delay_us: int = 0
    max_volume: int = 100


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A device's description, from `GET /connect/v1/info` and Welcome."""

    id: str
    name: str
    type: DeviceType
    protocol: VersionRange
    capabilities: Capabilities = Capabilities()
    model: str = ""
    manufacturer: str = ""
    software_version: str = ""
    restrictions: tuple[Restriction, ...] = ()
    ws_path: str = "/connect/v1/ws"
    pairing: PairingMode = PairingMode.PIN
    revision: int = 0


@dataclass(frozen=True, slots=True)
class ClientIdentity:
    """Who a controller is."""

    id: str
    name: str
    type: DeviceType = DeviceType.COMPUTER
    software: str = ""


# ------------------------------------------------------------------------------ session setup


@dataclass(frozen=True, slots=True)
class Hello:
    """First frame from a controller."""

    supported: VersionRange
    client: ClientIdentity
    requested_role: Role | None = None  # None: the best the credential allows
    token: str = ""


@dataclass(frozen=True, slots=True)
class Welcome:
    """A device's acceptance of a Hello."""

    version: ProtocolVersion
    role: Role
    device: DeviceInfo
    connection_id: str
    heartbeat_interval_ms: int


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Sent when idle; from a device it carries the current revision."""

    revision: int = 0


@dataclass(frozen=True, slots=True)
class Goodbye:
    """The sender closes the session."""

    reason: GoodbyeReason
    message: str = ""
    supported: VersionRange | None = None


@dataclass(frozen=True, slots=True)
class Error:
    """A frame could not be handled; the session stays up."""

    code: ErrorCode
    message: str = ""
    ref_seq: int = 0
    ref_msg_id: str = ""


@dataclass(frozen=True, slots=True)
class TimeRequest:
    """Clock-sync probe: t1 in the controller's clock."""

    client_send_us: int


@dataclass(frozen=True, slots=True)
class TimeResponse:
    """Clock-sync answer: t1 echoed, t2 and t3 in the device's clock."""

    client_send_us: int
    device_receive_us: int
    device_send_us: int


# ------------------------------------------------------------------------------ playback state


@dataclass(frozen=True, slots=True)
class PlaybackClock:
    """Position as a clock: `position_ms` held at `as_of_us` (device clock) and moves at `rate`."""

    position_ms: int
    as_of_us: int
    rate: float = 1.0
    playing: bool = False

    def position_at(self, now_us: int) -> int:
        """Return the position in ms at instant *now_us* of the same clock (never negative)."""
        if not self.playing:
            return self.position_ms
        return max(0, self.position_ms + round((now_us - self.as_of_us) * self.rate / 1000))


@dataclass(frozen=True, slots=True)
class NowPlaying:
    """What a live stream says is on: its title (ICY StreamTitle), station name and logo."""

    title: str = ""
    station: str = ""
    logo_url: str = ""


@dataclass(frozen=True, slots=True)
class PlaybackState:
    """The session as its active device holds it."""

    session_id: str
    revision: int
    device_id: str = ""
    queue: tuple[QueueItem, ...] = ()
    current_uid: str = ""
    clock: PlaybackClock = PlaybackClock(0, 0)
    status: PlaybackStatus = PlaybackStatus.STOPPED
    volume: int = 50
    muted: bool = False
    shuffle: bool = False
    shuffle_seed: int = 0
    repeat: RepeatMode = RepeatMode.OFF
    active: bool = False
    last_command_id: str = ""
    error: Failure | None = None
    restrictions: tuple[Restriction, ...] = ()
    live: bool = False  # the current item is a live stream: no length, no seek
    now_playing: NowPlaying | None = None  # what a live stream says is on
    epoch: int = 0  # ownership epoch: +1 each time the session moves to another device
    # Protocol 1.1: `queue` holds the items from `queue_offset` on, out of `queue_length`
    # (0: `queue` is the whole queue); `queue_revision` changes with the queue's items only.
    queue_offset: int = 0
    queue_length: int = 0
    queue_revision: int = 0

    @property
    def current_item(self) -> QueueItem | None:
        """Return the current queue item, or None."""
        if not self.current_uid:
            return None
        index = index_of(self.queue, self.current_uid)
        return None if index is None else self.queue[index]

    @property
    def queue_total(self) -> int:
        """Return the number of items in the whole queue (`queue` may hold only some)."""
        return self.queue_length or len(self.queue)

    @property
    def queue_whole(self) -> bool:
        """Return True when `queue` holds the whole queue."""
        return self.queue_length == 0


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """A device's state, pushed to every controller after each change."""

    state: PlaybackState
    reason: StateChangeReason = StateChangeReason.UNKNOWN
    queue_change: QueueChange | None = None  # protocol 1.1: how the queue changed, if it did


# ------------------------------------------------------------------------------ commands


@dataclass(frozen=True, slots=True)
class Play:
    """Play an item of the queue (empty uid: the current one)."""

    item_uid: str = ""
    position_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    """Pause playback."""


@dataclass(frozen=True, slots=True)
class Resume:
    """Resume playback."""


@dataclass(frozen=True, slots=True)
class Seek:
    """Move to a position in the current item."""

    position_ms: int


@dataclass(frozen=True, slots=True)
class SkipNext:
    """Go to the next item."""


@dataclass(frozen=True, slots=True)
class SkipPrevious:
    """Go to the previous item (or the start of this one)."""


@dataclass(frozen=True, slots=True)
class SetVolume:
    """Set the volume (percent) and optionally the mute state."""

    volume: int
    muted: bool | None = None


@dataclass(frozen=True, slots=True)
class SetQueue:
    """Replace the queue."""

    items: tuple[QueueItem, ...]
    start_uid: str = ""
    start_position_ms: int = 0
    play: bool = True


@dataclass(frozen=True, slots=True)
class AddToQueue:
    """Insert items after `after_uid` (empty: at the end)."""

    items: tuple[QueueItem, ...]
    after_uid: str = ""


@dataclass(frozen=True, slots=True)
class RemoveFromQueue:
    """Remove the items with these uids (never the current one: skip or clear instead)."""

    uids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MoveInQueue:
    """Move the item `uid` to just after `after_uid` (empty: to the front)."""

    uid: str
    after_uid: str = ""


@dataclass(frozen=True, slots=True)
class ClearQueue:
    """Remove every item but the current one (the music goes on; nothing current: all)."""


@dataclass(frozen=True, slots=True)
class SetOptions:
    """Change shuffle and repeat; None leaves a setting as it is."""

    shuffle: bool | None = None
    shuffle_seed: int | None = None
    repeat: RepeatMode | None = None


Action = (
    Play
    | Pause
    | Resume
    | Seek
    | SkipNext
    | SkipPrevious
    | SetVolume
    | SetQueue
    | AddToQueue
    | SetOptions
    | RemoveFromQueue
    | MoveInQueue
    | ClearQueue
)


@dataclass(frozen=True, slots=True)
class Command:
    """A controller's request to change the state, applied only at `expected_revision` if set."""

    command_id: str
    action: Action
    expected_revision: int | None = None


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The outcome of a Command; `failure` is None when it succeeded."""

    command_id: str
    revision: int
    failure: Failure | None = None

    @property
    def ok(self) -> bool:
        """Return True when the command succeeded."""
        return self.failure is None


@dataclass(frozen=True, slots=True)
class QueuePage:
    """Items of a device's queue at `queue_revision`, from index `offset` on (protocol 1.1)."""

    request_id: str
    queue_revision: int
    offset: int
    queue_length: int
    items: tuple[QueueItem, ...] = ()
    failure: Failure | None = None


# ------------------------------------------------------------------------------ transfer


@dataclass(frozen=True, slots=True)
class TransferOptions:
    """How a transfer is carried out."""

    mode: TransferMode = TransferMode.HANDOFF
    volume_policy: VolumePolicy = VolumePolicy.KEEP_TARGET
    source_after: SourceAfter = SourceAfter.STOP
    paused: bool = False
    fade_ms: int = 30


@dataclass(frozen=True, slots=True)
class TransferOffer:
    """Step 1: the session offered to the target, its clock in the target's clock."""

    transfer_id: str
    state: PlaybackState
    options: TransferOptions
    source_device_id: str
    deadline_us: int
    source_volume: int = 0
    prepare: bool = False  # only pre-open the media for a later offer (a device picker shows)
    commit_lead_us: int = 0  # what the controller needs from Ready to the switch (0: unsaid)
    source_url: str = ""  # protocol 1.1: where the target fetches the rest of a windowed queue


@dataclass(frozen=True, slots=True)
class TransferReady:
    """Step 2: the target has the media open and paused at `prerolled_position_ms`."""

    transfer_id: str
    prerolled_position_ms: int
    ready_at_us: int
    output_delay_us: int = 0
    start_lead_us: int = 0
    offer_received_at_us: int = 0  # target clock; ready_at_us minus this is the pre-roll


@dataclass(frozen=True, slots=True)
class TransferRejected:
    """Step 2, refused: the target will not take the session."""

    transfer_id: str
    failure: Failure
    owner_device_id: str = ""  # on CONFLICT / NOT_ACTIVE: who holds the session now


@dataclass(frozen=True, slots=True)
class TransferCommit:
    """Step 3: switch at `switch_at_us` in the receiving device's clock."""

    transfer_id: str
    role: TransferRole
    switch_at_us: int
    position_ms: int = 0
    fade_ms: int = 0
    source_after: SourceAfter = SourceAfter.STOP
    revision: int = 0
    # For the source: whom to ask how the transfer went if no verdict comes ("": do not ask).
    target_device_id: str = ""
    target_url: str = ""  # the target's base URL, https://host:port (pinned) or http://host:port
    epoch: int = 0  # source: the epoch it must hold (0: unchecked); target: the epoch it takes


@dataclass(frozen=True, slots=True)
class TransferAborted:
    """The transfer ended before commit; the source keeps playing."""

    transfer_id: str
    failure: Failure


@dataclass(frozen=True, slots=True)
class TransferTimings:
    """A transfer's measured timings, in one clock (gap_us < 0 is an overlap)."""

    request_to_ready_ms: int
    ready_to_audible_ms: int
    request_to_audible_ms: int
    gap_us: int
    position_error_ms: int
    # Request -> audible in four parts (µs): the offer's way to the target, the pre-roll, the
    # lead from Ready to the switch, the switch to the first audible sample.
    offer_us: int = 0
    preroll_us: int = 0
    lead_us: int = 0
    start_us: int = 0


@dataclass(frozen=True, slots=True)
class TransferDone:
    """Step 4: the instant a device's output changed, in its own clock."""

    transfer_id: str
    role: TransferRole
    edge_at_us: int
    position_ms: int = 0
    revision: int = 0
    timings: TransferTimings | None = None


@dataclass(frozen=True, slots=True)
class TransferStatus:
    """Body of `GET /connect/v1/transfers/{transfer_id}`: that transfer's phase on the device."""

    transfer_id: str
    phase: TransferPhase


# ------------------------------------------------------------------------------ pairing (HTTP)


@dataclass(frozen=True, slots=True)
class PairingRequest:
    """Body of `POST /connect/v1/pair`."""

    client: ClientIdentity
    pin: str
    requested_role: Role | None = None


@dataclass(frozen=True, slots=True)
class PairingResponse:
    """Answer to a successful pairing: a token to present in Hello."""

    token: str
    role: Role
    device_id: str
    certificate_sha256: str = ""


# ------------------------------------------------------------------------------ access (HTTP)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """One paired controller's token as a device lists it (never its secret)."""

    id: str
    client: ClientIdentity
    role: Role
    created_unix_ms: int = 0
    last_used_unix_ms: int = 0  # 0: never used in a Hello


@dataclass(frozen=True, slots=True)
class TokenList:
    """Answer to `GET /connect/v1/tokens`."""

    tokens: tuple[TokenInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class PairingCode:
    """Answer to `GET /connect/v1/pairing-code`: the device's current 6-digit code."""

    code: str


@dataclass(frozen=True, slots=True)
class RenameRequest:
    """Body of `PUT /connect/v1/name`."""

    name: str


# ------------------------------------------------------------------------------ framing

Body = (
    Hello
    | Welcome
    | TimeRequest
    | TimeResponse
    | Command
    | CommandResult
    | StateSnapshot
    | TransferOffer
    | TransferReady
    | TransferRejected
    | TransferCommit
    | TransferAborted
    | TransferDone
    | Heartbeat
    | Goodbye
    | Error
    | QueueRequest
    | QueuePage
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """One session frame: a body with its sequence number, id and trace context."""

    seq: int
    msg_id: str
    body: Body
    traceparent: str = ""
    tracestate: str = ""


PROTOCOL_V1 = VersionRange(ProtocolVersion(1, 0), ProtocolVersion(1, 1))
"""The protocol versions this implementation speaks."""

QUEUE_PAGES = ProtocolVersion(1, 1)
"""The version from which queues travel by window, page and edit (proto: Queues as large...)."""

MAX_FRAME_BYTES = 1024 * 1024
"""Frames over this size are refused unparsed (DESIGN.md)."""
