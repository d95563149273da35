"""GuardedSite on loopback: slow heads and silent TLS clients are cut at their deadline, a peer
over its cap loses its oldest half-open connection, trusted sessions are never shed, and
well-behaved clients (streamed answers, kept-alive connections, TLS) notice nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import socket
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

import httpguard
from connect.access import tls
from httpguard import ConnectionLimits, GuardedSite, Stage, guarded_runner

# What these tests provoke on purpose, and what a passing run therefore logs.
pytestmark = pytest.mark.warning_logs(
    r"closed a connection from",
    r"shed a connection from",
    r"refused a connection from",
    r"out of system resource",
)

QUICK = ConnectionLimits(per_peer=4, total=8, head_s=0.5, idle_s=0.5)
GONE_WITHIN_S = 5.0  # far more than any deadline here: a connection still open then was kept


def _app() -> web.Application:
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(8):  # 1.2 s in all: longer than the idle and head deadlines together
            await response.write(b"x" * 100)
            await asyncio.sleep(0.15)
        await response.write_eof()
        return response

    async def session(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        httpguard.trust(request)
        async for message in ws:
            await ws.send_str(message.data)
        return ws

    app.router.add_get("/hello", hello)
    app.router.add_get("/slow", slow)
    app.router.add_get("/session", session)
    return app


@asynccontextmanager
async def serving(
    limits: ConnectionLimits, context: ssl.SSLContext | None = None
) -> AsyncIterator[tuple[int, httpguard.ConnectionGuard]]:
    runner = guarded_runner(_app(), "tests.httpguard.http", limits=limits)
    await runner.setup()
    site = GuardedSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    try:
        yield site.port, httpguard.connection_guard(runner)
    finally:
        await runner.cleanup()


async def _slow_head(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
    await writer.drain()
    return reader, writer


async def _closed_by_server(reader: asyncio.StreamReader) -> float:
    """Wait for the server to end the connection; return how long it took."""
    started = time.monotonic()
    async with asyncio.timeout(GONE_WITHIN_S):
        while True:
            try:
                if not await reader.read(1024):
                    break
            except ConnectionError:
                break
    return time.monotonic() - started


async def test_a_request_head_that_never_ends_is_cut_at_the_head_deadline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with serving(QUICK) as (port, guard):
        reader, writer = await _slow_head(port)
        for n in range(3):  # a header line every 0.2 s: never idle, never done
            writer.write(f"X-Slow-{n}: 1\r\n".encode())
            await asyncio.sleep(0.2)
        await _closed_by_server(reader)
        writer.close()
        assert guard.expired == 1
        assert "no request head within 0.5 s" in caplog.text


async def test_a_tls_client_that_never_says_hello_is_cut_at_the_head_deadline(
    tmp_path: Path,
) -> None:
    context = tls.server_context(tls.load_or_create_identity(tmp_path))
    async with serving(QUICK, context) as (port, guard):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)  # TCP only
        took = await _closed_by_server(reader)
        writer.close()
        assert took < 2.0
        assert guard.census()[Stage.OPENING] == 0


async def test_a_peer_over_its_cap_loses_its_oldest_half_open_connection_and_others_get_in() -> (
    None
):
    async with serving(ConnectionLimits(per_peer=4, total=8, head_s=30, idle_s=30)) as (port, g):
        held = [await _slow_head(port) for _ in range(4)]
        newest = await _slow_head(port)
        await _closed_by_server(held[0][0])  # the oldest went
        assert g.shed == 1
        assert g.census()[Stage.OPENING] == 4
        # Still serving; the peer is at its cap, so this request displaces another slow one.
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/hello") as response,
        ):
            assert await response.text() == "hi"
        for _, writer in [*held, newest]:
            writer.close()


async def test_a_trusted_session_is_never_shed_for_a_flood_of_half_open_connections() -> None:
    async with (
        serving(ConnectionLimits(per_peer=3, total=3, head_s=30, idle_s=30)) as (port, guard),
        aiohttp.ClientSession() as http,
        http.ws_connect(f"http://127.0.0.1:{port}/session") as session,
    ):
        await session.send_str("before")
        assert await session.receive_str() == "before"
        assert guard.census()[Stage.TRUSTED] == 1
        flood = [await _slow_head(port) for _ in range(20)]
        await session.send_str("after")
        assert await session.receive_str() == "after"  # the session survived the flood
        assert guard.census()[Stage.TRUSTED] == 1
        assert guard.census()[Stage.OPENING] == 2  # the rest of the room, churned
        for _, writer in flood:
            writer.close()


async def test_a_long_answer_outlasts_the_deadlines_and_an_idle_connection_is_then_closed() -> None:
    async with serving(QUICK) as (port, guard), aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/slow") as response:
            assert len(await response.read()) == 800  # 1.2 s of streaming, never cut
        assert guard.census()[Stage.IDLE] == 1
        async with asyncio.timeout(GONE_WITHIN_S):
            while guard.census()[Stage.IDLE]:  # noqa: ASYNC110 - the guard has no event
                await asyncio.sleep(0.05)
        assert guard.expired == 1
        async with http.get(f"http://127.0.0.1:{port}/hello") as response:  # reconnects
            assert await response.text() == "hi"


async def test_tls_clients_are_served_through_the_gate(tmp_path: Path) -> None:
    identity = tls.load_or_create_identity(tmp_path)
    async with serving(QUICK, tls.server_context(identity)) as (port, guard):
        client = ssl.create_default_context()
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=client)) as http:
            for _ in range(3):  # kept alive: one connection, three requests
                async with http.get(f"https://127.0.0.1:{port}/hello") as response:
                    assert await response.text() == "hi"
            assert sum(guard.census().values()) == 1


async def test_repeated_refusals_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="httpguard")
    async with serving(ConnectionLimits(per_peer=2, total=8, head_s=30, idle_s=30)) as (port, g):
        held = [await _slow_head(port) for _ in range(12)]
        await _closed_by_server(held[-3][0])
        assert g.shed == 10
        assert caplog.text.count("shed a connection") == 1
        for _, writer in held:
            writer.close()


async def test_asyncio_s_accept_error_is_logged_once_while_descriptors_are_exhausted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """CPython 3.11 logs it for every pending connection on every turn of the loop (issue 13:
    ~100 MB a minute); while a guarded server runs, once a minute with a count."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    async with serving(QUICK) as (port, _):
        clients = [socket.socket() for _ in range(20)]  # their descriptors, made beforehand
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        filler: list[int] = []
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
            with contextlib.suppress(OSError):
                while True:  # take every descriptor left: the server cannot accept
                    filler.append(os.open(os.devnull, os.O_RDONLY))
            for client in clients:
                client.setblocking(False)
                client.connect_ex(("127.0.0.1", port))  # the kernel completes the handshake
            await asyncio.sleep(2.5)  # asyncio retries the accept every second: three turns
        finally:
            for fd in filler:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            for client in clients:
                client.close()
    accept_errors = [r for r in caplog.records if "out of system resource" in r.getMessage()]
    assert len(accept_errors) == 1
