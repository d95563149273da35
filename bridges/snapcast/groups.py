"""The groups of a Snapcast server that can play: those now, and each one that comes later.

The server keeps every client it has seen, each in a group; a group with no client connected
plays nowhere and is not bridged. `GroupWatch` keeps a control connection of its own and says
every group with a connected client whenever the server notifies a change (a client switched
on, clients regrouped), and on start; its listener keeps those it has already. A server that
does not answer yet (it boots after the bridge) is tried again, with backoff, until it does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from snapcast.control.server import Snapserver

from bridges.errors import DeviceUnreachableError
from bridges.snapcast._control import async_reach_server
from taskowner import TaskOwner

__all__ = ["GroupWatch"]

_LOG = logging.getLogger(__name__)
RETRY_FIRST_S = 1.0  # a server not reachable at start: tried again after this, doubling
RETRY_CAP_S = 30.0
_CLOSE_TIMEOUT_S = 2.0


class GroupWatch:
    """Says the groups of the server at *host*:*port* with a client connected (see above)."""

    def __init__(self, host: str, port: int, found: Callable[[str], None]) -> None:
        self.host, self.port = host, port
        self._found = found
        self._server: Snapserver | None = None
        self._tasks = TaskOwner(f"snapcast groups {host}:{port}", _LOG)

    async def async_start(self) -> None:
        """Connect, say the groups there are, and follow the server's notifications; or, if
        it does not answer, say so and keep trying in the background."""
        try:
            await self._connect()
        except DeviceUnreachableError as exc:
            _LOG.warning("%s; trying again until it answers", exc)
            self._tasks.async_spawn(self._reach(), "reach")

    async def _reach(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            await asyncio.sleep(delay)  # the backoff: a timer owned by this task
            try:
                await self._connect()
            except DeviceUnreachableError as exc:
                _LOG.debug("%s", exc)
                delay = min(RETRY_CAP_S, delay * 2)
                continue
            _LOG.info("the Snapcast server at %s:%s: reached", self.host, self.port)
            return

    async def _connect(self) -> None:
        server = await async_reach_server(self.host, self.port)
        self._server = server
        server.set_on_update_callback(self._look)
        server.set_new_client_callback(lambda _: self._tasks.async_spawn(self._read(), "read"))
        server.set_on_connect_callback(self._look)
        self._look()

    async def async_close(self) -> None:
        """Stop following the server (idempotent)."""
        await self._tasks.async_close(_CLOSE_TIMEOUT_S)
        server, self._server = self._server, None
        if server is not None:
            server.set_on_disconnect_callback(None)
            server.stop()

    async def _read(self) -> None:
        """A client came: read the server's status (its group may be new)."""
        server = self._server
        if server is None:
            return
        status, _ = await server.status()
        if isinstance(status, dict) and "server" in status:
            server.synchronize(status)
        self._look()

    def _look(self) -> None:
        server = self._server
        if server is None:
            return
        for group in sorted(server.groups, key=lambda g: g.identifier):
            if _connected(server, group):
                self._found(group.identifier)


def _connected(server: Snapserver, group: Any) -> bool:
    """Return whether a client of *group* is connected now."""
    return any(c.connected for c in server.clients if c.identifier in group.clients)
