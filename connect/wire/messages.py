"""The Connect protocol's messages as frozen dataclasses and enums (the wire is in proto/).

Field meanings and units are documented once, in proto/baton/connect/v1/connect.proto; names
here follow it. Enum values equal their wire numbers. Where the wire's zero value has a defined
meaning (RepeatMode 0 = off), the enum has no zero member and the codec maps 0 onto that meaning;
elsewhere `UNKNOWN = 0` stands for "a value this version does not know".
"""

from __future__ import annotations

from dataclasses import dataclass

# The messages live in private modules by idea (enums, session, playback, transfer, group);
# this is where everyone finds them.
from connect.wire._enums import CommandKind as CommandKind
from connect.wire._enums import DeviceType as DeviceType
from connect.wire._enums import ErrorCode as ErrorCode
from connect.wire._enums import GoodbyeReason as GoodbyeReason
from connect.wire._enums import GroupMemberPhase as GroupMemberPhase
from connect.wire._enums import GroupStep as GroupStep
from connect.wire._enums import PairingMode as PairingMode
from connect.wire._enums import PlaybackStatus as PlaybackStatus
from connect.wire._enums import RepeatMode as RepeatMode
from connect.wire._enums import Role as Role
from connect.wire._enums import SourceAfter as SourceAfter
from connect.wire._enums import StateChangeReason as StateChangeReason
from connect.wire._enums import TransferMode as TransferMode
from connect.wire._enums import TransferPhase as TransferPhase
from connect.wire._enums import TransferRole as TransferRole
from connect.wire._enums import VolumePolicy as VolumePolicy
from connect.wire._group import Group as Group
from connect.wire._group import GroupMember as GroupMember
from connect.wire._group import GroupTimeline as GroupTimeline
from connect.wire._group_steps import GroupDone as GroupDone
from connect.wire._group_steps import GroupJoin as GroupJoin
from connect.wire._group_steps import GroupLead as GroupLead
from connect.wire._group_steps import GroupLeave as GroupLeave
from connect.wire._group_steps import GroupRefused as GroupRefused
from connect.wire._group_steps import GroupVolume as GroupVolume
from connect.wire._playback import Action as Action
from connect.wire._playback import AddToQueue as AddToQueue
from connect.wire._playback import ClearQueue as ClearQueue
from connect.wire._playback import Command as Command
from connect.wire._playback import CommandResult as CommandResult
from connect.wire._playback import MoveInQueue as MoveInQueue
from connect.wire._playback import NowPlaying as NowPlaying
from connect.wire._playback import Pause as Pause
from connect.wire._playback import Play as Play
from connect.wire._playback import PlaybackClock as PlaybackClock
from connect.wire._playback import PlaybackState as PlaybackState
from connect.wire._playback import QueuePage as QueuePage
from connect.wire._playback import RemoveFromQueue as RemoveFromQueue
from connect.wire._playback import Resume as Resume
from connect.wire._playback import Seek as Seek
from connect.wire._playback import SetOptions as SetOptions
from connect.wire._playback import SetQueue as SetQueue
from connect.wire._playback import SetVolume as SetVolume
from connect.wire._playback import SkipNext as SkipNext
from connect.wire._playback import SkipPrevious as SkipPrevious
from connect.wire._playback import StateSnapshot as StateSnapshot

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
from connect.wire._session import Capabilities as Capabilities
from connect.wire._session import ClientIdentity as ClientIdentity
from connect.wire._session import DeviceInfo as DeviceInfo
from connect.wire._session import Error as Error
from connect.wire._session import Failure as Failure
from connect.wire._session import Goodbye as Goodbye
from connect.wire._session import Heartbeat as Heartbeat
from connect.wire._session import Hello as Hello
from connect.wire._session import ProtocolVersion as ProtocolVersion
from connect.wire._session import Restriction as Restriction
from connect.wire._session import TimeRequest as TimeRequest
from connect.wire._session import TimeResponse as TimeResponse
from connect.wire._session import VersionRange as VersionRange
from connect.wire._session import VolumeCapabilities as VolumeCapabilities
from connect.wire._session import Welcome as Welcome
from connect.wire._transfer import PairingCode as PairingCode
from connect.wire._transfer import PairingRequest as PairingRequest
from connect.wire._transfer import PairingResponse as PairingResponse
from connect.wire._transfer import RenameRequest as RenameRequest
from connect.wire._transfer import TokenInfo as TokenInfo
from connect.wire._transfer import TokenList as TokenList
from connect.wire._transfer import TransferAborted as TransferAborted
from connect.wire._transfer import TransferCommit as TransferCommit
from connect.wire._transfer import TransferDone as TransferDone
from connect.wire._transfer import TransferOffer as TransferOffer
from connect.wire._transfer import TransferOptions as TransferOptions
from connect.wire._transfer import TransferReady as TransferReady
from connect.wire._transfer import TransferRejected as TransferRejected
from connect.wire._transfer import TransferStatus as TransferStatus
from connect.wire._transfer import TransferTimings as TransferTimings

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
    | GroupLead
    | GroupJoin
    | GroupLeave
    | GroupTimeline
    | GroupVolume
    | GroupDone
    | GroupRefused
)


@dataclass(frozen=True, slots=True)
class Envelope:
    """One session frame: a body with its sequence number, id and trace context."""

    seq: int
    msg_id: str
    body: Body
    traceparent: str = ""
    tracestate: str = ""


PROTOCOL_V1 = VersionRange(ProtocolVersion(1, 0), ProtocolVersion(1, 2))
"""The protocol versions this implementation speaks (a controller offers them all)."""

QUEUE_PAGES = ProtocolVersion(1, 1)
"""The version from which queues travel by window, page and edit (proto: Queues as large...)."""

GROUPS = ProtocolVersion(1, 2)
"""The version from which a device may play in a group (proto: Groups)."""

PROTOCOL_V1_ALONE = VersionRange(ProtocolVersion(1, 0), ProtocolVersion(1, 1))
"""What a device that cannot play in a group speaks (a bridge): its sessions stay below GROUPS,
so a controller refuses it before sending any group step (connect/group/rules.py)."""

MAX_FRAME_BYTES = 1024 * 1024
"""Frames over this size are refused unparsed (DESIGN.md)."""
