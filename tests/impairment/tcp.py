"""Relay TCP connections through an impaired link: delay, jitter, spikes, stalls, cap, resets.

Each accepted connection gets an upstream connection (made by the caller's `connect`, which may
open it in another network namespace) and two pumps, one per direction. A pump reads what
arrives, stamps each chunk with its release instant (`profile.Schedule`) and a writer task
sends it then; a bounded queue between the two pushes back on the sender when the link is
slower than it (the bandwidth cap, a stall), as a real link's full window would. `reset()`
ends every open connection with a TCP RST on both sides, as a roaming Wi-Fi client sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tests.impairment.profile import Profile, Schedule

QUEUE_CHUNKS = 64  # per direction: up to 64 reads (at most 64 KiB each) in flight on the link
READ_SIZE = 65536

Connect = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@dataclass
class LinkStats:
    """What the relay carried (all connections, both directions)."""

    connections: int = 0
    chunks: int = 0
    bytes: int = 0
    resets: int = 0  # connections ended by reset()
    upstream_failures: int = 0


class TcpImpairer:
    """Accepts connections (hand `handle` to asyncio.start_server) and relays them."""

    def __init__(self, profile: Profile, origin: float, connect: Connect, seed: int = 1) -> None:
        self._profile = profile
        self._origin = origin
        self._connect = connect
        self._rng = random.Random(seed)
        self._open: set[_Relay] = set()
        self._handlers: set[asyncio.Task[object]] = set()
        self.stats = LinkStats()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Relay one accepted connection until both directions end or it is reset."""
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        try:
            up_reader, up_writer = await self._connect()
        except OSError:
            self.stats.upstream_failures += 1
            _abort(writer)
            return
        self.stats.connections += 1
        relay = _Relay(writer, up_writer)
        self._open.add(relay)
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, relay), self._pump(up_reader, writer, relay)
            )
        except asyncio.CancelledError:
            # Only the proxy's own shutdown cancels a relay. Ending quietly matters: asyncio's
            # stream server (3.11) calls exception() on the finished handler task and a
            # cancelled one raises there, printing a traceback per open connection.
            pass
        finally:
            self._open.discard(relay)
            for end in (writer, up_writer):
                end.close()

    async def close(self) -> None:
        """Reset what is still open and wait until every relay has ended."""
        self.reset()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def reset(self) -> int:
        """Reset every open connection (RST to both ends); return how many there were."""
        relays = [relay for relay in self._open if not relay.reset]
        for relay in relays:
            relay.reset = True
            _abort(relay.client)
            _abort(relay.upstream)
        self.stats.resets += len(relays)
        return len(relays)

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, relay: _Relay
    ) -> None:
        schedule = Schedule(self._profile, self._origin, random.Random(self._rng.random()))
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue(QUEUE_CHUNKS)

        async def read_side() -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(READ_SIZE):
                    self.stats.chunks += 1
                    self.stats.bytes += len(data)
                    await queue.put((schedule.release_at(loop.time(), len(data)), data))
            await queue.put(None)

        async def write_side() -> None:
            with contextlib.suppress(OSError):
                while (item := await queue.get()) is not None:
                    at, data = item
                    if (wait := at - loop.time()) > 0:
                        await asyncio.sleep(wait)  # the link's delay: this is the impairment
                    if relay.reset:
                        return
                    sink.write(data)
                    await sink.drain()
                if sink.can_write_eof() and not relay.reset:
                    sink.write_eof()  # pass the half-close on, after the data it followed

        reader = asyncio.ensure_future(read_side())
        try:
            await write_side()
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


@dataclass(eq=False)
class _Relay:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    reset: bool = False


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST rather than FIN (SO_LINGER 0), as a dropped Wi-Fi association looks."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
