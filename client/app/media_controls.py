"""The desktop's own media controls: MPRIS 2 on the session bus, for whatever device plays.

`MediaControls` publishes `org.mpris.MediaPlayer2.baton` (client/app/mpris.py) on the core's
event loop, so media keys, GNOME's and KDE's media widgets and `playerctl` see the followed
device's session and control it. It sees the sessions the core emits (`tap` wraps the core's
emit), takes album art from the core's library, and acts through the core's `async_command`.
`Position` is never signalled (clients extrapolate it, as MPRIS says); `Seeked` is, on every
jump of the position: a seek, and a transfer to another device. A track change raises a desktop
notification (org.freedesktop.Notifications, same bus) while the window is not the active
one, unless the listener turned that off in Settings.

No session bus (a headless box, a container, not Linux): it says so once in the log and stays
off; the app runs as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from dbus_fast import BusType, Message, MessageType, RequestNameReply, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError

from client.app import views as v
from client.app.library import Album, Library
from client.app.mpris import (
    BUS_NAME,
    LOOP_STATUS,
    NO_TRACK,
    OBJECT_PATH,
    PlayerInterface,
    RootInterface,
    track_id,
)
from connect.media_capability import library_path_of
from connect.wire import messages as m

_LOG = logging.getLogger(__name__)

JUMP_MS = 1000  # a position this far off the extrapolated one is a jump: Seeked
NOTIFY_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_S = 3.0
_STATUS = {
    m.PlaybackStatus.PLAYING: "Playing",
    m.PlaybackStatus.BUFFERING: "Playing",
    m.PlaybackStatus.PAUSED: "Paused",
}

Command = Callable[[m.Action], Coroutine[Any, Any, None]]


class MediaControls:
    """MPRIS for the followed session; build anywhere, use on the core's loop."""

    def __init__(
        self,
        art_dir: Path,
        *,
        notify: bool = True,
        window_active: Callable[[], bool] = lambda: False,
        bus_address: str | None = None,
    ) -> None:
        self.art_dir = art_dir
        self.notify = notify
        self.window_active = window_active  # read on the loop, the UI thread keeps it
        self.command: Command | None = None  # the core's async_command, once it exists
        self.library: Callable[[], Library | None] = lambda: None  # the core's, for album art
        self._albums_of: tuple[int, dict[str, Album]] = (0, {})
        self._bus_address = bus_address
        self._bus: MessageBus | None = None
        self._player = PlayerInterface(self)
        self._session: v.SessionView | None = None
        self._art_urls: dict[str, str] = {}
        self._notified = 0  # the id of our last notification (replaced, never piled up)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.metadata: dict[str, Variant] = {"mpris:trackid": Variant("o", NO_TRACK)}
        self._on_air: m.NowPlaying | None = None  # what the radio said last (in Metadata)
        self.track_id = NO_TRACK

    # ------------------------------------------------------------------ lifecycle
    async def async_start(self) -> bool:
        """Connect to the session bus and take the name; False (logged) when there is none."""
        if not sys.platform.startswith("linux"):
            return False
        address = self._bus_address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            _LOG.info("no session bus (DBUS_SESSION_BUS_ADDRESS unset): no MPRIS media controls")
            return False
        try:
            bus = await asyncio.wait_for(
                MessageBus(bus_address=address, bus_type=BusType.SESSION).connect(),
                CONNECT_TIMEOUT_S,
            )
            bus.export(OBJECT_PATH, RootInterface())
            bus.export(OBJECT_PATH, self._player)
            reply = await bus.request_name(BUS_NAME)
        except (OSError, TimeoutError, DBusError, ValueError) as exc:
            _LOG.info("session bus not reachable (%s): no MPRIS media controls", exc)
            return False
        if reply not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            _LOG.info("%s is taken (another Baton?): no MPRIS media controls", BUS_NAME)
            bus.disconnect()
            return False
        self._bus = bus
        return True

    async def async_close(self) -> None:
        """Leave the bus (idempotent)."""
        for task in list(self._tasks):
            task.cancel()
        bus, self._bus = self._bus, None
        if bus is not None:
            bus.disconnect()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bus.wait_for_disconnect(), 2.0)  # type: ignore[no-untyped-call]

    def tap(self, emit: Callable[[object], None]) -> Callable[[object], None]:
        """Return an emit that shows sessions and libraries here, then passes them on."""

        def tapped(event: object) -> None:
            if isinstance(event, v.SessionView):
                self.show(event)
            emit(event)

        return tapped

    # ------------------------------------------------------------------ what MPRIS reads
    @property
    def playing(self) -> bool:
        """Return True while the followed device plays."""
        return self._session is not None and self._session.state.clock.playing

    @property
    def status(self) -> str:
        """Return PlaybackStatus: Playing, Paused or Stopped."""
        state = self._session.state if self._session else None
        if state is None or state.current_item is None:
            return "Stopped"
        return _STATUS.get(state.status, "Stopped")

    @property
    def loop(self) -> str:
        """Return LoopStatus: None, Track or Playlist."""
        return LOOP_STATUS[self._session.state.repeat] if self._session else "None"

    @property
    def shuffle(self) -> bool:
        """Return Shuffle."""
        return bool(self._session and self._session.state.shuffle)

    @property
    def volume(self) -> float:
        """Return Volume, 0.0 to 1.0."""
        return self._session.state.volume / 100 if self._session else 0.0

    @property
    def has_queue(self) -> bool:
        """Return True when there is something to play, skip or seek in."""
        return bool(self._session and self._session.state.queue)

    @property
    def can_seek(self) -> bool:
        """Return CanSeek: a queue, and not a live stream (radio has no place to seek to)."""
        return self.has_queue and not (self._session and self._session.state.live)

    def position_us(self) -> int:
        """Return Position in µs, extrapolated from the device's clock now."""
        return self._session.position_ms() * 1000 if self._session else 0

    # ------------------------------------------------------------------ what MPRIS asks
    def send(self, action: m.Action) -> None:
        """Send *action* to the followed device (from a D-Bus call, on the loop)."""
        if self.command is None:
            return
        task = asyncio.get_running_loop().create_task(self.command(action), name="mpris command")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def seek_to(self, position_us: int) -> None:
        """Seek the current item to *position_us* (clamped to its length when known)."""
        item = self._session.state.current_item if self._session else None
        if item is None:
            return
        position_ms = position_us // 1000
        if item.duration_ms:
            position_ms = min(position_ms, item.duration_ms)
        self.send(m.Seek(position_ms))

    # ------------------------------------------------------------------ following the session
    def show(self, session: v.SessionView) -> None:
        """Follow a new snapshot of the followed session: properties, Seeked, notification."""
        previous, self._session = self._session, session
        item = session.state.current_item
        changed: dict[str, Any] = {
            "PlaybackStatus": self.status,
            "LoopStatus": self.loop,
            "Shuffle": self.shuffle,
            "Volume": self.volume,
            "CanGoNext": self.has_queue,
            "CanGoPrevious": self.has_queue,
            "CanPlay": self.has_queue,
            "CanPause": self.has_queue,
            "CanSeek": self.can_seek,
        }
        new_track = track_id(item.uid) if item is not None else NO_TRACK
        moved = previous is not None and previous.device_id != session.device_id
        on_air = session.state.now_playing if session.state.live else None
        if new_track != self.track_id or moved or previous is None or on_air != self._on_air:
            self.track_id = new_track
            self._on_air = on_air
            self.metadata = self._metadata(item, on_air)
            changed["Metadata"] = self.metadata
        if self._bus is None:
            return
        self._player.emit_properties_changed(changed)
        if self._jumped(previous, session):
            self._player.Seeked(self.position_us())
        previous_item = previous.state.current_item if previous else None
        previous_track = track_id(previous_item.uid) if previous_item else NO_TRACK
        if item is not None and session.state.clock.playing and new_track != previous_track:
            self._notify(item)

    def _jumped(self, previous: v.SessionView | None, session: v.SessionView) -> bool:
        """A seek, or the music moving to another device: the position jumped (Seeked)."""
        if previous is None or session.state.current_item is None:
            return False
        if (
            session.reason is m.StateChangeReason.TRANSFER
            or previous.device_id != session.device_id
        ):
            return True
        if previous.state.current_uid != session.state.current_uid:
            return False  # a new item starts at its start: Metadata says so, not Seeked
        expected = previous.position_ms()
        return abs(session.position_ms() - expected) > JUMP_MS

    def _metadata(
        self, item: m.QueueItem | None, on_air: m.NowPlaying | None = None
    ) -> dict[str, Variant]:
        if item is None:
            return {"mpris:trackid": Variant("o", NO_TRACK)}
        data = {
            "mpris:trackid": Variant("o", track_id(item.uid)),
            "xesam:title": Variant("s", item.title or item.url.rsplit("/", 1)[-1]),
            "xesam:url": Variant("s", item.url),
        }
        if item.artist:
            data["xesam:artist"] = Variant("as", [item.artist])
        if item.album:
            data["xesam:album"] = Variant("s", item.album)
        if item.duration_ms:
            data["mpris:length"] = Variant("x", item.duration_ms * 1000)
        if on_air is not None:  # a radio: what the station says is on, under its name
            if on_air.title or on_air.station:
                data["xesam:title"] = Variant("s", on_air.title or on_air.station)
            if on_air.station:
                data["xesam:artist"] = Variant("as", [on_air.station])
            if on_air.logo_url:
                data["mpris:artUrl"] = Variant("s", on_air.logo_url)
                return data
        art = self._art_url(item)
        if art:
            data["mpris:artUrl"] = Variant("s", art)
        return data

    def _albums(self) -> dict[str, Album]:
        """Return the library's albums by track path (worked out once per library)."""
        library = self.library()
        if library is None:
            return {}
        if self._albums_of[0] != id(library):
            self._albums_of = (id(library), library.albums_by_path())
        return self._albums_of[1]

    def _art_url(self, item: m.QueueItem) -> str:
        """Return a file:// URL of the item's album art (written once per picture), or ""."""
        if item.artwork_url:
            return item.artwork_url
        album = self._albums().get(library_path_of(item.url))
        if album is None or not album.artwork:
            return ""
        digest = hashlib.sha1(album.artwork, usedforsecurity=False).hexdigest()[:16]
        if digest not in self._art_urls:
            target = self.art_dir / f"{digest}.img"
            try:  # small, and once per album: not worth a thread hop
                self.art_dir.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    target.write_bytes(album.artwork)
            except OSError as exc:
                _LOG.info("cannot write album art for MPRIS to %s: %s", target, exc)
                return ""
            self._art_urls[digest] = target.as_uri()
        return self._art_urls[digest]

    # ------------------------------------------------------------------ notifications
    def _notify(self, item: m.QueueItem) -> None:
        if not self.notify or self.window_active() or self._bus is None:
            return
        bus = self._bus
        where = self._session.device_name if self._session else ""
        body = " · ".join(x for x in (item.artist, f"on {where}" if where else "") if x)
        icon = self.metadata.get("mpris:artUrl")
        message = Message(
            destination="org.freedesktop.Notifications",
            path="/org/freedesktop/Notifications",
            interface="org.freedesktop.Notifications",
            member="Notify",
            signature="susssasa{sv}i",
            body=[
                "Baton", self._notified, icon.value if icon else "baton",
                item.title or "Now playing", body, [], {}, NOTIFY_TIMEOUT_MS,
            ],
        )  # fmt: skip

        async def send() -> None:
            try:
                reply = await asyncio.wait_for(bus.call(message), CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, DBusError) as exc:
                _LOG.info("no desktop notification (%s)", exc)
                return
            if reply is not None and reply.message_type is MessageType.METHOD_RETURN:
                self._notified = int(reply.body[0])
            elif reply is not None:
                _LOG.info("no desktop notification: %s", reply.error_name)

        task = asyncio.get_running_loop().create_task(send(), name="track notification")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
