"""What a receiver's two transfer roles share: the receiver they act on, the player's edges.

`TransferHost` is what the target and source roles need from their receiver; `OutputEdges`
collects the player's output edges (audio really started, really stopped), whose instants
and positions are what a TransferDone reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from connect.clock import Clock
from connect.wire import messages as m
from devices.player import Player
from devices.player_types import OutputStarted, OutputStopped

# Logged under the facade's name, as before the split: where a log line comes from should not
# change with the file layout.
_LOG = logging.getLogger("devices.transfer")

EDGE_TIMEOUT_S = 2.0


class TransferHost(Protocol):
    """What the transfer logic needs from its receiver."""

    clock: Clock
    lock: asyncio.Lock

    @property
    def player(self) -> Player: ...

    @property
    def state(self) -> m.PlaybackState: ...

    @property
    def codecs(self) -> tuple[str, ...]: ...

    def publish_state(self, state: m.PlaybackState, reason: m.StateChangeReason) -> None: ...


class OutputEdges:
    """The player's output edges, in order, for the role that waits on the next one."""

    def __init__(self) -> None:
        self._edges: asyncio.Queue[OutputStarted | OutputStopped] = asyncio.Queue()

    def put(self, edge: OutputStarted | OutputStopped) -> None:
        """Keep *edge* for whoever waits next."""
        self._edges.put_nowait(edge)

    def drain(self) -> None:
        """Forget the edges so far: the next one waited for comes after this call."""
        while not self._edges.empty():
            self._edges.get_nowait()

    async def async_next(
        self, kind: type, fallback_at: int, fallback_position: int
    ) -> tuple[int, int]:
        """Return the instant and position of the next output edge of *kind* (or the fallback)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(EDGE_TIMEOUT_S):
                while True:
                    edge = await self._edges.get()
                    if isinstance(edge, kind):
                        return edge.at_us, edge.position_ms
        _LOG.warning("no %s edge from the player; reporting the planned instant", kind.__name__)
        return fallback_at, fallback_position
