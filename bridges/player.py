"""What every bridged device's adapter offers: one player, its status, and what it is.

A `BridgedPlayer` is the adapter of one kind (MPD: bridges/mpd/). Its commands are coroutines
run on the loop thread, one at a time (the bridged device holds a lock around them); each
answers with the `PlayerStatus` read from the device right after, so the session's clock is
anchored on what the device says, never on what it was asked. Changes the device makes on its
own (a track ends, another client pauses it) are announced through the listener given to
`async_start`, without a status: the device reads one under its lock.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from connect.wire import messages as m

__all__ = ["BridgedPlayer", "PlayerDescription", "PlayerState", "PlayerStatus"]


class PlayerState(enum.Enum):
    """What the bridged device's output does."""

    STOPPED = "stopped"
    PAUSED = "paused"
    PLAYING = "playing"


@dataclass(frozen=True)
class PlayerStatus:
    """The device's status as read at *as_of_us* (the bridge's monotonic clock, µs).

    `position_ms` is the content position at `as_of_us`; it is known to ±`uncertainty_ms`.
    `url` is the media loaded ("" none); `volume` is -1 when the device has no volume.
    """

    state: PlayerState
    position_ms: int
    as_of_us: int
    uncertainty_ms: int
    url: str = ""
    duration_ms: int = 0
    volume: int = -1
    error: str = ""

    @property
    def playing(self) -> bool:
        """Return True while the output plays."""
        return self.state is PlayerState.PLAYING

    def position_at(self, at_us: int) -> int:
        """Return the content position at *at_us*, extrapolated while playing."""
        if not self.playing:
            return self.position_ms
        return max(0, self.position_ms + (at_us - self.as_of_us) // 1000)


@dataclass(frozen=True)
class PlayerDescription:
    """What the device is, for its DeviceInfo: from the device where it says."""

    kind: str  # "mpd", "upnp"
    device_id: str  # its Baton id, stable, derived from the device (address, UDN)
    name: str
    type: m.DeviceType
    model: str
    manufacturer: str
    software_version: str
    audio_codecs: tuple[str, ...]
    position_uncertainty_ms: int
    volume_settable: bool = True
    seek: bool = True
    next_item: bool = False  # it takes the next item ahead (`async_set_next`) and goes on to it


class BridgedPlayer(Protocol):
    """One bridged device's player (see the module docstring)."""

    def describe(self) -> PlayerDescription:
        """Return what the device is (valid once started)."""
        ...

    async def async_start(self, changed: Callable[[], None]) -> None:
        """Connect; call *changed* whenever the device changes on its own (loop thread)."""
        ...

    async def async_status(self) -> PlayerStatus:
        """Read the device's status now."""
        ...

    async def async_load(
        self,
        url: str,
        position_ms: int,
        *,
        play: bool,
        title: str = "",
        content_type: str = "",
        artist: str = "",
    ) -> PlayerStatus:
        """Open *url* at *position_ms*; play it, or hold it there silent (*title*, *artist*
        and *content_type* for a device that shows or needs them)."""
        ...

    async def async_pause(self) -> PlayerStatus:
        """Pause, keeping the position."""
        ...

    async def async_resume(self) -> PlayerStatus:
        """Play from the paused (or held) position."""
        ...

    async def async_seek(self, position_ms: int) -> PlayerStatus:
        """Move to *position_ms* in the loaded media, playing or not as it was."""
        ...

    async def async_stop(self) -> PlayerStatus:
        """Stop and unload."""
        ...

    async def async_set_volume(self, volume: int) -> PlayerStatus:
        """Set the output level, 0..100."""
        ...

    async def async_set_next(self, url: str, *, title: str = "", content_type: str = "") -> None:
        """Give the device the item after the current one ("" none), to go on to by itself
        (only where `describe().next_item`); its status then names that item's URL."""
        ...

    async def async_close(self) -> None:
        """Disconnect (idempotent)."""
        ...
