"""A controller that fell behind reads its backlog one frame per step of the event loop.

Frames that wait in a socket's buffer come back from `receive()` without the reader's task
suspending, so a reader that loops on them holds the loop for the whole backlog: in a CI run a
watcher behind on a 50 000-item upload spent 108 ms in one step, each frame a 1000-item edit to
decode and follow. Here a socket holds what arrives until a backlog has built up, then hands it
over at once, and a callback counts the loop's iterations between the frames the connection
reports.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator

import pytest

from connect.endpoint import Endpoint
from connect.session import DeviceConnection, StateChanged, async_lean_dial
from connect.session._socket import SessionSocket
from connect.session.connection import Backoff
from connect.wire import messages as m
from tests.fakes import MemoryHost
from tests.waiting import until

ME = m.ClientIdentity("ctl-1", "Test controller")
BACKLOG = 12


class HeldSocket:
    """A session socket that, once told to `hold(n)`, returns nothing until n frames arrived."""

    def __init__(self, ws: SessionSocket) -> None:
        self._ws = ws
        self._backlog: deque[bytes] = deque()
        self._hold = 0

    @property
    def closed(self) -> bool:
        return self._ws.closed

    def hold(self, count: int) -> None:
        self._hold = count

    async def receive(self, timeout: float | None = None) -> bytes:
        while len(self._backlog) < self._hold:
            self._backlog.append(await self._ws.receive(timeout))
        self._hold = 0
        return self._backlog.popleft() if self._backlog else await self._ws.receive(timeout)

    async def send_bytes(self, data: bytes) -> None:
        await self._ws.send_bytes(data)

    async def close(self) -> None:
        await self._ws.close()


class LoopTurns:
    """Counts the event loop's iterations (a callback that schedules itself again)."""

    def __init__(self) -> None:
        self.count = 0
        self._handle = asyncio.get_running_loop().call_soon(self._turn)

    def _turn(self) -> None:
        self.count += 1
        self._handle = asyncio.get_running_loop().call_soon(self._turn)

    def stop(self) -> None:
        self._handle.cancel()


@pytest.fixture
async def host() -> AsyncIterator[MemoryHost]:
    host = MemoryHost()
    host.port = await host.server.async_start(["127.0.0.1"], 0)  # type: ignore[attr-defined]
    yield host
    await host.server.async_close()


def connection(host: MemoryHost, sockets: list[HeldSocket] | None = None) -> DeviceConnection:
    async def resolve() -> Endpoint:
        return Endpoint("127.0.0.1", host.port)  # type: ignore[attr-defined]

    async def dial(endpoint: Endpoint, timeout: float, max_message: int) -> SessionSocket:
        ws = await async_lean_dial(endpoint, timeout, max_message)
        if sockets is None:
            return ws
        sockets.append(HeldSocket(ws))
        return sockets[-1]

    return DeviceConnection(host.info.id, resolve, ME, dial=dial, backoff=Backoff(0.05, 0.2))


async def test_a_backlog_of_frames_is_read_one_frame_per_loop_step(host) -> None:
    sockets: list[HeldSocket] = []
    watcher, sender = connection(host, sockets), connection(host)
    for conn in (watcher, sender):
        conn.async_start()
        await conn.async_wait_connected(5)
    await until(lambda: watcher.state is not None, 5, "the watcher's first snapshot")
    turns = LoopTurns()
    seen: list[int] = []  # the loop's iteration at each volume the watcher hears of
    watcher.subscribe(
        lambda e: (
            seen.append(turns.count)
            if isinstance(e, StateChanged) and e.snapshot.state.volume >= 60
            else None
        )
    )
    sockets[-1].hold(BACKLOG)
    for volume in range(60, 60 + BACKLOG):
        assert (await sender.async_command(m.SetVolume(volume))).ok
    await until(lambda: len(seen) == BACKLOG, 5, "the watcher reading its backlog")
    turns.stop()
    # Every frame in a step of its own: the loop turned between any two of them.
    assert len(set(seen)) == BACKLOG, seen
    await sender.async_close()
    await watcher.async_close()
