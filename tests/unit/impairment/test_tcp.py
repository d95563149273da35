"""The TCP relay on loopback: it delays, stalls, caps and resets what it carries, and loses nothing.

Times are checked as lower bounds only (the relay never releases a chunk early, whatever the
machine's load); what arrives is checked byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.impairment.profile import Profile
from tests.impairment.tcp import TcpImpairer


@dataclass
class Link:
    """An echo server behind an impairing relay, both on 127.0.0.1."""

    port: int
    impairer: TcpImpairer


@contextlib.asynccontextmanager
async def relayed_echo(profile: Profile, origin: float | None = None) -> AsyncIterator[Link]:
    sessions: set[asyncio.Task[object]] = set()

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        sessions.add(task)
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    upstream = await asyncio.start_server(echo, "127.0.0.1", 0)
    up_port = upstream.sockets[0].getsockname()[1]

    async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", up_port)

    start = time.monotonic() if origin is None else origin
    impairer = TcpImpairer(profile, start, connect)
    relay = await asyncio.start_server(impairer.handle, "127.0.0.1", 0)
    try:
        yield Link(relay.sockets[0].getsockname()[1], impairer)
    finally:
        relay.close()
        upstream.close()
        await impairer.close()  # the echo sessions then end too: their peer is gone
        await asyncio.gather(*sessions, return_exceptions=True)


async def round_trip(port: int, payload: bytes) -> tuple[bytes, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(payload)
    await writer.drain()
    got = await reader.readexactly(len(payload))
    took = time.monotonic() - started
    writer.close()
    await writer.wait_closed()
    return got, took


async def test_a_round_trip_pays_the_delay_both_ways_and_arrives_whole() -> None:
    async with relayed_echo(Profile("d", delay_ms=40)) as link:
        got, took = await round_trip(link.port, b"hello" * 1000)
    assert got == b"hello" * 1000
    assert took >= 0.080


async def test_a_stall_holds_the_data_until_it_ends() -> None:
    # The stall is the last 0.5 s of every 0.8 s period counted from now: 0.3 s .. 0.8 s.
    origin = time.monotonic()
    async with relayed_echo(Profile("s", stall_every_s=0.8, stall_s=0.5), origin) as link:
        await asyncio.sleep(max(0.0, origin + 0.35 - time.monotonic()))  # into the stall
        got, _took = await round_trip(link.port, b"ping")
        arrived = time.monotonic()
    assert got == b"ping"
    assert arrived >= origin + 0.8


async def test_the_bandwidth_cap_slows_a_bulk_transfer() -> None:
    payload = bytes(range(256)) * 200  # 51 200 bytes at 2 Mbit/s: 0.2 s each way
    async with relayed_echo(Profile("b", bandwidth_kbps=2000)) as link:
        got, took = await round_trip(link.port, payload)
    assert got == payload
    assert took >= 0.2


async def test_reset_ends_every_open_connection_with_an_error() -> None:
    async with relayed_echo(Profile("r")) as link:
        reader, writer = await asyncio.open_connection("127.0.0.1", link.port)
        writer.write(b"x")
        await writer.drain()
        assert await reader.readexactly(1) == b"x"
        assert link.impairer.reset() == 1
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            async with asyncio.timeout(5.0):
                await reader.readexactly(1)
        writer.close()
        with contextlib.suppress(ConnectionResetError):
            await writer.wait_closed()
    assert link.impairer.stats.resets == 1


async def test_a_refused_upstream_closes_the_client_and_is_counted() -> None:
    async def refuse() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        raise ConnectionRefusedError(111, "refused")

    impairer = TcpImpairer(Profile("x"), time.monotonic(), refuse)
    relay = await asyncio.start_server(impairer.handle, "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", relay.sockets[0].getsockname()[1]
        )
        async with asyncio.timeout(5.0):
            with contextlib.suppress(ConnectionResetError):
                assert await reader.read() == b""
        writer.close()
        with contextlib.suppress(ConnectionResetError):
            await writer.wait_closed()
    finally:
        relay.close()
        await impairer.close()
    assert impairer.stats.upstream_failures == 1
