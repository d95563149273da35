"""Messages of the playback state and of the commands that change it."""

from __future__ import annotations

from dataclasses import dataclass

from connect.wire._enums import PlaybackStatus, RepeatMode, StateChangeReason
from connect.wire._group import Group
from connect.wire._queue import QueueChange, QueueItem, index_of
from connect.wire._session import Failure, Restriction

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
    group: Group | None = None  # protocol 1.2: the group this device plays in (None: alone)

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
