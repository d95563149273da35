"""Browsing one mDNS service type on the interfaces given only, each instance resolved once.

The kinds of device announced on mDNS (MPD's `_mpd._tcp`, AirPlay's `_raop._tcp`) are browsed
alike: a browser on explicit interfaces (never every one: the machine's real network is the
user's to choose), each new instance resolved in a task of its own, and what a kind reads from
the resolved record handed to its callback once. An instance that does not resolve, or says
too little, is forgotten until it is announced again. An instance that leaves is not followed:
the device stays bridged and says it is gone when it does not answer.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from zeroconf import DNSQuestionType, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from connect.discovery.interfaces import (
    NoUsableInterfaceError,
    list_interfaces,
    resolve_interfaces,
    zeroconf_interfaces,
)
from taskowner import TaskOwner

__all__ = ["ServiceBrowser"]

_LOG = logging.getLogger(__name__)
RESOLVE_TIMEOUT_MS = 3_000
_CLOSE_TIMEOUT_S = 2.0

Found = TypeVar("Found")


class ServiceBrowser(ABC, Generic[Found]):
    """Browses *service* on explicit interfaces; calls *found* once per instance with what
    `_read` makes of its record."""

    def __init__(
        self,
        service: str,
        looking_for: str,
        interfaces: Sequence[str],
        found: Callable[[Found], None],
    ) -> None:
        self.service = service
        self._looking_for = looking_for  # for the error: "look for MPDs on"
        self._wanted = tuple(interfaces)
        self._found = found
        self._seen: set[str] = set()
        self._zc: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks = TaskOwner(f"{service} browser", _LOG)

    @abstractmethod
    def _read(self, instance: str, info: AsyncServiceInfo, address: str) -> Found | None:
        """Return the device an instance's resolved record announces (None: it says too
        little). *instance*: its name without the service; *address*: where to reach it."""

    async def async_start(self) -> None:
        """Start browsing; raise NoUsableInterfaceError when there is nowhere to listen."""
        present = list_interfaces()
        listening = zeroconf_interfaces(resolve_interfaces(self._wanted, present))
        if not listening:
            raise NoUsableInterfaceError.default_found_none(
                f"look for {self._looking_for} on", present
            )
        self._zc = AsyncZeroconf(interfaces=listening)
        self._browser = AsyncServiceBrowser(
            self._zc.zeroconf, self.service, handlers=[self._changed],
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
        info = AsyncServiceInfo(self.service, name)
        if not await info.async_request(self._zc.zeroconf, RESOLVE_TIMEOUT_MS):
            _LOG.info("%s: did not resolve; ignored until announced again", name)
            self._seen.discard(name)
            return
        addresses = info.parsed_scoped_addresses()
        found = None
        if addresses and info.port:
            found = self._read(name.removesuffix("." + self.service), info, addresses[0])
        if found is None:
            self._seen.discard(name)
            return
        self._found(found)
