"""A live internet-radio station on loopback for tests and benchmarks, as Icecast sends one.

The programme is an endless MP3 (CBR, mono, 44.1 kHz) of the position code (tests/audio.py,
proof_audio.PositionCode with a cycle of `CYCLE` segments), so what a receiver presents says
where in the programme it is. The station's programme clock runs from its start: at any instant
the live point is one frame; a listener joining gets `burst_ms` of the past at once (Icecast's
burst-on-connect), then each frame when its time comes. No Content-Length, no Range: the
response is chunked and endless.

With `metaint` set, a listener that sends `Icy-MetaData: 1` gets an `icy-metaint` header and a
metadata block after every *metaint* audio bytes (`StreamTitle='...';`, padded to 16 bytes,
its length/16 in the first byte; a single 0 byte when the title has not changed), the
station's name in `icy-name` and its logo in `icy-logo`. `restart()` drops every listener and
stops listening for a while (the programme clock runs on); `stall(seconds)` sends nothing for a
while and then goes on from the live point; every other path answers 404.

The MP3 loops seamlessly: the programme is encoded three times over without the bit reservoir
(each frame stands alone) and the middle pass's frames are served, `CYCLE` segments being a
whole number of frames (128 x 4410 samples = 490 x 1152).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from tests.integration.transfer.proof_audio import PositionCode, write_cyclic_position_track

CYCLE = 128  # segments of 100 ms: 12.8 s of programme, 490 MP3 frames exactly
CODE = PositionCode(CYCLE)
SAMPLES_PER_FRAME = 1152
RATE = 44_100
FRAME_US = SAMPLES_PER_FRAME * 1_000_000 / RATE  # 26.12 ms
LOOP_FRAMES = CYCLE * 4410 // SAMPLES_PER_FRAME
BITRATE = 128_000
SEND_EVERY_FRAMES = 4  # a write every ~100 ms, as a server's socket buffer would pace it
STATION_NAME = "Baton Test FM"
LIVE_PATH = "/radio.mp3"
MISSING_PATH = "/gone.mp3"

_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_RATES = (44_100, 48_000, 32_000)


def mp3_frames(data: bytes) -> list[bytes]:
    """Split an MPEG-1 Layer III stream into its frames (skipping anything between them)."""
    frames: list[bytes] = []
    i = 0
    while i + 4 <= len(data):
        b1, b2 = data[i + 1], data[i + 2]
        if data[i] != 0xFF or (b1 & 0xFE) != 0xFA:  # sync, MPEG-1, Layer III
            i += 1
            continue
        bitrate, rate = _BITRATES[b2 >> 4] * 1000, _RATES[(b2 >> 2) & 3]
        length = 144 * bitrate // rate + ((b2 >> 1) & 1)
        if bitrate == 0 or i + length > len(data):
            break
        frames.append(data[i : i + length])
        i += length
    return frames


def encode_programme(folder: Path) -> list[bytes]:
    """Return one loop of the programme's MP3 frames, encoded with Debian's ffmpeg."""
    wav = write_cyclic_position_track(folder / "programme.wav", 3 * CYCLE * 100, CODE)
    mp3 = folder / "programme.mp3"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(wav),
         "-c:a", "libmp3lame", "-b:a", "128k", "-reservoir", "0", "-write_xing", "0",
         "-id3v2_version", "0", "-f", "mp3", str(mp3)],
        check=True,
    )  # fmt: skip
    frames = mp3_frames(mp3.read_bytes())
    if len(frames) < 3 * LOOP_FRAMES:
        raise RuntimeError(f"ffmpeg wrote {len(frames)} frames, {3 * LOOP_FRAMES} expected")
    return frames[LOOP_FRAMES : 2 * LOOP_FRAMES]


def icy_block(title: str | None) -> bytes:
    """Return one ICY metadata block: the title, or the single 0 byte of "no change"."""
    if title is None:
        return b"\x00"
    text = f"StreamTitle='{title}';".encode()
    blocks = -(-len(text) // 16)
    return bytes([blocks]) + text.ljust(blocks * 16, b"\x00")


@dataclass
class Listener:
    """One connected listener, as the station sees it."""

    icy: bool
    sent_bytes: int = 0


class LiveStation:
    """An endless, real-time MP3 station on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        frames: list[bytes],
        *,
        metaint: int = 0,
        burst_ms: int = 500,
        logo_url: str = "",
        host: str = "127.0.0.1",
    ) -> None:
        self.frames = frames
        self.metaint = metaint
        self.burst_frames = round(burst_ms * 1000 / FRAME_US)
        self.logo_url = logo_url
        self.host = host
        self.port = 0
        self.title = "Morning Show"
        self.gone = False  # the live path answers 404 (the station moved or closed)
        self.listeners: list[Listener] = []
        self.connections = 0  # requests for the live path, over the station's life
        self._started_ns = time.monotonic_ns()
        self._runner: web.AppRunner | None = None
        self._resume_ns = 0  # sends nothing before this instant (a stall)
        self._streams: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """Return the live stream's URL."""
        return f"http://{self.host}:{self.port}{LIVE_PATH}"

    @property
    def missing_url(self) -> str:
        """Return a URL on this station that answers 404."""
        return f"http://{self.host}:{self.port}{MISSING_PATH}"

    def live_frame(self, at_ns: int | None = None) -> int:
        """Return the programme's frame number at *at_ns* (default now): the live point."""
        at = time.monotonic_ns() if at_ns is None else at_ns
        return int((at - self._started_ns) / 1000 / FRAME_US)

    async def start(self) -> None:
        """Listen (on the port it had before, after a restart) and serve."""
        app = web.Application()
        app.router.add_get(LIVE_PATH, self._live)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        """Drop every listener and stop listening; idempotent."""
        for task in list(self._streams):
            task.cancel()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        self.listeners.clear()

    async def restart(self, down_s: float) -> None:
        """Drop every listener, refuse connections for *down_s*, then serve again."""
        await self.close()
        await asyncio.sleep(down_s)  # the outage itself: what the test is about
        await self.start()

    def stall(self, seconds: float) -> None:
        """Send nothing to anyone for *seconds*, then go on from the live point."""
        self._resume_ns = time.monotonic_ns() + int(seconds * 1e9)

    async def _live(self, request: web.Request) -> web.StreamResponse:
        self.connections += 1
        if self.gone:
            raise web.HTTPNotFound()
        icy = bool(self.metaint) and request.headers.get("Icy-MetaData", "") == "1"
        headers = {
            "Content-Type": "audio/mpeg",
            "Cache-Control": "no-cache",
            "icy-name": STATION_NAME,
            "icy-genre": "Test",
            "icy-br": str(BITRATE // 1000),
        }
        if self.logo_url:
            headers["icy-logo"] = self.logo_url
        if icy:
            headers["icy-metaint"] = str(self.metaint)
        # No length: HTTP/1.1 gets it chunked, HTTP/1.0 (libVLC's ICY-aware access) until close.
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        listener = Listener(icy)
        self.listeners.append(listener)
        task = asyncio.current_task()
        assert task is not None
        self._streams.add(task)
        try:
            await self._send(response, listener)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._streams.discard(task)
            if listener in self.listeners:
                self.listeners.remove(listener)
        return response

    async def _send(self, response: web.StreamResponse, listener: Listener) -> None:
        next_frame = max(0, self.live_frame() - self.burst_frames)
        sent_title: str | None = None
        while True:
            now = time.monotonic_ns()
            if now < self._resume_ns:
                await asyncio.sleep((self._resume_ns - now) / 1e9)
                next_frame = self.live_frame()  # the stall lost what it held back
                continue
            live = self.live_frame(now)
            if next_frame > live:
                due_ns = self._started_ns + int(next_frame * FRAME_US * 1000)
                await asyncio.sleep(max(0, due_ns - now) / 1e9)
                continue
            end = min(live + 1, next_frame + SEND_EVERY_FRAMES * 4)
            audio = b"".join(self.frames[f % len(self.frames)] for f in range(next_frame, end))
            next_frame = end
            if listener.icy:
                chunk, sent_title = self._with_metadata(audio, listener, sent_title)
            else:
                chunk = audio
            listener.sent_bytes += len(audio)
            await response.write(chunk)
            if next_frame > live:
                await asyncio.sleep(SEND_EVERY_FRAMES * FRAME_US / 1e6)

    def _with_metadata(
        self, audio: bytes, listener: Listener, sent_title: str | None
    ) -> tuple[bytes, str | None]:
        """Interleave a metadata block after every `metaint` audio bytes of this listener."""
        out = bytearray()
        position = listener.sent_bytes % self.metaint
        rest = audio
        while rest:
            room = self.metaint - position
            out += rest[:room]
            if len(rest) < room:
                break
            rest = rest[room:]
            position = 0
            title = self.title
            out += icy_block(title if title != sent_title else None)
            sent_title = title
        return bytes(out), sent_title


@pytest.fixture(scope="session")
def programme(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The programme's frames, encoded once per test session."""
    return encode_programme(tmp_path_factory.mktemp("programme"))


@pytest.fixture
async def station(programme: list[bytes]) -> AsyncIterator[LiveStation]:
    """A station with ICY metadata every 16000 bytes and a logo."""
    live = LiveStation(programme, metaint=16_000, logo_url="http://127.0.0.1:9/logo.png")
    await live.start()
    yield live
    await live.close()
