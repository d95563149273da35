"""A test's own controller session to one receiver, for the group steps (protocol 1.2).

`GroupLink` speaks the session protocol with nothing but the codec: Hello, Welcome, then any
body sent as it is and every body received kept in arrival order, so a test can send the
coordinating controller's group steps and read the members' answers and timelines itself.
It beats the heartbeat so the receiver never takes it for dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from typing import TypeVar

import aiohttp

from connect.paths import WS_PATH
from connect.wire import codec
from connect.wire import messages as m

B = TypeVar("B")

ANSWER_TIMEOUT_S = 10.0
_BEAT_S = 0.4  # well inside the receiver's 1 s interval, 3 s dead-peer timeout


class GroupLink:
    """One open session to a receiver (see the module docstring)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, http: aiohttp.ClientSession) -> None:
        self._ws, self._http = ws, http
        self._seq = itertools.count(2)
        self.received: list[m.Body] = []
        self._arrived = asyncio.Condition()
        self.welcome: m.Welcome | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def open(
        cls, host: str, port: int, supported: m.VersionRange = m.PROTOCOL_V1
    ) -> GroupLink:
        """Connect, say Hello with *supported*, and wait for the Welcome."""
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(f"http://{host}:{port}{WS_PATH}")
        link = cls(ws, http)
        hello = m.Hello(supported, m.ClientIdentity("group-test", "Group test"), m.Role.CONTROLLER)
        await ws.send_bytes(codec.encode(m.Envelope(1, "hello", hello)))
        link._tasks = [
            asyncio.create_task(link._read(), name="group-link reader"),
            asyncio.create_task(link._beat(), name="group-link heartbeat"),
        ]
        welcome = await link.next(m.Welcome)
        link.welcome = welcome
        return link

    async def send(self, body: m.Body) -> None:
        """Send *body* in an envelope of its own."""
        seq = next(self._seq)
        await self._ws.send_bytes(codec.encode(m.Envelope(seq, f"t{seq}", body)))

    async def command(self, action: m.Action) -> m.CommandResult:
        """Send a Command; return its result."""
        command_id = f"c{next(self._seq)}"
        await self.send(m.Command(command_id, action))
        return await self.next(m.CommandResult, lambda r: r.command_id == command_id)

    async def next(
        self,
        kind: type[B],
        match: Callable[[B], bool] = lambda _b: True,
        *,
        after: int = 0,
        timeout: float = ANSWER_TIMEOUT_S,
    ) -> B:
        """Return the first body of *kind* matching, from index *after* of `received` on."""
        async with asyncio.timeout(timeout), self._arrived:
            while True:
                for body in self.received[after:]:
                    if isinstance(body, kind) and match(body):
                        return body
                await self._arrived.wait()

    def last(self, kind: type[B]) -> B:
        """Return the last body of *kind* received (there must be one)."""
        return next(b for b in reversed(self.received) if isinstance(b, kind))

    def mark(self) -> int:
        """Return the index the next body received will have (for `next(after=...)`)."""
        return len(self.received)

    async def close(self) -> None:
        """Say goodbye and close."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.send(m.Goodbye(m.GoodbyeReason.SHUTDOWN, "test over"))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._ws.close()
        await self._http.close()

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type is not aiohttp.WSMsgType.BINARY:
                break
            body = codec.decode(message.data).body
            async with self._arrived:
                self.received.append(body)
                self._arrived.notify_all()

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(_BEAT_S)  # a heartbeat's pace, not a wait for anything
            await self.send(m.Heartbeat())
