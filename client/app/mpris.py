"""MPRIS 2's two D-Bus interfaces (the root and the Player) over `MediaControls`.

The interfaces only translate: property reads come from `client.app.media_controls`'s view of
the followed session, method calls and property writes go back to it as Baton actions. Their
D-Bus signatures are dbus-fast's typed annotations (DBusBool is `b`, VariantDict `a{sv}`).
"""

# No `from __future__ import annotations`: dbus-fast reads each member's D-Bus signature from
# its annotations at class creation, so they must be real objects, not unevaluated text.

import logging
import re
from typing import Annotated, Protocol

from dbus_fast import PropertyAccess, Variant
from dbus_fast.annotations import (
    DBusBool,
    DBusDouble,
    DBusInt64,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
)
from dbus_fast.service import ServiceInterface, dbus_property, method, signal

from connect.wire import messages as m


class Controls(Protocol):
    """What the interfaces read and ask (client.app.media_controls.MediaControls)."""

    metadata: dict[str, Variant]
    track_id: str

    @property
    def playing(self) -> bool:
        """Return True while the followed device plays."""
        ...

    @property
    def status(self) -> str:
        """Return PlaybackStatus."""
        ...

    @property
    def loop(self) -> str:
        """Return LoopStatus."""
        ...

    @property
    def shuffle(self) -> bool:
        """Return Shuffle."""
        ...

    @property
    def volume(self) -> float:
        """Return Volume (0.0 to 1.0)."""
        ...

    @property
    def has_queue(self) -> bool:
        """Return True when there is something to play."""
        ...

    @property
    def can_seek(self) -> bool:
        """Return True when the current item has a place to seek to (not a live stream)."""
        ...

    def position_us(self) -> int:
        """Return the position now, in µs."""
        ...

    def send(self, action: m.Action) -> None:
        """Send *action* to the followed device."""

    def seek_to(self, position_us: int) -> None:
        """Seek the current item to *position_us*."""


_LOG = logging.getLogger(__name__)

BUS_NAME = "org.mpris.MediaPlayer2.baton"
OBJECT_PATH = "/org/mpris/MediaPlayer2"
NO_TRACK = "/org/mpris/MediaPlayer2/TrackList/NoTrack"

LOOP_STATUS = {m.RepeatMode.OFF: "None", m.RepeatMode.ONE: "Track", m.RepeatMode.ALL: "Playlist"}
_REPEAT = {text: mode for mode, text in LOOP_STATUS.items()}
StrList = Annotated[list[str], DBusSignature("as")]
VariantDict = Annotated[dict[str, Variant], DBusSignature("a{sv}")]


def track_id(uid: str) -> str:
    """Return a queue item's MPRIS track id (a D-Bus object path made of the uid)."""
    safe = re.sub(r"[^A-Za-z0-9_]", "_", uid) or "_"
    return f"/org/baton/track/{safe}"


class RootInterface(ServiceInterface):
    """org.mpris.MediaPlayer2: who we are."""

    def __init__(self) -> None:
        super().__init__("org.mpris.MediaPlayer2")

    @method()
    def Raise(self) -> None:  # noqa: N802 - D-Bus names
        """CanRaise is false: nothing to do."""

    @method()
    def Quit(self) -> None:  # noqa: N802
        """CanQuit is false: nothing to do."""

    @dbus_property(access=PropertyAccess.READ)
    def CanQuit(self) -> DBusBool:  # noqa: N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def CanRaise(self) -> DBusBool:  # noqa: N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def HasTrackList(self) -> DBusBool:  # noqa: N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Identity(self) -> DBusStr:  # noqa: N802
        return "Baton"

    @dbus_property(access=PropertyAccess.READ)
    def DesktopEntry(self) -> DBusStr:  # noqa: N802
        return "baton"

    @dbus_property(access=PropertyAccess.READ)
    def SupportedUriSchemes(self) -> StrList:  # noqa: N802
        return []

    @dbus_property(access=PropertyAccess.READ)
    def SupportedMimeTypes(self) -> StrList:  # noqa: N802
        return []


class PlayerInterface(ServiceInterface):
    """org.mpris.MediaPlayer2.Player over the followed session."""

    def __init__(self, controls: Controls) -> None:
        super().__init__("org.mpris.MediaPlayer2.Player")
        self.controls = controls

    # ------------------------------------------------------------------ methods
    @method()
    def Next(self) -> None:  # noqa: N802
        self.controls.send(m.SkipNext())

    @method()
    def Previous(self) -> None:  # noqa: N802
        self.controls.send(m.SkipPrevious())

    @method()
    def Pause(self) -> None:  # noqa: N802
        self.controls.send(m.Pause())

    @method()
    def PlayPause(self) -> None:  # noqa: N802
        self.controls.send(m.Pause() if self.controls.playing else m.Resume())

    @method()
    def Stop(self) -> None:  # noqa: N802
        self.controls.send(m.Pause())  # a Baton session has no "stopped but kept" state

    @method()
    def Play(self) -> None:  # noqa: N802
        self.controls.send(m.Resume())

    @method()
    def Seek(self, offset: DBusInt64) -> None:  # noqa: N802
        target = self.controls.position_us() + offset
        self.controls.seek_to(max(0, target))

    @method()
    def SetPosition(self, track: DBusObjectPath, position: DBusInt64) -> None:  # noqa: N802
        if track == self.controls.track_id and position >= 0:  # the spec: else ignore it
            self.controls.seek_to(position)

    @method()
    def OpenUri(self, uri: DBusStr) -> None:  # noqa: N802
        _LOG.info("MPRIS OpenUri %s ignored: Baton plays its library and the queue", uri)

    @signal()
    def Seeked(self, position: DBusInt64) -> DBusInt64:  # noqa: N802
        return position

    # ------------------------------------------------------------------ properties
    @dbus_property(access=PropertyAccess.READ)
    def PlaybackStatus(self) -> DBusStr:  # noqa: N802
        return self.controls.status

    @dbus_property()
    def LoopStatus(self) -> DBusStr:  # noqa: N802
        return self.controls.loop

    @LoopStatus.setter  # type: ignore[no-redef]
    def LoopStatus(self, value: DBusStr) -> None:  # noqa: N802
        if value in _REPEAT:
            self.controls.send(m.SetOptions(repeat=_REPEAT[value]))

    @dbus_property()
    def Rate(self) -> DBusDouble:  # noqa: N802
        return 1.0

    @Rate.setter  # type: ignore[no-redef]
    def Rate(self, value: DBusDouble) -> None:  # noqa: N802
        """Only 1.0 is supported (MinimumRate = MaximumRate = 1)."""

    @dbus_property()
    def Shuffle(self) -> DBusBool:  # noqa: N802
        return self.controls.shuffle

    @Shuffle.setter  # type: ignore[no-redef]
    def Shuffle(self, value: DBusBool) -> None:  # noqa: N802
        self.controls.send(m.SetOptions(shuffle=bool(value)))

    @dbus_property(access=PropertyAccess.READ)
    def Metadata(self) -> VariantDict:  # noqa: N802
        return self.controls.metadata

    @dbus_property()
    def Volume(self) -> DBusDouble:  # noqa: N802
        return self.controls.volume

    @Volume.setter  # type: ignore[no-redef]
    def Volume(self, value: DBusDouble) -> None:  # noqa: N802
        self.controls.send(m.SetVolume(max(0, min(100, round(value * 100)))))

    @dbus_property(access=PropertyAccess.READ)
    def Position(self) -> DBusInt64:  # noqa: N802
        return self.controls.position_us()

    @dbus_property(access=PropertyAccess.READ)
    def MinimumRate(self) -> DBusDouble:  # noqa: N802
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    def MaximumRate(self) -> DBusDouble:  # noqa: N802
        return 1.0

    @dbus_property(access=PropertyAccess.READ)
    def CanGoNext(self) -> DBusBool:  # noqa: N802
        return self.controls.has_queue

    @dbus_property(access=PropertyAccess.READ)
    def CanGoPrevious(self) -> DBusBool:  # noqa: N802
        return self.controls.has_queue

    @dbus_property(access=PropertyAccess.READ)
    def CanPlay(self) -> DBusBool:  # noqa: N802
        return self.controls.has_queue

    @dbus_property(access=PropertyAccess.READ)
    def CanPause(self) -> DBusBool:  # noqa: N802
        return self.controls.has_queue

    @dbus_property(access=PropertyAccess.READ)
    def CanSeek(self) -> DBusBool:  # noqa: N802
        return self.controls.can_seek

    @dbus_property(access=PropertyAccess.READ)
    def CanControl(self) -> DBusBool:  # noqa: N802
        return True
