"""The sending half of a session: a clock sample cut short leaves nothing waiting behind."""

from __future__ import annotations

import asyncio

from connect.session._sender import SessionSender
from tests.unit.session_machines.test_controller_end import opened


class Socket:
    """A session socket whose first send never completes (a full send buffer), then works."""

    closed = False

    def __init__(self) -> None:
        self.sends = 0
        self.sent = asyncio.Event()

    async def receive(self, timeout: float | None = None) -> bytes:
        raise AssertionError("not read in this test")

    async def send_bytes(self, data: bytes) -> None:
        self.sends += 1
        self.sent.set()
        if self.sends == 1:
            await asyncio.Event().wait()

    async def close(self) -> None:
        self.closed = True


async def test_a_clock_sample_cancelled_while_sending_does_not_take_the_next_answer() -> None:
    sender = SessionSender("dev-1", lambda: 0, lambda: "")
    socket = Socket()
    sender.attach(socket, opened())
    stuck = asyncio.create_task(sender.async_sync_clock(samples=1))
    await socket.sent.wait()
    stuck.cancel()
    await asyncio.gather(stuck, return_exceptions=True)

    socket.sent.clear()
    sampling = asyncio.create_task(sender.async_sync_clock(samples=1, timeout=2.0))
    await socket.sent.wait()
    sender.time_answered()  # the device answers this sample's TimeRequest
    await asyncio.wait_for(sampling, 5)  # before the fix: the dead sample took the answer
