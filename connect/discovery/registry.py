"""The controller's device registry: mDNS browsing, devices added by hand, liveness from sessions.

Semantics (DESIGN.md: liveness comes from the session heartbeat, never from mDNS TTLs):
* `online` is True only between the session layer's `async_mark_online` and
  `async_mark_offline`; mDNS never sets or clears it.
* `mdns_present` says whether the device is announced now. An mDNS goodbye or expiry only
  clears it: the entry stays, with its last addresses, so a reconnect can still try them.
* An entry is `listed` (shown to the listener) while online, announced, or added by hand.
  `DeviceRemoved` means forgotten (`async_forget`), or a manual entry's provisional id
  replaced by the real one once polled; nothing else drops an entry.
* Entries are keyed by the TXT `id`: a device that changes name or address stays one entry.
* Browsing runs on explicit interfaces (names or addresses, or the default choice of
  connect.discovery.interfaces), polled for changes; on a change the browser starts over, so the new
  network is asked who is there instead of waiting for announcements.
* A `ReachableHint` tells the session layer a lost device may be back, so it retries now
  instead of waiting out its backoff: the browser heard the device (not an answer to our own
  reconnect's resolve), its manual host answered, or the browsed interfaces changed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from connect import telemetry
from connect.discovery._entries import (
    DeviceAdded,
    DeviceEntry,
    DeviceEvent,
    DeviceRemoved,
    DeviceSource,
    DeviceUpdated,
    ReachableHint,
    _host_port,
    _manual_entry,
    _trace_presence,
)
from connect.discovery.interfaces import (
    NetworkInterface,
    NoUsableInterfaceError,
    async_poll_interfaces,
    list_interfaces,
    resolve_interfaces,
    zeroconf_interfaces,
)
from connect.discovery.txt import (
    SERVICE_TYPE,
    InvalidServiceRecordError,
    ServiceRecord,
    instance_name,
    parse_txt,
)
from connect.errors import ConnectTimeoutError, DeviceNotFoundError
from taskowner import TaskOwner
from tracing import attributes as a

# zeroconf is imported when browsing starts: a `baton` command to a device found at the address
# it was last reached at never browses, and zeroconf costs ~15 ms of such a command's start-up.
if TYPE_CHECKING:
    from zeroconf import ServiceStateChange, Zeroconf
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

__all__ = [
    "DeviceAdded",
    "DeviceEntry",
    "DeviceEvent",
    "DeviceRegistry",
    "DeviceRemoved",
    "DeviceSource",
    "DeviceUpdated",
    "ReachableHint",
]

_LOGGER = logging.getLogger(__name__)

_STABLE_S = 300.0  # online this long before dropping: not flapping, warn again


class DeviceRegistry:
    """Every Baton device this controller knows, from mDNS on explicit interfaces and by hand.

    Methods named `async_*` run on the event-loop thread; the non-coroutine ones return at once.
    """

    def __init__(
        self,
        *,
        interfaces: Sequence[str] = (),
        zeroconf: AsyncZeroconf | None = None,
        resolve_timeout_s: float = 3.0,
        close_timeout_s: float = 3.0,
        poll_interval_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        interface_source: Callable[[], tuple[NetworkInterface, ...]] = list_interfaces,
    ) -> None:
        self._wanted = tuple(interfaces)  # names or addresses; empty: the default choice
        self._zc = zeroconf
        self._owns_zc = zeroconf is None  # a shared instance is closed by its owner
        self._resolve_timeout_s = resolve_timeout_s
        self._close_timeout_s = close_timeout_s
        self._poll_interval_s = poll_interval_s
        self._listening: list[str] = []  # the zeroconf interface list in use (when owned)
        self._clock = clock
        self._interface_source = interface_source
        self._browser: AsyncServiceBrowser | None = None
        self._entries: dict[str, DeviceEntry] = {}
        self._ids_by_name: dict[str, str] = {}  # lower-cased full mDNS name -> device id
        self._present: dict[str, set[str]] = {}  # device id -> its full names announced now
        self._manual: dict[tuple[str, int], str] = {}  # (host, port) -> device id
        self._subscribers: list[Callable[[DeviceEvent], None]] = []
        self._hint_subscribers: list[Callable[[ReachableHint], None]] = []
        self._tasks = TaskOwner("registry", _LOGGER)
        self._resolving: dict[str, bool] = {}  # name -> another resolve was asked meanwhile
        self._warned_offline: set[str] = set()
        self._online_since: dict[str, float] = {}
        self._closing: asyncio.Task[None] | None = None

    async def async_start(self) -> None:
        """Start browsing `_baton._tcp.local.` on the explicit (or default) interfaces.

        An owned zeroconf instance follows interface changes (polled every `poll_interval_s`).
        Raises UnknownInterfaceError for an unknown interface name, NoUsableInterfaceError when
        the default choice finds nothing to listen on.
        """
        if self._browser is not None or self._closing is not None:
            return  # already started, or closed for good
        if self._zc is None:
            present = self._interface_source()
            ifaces = resolve_interfaces(self._wanted, present)
            if not ifaces:
                raise NoUsableInterfaceError.default_found_none("look for devices on", present)
            self._listening = zeroconf_interfaces(ifaces)
            from zeroconf.asyncio import AsyncZeroconf

            self._zc = AsyncZeroconf(interfaces=self._listening)
            self._tasks.async_supervise(self._watch_interfaces, "interfaces")
        self._start_browser()

    def check_interfaces(self) -> None:
        """Raise UnknownInterfaceError now for a named interface this host lacks; never browse.

        For a controller that browses only if it must: a mistyped `--interface` is still
        said at once, not only on the day the device is not where it was last reached.
        """
        if self._wanted and self._zc is None:
            resolve_interfaces(self._wanted, self._interface_source())

    @property
    def listening_on(self) -> tuple[str, ...]:
        """The addresses browsed on now; empty when the zeroconf instance belongs to a caller."""
        return tuple(self._listening)

    def entries(self) -> tuple[DeviceEntry, ...]:
        """Return a snapshot of every known device."""
        return tuple(self._entries.values())

    def get(self, device_id: str) -> DeviceEntry | None:
        """Return the device with this id, or None."""
        return self._entries.get(device_id)

    def subscribe(self, callback: Callable[[DeviceEvent], None]) -> Callable[[], None]:
        """Call *callback* on the loop thread for every change; return the unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def subscribe_hints(self, callback: Callable[[ReachableHint], None]) -> Callable[[], None]:
        """Call *callback* on the loop thread for every ReachableHint; return the unsubscribe."""
        self._hint_subscribers.append(callback)
        return lambda: (
            self._hint_subscribers.remove(callback) if callback in self._hint_subscribers else None
        )

    async def async_wait_for(
        self, predicate: Callable[[DeviceEntry], bool], timeout_s: float
    ) -> DeviceEntry:
        """Return the first entry matching *predicate*, now or later; else ConnectTimeoutError."""
        for entry in self._entries.values():
            if predicate(entry):
                return entry
        found: asyncio.Future[DeviceEntry] = asyncio.get_running_loop().create_future()

        def check(event: DeviceEvent) -> None:
            if not isinstance(event, DeviceRemoved) and predicate(event.entry) and not found.done():
                found.set_result(event.entry)

        unsubscribe = self.subscribe(check)
        try:
            async with asyncio.timeout(timeout_s):
                return await found
        except TimeoutError:
            raise ConnectTimeoutError(f"no matching device within {timeout_s} s") from None
        finally:
            unsubscribe()

    def async_add_manual(self, host: str, port: int) -> DeviceEntry:
        """Add a device by host:port; the HTTP poller then reports it via `async_report_manual`."""
        key = (host, port)
        if key in self._manual:
            return self._entries[self._manual[key]]
        address = _host_port(host, port)
        entry = _manual_entry(f"manual:{address}", host, port)
        self._manual[key] = entry.id
        self._emit_put(entry)
        return entry

    def async_add_remembered(self, record: ServiceRecord) -> DeviceEntry:
        """Add (or update) a device where it was last reached; not listed until a session opens.

        A device the registry heard of otherwise (mDNS, by hand) is returned as it is: what it
        heard is newer than any memory.
        """
        known = self._entries.get(record.id)
        heard = known is not None and (known.mdns_present or bool(known.manual_address))
        if known is not None and (known.source is not DeviceSource.REMEMBERED or heard):
            return known
        base = known or DeviceEntry(
            id=record.id,
            name=record.name,
            type=record.type,
            model=record.model,
            addresses=(),
            port=0,
            record=None,
            online=False,
            last_seen=0.0,
            source=DeviceSource.REMEMBERED,
        )
        self._emit_put(
            replace(
                base,
                name=record.name,
                type=record.type,
                model=record.model,
                addresses=record.addresses,
                port=record.port,
                record=record,
            )
        )
        return self._entries[record.id]

    def manual_hosts(self) -> tuple[tuple[str, int], ...]:
        """Return the (host, port) pairs added by hand: what the HTTP poller should poll."""
        return tuple(self._manual)

    def async_report_manual(self, host: str, port: int, record: ServiceRecord) -> DeviceEntry:
        """Hook for the HTTP poller: a manual host answered with this device's record.

        The entry takes the record's id; if mDNS already knows that id the two merge.
        """
        key = (host, port)
        old_id = self._manual.get(key)
        if old_id is None:
            raise DeviceNotFoundError(f"{host}:{port} was not added by hand")
        provisional = self._entries[old_id]
        if old_id != record.id:
            if provisional.source is DeviceSource.MANUAL:
                del self._entries[old_id]
                self._emit(DeviceRemoved(provisional))
            else:  # known by mDNS too, and the host now answers with another id: detach only
                self._emit_put(replace(provisional, manual_address=""))
        self._manual[key] = record.id
        base = self._entries.get(record.id) or (
            replace(provisional, id=record.id)  # keeps `online` if a session came first
            if provisional.source is DeviceSource.MANUAL
            else _manual_entry(record.id, host, port)
        )
        self._emit_put(
            replace(
                base,
                name=record.name or base.name,
                type=record.type,
                model=record.model,
                addresses=base.addresses if base.mdns_present else (host,),
                port=base.port if base.mdns_present else port,
                record=record,
                last_seen=self._clock(),
                manual_address=_host_port(host, port),
            )
        )
        self._hint(ReachableHint(record.id, f"{_host_port(host, port)} answered"))
        return self._entries[record.id]

    def async_mark_online(self, device_id: str) -> None:
        """Session hook: a session to the device is up and its heartbeat is answered."""
        entry = self._require(device_id)
        if not entry.online:
            self._online_since[device_id] = self._clock()
        self._emit_put(replace(entry, online=True, offline_reason="", last_seen=self._clock()))

    def async_mark_offline(self, device_id: str, reason: str, *, expected: bool = False) -> None:
        """Session hook: the device's session ended or its heartbeat stopped answering.

        *expected*: the device ended it on purpose (said goodbye, refused us): logged at info;
        a lost link is a warning.
        """
        entry = self._require(device_id)
        if entry.online and expected:
            self._online_since.pop(device_id, None)
            _LOGGER.info("%s: offline: %s", device_id, reason)
        elif entry.online:
            # A flapping device is worth one warning, then debug only; a drop after a long
            # stable spell is news again.
            since = self._online_since.pop(device_id, self._clock())
            flapping = device_id in self._warned_offline and self._clock() - since < _STABLE_S
            level = logging.DEBUG if flapping else logging.WARNING
            _LOGGER.log(level, "%s: offline: %s", device_id, reason)
            self._warned_offline.add(device_id)
        self._emit_put(replace(entry, online=False, offline_reason=reason))

    def async_forget(self, device_id: str) -> None:
        """Drop a device (and its manual host) until mDNS or the user brings it back."""
        entry = self._require(device_id)
        del self._entries[device_id]
        self._present.pop(device_id, None)
        self._ids_by_name = {n: i for n, i in self._ids_by_name.items() if i != device_id}
        self._manual = {k: i for k, i in self._manual.items() if i != device_id}
        if entry.listed:
            telemetry.emit_event(
                a.EVENT_DEVICE_LOST, {a.PEER_DEVICE_ID: device_id, a.REASON: "forgotten"}
            )
        self._emit(DeviceRemoved(entry))

    async def async_resolve(self, device_id: str) -> DeviceEntry:
        """Return the device with its current addresses for a reconnect: re-resolve its mDNS name.

        Unexpired cached records answer at once, otherwise the network is asked; the last
        known addresses are returned when nothing answers within `resolve_timeout_s`.
        Raises DeviceNotFoundError for an unknown id.
        """
        entry = self._require(device_id)
        names = [n for n, i in self._ids_by_name.items() if i == device_id]
        if self._zc is not None and names:
            current = next(iter(self._present.get(device_id, ())), None) or names[-1]
            await self._resolve_name(current, fresh=True)
        return self._entries.get(device_id, entry)

    async def async_close(self) -> None:
        """Stop browsing and resolving, close owned sockets; idempotent, bounded in time."""
        if self._closing is None:
            self._closing = asyncio.create_task(self._close())
        await asyncio.shield(self._closing)

    # ---------------------------------------------------------------- internals

    async def _close(self) -> None:
        try:
            async with asyncio.timeout(self._close_timeout_s):
                await self._tasks.async_close(self._close_timeout_s)
                if self._browser is not None:
                    await self._browser.async_cancel()
                if self._zc is not None and self._owns_zc:
                    await self._zc.async_close()
        except TimeoutError:
            _LOGGER.warning("device registry did not close in %.1f s", self._close_timeout_s)
        self._subscribers.clear()
        self._hint_subscribers.clear()

    def _start_browser(self) -> None:
        from zeroconf import DNSQuestionType
        from zeroconf.asyncio import AsyncServiceBrowser

        assert self._zc is not None
        # Multicast (QM) questions: a first question asking for a direct (QU) reply loses
        # that reply whenever another mDNS stack on this host (a receiver next to the app)
        # shares port 5353 and the kernel hands the reply to it; the device is then found
        # only by the next query, a second later.
        self._browser = AsyncServiceBrowser(
            self._zc.zeroconf,
            SERVICE_TYPE,
            handlers=[self._on_service_state_change],
            question_type=DNSQuestionType.QM,
        )

    async def _watch_interfaces(self) -> None:
        assert self._zc is not None
        async for ifaces in async_poll_interfaces(
            self._wanted, self._interface_source, self._poll_interval_s, "browsing"
        ):
            wanted = zeroconf_interfaces(ifaces)
            if not wanted or wanted == self._listening:
                continue  # with nothing usable, keep the old sockets until something returns
            _LOGGER.info("browsing now on %s", ", ".join(wanted))
            try:
                await self._zc.async_update_interfaces(wanted)
            except (OSError, RuntimeError) as exc:
                _LOGGER.warning("could not move mDNS to %s: %s", ", ".join(wanted), exc)
                continue
            self._listening = wanted
            # After its four startup queries (first ~15 s) a zeroconf browser only asks again
            # to refresh records it holds; a fresh one asks the new network who is there.
            if self._browser is not None:
                await self._browser.async_cancel()
            self._start_browser()
            self._hint(ReachableHint("", f"browsing now on {', '.join(wanted)}"))

    def _on_service_state_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        from zeroconf import ServiceStateChange

        if self._closing is not None:
            return
        if state_change is ServiceStateChange.Removed:
            self._mdns_gone(name)
        elif name in self._resolving:
            self._resolving[name] = True  # resolve again when the running one ends
        else:
            self._resolving[name] = False
            self._tasks.async_spawn(self._resolve_loop(name), name)

    async def _resolve_loop(self, name: str) -> None:
        try:
            again = True
            while again:
                self._resolving[name] = False
                device_id = await self._resolve_name(name, fresh=False)
                if device_id:  # heard unasked (the browser), unlike our own reconnect's resolve
                    self._hint(ReachableHint(device_id, "heard on mDNS"))
                again = self._resolving[name]
        finally:
            del self._resolving[name]

    async def _resolve_name(self, name: str, *, fresh: bool) -> str:
        """Resolve one instance (from cache when complete, unless *fresh*) and apply it.

        Return the device id, or "" when it did not resolve to a Baton device.
        """
        from zeroconf.asyncio import AsyncServiceInfo

        assert self._zc is not None
        zc = self._zc.zeroconf
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        cached = not fresh and info.load_from_cache(zc)
        if not cached and not await info.async_request(zc, self._resolve_timeout_s * 1000):
            _LOGGER.debug("%s: did not resolve in %.1f s", name, self._resolve_timeout_s)
            return ""
        try:
            record = parse_txt(
                instance_name(info.name),
                info.properties,
                info.parsed_scoped_addresses(),
                info.port or 0,
            )
        except InvalidServiceRecordError as exc:
            _LOGGER.debug("%s: not a Baton device: %s", name, exc)
            return ""
        self._mdns_seen(info.name, record)
        return record.id

    def _mdns_seen(self, full_name: str, record: ServiceRecord) -> None:
        key = full_name.lower()
        previous_id = self._ids_by_name.get(key)
        if previous_id is not None and previous_id != record.id:
            self._mdns_gone(full_name)  # the name moved to another device
        self._ids_by_name[key] = record.id
        self._present.setdefault(record.id, set()).add(key)
        now = self._clock()
        old = self._entries.get(record.id)
        base = old or DeviceEntry(
            id=record.id,
            name=record.name,
            type=record.type,
            model=record.model,
            addresses=(),
            port=0,
            record=None,
            online=False,
            last_seen=now,
            source=DeviceSource.MDNS,
        )
        self._emit_put(
            replace(
                base,
                name=record.name,
                type=record.type,
                model=record.model,
                addresses=record.addresses,
                port=record.port,
                record=record,
                last_seen=now,
                mdns_present=True,
            )
        )

    def _mdns_gone(self, full_name: str) -> None:
        key = full_name.lower()
        device_id = self._ids_by_name.get(key)
        if device_id is None or device_id not in self._entries:
            return
        names = self._present.get(device_id, set())
        names.discard(key)
        if not names:
            _LOGGER.debug("%s: no longer announced (%s)", device_id, full_name)
            self._emit_put(replace(self._entries[device_id], mdns_present=False))

    def _emit_put(self, entry: DeviceEntry) -> None:
        old = self._entries.get(entry.id)
        if old == entry:
            return
        self._entries[entry.id] = entry
        _trace_presence(old, entry)
        self._emit(DeviceAdded(entry) if old is None else DeviceUpdated(entry, old))

    def _emit(self, event: DeviceEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:  # one broken subscriber must not starve the others
                _LOGGER.exception("device event subscriber %r failed", callback)

    def _hint(self, hint: ReachableHint) -> None:
        for callback in list(self._hint_subscribers):
            try:
                callback(hint)
            except Exception:  # one broken subscriber must not starve the others
                _LOGGER.exception("reachability subscriber %r failed", callback)

    def _require(self, device_id: str) -> DeviceEntry:
        entry = self._entries.get(device_id)
        if entry is None:
            raise DeviceNotFoundError(f"no known device with id {device_id!r}")
        return entry
