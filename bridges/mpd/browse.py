"""Finding MPDs on the local network: `_mpd._tcp` on mDNS, on the interfaces given only.

MPD announces itself (with `zeroconf_enabled`, through Avahi) as `NAME._mpd._tcp.local.`; the
browser resolves each to its host name, an address and the port, and says so once per
instance. The host name, not the address, makes the bridged device's id: an address a DHCP
server hands out again may change. An instance that leaves is not followed: the device
stays bridged while MPD answers, and says it is gone when it does not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zeroconf.asyncio import AsyncServiceInfo

from bridges._browse import ServiceBrowser

__all__ = ["MPD_SERVICE", "FoundMpd", "MpdBrowser"]

MPD_SERVICE = "_mpd._tcp.local."


@dataclass(frozen=True)
class FoundMpd:
    """One MPD announced on mDNS."""

    name: str  # the instance name, e.g. "Music Player @ kitchen"
    host: str  # its host name, without the trailing dot: what its id is made of
    address: str  # where to reach it
    port: int


class MpdBrowser(ServiceBrowser[FoundMpd]):
    """Browses `_mpd._tcp` on explicit interfaces; calls *found* once per instance."""

    def __init__(self, interfaces: Sequence[str], found: Callable[[FoundMpd], None]) -> None:
        super().__init__(MPD_SERVICE, "MPDs", interfaces, found)

    def _read(self, instance: str, info: AsyncServiceInfo, address: str) -> FoundMpd | None:
        if not info.server or not info.port:
            return None
        return FoundMpd(instance, info.server.rstrip(".").lower(), address, info.port)
