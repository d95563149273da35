"""The app's media server and the trace collector against slow clients (Baton issue 13, item 5):
a request head that never ends is cut at the head deadline, one address over its cap loses its
oldest half-open connection, and both go on serving everyone else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from client import library_server
from client.library_server import LibraryServer
from httpguard import ConnectionLimits
from tests.unit.tracing.support import running_collector
from tracing import _server as collector_server

# What these tests provoke on purpose, and what a passing run therefore logs.
pytestmark = pytest.mark.warning_logs(
    r"closed a connection from",
    r"shed a connection from",
    r"ingest is open \(--open-ingest\)",
)

QUICK = ConnectionLimits(per_peer=4, total=16, head_s=0.5, idle_s=5.0)
GONE_WITHIN_S = 5.0  # ten times the deadline: a connection still open then was kept


@asynccontextmanager
async def media_server(tmp_path: Path) -> AsyncIterator[tuple[int, str]]:
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "track.wav").write_bytes(b"RIFF" + bytes(1000))
    server = LibraryServer(tmp_path / "library")
    await server.async_start()
    try:
        yield server.port, urlsplit(server.url_for(tmp_path / "library" / "track.wav")).path
    finally:
        await server.async_close()


@asynccontextmanager
async def collector(tmp_path: Path) -> AsyncIterator[tuple[int, str]]:
    async with running_collector(tmp_path / "traces.db") as running:
        yield running.collector.port, "/api/whoami"


SERVERS = {"media-server": media_server, "collector": collector}


@pytest.fixture(autouse=True)
def quick_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both servers with a half-second head deadline and four connections per address."""
    monkeypatch.setattr(library_server, "MEDIA_LIMITS", QUICK)
    monkeypatch.setattr(collector_server, "COLLECTOR_LIMITS", QUICK)


async def _slow_head(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
    await writer.drain()
    return reader, writer


async def _ends(reader: asyncio.StreamReader) -> bool:
    """Whether the server ends the connection within GONE_WITHIN_S."""
    try:
        async with asyncio.timeout(GONE_WITHIN_S):
            while await reader.read(1024):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


async def _still_serves(port: int, path: str) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        assert response.status < 500


@pytest.mark.parametrize("name", SERVERS)
async def test_a_request_head_that_never_ends_is_cut_at_the_deadline(
    tmp_path: Path, name: str
) -> None:
    async with SERVERS[name](tmp_path) as (port, path):
        reader, writer = await _slow_head(port)
        writer.write(b"X-Slow: 1\r\n")  # one more line: slow, not silent
        assert await _ends(reader), f"the {name} kept a head that never ended"
        writer.close()
        await _still_serves(port, path)


@pytest.mark.parametrize("name", SERVERS)
async def test_one_address_over_its_cap_loses_its_oldest_half_open_connection(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = ConnectionLimits(per_peer=4, total=16, head_s=30, idle_s=30)  # no deadline here
    monkeypatch.setattr(library_server, "MEDIA_LIMITS", patient)
    monkeypatch.setattr(collector_server, "COLLECTOR_LIMITS", patient)
    async with SERVERS[name](tmp_path) as (port, path):
        held = [await _slow_head(port) for _ in range(patient.per_peer)]
        newest = await _slow_head(port)
        assert await _ends(held[0][0]), f"the {name} kept more than its cap for one address"
        await _still_serves(port, path)  # itself over the cap: it displaces another slow one
        for _, writer in [*held, newest]:
            writer.close()
