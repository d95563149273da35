"""The Snapcast bridge's feed (bridges/snapcast/feed.py) against a plain TCP listener standing
for a server's source: paced by the clock (never further ahead than its lead), whole chunks,
the end said; a URL ffmpeg cannot read is refused with ffmpeg's reason."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bridges.errors import PlayerError
from bridges.snapcast._status import SampleFormat, Source
from bridges.snapcast.feed import LEAD_MS, SourceFeed
from connect.clock import monotonic_us
from tests.audio import write_position_track
from tests.media_server import MediaServer
from tests.waiting import until

MONO = SampleFormat(44_100, 16, 1)
CHUNK_BYTES = 44_100 * 20 // 1000 * 2


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[tuple[int, int]]]]:
    """A TCP listener on loopback; yields its port and what it read (at, total bytes)."""
    read: list[tuple[int, int]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        total = 0
        while data := await reader.read(1 << 16):
            total += len(data)
            read.append((monotonic_us(), total))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], read
    finally:
        server.close()
        await server.wait_closed()


async def test_a_feed_keeps_its_lead_and_says_its_end(
    listener: tuple[int, list[tuple[int, int]]], media_server: MediaServer
) -> None:
    port, read = listener
    write_position_track(media_server.root / "short.wav", 1_200)
    ended = asyncio.Event()
    feed = SourceFeed(Source("Baton", "127.0.0.1", port, MONO, 20), "", monotonic_us, ended.set)
    try:
        fed = await feed.async_start(media_server.url("short.wav"), 200)
        await asyncio.wait_for(ended.wait(), 5)
    finally:
        await feed.async_close()
    await until(lambda: bool(read) and read[-1][1] >= 44_100 * 2, 2, "all of it read")
    for at_us, total in read:  # never ahead of the clock by more than its lead and a chunk
        due = (at_us - fed.fed_at_us + (LEAD_MS + 20) * 1000) * 44_100 // 1_000_000 * 2
        assert total <= due + CHUNK_BYTES, (at_us - fed.fed_at_us, total)
    total = read[-1][1]
    assert total % CHUNK_BYTES == 0  # whole chunks: the last one padded
    assert 44_100 * 2 <= total < 44_100 * 2 + CHUNK_BYTES  # 1 s: from 0.2 s to the end


async def test_a_url_ffmpeg_cannot_read_is_refused_with_its_reason(
    listener: tuple[int, list[tuple[int, int]]],
) -> None:
    port, _ = listener
    feed = SourceFeed(Source("Baton", "127.0.0.1", port, MONO, 20), "", monotonic_us, lambda: None)
    try:
        with pytest.raises(PlayerError, match=r"ffmpeg cannot read it: .*Connection refused"):
            await feed.async_start("http://127.0.0.1:9/gone.wav", 0)
    finally:
        await feed.async_close()
