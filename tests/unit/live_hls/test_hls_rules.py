"""HLS live playlists: no codec named by a playlist, no length for a live window, and which
playlists are live (devices/_live.py reads them; served here by a loopback aiohttp server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from connect.session import playback
from connect.transfer.rules import media_format_of
from connect.wire import messages as m
from devices import _live

HLS = m.QueueItem("h1", "http://radio/live.m3u8")
STATE = m.PlaybackState(
    session_id="s1", revision=5, queue=(HLS,), current_uid="h1",
    clock=m.PlaybackClock(1_000, 0, 1.0, True), status=m.PlaybackStatus.PLAYING, active=True,
)  # fmt: skip

LIVE = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:7\n#EXTINF:1.0,\nseg7.ts\n"
ENDED = LIVE + "#EXT-X-ENDLIST\n"
VOD = "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:1.0,\nseg0.ts\n"
MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=128000\nlow/live.m3u8\n"


def test_a_playlist_names_no_codec() -> None:
    assert media_format_of(HLS) is None
    mp3 = media_format_of(m.QueueItem("r", "http://radio/live.mp3"))
    assert mp3 is not None
    assert mp3.codecs == {"mp3"}


def test_a_live_hls_item_forgets_the_windows_length_and_learns_none() -> None:
    windowed = playback.with_length(STATE, HLS.url, 4_023)  # before it was found live
    assert windowed is not None
    live = playback.stream_learnt(windowed, HLS.url, True, None)
    assert live is not None
    assert live.current_item is not None
    assert live.current_item.duration_ms == 0
    assert playback.with_length(live, HLS.url, 3_997) is None  # the window slides on


@pytest.fixture
async def playlists() -> AsyncIterator[str]:
    texts = {"live": LIVE, "ended": ENDED, "vod": VOD, "master": MASTER, "low/live": LIVE}

    async def serve(request: web.Request) -> web.Response:
        name = request.match_info["name"].removesuffix(".m3u8")
        if name not in texts:
            raise web.HTTPNotFound()
        return web.Response(text=texts[name], content_type="application/vnd.apple.mpegurl")

    app = web.Application()
    app.router.add_get("/{name:.+}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.mark.parametrize(
    ("name", "live"),
    [("live", True), ("ended", False), ("vod", False), ("master", True), ("missing", False)],
)
async def test_which_playlists_are_live(playlists: str, name: str, live: bool) -> None:
    url = f"{playlists}/{name}.m3u8"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await _live._playlist(response) if response.ok else ""
        assert await _live._hls_live(session, url, text) is live
