"""Finding AirPlay speakers on the local network: `_raop._tcp` on mDNS, on the interfaces
given only.

An AirPlay speaker announces `AABBCCDDEEFF@Name._raop._tcp.local.`: its hardware id (what its
Baton id is made of), its name, its RTSP port, and a TXT record pyatv needs (codecs,
encryption, whether it takes metadata). The browser resolves each once and says so. An
instance that leaves is not followed: the speaker stays bridged, and a stream to it fails
when it is gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from zeroconf.asyncio import AsyncServiceInfo

from bridges._browse import ServiceBrowser
from bridges.airplay._status import properties_of, speaker_name
from connect.discovery.interfaces import NoUsableInterfaceError

__all__ = ["RAOP_SERVICE", "AirPlayBrowser", "FoundSpeaker", "async_find_speaker"]

RAOP_SERVICE = "_raop._tcp.local."


@dataclass(frozen=True)
class FoundSpeaker:
    """One AirPlay speaker announced on mDNS."""

    name: str  # e.g. "Kitchen"
    hardware_id: str  # e.g. "AABBCCDDEEFF": what its id is made of
    address: str  # where to reach it
    port: int
    properties: dict[str, str] = field(default_factory=dict)  # its TXT record


class AirPlayBrowser(ServiceBrowser[FoundSpeaker]):
    """Browses `_raop._tcp` on explicit interfaces; calls *found* once per instance."""

    def __init__(self, interfaces: Sequence[str], found: Callable[[FoundSpeaker], None]) -> None:
        super().__init__(RAOP_SERVICE, "AirPlay speakers", interfaces, found)

    def _read(self, instance: str, info: AsyncServiceInfo, address: str) -> FoundSpeaker | None:
        if not info.port:
            return None
        hardware_id, speaker = speaker_name(instance)
        properties = properties_of(info.properties)
        return FoundSpeaker(speaker, hardware_id, address, info.port, properties)


async def async_find_speaker(
    interfaces: Sequence[str], address: str, port: int, timeout_s: float
) -> FoundSpeaker | None:
    """Return the speaker announced at *address*:*port* on mDNS within *timeout_s*, or None
    (none there, or nowhere to look): what a speaker named by its address says of itself."""
    found: asyncio.Future[FoundSpeaker] = asyncio.get_running_loop().create_future()

    def seen(speaker: FoundSpeaker) -> None:
        if speaker.address == address and speaker.port == port and not found.done():
            found.set_result(speaker)

    browser = AirPlayBrowser(interfaces, seen)
    try:
        await browser.async_start()
        async with asyncio.timeout(timeout_s):
            return await found
    except (TimeoutError, NoUsableInterfaceError, OSError):
        return None
    finally:
        await browser.async_close()
