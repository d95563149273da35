"""Finding MPDs on the local network: `_mpd._tcp` on mDNS, on the interfaces given only.

MPD announces itself (with `zeroconf_enabled`, through Avahi) as `NAME._mpd._tcp.local.`; the
browser resolves each to its host name, an address and the port, and says so once per
instance. The host name, not the address, makes the bridged device's id: an address a DHCP
server hands out again may change. An instance that leaves is not followed: the device
stays bridged while MPD answers, and says it is gone when it does not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zeroconf import DNSQuestionType, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from connect.discovery.interfaces import (
    NoUsableInterfaceError,
    list_interfaces,
    resolve_interfaces,
    zeroconf_interfaces,
)
from taskowner import TaskOwner

__all__ = ["MPD_SERVICE", "FoundMpd", "MpdBrowser"]

_LOG = logging.getLogger(__name__)
MPD_SERVICE = "_mpd._tcp.local."
RESOLVE_TIMEOUT_MS = 3_000
_CLOSE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class FoundMpd:
    """One MPD announced on mDNS."""

    name: str  # the instance name, e.g. "Music Player @ kitchen"
    host: str  # its host name, without the trailing dot: what its id is made of
    address: str  # where to reach it
    port: int


class MpdBrowser:
    """Browses `_mpd._tcp` on explicit interfaces; calls *found* once per instance."""

    def __init__(self, interfaces: Sequence[str], found: Callable[[FoundMpd], None]) -> None:
        self._wanted = tuple(interfaces)
        self._found = found
        self._seen: set[str] = set()
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks = TaskOwner("mpd browser", _LOG)

    async def async_start(self) -> None:
        """Start browsing; raise NoUsableInterfaceError when there is nowhere to listen."""
        present = list_interfaces()
        listening = zeroconf_interfaces(resolve_interfaces(self._wanted, present))
        if not listening:
            raise NoUsableInterfaceError.default_found_none("look for MPDs on", present)
        self._zc = AsyncZeroconf(interfaces=listening)
        self._browser = AsyncServiceBrowser(
            self._zc.zeroconf, MPD_SERVICE, handlers=[self._changed],
            question_type=DNSQuestionType.QM,
        )  # fmt: skip

    async def async_close(self) -> None:
        """Stop browsing and release the sockets (idempotent)."""
        await self._tasks.async_close(_CLOSE_TIMEOUT_S)
        browser, self._browser = self._browser, None
        if browser is not None:
            await browser.async_cancel()
        zc, self._zc = self._zc, None
        if zc is not None:
            await zc.async_close()

    def _changed(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Added and name not in self._seen:
            self._seen.add(name)
            self._tasks.async_spawn(self._resolve(name), name)

    async def _resolve(self, name: str) -> None:
        assert self._zc is not None
        info = AsyncServiceInfo(MPD_SERVICE, name)
        if not await info.async_request(self._zc.zeroconf, RESOLVE_TIMEOUT_MS):
            _LOG.info("%s: did not resolve; ignored until announced again", name)
            self._seen.discard(name)
            return
        addresses = info.parsed_scoped_addresses()
        if not addresses or not info.port or not info.server:
            self._seen.discard(name)
            return
        instance = name.removesuffix("." + MPD_SERVICE)
        host = info.server.rstrip(".").lower()
        self._found(FoundMpd(instance, host, addresses[0], info.port))
