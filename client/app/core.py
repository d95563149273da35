"""The app's Qt-free core: controller, transfers, the music folder's server and "This computer".

`AppCore` lives on the bridge's asyncio thread. Every `async_*` method runs there; what the
screens need goes out through `emit` as frozen values from `client.app.views` (the bridge turns
each into a Qt signal). The core connects a session to every listed device, so each card knows
whether its device is active, and follows one device: the one the listener played on or
transferred to (else the first that reports playing).

Access (docs/security.md): the controller keeps its tokens in the CredentialStore the CLI
uses, so a device paired by either works in both. A device that needs pairing gets no session
until the listener pairs it; "This computer" is in pin mode and the app is its owner.

Beside it: client/app/_following.py keeps the device cards and the followed session from the
registry's and the sessions' events, client/app/_moving.py moves that session (transfers),
client/app/_self_test.py runs the multicast self-test, client/app/group_desk.py groups devices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from client.app import views as v
from client.app._moving import SessionMoving
from client.app._self_test import SELF_TEST_GROUP as SELF_TEST_GROUP
from client.app._self_test import multicast_self_test as multicast_self_test
from client.app.access_desk import AccessDesk
from client.app.group_desk import GroupDesk
from client.app.library import Library, Track
from client.app.library_loader import LibraryLoader
from client.app.local_device import LOOPBACK, LocalDevice, LocalDeviceSettings
from client.app.playability import TargetDevice, added_notice, offer, skipped_notice
from client.app.queue_follow import QueueFollower
from client.app.queue_play import async_add_to_queue, async_play_tracks, queue_items
from client.app.rescue import resume_elsewhere
from client.app.views import AppSettings, LibraryLoaded
from client.library_server import MEDIA_PREFIX, LibraryServer
from client.media_addresses import address_facing, served_addresses
from connect.access import CredentialStore
from connect.controller import Controller, parse_host_port
from connect.discovery.interfaces import list_interfaces
from connect.errors import ConnectError
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from devices.errors import ReceiverError

_LOG = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 5.0
START_WAIT_S = 10.0  # how long a close waits for a start still under way
LOCAL_CODE_POLL_S = 1.0  # how often a TV re-reads its own pairing code (an attribute read)
MEDIA_INTERFACE_POLL_S = 3.0  # how often the music's addresses follow the interfaces (ifaddr)


Emit = Callable[[object], None]


class AppCore(SessionMoving):
    """See the module docstring. Construct anywhere; use only on the asyncio thread."""

    def __init__(
        self,
        settings: AppSettings,
        emit: Emit,
        identity: m.ClientIdentity,
        credentials: CredentialStore | None = None,
        loader: LibraryLoader | None = None,
    ) -> None:
        self.settings = settings
        self._emit = emit
        self.credentials = credentials if credentials is not None else CredentialStore()
        self.controller = Controller(
            identity,
            interfaces=settings.interfaces,
            browse=settings.browse,
            credentials=self.credentials,
        )
        self.coordinator = TransferCoordinator(self.controller)
        self.queue = QueueFollower(self.controller, emit)  # the followed device's whole queue
        self.local = LocalDevice(
            LocalDeviceSettings(
                settings.device_name,
                settings.state_dir / "this-computer",
                settings.local_audio,
                "tv" if settings.tv else "computer",
            )
        )
        self.server: LibraryServer | None = None
        self.library: Library | None = None
        self.loader = loader or LibraryLoader(settings.state_dir, self._library_loaded, emit)
        self.loader.loaded, self.loader.emit = self._library_loaded, emit
        self.library = self.loader.shown  # the cache the bridge showed before the core was up
        self._views: dict[str, v.DeviceView] = {}
        self._followed = ""
        self._lost: v.PlaybackLost | None = None  # what stopped when the followed device left
        self._shown: v.SessionView | None = None  # the followed session as last shown
        self._unsubscribe: list[Callable[[], None]] = []
        self._self_test: tuple[bool | None, str] = (None, "not run yet")
        self._start_finished = asyncio.Event()
        self.access = AccessDesk(self.controller, self._views, self._put, self._emit)
        self.groups = GroupDesk(  # the keeper, through client/app/_grouping.py
            self._views, self._emit, self._follow, interfaces=settings.interfaces
        )
        self._local_code = ""
        self._code_watch: asyncio.Task[None] | None = None
        self._media_watch: asyncio.Task[None] | None = None

    # -------------------------------------------------------------------------- lifecycle

    async def async_start(self) -> None:
        """Start everything; a part that fails is reported as a Notice, the rest still runs."""
        try:
            await self._start()
        finally:
            self._start_finished.set()

    async def _start(self) -> None:
        self._unsubscribe += [
            self.controller.registry.subscribe(self._on_device_event),
            self.controller.subscribe(self._on_connection_event),
        ]
        await self.controller.async_start()
        await self.async_set_music_folder(self.settings.music_folder)
        self._media_watch = asyncio.get_running_loop().create_task(self._follow_interfaces())
        try:
            listening = await self.local.async_start()
            self._own_local_device()
            await self.controller.async_add_address(LOOPBACK, listening.port)
            self._code_watch = asyncio.get_running_loop().create_task(self._watch_local_code())
        except (ReceiverError, ConnectError, OSError) as exc:
            self._emit(v.Notice(f"This computer cannot play: {exc}", error=True))
        self._emit(self.diagnostics())

    async def async_close(self) -> None:
        """Stop everything (idempotent, bounded by each part's own timeouts)."""
        # A close that overtakes the start would close half-started parts that then finish
        # starting (and listen) after it: let the start end first.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._start_finished.wait(), START_WAIT_S)
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for task in (self._code_watch, self._media_watch):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._code_watch = self._media_watch = None
        self.queue.close()
        await self.controller.async_close()
        await self.local.async_close()
        await self.loader.async_close()
        if self.server is not None:
            await self.server.async_close()
            self.server = None

    # -------------------------------------------------------------------------- library

    async def async_set_music_folder(self, folder: Path | None) -> None:
        """Serve and scan *folder* (None: no library)."""
        self.settings = replace(self.settings, music_folder=folder)
        if self.server is not None:
            await self.server.async_close()
            self.server = None
        if folder is None:
            await self.loader.async_close()
            self.library = Library(Path(), ())
            self._emit(LibraryLoaded(self.library))
            return
        try:
            self.server = await self._serve(folder)
        except OSError as exc:
            self.library = Library(folder, ())
            self._emit(LibraryLoaded(self.library, f"cannot read {folder}: {exc}"))
            return
        # The cached library is shown now; the scan runs in the background (library_loader.py).
        await self.loader.async_open(folder)
        self._emit(self.diagnostics())

    def _library_loaded(self, loaded: LibraryLoaded) -> None:
        self.library = loaded.library
        self._emit(loaded)

    async def _serve(self, folder: Path) -> LibraryServer:
        """Serve *folder* on the port used last time if free.

        Only on loopback and the addresses of the interfaces in use, and under a new token:
        URLs from an earlier run are refused. Keeping the port means such a URL reaches this
        server, whose 404 tells the receiver the app restarted (rather than that nothing
        answers, which could be a network fault).
        """
        remembered = self.settings.state_dir / "media-port"
        port = remembered_port(remembered)
        addresses = served_addresses(self.settings.interfaces)
        for attempt in dict.fromkeys((port, 0)):
            server = LibraryServer(folder, addresses, port=attempt)
            try:
                await server.async_start()
            except OSError:
                await server.async_close()
                if attempt == 0:
                    raise
                continue
            with contextlib.suppress(OSError):
                remembered.parent.mkdir(parents=True, exist_ok=True)
                remembered.write_text(f"{server.port}\n")
            _LOG.info("serving the music folder on %s, port %d", ", ".join(addresses), server.port)
            return server
        raise OSError("no port to serve the music folder on")  # unreachable: 0 always binds

    async def _follow_interfaces(self) -> None:
        """Keep the music served on the interfaces' addresses as they change (Wi-Fi, DHCP)."""
        while True:
            await asyncio.sleep(MEDIA_INTERFACE_POLL_S)
            server = self.server
            if server is None:
                continue
            try:
                wanted = served_addresses(self.settings.interfaces)
                if set(wanted) != set(server.addresses):
                    _LOG.info("serving the music on %s now", ", ".join(wanted))
                    await server.async_serve_on(wanted)
            except RuntimeError:  # closed meanwhile (a new music folder): the next round
                continue
            except (OSError, ValueError) as exc:  # the loop must outlive a bad round
                _LOG.warning("could not move the music to the interfaces' addresses: %s", exc)

    def media_url(self, track: Track, device_id: str) -> str:
        """Return *track*'s URL on the address that *device_id* can reach.

        Raise ConnectError when no folder is served, ValueError for a track outside it.
        """
        if self.server is None:
            raise ConnectError("no music folder is being served")
        return self.server.url_for(track.path, self._address_facing(device_id))

    def _address_facing(self, device_id: str) -> str:
        """Return the served address that *device_id* reaches (loopback when unknown)."""
        assert self.server is not None
        entry = self.controller.registry.get(device_id)
        peer = entry.addresses[0] if entry and entry.addresses else LOOPBACK
        return address_facing(peer, self.server.addresses)

    # -------------------------------------------------------------------------- commands

    @property
    def followed(self) -> str:
        """Return the id of the device the listener follows ("" when none)."""
        return self._followed

    async def async_play(
        self,
        tracks: tuple[Track, ...],
        start: int = 0,
        *,
        device_id: str = "",
        append: bool = False,
        next_up: bool = False,
        shuffle: bool | None = None,
    ) -> None:
        """Play *tracks* from *start* (*shuffle* True: in the device's shuffle order), or queue
        them (*next_up*: right after the current item), on a device (the followed one by
        default); any number of tracks (client/app/queue_play.py)."""
        target = device_id or self._followed or self.local.device_id
        if not target:
            self._emit(v.Notice("No device to play on yet", error=True))
            return
        server = self.server
        if server is None:
            self._emit(v.Notice("Cannot play: no music folder is being served", error=True))
            return
        # The screens leave out what they marked for the device they knew; this is the device
        # the tracks go to, which may have changed since (or said what it decodes since).
        view = self._views.get(target)
        chosen = offer(tracks, start, TargetDevice.of(view.info, view.name) if view else None)
        said = skipped_notice(chosen) if not append else added_notice(chosen)
        if said is not None and chosen.skipped:
            self._emit(said)
        tracks, start = chosen.tracks, chosen.start
        if not tracks:
            return
        address = self._address_facing(target)

        def make(some: Sequence[Track]) -> tuple[m.QueueItem, ...]:
            return queue_items(some, server, address)  # any thread: URLs check paths on disk

        if not append:
            self._follow(target)
        try:
            if append:
                state = self.controller.connection(target).state if next_up else None
                after = state.current_uid if state is not None else ""
                items = await asyncio.to_thread(make, tracks)
                result = await async_add_to_queue(self.controller, target, items, after)
            else:
                result = await async_play_tracks(
                    self.controller, target, tracks, make, start, shuffle=shuffle
                )
        except ValueError as exc:
            self._emit(v.Notice(f"Cannot play: {exc}", error=True))
            return
        except ConnectError as exc:
            self._emit(v.Notice(f"{self._name(target)}: {exc}", error=True))
            return
        if result.failure is not None:
            self._emit(v.Notice(f"{self._name(target)}: {result.failure.message}", error=True))

    async def async_command(self, action: m.Action, device_id: str = "") -> None:
        """Send *action* to a device (the followed one by default); failures become Notices."""
        target = device_id or self._followed
        if not target:
            self._emit(v.Notice("Pick a device first", error=True))
            return
        try:
            result = await self.controller.async_command(target, action, timeout=COMMAND_TIMEOUT_S)
        except ConnectError as exc:
            self._emit(v.Notice(f"{self._name(target)}: {exc}", error=True))
            return
        if result.failure is not None:
            self._emit(v.Notice(f"{self._name(target)}: {result.failure.message}", error=True))

    async def async_follow(self, device_id: str) -> None:
        """Follow *device_id* (nothing plays: the next Play goes there); its session is shown."""
        self._follow(device_id)

    async def async_add_address(self, text: str) -> None:
        """Add a device by `host:port`."""
        try:
            host, port = parse_host_port(text.strip())
            entry = await self.controller.async_add_address(host, port)
        except (ValueError, ConnectError) as exc:
            self._emit(v.Notice(f"Cannot add {text!r}: {exc}", error=True))
            return
        self._emit(v.Notice(f"Added {entry.name}"))

    async def async_self_test(self) -> None:
        """Run the multicast self-test and report the diagnostics."""
        addresses = self.controller.registry.listening_on or (LOOPBACK,)
        self._self_test = await asyncio.to_thread(multicast_self_test, addresses[0])
        self._emit(self.diagnostics())

    def diagnostics(self) -> v.Diagnostics:
        """Return what the "Can't see your device?" panel shows."""
        ports = ["UDP 5353 (mDNS, to find devices)"]
        if self.server is not None:
            ports.append(f"TCP {self.server.port} (this computer's music, for receivers)")
        for view in self._views.values():
            if not view.is_local and view.address:
                ports.append(f"TCP {view.address.rpartition(':')[2]} on {view.name} (its session)")
        ok, detail = self._self_test
        names = {a: i.name for i in list_interfaces() for a in i.addresses}
        networks = tuple(  # an address is not an interface: say both, "wlan0 (192.168.1.5)"
            f"{names[a]} ({a})" if a in names else a for a in self.controller.registry.listening_on
        )
        return v.Diagnostics(networks, ok, detail, tuple(ports))

    # -------------------------------------------------------------------------- This computer

    def _own_local_device(self) -> None:
        """Give the app an owner token for "This computer" and keep it with the others."""
        held = self.credentials.get(self.local.device_id)
        owner = self.local.owner_credential(
            self.controller.identity, self.settings.device_name, held
        )
        self.credentials.save(owner)

    async def _watch_local_code(self) -> None:
        """Emit "This computer"'s pairing code whenever it changes (it has no change signal)."""
        while True:
            code = self.local.pairing_code
            if code != self._local_code:
                self._local_code = code
                self._emit(v.LocalPairingCode(code))
            await asyncio.sleep(LOCAL_CODE_POLL_S)

    # -------------------------------------------------------------------------- rescue

    async def async_resume_elsewhere(self, target_id: str) -> None:
        """Start what stopped with the device that left on *target_id*, where it stopped."""
        lost = self._lost
        if lost is None:
            self._emit(v.Notice("Nothing to move: no device went away while playing", error=True))
            return
        await self.async_command(
            resume_elsewhere(lost, lambda i: self._url_for(i, target_id)), target_id
        )
        self._lost = None
        self._follow(target_id)

    def _url_for(self, item: m.QueueItem, device_id: str) -> str:
        """Return *item*'s URL as *device_id* reaches it (the app's own music moves host)."""
        parts = urlsplit(item.url)
        if self.server is None or not parts.path.startswith(MEDIA_PREFIX + "/"):
            return item.url
        host = self._address_facing(device_id)
        authority = f"[{host}]" if ":" in host else host
        return urlunsplit(parts._replace(netloc=f"{authority}:{self.server.port}"))


def remembered_port(path: Path) -> int:
    """Return the media port saved in *path*, or 0 (any free port) if none can be read.

    Only a preference: a missing, unreadable or garbled file (bytes that are not UTF-8, not a
    number) means a new port, and the file is rewritten once the server is up.
    """
    try:
        port = int(path.read_bytes().decode("ascii").strip())
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return 0
    return port if 0 < port < 65536 else 0
