"""The app's Qt-free core: controller, transfers, the music folder's server and "This computer".

`AppCore` lives on the bridge's asyncio thread. Every `async_*` method runs there; what the
screens need goes out through `emit` as frozen values from `client.app.views` (the bridge turns
each into a Qt signal). The core connects a session to every listed device, so each card knows
whether its device is active, and follows one device: the one the listener played on or
transferred to (else the first that reports playing).

Access (docs/security.md): the controller keeps its tokens in the CredentialStore the CLI
uses, so a device paired by either works in both. A device that needs pairing gets no session
until the listener pairs it; "This computer" is in pin mode and the app is its owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from client.app import views as v
from client.app.access_desk import AccessDesk
from client.app.library import Library, Track
from client.app.library_loader import LibraryLoader
from client.app.local_device import LOOPBACK, LocalDevice, LocalDeviceSettings
from client.app.queue_follow import QueueFollower
from client.app.queue_play import async_add_to_queue, async_play_tracks, queue_items
from client.app.rescue import playback_lost, resume_elsewhere
from client.app.views import AppSettings, DeviceGone, LibraryLoaded
from client.library_server import MEDIA_PREFIX, LibraryServer
from client.media_addresses import address_facing, served_addresses
from connect.access import CredentialStore
from connect.clock import monotonic_us
from connect.controller import Controller, parse_host_port
from connect.discovery import DeviceAdded, DeviceEntry, DeviceEvent, DeviceRemoved, DeviceUpdated
from connect.discovery.interfaces import list_interfaces
from connect.errors import AccessError, ConnectError
from connect.session import AccessDenied, Connected, ConnectionEvent, Disconnected, StateChanged
from connect.transfer import why_not_target
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from devices.errors import ReceiverError

_LOG = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 5.0
START_WAIT_S = 10.0  # how long a close waits for a start still under way
SELF_TEST_GROUP = "239.255.66.77"  # administratively scoped: never leaves the site
LOCAL_CODE_POLL_S = 1.0  # how often a TV re-reads its own pairing code (an attribute read)
MEDIA_INTERFACE_POLL_S = 3.0  # how often the music's addresses follow the interfaces (ifaddr)


Emit = Callable[[object], None]


class AppCore:
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

    async def async_transfer(self, target_id: str) -> None:
        """Move the followed session to *target_id*, reporting progress and the outcome."""
        source = self._followed
        name = self._name(target_id)
        if not source:
            self._emit(
                v.TransferView("", target_id, name, v.TransferPhase.FAILED, "Nothing is playing")
            )
            return
        self._emit(
            v.TransferView(source, target_id, name, v.TransferPhase.RUNNING, f"Moving to {name}…")
        )
        began = time.perf_counter()
        outcome = await self.coordinator.async_transfer(source, target_id)
        elapsed = round((time.perf_counter() - began) * 1000)
        if outcome.ok:
            self._follow(target_id)
            self._emit(
                v.TransferView(
                    source, target_id, name, v.TransferPhase.DONE, f"Playing on {name}",
                    outcome.timings, elapsed,
                )
            )  # fmt: skip
        else:
            assert outcome.failure is not None
            why = self._named(outcome.failure.message or outcome.failure.code.name.lower())
            owner = outcome.owner_id
            if owner and owner != target_id:
                # Another controller moved it first: follow it, so the same choice moves it
                # from where it is now.
                self._follow(owner)
                why += f". Choose {name} again to move it from {self._name(owner)}"
            elif not owner:
                why += f"; the music stays on {self._name(source)}"
            self._emit(
                v.TransferView(
                    source, target_id, name, v.TransferPhase.FAILED, why, None, elapsed,
                )
            )  # fmt: skip

    async def async_prepare_transfer(self) -> None:
        """The device picker shows: have the other devices open the followed music's stream,
        so a transfer chosen there starts sooner (connect/transfer/target.py, prepared)."""
        source = self._followed
        if not source:
            return
        others = [e.id for e in self.controller.registry.entries() if e.id != source and e.online]
        await self.coordinator.async_prepare(source, others)

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

    # -------------------------------------------------------------------------- events

    def _on_device_event(self, event: DeviceEvent) -> None:
        entry = event.entry
        if entry.id == self._followed and not entry.online:
            # The registry hears of a goodbye or a dead heartbeat first, and may drop the
            # device from the list before its session's Disconnected arrives.
            self._followed_left(entry.id, entry.offline_reason)
        if isinstance(event, DeviceRemoved) or not entry.listed:
            if self._views.pop(entry.id, None) is not None:
                self._emit(DeviceGone(entry.id))
            return
        view = self._view_from_entry(entry)
        # A device that would refuse us gets no session until it is paired.
        wanted = not entry.id.startswith("manual:") and not view.locked
        if isinstance(event, DeviceAdded | DeviceUpdated) and wanted:
            self.controller.connection(entry.id)  # starts (once) the session
        self._put(view)

    def _on_connection_event(self, event: ConnectionEvent) -> None:
        view = self._views.get(event.device_id)
        if view is None:
            return
        if isinstance(event, Connected):
            if self._lost is not None and self._lost.device_id == event.device_id:
                self._lost = None  # it is back: a later departure is news again
            info = event.welcome.device
            view = self.access.on_connected(view, event.welcome)
            self._put(replace(view, info=info, online=True, why_not=self._verdict(info)))
        elif isinstance(event, AccessDenied):
            self._put(self.access.on_denied(view, event))
        elif isinstance(event, Disconnected):
            self._put(replace(view, online=False, offline_reason=event.reason))
            if event.device_id == self._followed:
                self._followed_left(event.device_id, event.reason)
        elif isinstance(event, StateChanged):
            state = event.snapshot.state
            self._put(replace(view, active=state.active, status=state.status, volume=state.volume))
            takes_over = state.status is m.PlaybackStatus.PLAYING and not self._followed_active()
            if state.active and (not self._followed or takes_over):
                self._followed = event.device_id
            if event.device_id == self._followed:
                self._emit_session(event.device_id, event.snapshot)

    def _followed_left(self, device_id: str, reason: str) -> None:
        """The playing device went away: say so at once, with what stopped (the screens
        offer to start it elsewhere), and stop the progress bar. Once per departure."""
        if self._lost is not None and self._lost.device_id == device_id:
            return
        conn = self.controller.known_connection(device_id)
        if conn is not None and isinstance(conn.stopped_by, AccessError):
            return  # it plays on, it just will not take our commands: not a departure
        # The session as last shown: a connection that ended may be gone, or be a fresh one.
        shown = (
            self._shown if self._shown is not None and self._shown.device_id == device_id else None
        )
        lost = playback_lost(
            device_id,
            self._name(device_id),
            reason,
            shown.state if shown else None,
            shown.estimate if shown else None,
            monotonic_us(),
        )
        if lost is None:
            return
        self._lost = lost
        self._emit(lost)
        self._emit(v.SessionView(device_id, lost.device_name, lost.state, None))

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

    def _verdict(self, info: m.DeviceInfo) -> str:
        state = self.controller.connection(self._followed).state if self._followed else None
        return why_not_target(info, state.current_item if state else None)

    def _followed_active(self) -> bool:
        view = self._views.get(self._followed)
        return view is not None and view.active

    def _follow(self, device_id: str) -> None:
        self._followed = device_id
        conn = self.controller.connection(device_id)
        if conn.state is not None:
            self._emit_session(device_id, m.StateSnapshot(conn.state))

    def _emit_session(self, device_id: str, snapshot: m.StateSnapshot) -> None:
        self.queue.follow(device_id)
        item = snapshot.state.current_item
        for view in list(self._views.values()):
            verdict = why_not_target(view.info, item) if view.info is not None else ""
            self._put(replace(view, why_not=verdict))
        conn = self.controller.connection(device_id)
        self._shown = v.SessionView(
            device_id, self._name(device_id), snapshot.state, conn.clock, snapshot.reason
        )
        self._emit(self._shown)

    def _put(self, view: v.DeviceView) -> None:
        if self._views.get(view.id) != view:
            self._views[view.id] = view
            self._emit(view)

    def _view_from_entry(self, entry: DeviceEntry) -> v.DeviceView:
        old = self._views.get(entry.id)
        port = entry.port
        host = entry.addresses[0] if entry.addresses else ""
        view = v.DeviceView(
            id=entry.id,
            name=entry.name,
            type=entry.type,
            online=entry.online,
            address=f"{host}:{port}" if host else "",
            last_seen=entry.last_seen,
            is_local=entry.id == self.local.device_id and bool(entry.id),
            offline_reason=entry.offline_reason,
        )
        if old is not None:
            view = replace(
                view, info=old.info, active=old.active, status=old.status, why_not=old.why_not,
                volume=old.volume,
            )  # fmt: skip
        return self.access.view_access(view, entry)

    def _named(self, text: str) -> str:
        """Return *text* with device ids replaced by device names (for the listener)."""
        for view in self._views.values():
            text = text.replace(view.id, view.name)
        return text

    def _name(self, device_id: str) -> str:
        view = self._views.get(device_id)
        return view.name if view else device_id[:8]


def multicast_self_test(interface_address: str, timeout_s: float = 1.0) -> tuple[bool, str]:
    """Send one multicast datagram on *interface_address* and check it comes back (loopback)."""
    token = uuid.uuid4().bytes
    try:
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as rx,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx,
        ):
            rx.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            rx.bind(("", 0))
            port = rx.getsockname()[1]
            membership = socket.inet_aton(SELF_TEST_GROUP) + socket.inet_aton(interface_address)
            rx.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
            rx.settimeout(timeout_s)
            tx.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface_address)
            )
            tx.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            tx.sendto(token, (SELF_TEST_GROUP, port))
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                data, _ = rx.recvfrom(64)
                if data == token:
                    return True, f"multicast works on {interface_address}"
    except TimeoutError:
        pass
    except OSError as exc:
        return False, f"multicast failed on {interface_address}: {exc.strerror or exc}"
    return False, f"no multicast came back on {interface_address} (a firewall or the network?)"


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
