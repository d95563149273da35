"""The receiver's mDNS advertisement: register, re-announce changed TXT, follow interfaces, goodbye.

Used by the receiver in devices/ and kept free of Qt and libVLC so it lives in connect.

Decisions (see the class docstring for the reasons):
* `cooperating_responders=True` (no 1.6 s of RFC 6762 probing), replaced by one 250 ms
  "is this name taken?" query before registering and by conflict detection afterwards.
* A name held by another device id gets " (2)", " (3)", ...; when two devices claim the same
  name at the same moment, the one with the greater id yields, so exactly one renames (the
  keeper re-announces, since the loser's goodbye also withdraws the PTR the two shared).
* TXT re-announcements are coalesced to at most one per second (RFC 6762 §6.2), and a change
  of the revision alone waits for `revision_interval_s` (30 s): TXT `rev` is a hint, live
  state travels in the session.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace

from zeroconf import DNSQuestionType
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

# The names and the conflict watch live in _names; every name is still found here.
from connect.discovery._names import _MAX_INSTANCE_BYTES as _MAX_INSTANCE_BYTES
from connect.discovery._names import _TYPE_TXT as _TYPE_TXT
from connect.discovery._names import _ConflictWatch as _ConflictWatch
from connect.discovery._names import _host_label as _host_label
from connect.discovery._names import _txt_id as _txt_id
from connect.discovery._names import candidate_names as candidate_names
from connect.discovery.interfaces import (
    NetworkInterface,
    advertised_addresses,
    async_poll_interfaces,
    list_interfaces,
    resolve_interfaces,
    zeroconf_interfaces,
)
from connect.discovery.txt import SERVICE_TYPE, ServiceRecord, build_txt
from connect.wire.messages import DeviceType, PairingMode
from taskowner import TaskHealth, TaskOwner

__all__ = ["ServiceAdvertiser", "candidate_names"]

_LOGGER = logging.getLogger(__name__)


class ServiceAdvertiser:
    """Advertise one receiver as `<name>._baton._tcp.local.` on explicit interfaces.

    Why `cooperating_responders=True`: zeroconf's probing (3 probes 500 ms apart after a random
    wait) delays the first announcement by ~1.6 s, which alone breaks the "listed within 1 s
    p95 of start" target. Skipping it is only safe if names stay unique, so the advertiser asks
    once whether the name is taken (the holder answers at once; silence costs `name_check_s`),
    and keeps watching for a conflicting TXT afterwards, as RFC 6762 §9 asks of every responder.

    Why one TXT re-announcement per second at most: `rev` changes on every state change (a
    volume drag makes dozens a second), each announcement is three multicast packets, multicast
    on Wi-Fi goes at the lowest rate to every station, and RFC 6762 §6.2 forbids multicasting a
    record more than once a second. Updates in between are coalesced; the latest values win.
    Controllers learn live state from the session anyway; TXT `rev` is only a hint.

    Why the revision alone waits longer (`revision_interval_s`): it changes on every state
    change, and no browsing controller acts on it (each opens a session for live state). With
    50 receivers changing state every second, one announcement per second each made every host
    parse 50 announcements a second: receivers' CPU rose six-fold and command echoes slowed from
    3.6 to 19 ms p99 (docs/reliability.md, Load). So a new revision rides along with the next
    announcement something else causes (a caps, pairing, model or type change, an interface
    change, a rename) and is otherwise announced at most every `revision_interval_s`.
    """

    def __init__(
        self,
        record: ServiceRecord,
        *,
        interfaces: Sequence[str] = (),
        poll_interval_s: float = 5.0,
        min_announce_interval_s: float = 1.0,
        revision_interval_s: float = 30.0,
        name_check_s: float = 0.25,
        close_timeout_s: float = 3.0,
        interface_source: Callable[[], tuple[NetworkInterface, ...]] = list_interfaces,
    ) -> None:
        self._record = record  # `name` is the wanted device name; addresses are filled in here
        self._wanted = tuple(interfaces)  # empty: the default choice of .interfaces
        self._poll_interval_s = poll_interval_s
        self._min_announce_interval_s = min_announce_interval_s
        self._revision_interval_s = max(revision_interval_s, min_announce_interval_s)
        self._name_check_s = name_check_s
        self._close_timeout_s = close_timeout_s
        self._interface_source = interface_source
        self._instance = record.name
        self._zc: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None
        self._ifaces: tuple[NetworkInterface, ...] = ()
        self._last_announce = float("-inf")
        self._dirty = False  # a field browsers use changed: announce within the minimum interval
        self._stale_revision = False  # only `rev` changed: announce within revision_interval_s
        self._wake = asyncio.Event()  # an update arrived: the announcer recomputes its deadline
        self._tasks = TaskOwner(f"advertise {record.id}", _LOGGER)
        self._announcer: asyncio.Task[None] | None = None
        self._conflict_watch = _ConflictWatch(
            record.id, lambda: self._info.key if self._info else None, self._on_conflict
        )
        self._lock = asyncio.Lock()  # one (re)registration at a time: start, watcher, rename
        self._closing: asyncio.Task[None] | None = None
        self._preparing: asyncio.Task[None] | None = None
        self._mdns_error = (
            ""  # why the mDNS sockets could not be opened last time, if they could not
        )

    @property
    def instance_name(self) -> str:
        """The instance name registered now (the device name, or it with a " (n)" suffix)."""
        return self._instance

    @property
    def record(self) -> ServiceRecord:
        """The record as announced now, with the instance name and advertised addresses."""
        return replace(
            self._record, name=self._instance, addresses=advertised_addresses(self._ifaces)
        )

    def health(self) -> tuple[TaskHealth, ...]:
        """How the advertiser's supervised tasks (the interface watcher) are doing."""
        return self._tasks.health()

    def watch_health(self, listener: Callable[[], None]) -> None:
        """Call *listener* whenever a supervised task of the advertiser fails or runs again."""
        self._tasks.watch_health(listener)

    @property
    def registered(self) -> bool:
        """Whether the service is registered on at least one interface."""
        return self._info is not None

    async def async_prepare(self) -> None:
        """Open the mDNS sockets and settle the instance name, without announcing anything yet.

        Optional: lets a receiver overlap the name check (`name_check_s`) with the rest of its
        start-up, before its port is known. Idempotent; `async_start` finishes the work.
        """
        if self._preparing is None:
            self._preparing = self._tasks.async_spawn(self._prepare(), "prepare", awaited=True)
        await asyncio.shield(self._preparing)

    async def async_start(self, *, port: int | None = None) -> None:
        """Register on the chosen interfaces (with *port*, if given) and follow their changes.

        Raises UnknownInterfaceError when an explicitly named interface does not exist. With
        the default choice and no usable address yet (a Pi still booting), registration
        waits for the interface watcher to see one.
        """
        if port is not None:
            self._record = replace(self._record, port=port)
        await self.async_prepare()
        async with self._lock:
            if self._zc is not None and self._info is None and self._ifaces:
                await self._async_register()
        # Supervised: listing interfaces needs a socket, and a moment without descriptors (an
        # attack) must not end the watch for good.
        self._tasks.async_supervise(self._watch_interfaces, "interfaces")

    async def async_update(
        self,
        *,
        revision: int | None = None,
        caps_hash: str | None = None,
        pairing: PairingMode | None = None,
        model: str | None = None,
        device_type: DeviceType | None = None,
    ) -> None:
        """Change TXT fields and re-announce them, at most once per `min_announce_interval_s`.

        A change of *revision* alone is announced within `revision_interval_s` (or sooner,
        with the next announcement another change causes).
        """
        if self._closing is not None:
            return
        current = self._record
        updated = replace(
            current,
            revision=current.revision if revision is None else revision,
            caps_hash=current.caps_hash if caps_hash is None else caps_hash,
            pairing=pairing or current.pairing,
            model=current.model if model is None else model,
            type=device_type or current.type,
        )
        build_txt(updated)  # raise InvalidServiceRecordError here, not later in the timer
        if updated == current:
            return
        self._record = updated
        if replace(updated, revision=current.revision) == current:
            self._stale_revision = True
        else:
            self._dirty = True
        self._schedule_announcement()

    async def async_close(self) -> None:
        """Send goodbyes, stop watching and release the sockets; idempotent, bounded in time."""
        if self._closing is None:
            self._closing = asyncio.create_task(self._close())
        await asyncio.shield(self._closing)

    # ---------------------------------------------------------------- internals

    async def _close(self) -> None:
        try:
            async with asyncio.timeout(self._close_timeout_s):
                await self._tasks.async_close(self._close_timeout_s)
                async with self._lock:
                    await self._async_teardown()
        except TimeoutError:
            _LOGGER.warning(
                "%s: mDNS goodbye did not finish in %.1f s", self._record.id, self._close_timeout_s
            )

    async def _watch_interfaces(self) -> None:
        async for ifaces in async_poll_interfaces(
            self._wanted, self._interface_source, self._poll_interval_s, self._record.id
        ):
            if self._zc is None and advertised_addresses(ifaces) and self._mdns_error:
                async with self._lock:  # mDNS could not start: try again, on the poll timer
                    await self._async_apply(ifaces)
            elif advertised_addresses(ifaces) != advertised_addresses(self._ifaces):
                _LOGGER.info(
                    "%s: interface addresses now %s",
                    self._record.id,
                    ", ".join(advertised_addresses(ifaces)) or "none",
                )
                async with self._lock:
                    await self._async_apply(ifaces)

    async def _async_apply(self, ifaces: tuple[NetworkInterface, ...]) -> None:
        """Make the registration match *ifaces*: bring up, move, or take down."""
        if not advertised_addresses(ifaces):
            await self._async_teardown()
        elif self._zc is None:
            await self._async_bring_up(ifaces)
        else:
            try:
                await self._zc.async_update_interfaces(zeroconf_interfaces(ifaces))
            except (OSError, RuntimeError) as exc:
                _LOGGER.info("%s: re-creating mDNS sockets (%s)", self._record.id, exc)
                await self._async_teardown()
                await self._async_bring_up(ifaces)
                return
            self._ifaces = ifaces
            await self._async_announce()
        self._ifaces = ifaces

    async def _prepare(self) -> None:
        ifaces = resolve_interfaces(self._wanted, self._interface_source())
        async with self._lock:
            if advertised_addresses(ifaces) and self._open(ifaces):
                await self._async_pick_name(skip=())

    async def _async_bring_up(self, ifaces: tuple[NetworkInterface, ...]) -> None:
        if self._open(ifaces):
            await self._async_pick_name(skip=())
            await self._async_register()

    def _open(self, ifaces: tuple[NetworkInterface, ...]) -> bool:
        """Open the mDNS sockets on *ifaces*; False (logged) when the system refuses them.

        Why not raise: a receiver without mDNS still plays and can be added by address, while
        one that exits is restarted into the same refusal forever. The interface watcher tries
        again at every poll. Seen under QEMU user emulation (no IP_MULTICAST_IF) and when
        another program holds port 5353 without sharing it.
        """
        self._ifaces = ifaces
        try:
            zc = AsyncZeroconf(interfaces=zeroconf_interfaces(ifaces))
        except OSError as exc:
            _LOGGER.log(
                logging.DEBUG if self._mdns_error else logging.ERROR,
                "%s: cannot open mDNS sockets on %s (%s): not advertised, controllers can still "
                "add this receiver by address; trying again every %g s",
                self._record.id, ", ".join(advertised_addresses(ifaces)), exc,
                self._poll_interval_s,
            )  # fmt: skip
            self._mdns_error = str(exc)
            return False
        if self._mdns_error:
            _LOGGER.info("%s: mDNS sockets open now", self._record.id)
        self._mdns_error = ""
        self._zc = zc
        zc.zeroconf.async_add_listener(self._conflict_watch, None)
        return True

    async def _async_pick_name(self, skip: Sequence[str]) -> None:
        """Take the first candidate name that no other device id answers for."""
        for name in candidate_names(self._record.name):
            if name in skip:
                continue
            holder = await self._async_name_holder(name)
            if holder == self._record.id:
                # Not us (we are not registered yet): another device with our id, typically a
                # cloned SD card. Controllers will see the two as one device.
                _LOGGER.warning("%s: another device answers with this same id", holder)
            if holder is not None and holder != self._record.id:
                _LOGGER.info("%s: name %r is held by %s", self._record.id, name, holder)
                continue
            self._instance = name
            return
        raise RuntimeError(f"{self._record.id}: no free instance name")  # pragma: no cover

    async def _async_register(self) -> None:
        assert self._zc is not None
        self._info = self._service_info()
        await self._zc.async_register_service(self._info, cooperating_responders=True)
        self._last_announce = asyncio.get_running_loop().time()
        self._dirty = self._stale_revision = False
        _LOGGER.info(
            "%s: advertised as %r on %s",
            self._record.id,
            self._instance,
            ", ".join(advertised_addresses(self._ifaces)),
        )

    async def _async_name_holder(self, name: str) -> str | None:
        """Return the device id answering for *name*, or None when nobody does in time."""
        assert self._zc is not None
        info = AsyncServiceInfo(SERVICE_TYPE, f"{name}.{SERVICE_TYPE}")
        # QM, not QU: several responders on one host share port 5353 and a unicast answer
        # would reach only one of them.
        await info.async_request(
            self._zc.zeroconf, self._name_check_s * 1000, question_type=DNSQuestionType.QM
        )
        holder = (info.decoded_properties or {}).get("id")
        return holder or None

    async def _async_announce(self) -> None:
        if self._zc is None or self._info is None:
            return
        self._info = self._service_info()
        self._last_announce = asyncio.get_running_loop().time()
        self._dirty = self._stale_revision = False
        await (await self._zc.async_update_service(self._info))

    def _schedule_announcement(self) -> None:
        self._wake.set()
        if self._announcer is None or self._announcer.done():
            self._announcer = self._tasks.async_spawn(self._announce_when_allowed(), "announce")

    async def _announce_when_allowed(self) -> None:
        loop = asyncio.get_running_loop()
        while self._dirty or self._stale_revision:
            interval = self._min_announce_interval_s if self._dirty else self._revision_interval_s
            wait = self._last_announce + interval - loop.time()
            if wait > 0:
                # A rate-limit timer (owned, cancelled on close) that an urgent change cuts short.
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                continue
            async with self._lock:
                if self._info is None:
                    return  # not registered: the next registration carries the new TXT
                await self._async_announce()

    async def _async_teardown(self) -> None:
        zc, self._zc, self._info = self._zc, None, None
        if zc is None:
            return
        zc.zeroconf.async_remove_listener(self._conflict_watch)
        await zc.async_close()  # unregisters every service first: the goodbye (TTL 0)

    async def _async_rename_after_conflict(self, lost: str, other_id: str) -> None:
        async with self._lock:
            if self._zc is None or self._info is None or self._instance != lost:
                return  # already renamed (several conflicting packets), or closing
            _LOGGER.warning(
                "%s: name %r also claimed by %s; renaming", self._record.id, lost, other_id
            )
            await (await self._zc.async_unregister_service(self._info))
            self._info = None
            await self._async_pick_name(skip=(lost,))
            await self._async_register()

    def _on_conflict(self, other_id: str) -> None:
        if self._closing is not None:
            return
        # Two devices announcing one name at once: the greater id yields, so exactly one moves.
        if self._record.id > other_id:
            self._tasks.async_spawn(
                self._async_rename_after_conflict(self._instance, other_id), "rename"
            )
            return
        _LOGGER.debug(
            "%s: %s claims our name %r; it yields", self._record.id, other_id, self._instance
        )
        # Its announcement carried the cache-flush bit and may have pushed our records out of
        # peers' caches: announce ours again (rate-limited) once it has moved away.
        self._dirty = True
        self._schedule_announcement()

    def _service_info(self) -> AsyncServiceInfo:
        return AsyncServiceInfo(
            SERVICE_TYPE,
            f"{self._instance}.{SERVICE_TYPE}",
            port=self._record.port,
            properties=build_txt(self._record),
            server=f"{_host_label(self._record.id)}.local.",
            parsed_addresses=list(advertised_addresses(self._ifaces)),
        )


async def _serve(args: argparse.Namespace) -> None:
    """Advertise until stdin closes, "quit" or SIGTERM; "rev N" lines update the revision."""
    record = ServiceRecord(
        name=args.name,
        id=args.id,
        type=DeviceType[args.type.upper()],
        model=args.model,
        pairing=PairingMode[args.pair.upper()],
        revision=args.rev,
        port=args.port,
    )
    advertiser = ServiceAdvertiser(
        record,
        interfaces=args.interface,
        poll_interval_s=args.poll_interval,
        min_announce_interval_s=args.announce_interval,
        revision_interval_s=args.revision_interval,
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    await advertiser.async_start()
    print(f"advertised {advertiser.instance_name}", flush=True)

    async def read_commands() -> None:
        while line := (await reader.readline()).decode().strip():
            verb, _, arg = line.partition(" ")
            if verb == "rev":
                await advertiser.async_update(revision=int(arg))
            elif verb == "quit":
                break
        stop.set()

    commands = asyncio.create_task(read_commands())
    try:
        await stop.wait()
    finally:
        commands.cancel()
        await advertiser.async_close()
        print("closed", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Advertise a stand-in receiver: for tests, benchmarks and checking a network by hand."""
    parser = argparse.ArgumentParser(
        prog="python -m connect.discovery.advertise", description=main.__doc__
    )
    parser.add_argument("--name", required=True, help="device name (the instance name)")
    parser.add_argument("--id", required=True, help="stable device id")
    parser.add_argument("--type", default="speaker", choices=[t.name.lower() for t in DeviceType])
    parser.add_argument("--model", default="stand-in")
    parser.add_argument("--pair", default="open", choices=[p.name.lower() for p in PairingMode])
    parser.add_argument("--rev", type=int, default=0)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--interface", action="append", default=[], help="name or address; repeatable"
    )
    parser.add_argument("--poll-interval", type=float, default=5.0, metavar="S")
    parser.add_argument("--announce-interval", type=float, default=1.0, metavar="S")
    parser.add_argument(
        "--revision-interval", type=float, default=30.0, metavar="S",
        help="announce a change of the revision alone at most this often",
    )  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
