"""What the app's screens show: frozen snapshots built on the asyncio thread, read on the UI thread.

Nothing here imports Qt, so the core and its tests stay Qt-free; the bridge carries these
values across threads inside Qt signals.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from connect.clock import ClockEstimate, monotonic_us
from connect.wire import messages as m

if TYPE_CHECKING:
    from client.app.library import Library


class Access(enum.Enum):
    """Whether this app may control a device (docs/security.md), as the Devices screen says it."""

    OPEN = "open"  # an open-mode device: anyone on the network may control it
    PAIRED = "paired"  # we hold a credential for it (from the app or `baton pair`)
    NEEDS_PAIRING = "Needs pairing"  # pin mode and no credential, or it refused ours
    REVOKED = "Access revoked"  # its owner revoked our token; pairing again lets us back in


@dataclass(frozen=True)
class DeviceView:
    """One device as the Devices screen shows it."""

    id: str
    name: str
    type: m.DeviceType
    online: bool
    address: str  # "host:port"
    last_seen: float  # wall-clock seconds; 0 when never seen
    is_local: bool = False  # "This computer"
    info: m.DeviceInfo | None = None  # from the session's Welcome, once connected
    active: bool = False  # holds the session (plays or has a queue)
    status: m.PlaybackStatus = m.PlaybackStatus.STOPPED
    offline_reason: str = ""
    why_not: str = ""  # why it cannot take the followed session's current item ("" if it can)
    access: Access = Access.OPEN
    role: m.Role | None = None  # granted in Welcome, else the stored credential's; None: none
    volume: int | None = None  # its session's volume (0-100); None: not known (no session)
    group: m.Group | None = None  # protocol 1.2: the group roster its state carries (None: alone)

    @property
    def can_group(self) -> bool:
        """Return True when the device says it can play in a group (Capabilities.group_member,
        protocol 1.2); the keeper still checks the session before anything is sent."""
        info = self.info
        if info is None or not info.capabilities.group_member:
            return False
        return info.protocol.highest >= m.GROUPS

    @property
    def locked(self) -> bool:
        """Return True when the device must be paired (again) before this app can use it."""
        return self.access in (Access.NEEDS_PAIRING, Access.REVOKED)

    @property
    def owned(self) -> bool:
        """Return True when this app is the device's owner (it may manage access)."""
        return self.role is m.Role.OWNER and not self.locked


@dataclass(frozen=True)
class SessionView:
    """The state of the device the listener follows, with the link's clock estimate."""

    device_id: str
    device_name: str
    state: m.PlaybackState
    estimate: ClockEstimate | None
    reason: m.StateChangeReason = m.StateChangeReason.UNKNOWN

    def position_ms(self, now_us: int | None = None) -> int:
        """Return the position now (local monotonic µs), extrapolated from the device's clock."""
        now = monotonic_us() if now_us is None else now_us
        device_now = self.estimate.to_device(now) if self.estimate else now
        return self.state.clock.position_at(device_now)


@dataclass(frozen=True)
class QueueRows:
    """The followed device's whole queue as far as fetched: one slot per item, None until a
    page brings it (the core's `QueueView`, connect/session/queue_view.py)."""

    device_id: str
    session_id: str
    revision: int  # the queue revision the slots belong to
    rows: tuple[m.QueueItem | None, ...]

    @classmethod
    def of_state(cls, device_id: str, state: m.PlaybackState) -> QueueRows:
        """Return what *state*'s window says: its items in place, the rest not fetched."""
        rows: list[m.QueueItem | None] = [None] * state.queue_total
        rows[state.queue_offset : state.queue_offset + len(state.queue)] = state.queue
        return cls(device_id, state.session_id, state.queue_revision, tuple(rows))


class TransferPhase(enum.Enum):
    """Where a transfer the listener asked for is."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class TransferView:
    """A transfer's progress, then its result with timings, or why it failed."""

    source_id: str
    target_id: str
    target_name: str
    phase: TransferPhase
    message: str = ""
    timings: m.TransferTimings | None = None
    elapsed_ms: int = 0


@dataclass(frozen=True)
class GroupingView:
    """A group change the listener asked for (devices joining, one leaving): running, then
    done, or why it failed in a sentence."""

    device_ids: tuple[str, ...]  # the devices it changes: the leader first when forming one
    phase: TransferPhase
    message: str = ""


class PairingPhase(enum.Enum):
    """Where a pairing the listener started is."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class PairingView:
    """A pairing's progress, then its outcome in words (never the code typed)."""

    device_id: str
    phase: PairingPhase
    message: str = ""


@dataclass(frozen=True)
class AccessView:
    """Who may control a device this app owns: its paired controllers and, if asked, its code."""

    device_id: str
    device_name: str
    tokens: tuple[m.TokenInfo, ...] = ()
    own_token_id: str = ""  # this app's token among them ("" when it holds none)
    code: str = ""  # the device's current pairing code, once asked for
    error: str = ""  # why the list could not be read ("" when it was)


@dataclass(frozen=True)
class PlaybackLost:
    """The device the listener followed went away (shut down, lost power) while it held music.

    `state` is its session as last known, stopped at `position_ms` (near where the music
    stopped: a silent power loss is noticed after the heartbeat's few seconds).
    """

    device_id: str
    device_name: str
    reason: str
    state: m.PlaybackState
    position_ms: int


@dataclass(frozen=True)
class LocalPairingCode:
    """The current pairing code of "This computer" (a TV shows it for phones to pair)."""

    code: str


@dataclass(frozen=True)
class Diagnostics:
    """The "Can't see your device?" panel: what the app listens on and what to open."""

    interfaces: tuple[str, ...]
    multicast_ok: bool | None  # None: not tested yet
    multicast_detail: str
    ports: tuple[str, ...]  # "UDP 5353 (mDNS)", ...


@dataclass(frozen=True)
class Notice:
    """A one-line message for the listener (an error or a confirmation)."""

    text: str
    error: bool = False


@dataclass(frozen=True)
class AppSettings:
    """What the app starts with (the Settings screen shows and edits them)."""

    music_folder: Path | None
    device_name: str
    state_dir: Path
    # Where to look for devices and serve the music (with loopback); empty: the default choice.
    interfaces: tuple[str, ...] = ()
    local_audio: str = "default"  # "This computer"'s output, as baton-receiver's --audio-output
    trace_collector: str = ""  # the collector's URL; "" means no tracing
    trace_user: str = ""  # the viewer user whose devices include this one (sent pseudonymised)
    trace_token: str = ""  # the collector's ingest token for this computer
    tv: bool = False
    browse: bool = True
    media_controls: bool = True  # MPRIS on the session bus (Linux)
    notify_tracks: bool = True  # a desktop notification on a track change, window not active


@dataclass(frozen=True)
class DeviceGone:
    """A device left the list (forgotten, or a provisional manual entry renamed)."""

    device_id: str


@dataclass(frozen=True)
class LibraryLoaded:
    """The music folder was scanned."""

    library: Library
    error: str = ""


@dataclass(frozen=True)
class LibraryProgress:
    """How far a scan of the music folder got: *done* of *total* files (done == total: over)."""

    done: int
    total: int
