"""The Snapcast bridge's feed (bridges/snapcast/feed.py) against a plain TCP listener standing
for a server's source: paced by the clock (never further ahead than its lead), whole chunks,
the end said; a feed that comes late re-dated as the server dates it; a URL ffmpeg cannot read
is refused with ffmpeg's reason."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bridges.errors import PlayerError
from bridges.snapcast._status import Feed, SampleFormat, Source
from bridges.snapcast.feed import LEAD_MS, SourceFeed
from connect.clock import monotonic_us
from tests.audio import read_wav, write_position_track
from tests.media_server import MediaServer
from tests.waiting import until

MONO = SampleFormat(44_100, 16, 1)
CHUNK_BYTES = 44_100 * 20 // 1000 * 2


@dataclass
class Listener:
    """A TCP listener on loopback: its port, when it read how much in all, what it read."""

    port: int
    read: list[tuple[int, int]] = field(default_factory=list)
    data: bytearray = field(default_factory=bytearray)


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    """A TCP listener on loopback, recording what it reads."""
    heard = Listener(0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1 << 16):
            heard.data += data
            heard.read.append((monotonic_us(), len(heard.data)))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    heard.port = server.sockets[0].getsockname()[1]
    try:
        yield heard
    finally:
        server.close()
        await server.wait_closed()


async def test_a_feed_keeps_its_lead_and_says_its_end(
    listener: Listener, media_server: MediaServer
) -> None:
    port, read = listener.port, listener.read
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


async def test_a_feed_that_comes_late_is_re_dated_its_content_going_on(
    listener: Listener, media_server: MediaServer
) -> None:
    """The bridge busy for longer than its lead (its clock jumps 300 ms between two steps): the
    server has waited for the next chunk and dates what follows afresh, so the feed does too,
    a chunk of silence given up first, its content going on sample for sample."""
    track = write_position_track(media_server.root / "track.wav", 1_200)
    busy_us = [0]
    redated = asyncio.Event()
    # Each re-dating's feed given up: the one made busy, and any more a loaded machine's own
    # stall longer than the lead makes (seen once beside the parallel suite): each gives up
    # a chunk of silence too, and the content still goes on sample for sample.
    ended_feeds: list[Feed] = []

    def on_redated() -> None:
        assert feed.feed is not None
        assert feed.feed.previous is not None
        ended_feeds.append(feed.feed.previous)
        redated.set()

    feed = SourceFeed(
        Source("Baton", "127.0.0.1", listener.port, MONO, 20), "",
        lambda: monotonic_us() + busy_us[0], lambda: None, on_redated,
    )  # fmt: skip
    try:
        first = await feed.async_start(media_server.url("track.wav"), 0)
        busy_us[0] = 300_000
        await asyncio.wait_for(redated.wait(), 2)
        later = feed.feed
        assert later is not None
        track_bytes = 44_100 * 12 // 10 * 2  # 1.2 s, and a chunk given up at each re-dating
        await until(
            lambda: len(listener.data) >= track_bytes + CHUNK_BYTES * len(ended_feeds), 5,
            "all of it read",
        )  # fmt: skip
    finally:
        await feed.async_close()
    assert later.previous is not None
    assert later.previous.fed_at_us == first.fed_at_us
    assert later.start_ms == later.previous.fed_ms()  # the content goes on where it got
    assert later.fed_at_us >= first.fed_at_us + 300_000
    samples = read_wav(track).samples.tobytes()
    heard = bytearray()
    cut = 0
    for ended_feed in ended_feeds:
        heard += samples[cut : cut + ended_feed.frames * 2] + bytes(CHUNK_BYTES)  # given up
        cut += ended_feed.frames * 2
    assert listener.data == heard + samples[cut:]


async def test_a_url_ffmpeg_cannot_read_is_refused_with_its_reason(listener: Listener) -> None:
    port = listener.port
    feed = SourceFeed(Source("Baton", "127.0.0.1", port, MONO, 20), "", monotonic_us, lambda: None)
    try:
        with pytest.raises(PlayerError, match=r"ffmpeg cannot read it: .*Connection refused"):
            await feed.async_start("http://127.0.0.1:9/gone.wav", 0)
    finally:
        await feed.async_close()
