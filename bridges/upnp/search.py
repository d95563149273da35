"""Finding UPnP MediaRenderers: SSDP searches on the interfaces given only.

A search (M-SEARCH for `urn:schemas-upnp-org:device:MediaRenderer:1`) goes out from each
IPv4 address of the chosen interfaces when browsing starts and every SEARCH_INTERVAL_S after,
so a renderer switched on later is found then; each description URL is reported once (the
bridge keeps a renderer while it answers).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

from async_upnp_client.search import async_search

from connect.discovery.interfaces import (
    NoUsableInterfaceError,
    list_interfaces,
    resolve_interfaces,
)
from taskowner import TaskOwner

__all__ = ["RENDERER", "SEARCH_INTERVAL_S", "RendererSearch"]

_LOG = logging.getLogger(__name__)
RENDERER = "urn:schemas-upnp-org:device:MediaRenderer:1"
SEARCH_INTERVAL_S = 30.0
SEARCH_WAIT_S = 2  # how long each search listens for answers (SSDP's MX)
_CLOSE_TIMEOUT_S = 2.0


class RendererSearch:
    """Searches for renderers on explicit interfaces; calls *found* once per description URL."""

    def __init__(self, interfaces: Sequence[str], found: Callable[[str], None]) -> None:
        self._wanted = tuple(interfaces)
        self._found = found
        self._seen: set[str] = set()
        self._tasks = TaskOwner("renderer search", _LOG)

    async def async_start(self) -> None:
        """Start searching; raise NoUsableInterfaceError when there is nowhere to search."""
        present = list_interfaces()
        sources = [a for i in resolve_interfaces(self._wanted, present) for a in i.ipv4]
        if not sources:
            raise NoUsableInterfaceError.default_found_none("search for renderers on", present)
        self._tasks.async_spawn(self._search_loop(sources), "ssdp")

    async def async_close(self) -> None:
        """Stop searching (idempotent)."""
        await self._tasks.async_close(_CLOSE_TIMEOUT_S)

    async def _search_loop(self, sources: list[str]) -> None:
        while True:
            for source in sources:
                try:
                    await async_search(
                        self._answer, timeout=SEARCH_WAIT_S, search_target=RENDERER,
                        source=(source, 0),
                    )  # fmt: skip
                except OSError as exc:
                    _LOG.info("SSDP search from %s failed: %s", source, exc)
            await asyncio.sleep(SEARCH_INTERVAL_S)  # the next search: a timer of this task

    async def _answer(self, headers: Mapping[str, str]) -> None:
        location = headers.get("location", "")
        if location and location not in self._seen:
            self._seen.add(location)
            self._found(location)
