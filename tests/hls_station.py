"""An HLS live station on loopback for tests: ffmpeg's live segmenter, served by our own aiohttp.

The programme is tests/live_station.py's (the position code, an endless MP3 looping every 12.8
s). ffmpeg reads it in real time (`-re`, looping for ever) and writes MPEG-TS segments of about
`SEGMENT_S` and a rolling live playlist of the last `WINDOW` of them: no EXT-X-ENDLIST, old
segments deleted, the media sequence counting up, as a broadcaster's packager does. The
station serves that folder on 127.0.0.1 (the playlist as application/vnd.apple.mpegurl, the
segments as video/mp2t); every other path answers 404. A listener joins where its player picks
in the window (libVLC 3: the window's start, its live delay being longer than the window), so
two listeners play the programme up to a segment apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

SEGMENT_S = 1
WINDOW = 4  # segments in the playlist
PLAYLIST = "live.m3u8"
READY_SEGMENTS = 3  # listed before the station counts as on air
READY_TIMEOUT_S = 15.0
_SEGMENT_NAME = re.compile(r"seg\d+\.ts")


class HlsStation:
    """A live HLS station on 127.0.0.1 (see the module docstring)."""

    def __init__(self, frames: list[bytes], folder: Path) -> None:
        self.frames = frames
        self.folder = folder
        self.port = 0
        self._ffmpeg: asyncio.subprocess.Process | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Return the live playlist's URL."""
        return f"http://127.0.0.1:{self.port}/{PLAYLIST}"

    @property
    def missing_url(self) -> str:
        """Return a playlist URL on this station that answers 404."""
        return f"http://127.0.0.1:{self.port}/gone.m3u8"

    def playlist(self) -> str:
        """Return the live playlist as it is now ("" before ffmpeg wrote one)."""
        with contextlib.suppress(OSError):
            return (self.folder / PLAYLIST).read_text()
        return ""

    async def start(self) -> None:
        """Start the segmenter and the server; return once the playlist lists a few segments."""
        self.folder.mkdir(parents=True, exist_ok=True)
        programme = self.folder / "programme.mp3"
        programme.write_bytes(b"".join(self.frames))
        self._ffmpeg = await asyncio.create_subprocess_exec(
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-re", "-stream_loop", "-1", "-i", str(programme), "-c", "copy",
            "-f", "hls", "-hls_time", str(SEGMENT_S), "-hls_list_size", str(WINDOW),
            "-hls_flags", "delete_segments+omit_endlist",
            "-hls_segment_filename", str(self.folder / "seg%d.ts"),
            str(self.folder / PLAYLIST),
            stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        app = web.Application()
        app.router.add_get("/{name}", self._serve)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        async with asyncio.timeout(READY_TIMEOUT_S):
            while self.playlist().count("#EXTINF") < READY_SEGMENTS:
                if self._ffmpeg.returncode is not None:
                    raise RuntimeError(f"ffmpeg's segmenter exited ({self._ffmpeg.returncode})")
                await asyncio.sleep(0.1)  # ffmpeg writes a segment a second: poll its folder

    async def close(self) -> None:
        """Stop the segmenter and the server; idempotent."""
        ffmpeg, self._ffmpeg = self._ffmpeg, None
        if ffmpeg is not None and ffmpeg.returncode is None:
            ffmpeg.terminate()
            try:
                async with asyncio.timeout(5):
                    await ffmpeg.wait()
            except TimeoutError:
                ffmpeg.kill()
                await ffmpeg.wait()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == PLAYLIST:
            text = self.playlist()
            if not text:
                raise web.HTTPNotFound()
            headers = {"Cache-Control": "no-cache"}
            return web.Response(
                text=text, content_type="application/vnd.apple.mpegurl", headers=headers
            )
        path = self.folder / name
        if not _SEGMENT_NAME.fullmatch(name) or not path.is_file():
            raise web.HTTPNotFound()
        try:
            body = path.read_bytes()
        except OSError:  # deleted meanwhile: out of the window
            raise web.HTTPNotFound() from None
        return web.Response(body=body, content_type="video/mp2t")


@pytest.fixture
async def hls_station(programme: list[bytes], tmp_path: Path) -> AsyncIterator[HlsStation]:
    """An HLS live station playing the programme (tests/live_station.py's fixture)."""
    station = HlsStation(programme, tmp_path / "hls")
    await station.start()
    yield station
    await station.close()
