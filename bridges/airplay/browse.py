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
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from zeroconf import DNSQuestionType, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from bridges.airplay._status import properties_of, speaker_name
from connect.discovery.interfaces import (
    NoUsableInterfaceError,
    list_interfaces,
    resolve_interfaces,
    zeroconf_interfaces,
)
from taskowner import TaskOwner

__all__ = ["RAOP_SERVICE", "AirPlayBrowser", "FoundSpeaker", "async_find_speaker"]

_LOG = logging.getLogger(__name__)
RAOP_SERVICE = "_raop._tcp.local."
RESOLVE_TIMEOUT_MS = 3_000
_CLOSE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class FoundSpeaker:
    """One AirPlay speaker announced on mDNS."""

    name: str  # e.g. "Kitchen"
    hardware_id: str  # e.g. "AABBCCDDEEFF": what its id is made of
    address: str  # where to reach it
    port: int
    properties: dict[str, str] = field(default_factory=dict)  # its TXT record


class AirPlayBrowser:
    """Browses `_raop._tcp` on explicit interfaces; calls *found* once per instance."""

    def __init__(self, interfaces: Sequence[str], found: Callable[[FoundSpeaker], None]) -> None:
        self._wanted = tuple(interfaces)
        self._found = found
        self._seen: set[str] = set()
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks = TaskOwner("airplay browser", _LOG)

    async def async_start(self) -> None:
        """Start browsing; raise NoUsableInterfaceError when there is nowhere to listen."""
        present = list_interfaces()
        listening = zeroconf_interfaces(resolve_interfaces(self._wanted, present))
        if not listening:
            raise NoUsableInterfaceError.default_found_none("look for AirPlay speakers on", present)
        self._zc = AsyncZeroconf(interfaces=listening)
        self._browser = AsyncServiceBrowser(
            self._zc.zeroconf, RAOP_SERVICE, handlers=[self._changed],
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
        info = AsyncServiceInfo(RAOP_SERVICE, name)
        if not await info.async_request(self._zc.zeroconf, RESOLVE_TIMEOUT_MS):
            _LOG.info("%s: did not resolve; ignored until announced again", name)
            self._seen.discard(name)
            return
        addresses = info.parsed_scoped_addresses()
        if not addresses or not info.port:
            self._seen.discard(name)
            return
        hardware_id, speaker = speaker_name(name.removesuffix("." + RAOP_SERVICE))
        properties = properties_of(info.properties)
        self._found(FoundSpeaker(speaker, hardware_id, addresses[0], info.port, properties))


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
