"""The controller API: find devices, keep sessions to them, send commands, follow their state.

`Controller` joins a DeviceRegistry (mDNS on explicit interfaces, plus devices added by
address and polled over HTTP) with one DeviceConnection per device, marks devices online and
offline from their sessions (never from mDNS), and fans every session event out to subscribers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence

import aiohttp

from connect import codec
from connect import messages as m
from connect.connection import (
    Connected,
    ConnectionEvent,
    DeviceConnection,
    Disconnected,
    Endpoint,
)
from connect.discovery import DeviceEntry, DeviceRegistry
from connect.errors import ConnectError, ConnectTimeoutError, DeviceNotFoundError, FrameError
from connect.server import INFO_PATH
from connect.txt import ServiceRecord

_LOG = logging.getLogger(__name__)

MANUAL_POLL_INTERVAL_S = 10.0
_HTTP_TIMEOUT = aiohttp.ClientTimeout(total=3)


_PROCESS_CLIENT_ID = f"cli-{uuid.uuid4().hex[:12]}"


def default_identity(name: str = "baton") -> m.ClientIdentity:
    """Return an identity for a controller that has no stored one (the CLI).

    One id per process: the device id its traces carry (`tracing.setup`) is the same one, so
    a device's replies, addressed to this client id, land on this process's lifeline.
    """
    from connect.cli_common import baton_version

    return m.ClientIdentity(
        _PROCESS_CLIENT_ID, name, m.DeviceType.COMPUTER, f"baton {baton_version()}"
    )


def parse_host_port(text: str) -> tuple[str, int]:
    """Parse `host:port` or `[v6]:port`; raise ValueError with a clear message."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


class Controller:
    """Devices, sessions and commands for one controller (see the module docstring)."""

    def __init__(
        self,
        identity: m.ClientIdentity,
        *,
        interfaces: Sequence[str] = (),
        browse: bool = True,
    ) -> None:
        self.identity = identity
        self.registry = DeviceRegistry(interfaces=interfaces)
        self._browse = browse
        self._http: aiohttp.ClientSession | None = None
        self._connections: dict[str, DeviceConnection] = {}
        self._listeners: list[Callable[[ConnectionEvent], None]] = []
        self._poller: asyncio.Task[None] | None = None

    async def async_start(self) -> None:
        """Start browsing (if asked) and polling devices added by address."""
        self._http = aiohttp.ClientSession(timeout=_HTTP_TIMEOUT)
        if self._browse:
            await self.registry.async_start()
        self._poller = asyncio.get_running_loop().create_task(self._poll_manual_hosts())

    async def async_close(self) -> None:
        """Close every session, stop browsing (idempotent, bounded)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        await asyncio.gather(*(c.async_close() for c in self._connections.values()))
        self._connections.clear()
        if self._browse:
            await self.registry.async_close()
        if self._http is not None:
            await self._http.close()
            self._http = None

    def subscribe(self, listener: Callable[[ConnectionEvent], None]) -> Callable[[], None]:
        """Call *listener* for every session event of every device; return an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -------------------------------------------------------------------------- devices

    async def async_add_address(self, host: str, port: int) -> DeviceEntry:
        """Add a device by address and ask it who it is; raise ConnectError if it cannot say."""
        self.registry.async_add_manual(host, port)
        info = await self.async_fetch_info(host, port)
        return self.registry.async_report_manual(host, port, _record_from_info(info, host, port))

    async def async_fetch_info(self, host: str, port: int) -> m.DeviceInfo:
        """GET a device's DeviceInfo; raise ConnectTimeoutError or ConnectError saying why."""
        url = f"http://{Endpoint(host, port).authority}{INFO_PATH}"
        try:
            async with self._require_http().get(url) as response:
                if response.status != 200:
                    raise ConnectError(f"{host}:{port} answered HTTP {response.status}")
                return codec.decode_device_info(await response.read())
        except TimeoutError:
            raise ConnectTimeoutError(f"{host}:{port} did not answer in time") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectError(f"{host}:{port} is not reachable: {exc}") from exc
        except FrameError as exc:
            raise ConnectError(f"{host}:{port} is not a Baton device: {exc}") from exc

    async def async_find(self, name_or_id: str, timeout: float) -> DeviceEntry:
        """Return the device with this id or (case-insensitive) name, waiting up to *timeout*."""

        def matches(entry: DeviceEntry) -> bool:
            return entry.id == name_or_id or entry.name.casefold() == name_or_id.casefold()

        found = [e for e in self.registry.entries() if matches(e)]
        if not found:
            try:
                found = [await self.registry.async_wait_for(matches, timeout)]
            except ConnectTimeoutError:
                known = ", ".join(sorted(repr(e.name) for e in self.registry.entries())) or "none"
                raise DeviceNotFoundError(
                    f"no device named {name_or_id!r} within {timeout:g} s (found: {known})"
                ) from None
        ids = {entry.id for entry in found}
        if len(ids) > 1:
            raise DeviceNotFoundError(
                f"{len(ids)} devices are named {name_or_id!r}; use an id: {', '.join(sorted(ids))}"
            )
        return found[0]

    # -------------------------------------------------------------------------- sessions

    def connection(self, device_id: str) -> DeviceConnection:
        """Return the (started) session to a known device, creating it on first use."""
        existing = self._connections.get(device_id)
        if existing is not None:
            return existing

        async def resolve() -> Endpoint:
            entry = await self.registry.async_resolve(device_id)
            if not entry.addresses:
                raise DeviceNotFoundError(f"device {device_id} has no known address")
            ipv4 = [a for a in entry.addresses if ":" not in a]
            ws_path = entry.record.ws_path if entry.record else Endpoint("", 0).ws_path
            return Endpoint((ipv4 or list(entry.addresses))[0], entry.port, ws_path)

        conn = DeviceConnection(device_id, resolve, self.identity, self._require_http())
        conn.subscribe(self._on_event)
        self._connections[device_id] = conn
        conn.async_start()
        return conn

    def known_connection(self, device_id: str) -> DeviceConnection | None:
        """Return the session to *device_id* if one was ever made, without starting one."""
        return self._connections.get(device_id)

    async def async_connect(self, device_id: str, timeout: float = 5.0) -> DeviceConnection:
        """Return a connected session to *device_id*, or raise ConnectTimeoutError."""
        conn = self.connection(device_id)
        await conn.wait_connected(timeout)
        return conn

    async def async_command(
        self,
        device_id: str,
        action: m.Action,
        *,
        expected_revision: int | None = None,
        timeout: float = 5.0,
    ) -> m.CommandResult:
        """Send a command to a device (connecting first if needed) and return its result."""
        conn = await self.async_connect(device_id, timeout)
        return await conn.command(action, expected_revision=expected_revision, timeout=timeout)

    def _on_event(self, event: ConnectionEvent) -> None:
        with contextlib.suppress(DeviceNotFoundError):
            if isinstance(event, Connected):
                self.registry.async_mark_online(event.device_id)
            elif isinstance(event, Disconnected):
                self.registry.async_mark_offline(event.device_id, event.reason)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one broken subscriber must not starve the others
                _LOG.exception("controller listener failed on %s", type(event).__name__)

    async def _poll_manual_hosts(self) -> None:
        """Re-ask every device added by address who it is, so a changed device is noticed."""
        while True:
            await asyncio.sleep(MANUAL_POLL_INTERVAL_S)
            for host, port in self.registry.manual_hosts():
                try:
                    info = await self.async_fetch_info(host, port)
                except ConnectError as exc:
                    _LOG.debug("%s:%d: %s", host, port, exc)
                    continue
                self.registry.async_report_manual(host, port, _record_from_info(info, host, port))

    def _require_http(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise RuntimeError("controller not started")
        return self._http


def _record_from_info(info: m.DeviceInfo, host: str, port: int) -> ServiceRecord:
    return ServiceRecord(
        name=info.name,
        id=info.id,
        type=info.type,
        model=info.model,
        ws_path=info.ws_path,
        revision=info.revision,
        pairing=info.pairing,
        addresses=(host,),
        port=port,
    )
