"""The protocol's enums; values equal their wire numbers (see connect.wire.messages)."""

from __future__ import annotations

import enum

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


class GroupStep(enum.Enum):
    """Which group step a GroupDone or GroupRefused answers (every answer names one)."""

    LEAD = 1
    JOIN = 2
    LEAVE = 3
    VOLUME = 4


class GroupMemberPhase(enum.Enum):
    """Where a member is in its group (wire 0 and unknown values read as JOINING)."""

    JOINING = 1  # asked to join, not playing with the group yet
    PLAYING = 2  # on the timeline; the leader always is
    LEAVING = 3  # fading out; gone after its GroupDone
