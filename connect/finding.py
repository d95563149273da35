"""How a controller finds the device a user names: among the devices it knows, then where it
last reached it (connect.discovery.last_reached), then on mDNS, which it starts browsing only
then. A `baton` command to a known device thus costs one session, not a browse.

The cache says where to try, never who answers: the session there must come from the id
remembered (the Welcome carries it; TLS is pinned to it where due, connect.controller), and
a device named by name must still bear that name. Otherwise it is as if nothing was
remembered. See docs/security.md, "Device identity and TLS".
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from connect.discovery.last_reached import LastReached, Reached
from connect.discovery.registry import DeviceEntry, DeviceRegistry, DeviceSource
from connect.discovery.txt import ServiceRecord
from connect.errors import AccessError, ConnectError, ConnectTimeoutError, DeviceNotFoundError
from connect.session.connection import DeviceConnection, Endpoint
from connect.wire import messages as m

_LOG = logging.getLogger(__name__)

# How long a device gets to open its session where it was last reached before mDNS is asked:
# on a LAN one answers in tens of milliseconds, and a host that is gone mostly refuses at once.
REMEMBERED_WAIT_S = 1.0


class DeviceFinder:
    """Finds named devices for one Controller (which hands it its registry and sessions)."""

    def __init__(
        self,
        registry: DeviceRegistry,
        last_reached: LastReached | None,
        *,
        browse: Callable[[], Awaitable[None]],
        open_session: Callable[[str, float], Awaitable[DeviceConnection]],
        drop_session: Callable[[str], Awaitable[None]],
    ) -> None:
        self._registry = registry
        self._last_reached = last_reached
        self._browse = browse
        self._open_session = open_session
        self._drop_session = drop_session

    async def async_find(self, name_or_id: str, timeout: float) -> DeviceEntry:
        """Return the device with this id or (any case) name; mDNS is given up to *timeout*.

        Raises DeviceNotFoundError saying which devices were found, or that several share
        the name; AccessError when the device remembered answered that it will not serve us.
        """

        def matches(entry: DeviceEntry) -> bool:
            return entry.id == name_or_id or entry.name.casefold() == name_or_id.casefold()

        found = [e for e in self._registry.entries() if matches(e)]
        if not found and self._last_reached is not None:
            remembered = await self._reach_remembered(name_or_id)
            if remembered is not None:
                return remembered
        if not found:
            await self._browse()
            try:
                found = [await self._registry.async_wait_for(matches, timeout)]
            except ConnectTimeoutError:
                known = ", ".join(sorted(repr(e.name) for e in self._registry.entries())) or "none"
                raise DeviceNotFoundError(
                    f"no device named {name_or_id!r} within {timeout:g} s (found: {known})"
                ) from None
        ids = {entry.id for entry in found}
        if len(ids) > 1:
            raise DeviceNotFoundError(
                f"{len(ids)} devices are named {name_or_id!r}; use an id: {', '.join(sorted(ids))}"
            )
        return found[0]

    def remember(self, device_id: str, name: str, kind: m.DeviceType, endpoint: Endpoint) -> None:
        """Note where *device_id* (called *name*) was just reached, for the next command."""
        if self._last_reached is not None and not device_id.startswith("manual:"):
            self._last_reached.remember(
                Reached(
                    device_id, name, endpoint.host, endpoint.port, endpoint.ws_path,
                    endpoint.tls, kind.name.lower(),
                )
            )  # fmt: skip

    async def _reach_remembered(self, name_or_id: str) -> DeviceEntry | None:
        """Return the device if its session opens where it was last reached, as itself."""
        assert self._last_reached is not None
        candidates = self._last_reached.find(name_or_id)
        if len({c.device_id for c in candidates}) != 1:
            return None  # never reached, or a name two devices had: mDNS tells them apart
        record = _record_from_reached(candidates[0])
        entry = self._registry.async_add_remembered(record)
        try:
            conn = await self._open_session(entry.id, REMEMBERED_WAIT_S)
        except AccessError:
            return entry  # it is there (TLS pinned to its id) and says why not: let it be said
        except ConnectError as exc:
            _LOG.debug("%s: not where it was last reached: %s", entry.id, exc)
            await self._forget(entry.id)
            return None
        assert conn.welcome is not None
        device = conn.welcome.device
        if name_or_id != entry.id and device.name.casefold() != name_or_id.casefold():
            _LOG.debug("%s: now named %r, not %r", entry.id, device.name, name_or_id)
            await self._forget(entry.id)
            return None
        # Named by id, it may bear a new name: the one it says now is the one to show.
        return self._registry.async_add_remembered(
            replace(record, name=device.name, type=device.type)
        )

    async def _forget(self, device_id: str) -> None:
        """Drop a remembered device that did not answer as itself, and its session."""
        await self._drop_session(device_id)
        entry = self._registry.get(device_id)
        heard = entry is not None and (entry.mdns_present or bool(entry.manual_address))
        if entry is not None and entry.source is DeviceSource.REMEMBERED and not heard:
            self._registry.async_forget(device_id)


def _record_from_reached(reached: Reached) -> ServiceRecord:
    kind = reached.type.upper()
    return ServiceRecord(
        name=reached.name,
        id=reached.device_id,
        type=m.DeviceType[kind] if kind in m.DeviceType.__members__ else m.DeviceType.OTHER,
        ws_path=reached.ws_path,
        pairing=m.PairingMode.PIN if reached.tls else m.PairingMode.OPEN,
        addresses=(reached.host,),
        port=reached.port,
    )
