"""The PCM the bridge writes into a Snapcast source: ffmpeg decodes the media URL from a
position, and the bridge writes it to the source's TCP port at the pace of the clock.

The server reads a source at its own pace, a chunk every `chunk_ms`, and stamps each chunk as
it reads it; whatever waits in the socket only delays everything after it. So the bridge writes
whole chunks, `LEAD_MS` ahead of the clock and no more: the server does not run dry while the
bridge is busy for less than that, and what it reads is what was due. The instant the first
chunk is written dates the whole feed (`Feed`, bridges/snapcast/_status.py). Stopping stops
ffmpeg and the writes, at a chunk's end.

How the server dates a feed (snapserver's AsioStream): on a new connection, the first chunk
read is dated one chunk before it was read, and the rest follow it. So each feed has a
connection of its own: the server takes the next one once it has read the last to its end,
and dates it afresh. When a chunk comes more than a chunk after it was due (a bridge busy for
longer than its lead), that chunk is dated on the old timeline, in the past, and lost; the
server then dates the next one afresh, one chunk back. So a feed that comes late is re-dated
the same way (`Feed.redated`): a chunk of silence given up to that, its content going on
where it was. Were it to write all it owes at once instead, the server would read that at its
pace from its new timeline, and the group would play that much later than the feed says, for
good.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Callable
from dataclasses import replace

from bridges.errors import DeviceUnreachableError, PlayerError
from bridges.snapcast._status import Feed, Source
from connect.clock import Clock
from connect.wire import messages as m
from taskowner import TaskOwner

__all__ = ["LEAD_MS", "SourceFeed"]

_LOG = logging.getLogger(__name__)
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
# Written ahead of the clock (see the module docstring): longer than a busy step of the bridge
# on a loaded machine (with 60 ms the server waited 1-100 ms for a chunk now and then in the
# tests); after a pause the server reads it (the group muted) within the buffer's drain.
LEAD_MS = 200
FIRST_DATA_TIMEOUT_S = 10.0  # ffmpeg opening the URL and decoding its first chunks
CONNECT_TIMEOUT_S = 5.0
_STOP_WAIT_S = 2.0


class SourceFeed:
    """Feeds one source of a Snapcast server (see the module docstring)."""

    def __init__(
        self,
        source: Source,
        host: str,
        clock: Clock,
        ended: Callable[[], None],
        redated: Callable[[], None] = lambda: None,
    ) -> None:
        self.source = source
        self._host = source.host or host  # a source on every address: the server's
        self._clock = clock
        self._ended = ended  # called once the last frame of the media has been fed
        self._redated = redated  # called when the feed came late and is re-dated
        self._writer: asyncio.StreamWriter | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._tasks = TaskOwner(f"snapcast source {source.stream_id}", _LOG)
        self._read_until_us = 0  # when the server has read what the last feed wrote
        self._used = False  # a feed was written to this connection
        self._listening: asyncio.Task[None] | None = None
        self._last_words = ""
        self.feed: Feed | None = None

    @property
    def chunk_bytes(self) -> int:
        """Return the bytes of one of the server's chunks."""
        fmt = self.source.format
        return fmt.rate * self.source.chunk_ms // 1000 * fmt.frame_bytes

    async def async_start(self, url: str, position_ms: int) -> Feed:
        """Decode *url* from *position_ms* and feed it; return the feed once its first chunks
        are written (raise PlayerError when the media cannot be read)."""
        await self.async_stop()
        # Once the server has read what the last feed wrote, the new one starts on an idle
        # source, stamped as it arrives.
        drained = self._read_until_us - self._clock()
        if drained > 0:
            await asyncio.sleep(drained / 1e6)  # the socket's lead running out, not a guess
        if self._used:  # a connection of its own: the server dates its first chunk afresh
            await self._disconnect()
        writer = await self._connection()
        process = await self._decoder(url, position_ms)
        lead = self._due_bytes(LEAD_MS * 1000)
        try:
            async with asyncio.timeout(FIRST_DATA_TIMEOUT_S):
                first = await _read_chunks(process, lead, self.chunk_bytes)
        except TimeoutError:
            first = b""
        if not first:
            said = await self._finish(process)
            raise PlayerError(m.ErrorCode.MEDIA_UNREACHABLE, f"ffmpeg cannot read it: {said}")
        fmt = self.source.format
        started = self._clock()
        await self._write(writer, first)
        self._used = True
        frames = len(first) // fmt.frame_bytes
        self.feed = Feed(position_ms, started, fmt.rate, self.source.chunk_ms, frames)
        self._tasks.async_spawn(self._pump(writer, process), "feed")
        return self.feed

    @property
    def read_until_us(self) -> int:
        """Return when the server has read all that the feeds stopped so far wrote (0: none)."""
        return self._read_until_us

    async def async_connect(self) -> None:
        """Open the connection to the source, if it is not open (DeviceUnreachableError)."""
        await self._connection()

    async def async_stop(self) -> Feed | None:
        """Stop decoding and writing (idempotent); return the feed as it was written."""
        await self._tasks.async_close(_STOP_WAIT_S)
        self._tasks = TaskOwner(f"snapcast source {self.source.stream_id}", _LOG)
        process, self._process = self._process, None
        if process is not None:
            await self._finish(process)
        if self.feed is not None:
            self._read_until_us = max(self._read_until_us, self.feed.read_until_us())
        feed, self.feed = self.feed, None
        return feed

    async def async_close(self) -> None:
        """Stop and close the connection (idempotent)."""
        await self.async_stop()
        await self._disconnect()

    async def _disconnect(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        self._used = False

    # -------------------------------------------------------------------------- internals

    async def _pump(
        self, writer: asyncio.StreamWriter, process: asyncio.subprocess.Process
    ) -> None:
        """Write what is due each chunk until the media ends, then say so."""
        try:
            await self._write_due(writer, process)
        except PlayerError as exc:  # the connection lost: the feed ends where it got
            _LOG.warning("%s: %s", self.source.stream_id, exc)
        if self.feed is not None:
            self.feed = replace(self.feed, ended=True)
        self._ended()

    async def _write_due(
        self, writer: asyncio.StreamWriter, process: asyncio.subprocess.Process
    ) -> None:
        period_s = self.source.chunk_ms / 1000
        while True:
            feed = self.feed
            assert feed is not None
            written = feed.frames * self.source.format.frame_bytes
            due = self._due_bytes(self._clock() - feed.fed_at_us + LEAD_MS * 1000) - written
            if due > 0:
                data = await _read_chunks(process, due, self.chunk_bytes)
                if data:
                    await self._write_next(writer, data)
                if len(data) < due:  # the media ended (or ffmpeg failed: it says why)
                    said = await self._finish(process)
                    if said:
                        _LOG.info("%s: ffmpeg stopped: %s", self.source.stream_id, said)
                    return
            await asyncio.sleep(period_s)  # the pace of the clock: one chunk per chunk_ms

    async def _write_next(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        """Write the feed's next *data*; re-date the feed first if it comes late (the module
        docstring): a chunk of silence given up, the content going on."""
        feed = self.feed
        assert feed is not None
        now = self._clock()
        given_up = b""
        if feed.late_at(now):
            late_ms = (now - feed.read_until_us()) // 1000
            _LOG.info("%s: fed %d ms late: the server dates it afresh, and so does the bridge",
                      self.source.stream_id, late_ms)  # fmt: skip
            feed, given_up = feed.redated(now), bytes(self.chunk_bytes)
        await self._write(writer, given_up + data)
        self.feed = replace(feed, frames=feed.frames + len(data) // self.source.format.frame_bytes)
        if given_up:
            self._redated()

    def _due_bytes(self, elapsed_us: int) -> int:
        """Return the bytes of whole chunks fed after *elapsed_us* of the clock."""
        fmt = self.source.format
        frames = max(0, elapsed_us) * fmt.rate // 1_000_000
        whole = frames * fmt.frame_bytes
        return whole - whole % self.chunk_bytes

    async def _connection(self) -> asyncio.StreamWriter:
        writer = self._writer
        if writer is not None and not writer.is_closing():
            return writer
        where = f"{self._host}:{self.source.port}"
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                _, writer = await asyncio.open_connection(self._host, self.source.port)
        except (OSError, TimeoutError) as exc:
            raise DeviceUnreachableError(
                m.ErrorCode.AUDIO_OUTPUT,
                f"cannot reach the Snapcast source {self.source.stream_id!r} at {where}: {exc}",
            ) from exc
        self._writer, self._used = writer, False
        return writer

    async def _write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        try:
            writer.write(data)
            await writer.drain()
        except OSError as exc:
            self._writer, self._used = None, False
            raise DeviceUnreachableError(
                m.ErrorCode.AUDIO_OUTPUT,
                f"lost the Snapcast source {self.source.stream_id!r}: {exc}",
            ) from exc

    async def _decoder(self, url: str, position_ms: int) -> asyncio.subprocess.Process:
        fmt = self.source.format
        command = [
            FFMPEG, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "error",
            "-ss", f"{max(0, position_ms) / 1000:.3f}", "-i", url, "-map", "0:a:0", "-vn",
            "-f", fmt.ffmpeg_format, "-acodec", f"pcm_{fmt.ffmpeg_format}",
            "-ar", str(fmt.rate), "-ac", str(fmt.channels), "-",
        ]  # fmt: skip
        try:
            process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
        except OSError as exc:
            raise PlayerError(m.ErrorCode.AUDIO_OUTPUT, f"ffmpeg does not start: {exc}") from exc
        self._process, self._last_words = process, ""
        self._listening = self._tasks.async_spawn(self._listen(process), "ffmpeg's messages")
        return process

    async def _finish(self, process: asyncio.subprocess.Process) -> str:
        """Stop ffmpeg if it runs; return the last thing it said."""
        assert process.stdout is not None
        # One that has closed its output is ending by itself: signalling it could reap it behind
        # asyncio's back (Popen.send_signal polls first), which then warns "Unknown child".
        if process.returncode is None and not process.stdout.at_eof():
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        try:
            async with asyncio.timeout(_STOP_WAIT_S):
                await process.stdout.read()  # what it still writes, dropped: so it can exit
                await process.wait()
                if self._listening is not None and not self._listening.done():
                    await asyncio.shield(self._listening)  # its last words, to the end
        except TimeoutError:
            process.kill()
            await process.wait()
        if self._process is process:
            self._process = None
        return self._last_words

    async def _listen(self, process: asyncio.subprocess.Process) -> None:
        """Keep ffmpeg's last line (its messages are read as they come: a long stream's
        errors never fill the pipe and stall it)."""
        assert process.stderr is not None
        while line := await process.stderr.readline():
            self._last_words = line.decode(errors="replace").strip() or self._last_words


async def _read_chunks(process: asyncio.subprocess.Process, size: int, chunk: int) -> bytes:
    """Read *size* bytes of ffmpeg's output, fewer at its end (padded to a whole chunk with
    silence: the server reads whole chunks only)."""
    assert process.stdout is not None
    try:
        data = await process.stdout.readexactly(size)
    except asyncio.IncompleteReadError as exc:
        data = exc.partial
        if data and len(data) % chunk:
            data += bytes(chunk - len(data) % chunk)
    return data
