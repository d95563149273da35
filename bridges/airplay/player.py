"""An AirPlay (RAOP) speaker as a bridged player: pyatv streams what ffmpeg decodes.

RAOP only takes a stream of audio: there is no pause, no seek and no URL to hand over. So the
bridge decodes the session's media itself (ffmpeg, from the position, to lossless FLAC on a
pipe) and pyatv streams it in real time; a pause stops the stream and keeps the position, a
resume or a seek starts a new stream at its position (the speaker is heard about 1.9 s later:
bridges/airplay/_status.py, START_MS), and the position is computed from what was streamed and
when, known to ±POSITION_UNCERTAINTY_MS. The title and the artist go with each stream (where
the speaker takes metadata), the volume with RTSP SET_PARAMETER.

Each stream is a span "airplay stream" with what was sent; its end is an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence

from pyatv import exceptions as atv_errors
from pyatv.const import DeviceState
from pyatv.interface import AppleTV, MediaMetadata

from bridges.airplay._raop import DEFAULT_PROPERTIES, async_connect
from bridges.airplay._status import (
    POSITION_UNCERTAINTY_MS,
    START_MS,
    TAIL_MS,
    Streamed,
    airplay_device_id,
    decoder_command,
    fallback_title,
)
from bridges.airplay.browse import async_find_speaker
from bridges.errors import DeviceUnreachableError, PlayerError
from bridges.player import PlayerDescription, PlayerStatus
from connect import telemetry
from connect.cli_common import baton_version
from connect.clock import Clock, monotonic_us
from connect.media_formats import CODECS
from connect.wire import messages as m
from taskowner import TaskOwner
from tracing import attributes as a

__all__ = ["AirPlayPlayer"]

_LOG = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 5.0
STOP_TIMEOUT_S = 5.0
STOP_AGAIN_S = 0.1  # a stop not taken (the stream was still being set up) is asked again after
SETUP_TIMEOUT_S = 10.0
SETUP_POLL_S = 0.005
DECODER_EXIT_S = 2.0
LOOK_UP_S = 2.0  # how long a speaker named by address is looked for on mDNS
_CLOSE_TIMEOUT_S = 2.0
FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


def _start_decoder(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)


class AirPlayPlayer:
    """The RAOP receiver at *host*:*port*, as a `bridges.player.BridgedPlayer`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        name: str = "",
        hardware_id: str = "",
        properties: dict[str, str] | None = None,
        look_up_on: Sequence[str] | None = None,
        clock: Clock = monotonic_us,
    ) -> None:
        self.host, self.port = host, port
        self.device_id = airplay_device_id(host, port, hardware_id)
        self._name = name or f"AirPlay on {host}"
        self._given_name = name
        self._look_up_on = look_up_on
        self._hardware_id = hardware_id
        self._properties = dict(properties or DEFAULT_PROPERTIES)
        self._clock = clock
        self._atv: AppleTV | None = None
        self._changed: Callable[[], None] = lambda: None
        self._streamed = Streamed("", 0)
        self._stream: asyncio.Task[None] | None = None
        self._decoder: subprocess.Popen[bytes] | None = None
        self._volume = 100
        self._title = self._artist = ""
        self._tasks = TaskOwner(f"airplay {host}:{port}", _LOG)

    def describe(self) -> PlayerDescription:
        """Return what this speaker is (its model as its TXT record says, where known)."""
        model = self._properties.get("am", "") or "AirPlay speaker"
        version = self._properties.get("vs", "")
        return PlayerDescription(
            kind="airplay",
            device_id=self.device_id,
            name=self._name,
            type=m.DeviceType.SPEAKER,
            model=model,
            manufacturer="",
            software_version=f"{model} {version} via baton-bridge {baton_version()}".strip(),
            audio_codecs=CODECS,  # the bridge decodes: whatever ffmpeg reads
            position_uncertainty_ms=POSITION_UNCERTAINTY_MS,
        )

    async def async_start(self, changed: Callable[[], None]) -> None:
        """Check the speaker answers on its RTSP port; prepare pyatv's device."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                _, writer = await asyncio.open_connection(self.host, self.port)
            address = str(writer.get_extra_info("peername")[0])  # the host name resolved
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        except (OSError, TimeoutError) as exc:
            raise DeviceUnreachableError(
                m.ErrorCode.AUDIO_OUTPUT,
                f"cannot reach the AirPlay speaker at {self.host}:{self.port}: "
                f"{exc or 'no answer'}",
            ) from exc
        self._changed = changed
        if self._look_up_on is not None and not self._hardware_id:
            await self._look_up(address)
        identifier = self._hardware_id or f"{self.host}:{self.port}"
        self._atv = await async_connect(address, self.port, identifier, self._name,
                                        self._properties)  # fmt: skip

    async def _look_up(self, address: str) -> None:
        """Learn a speaker named by its address from its mDNS record, where it has one: its
        name, hardware id (so its id is the one browsing gives) and TXT record (metadata)."""
        assert self._look_up_on is not None
        found = await async_find_speaker(self._look_up_on, address, self.port, LOOK_UP_S)
        if found is None:
            _LOG.info("%s:%d: not announced on mDNS; taken as a plain receiver",
                      self.host, self.port)  # fmt: skip
            return
        self._hardware_id = found.hardware_id
        self.device_id = airplay_device_id(self.host, self.port, found.hardware_id)
        self._name = self._given_name or found.name
        self._properties = dict(found.properties)

    async def async_status(self) -> PlayerStatus:
        """Return where the stream is, from what was streamed and when."""
        return self._streamed.status(self._clock(), START_MS, self._volume)

    async def async_load(
        self,
        url: str,
        position_ms: int,
        *,
        play: bool,
        title: str = "",
        content_type: str = "",
        artist: str = "",
    ) -> PlayerStatus:
        """Stream *url* from *position_ms*, or hold it there (nothing is sent until resumed)."""
        await self._stop_stream()
        self._title, self._artist = title, artist
        self._streamed = Streamed(url, max(0, position_ms))
        if play:
            await self._begin(self._streamed.url, self._streamed.offset_ms)
        return await self.async_status()

    async def async_pause(self) -> PlayerStatus:
        """Stop the stream and keep where the speaker went quiet (RAOP cannot pause); answer
        once it is quiet (it plays its buffer out, TAIL_MS), so the answer's instant is true."""
        await self._stop_stream(until_quiet=True)
        return await self.async_status()

    async def async_resume(self) -> PlayerStatus:
        """Start a stream at the kept position."""
        streamed = self._streamed
        if not streamed.url:
            raise PlayerError(m.ErrorCode.INVALID_ARGUMENT, "the speaker has nothing of ours")
        if not streamed.playing:
            await self._begin(streamed.url, streamed.offset_ms)
        return await self.async_status()

    async def async_seek(self, position_ms: int) -> PlayerStatus:
        """Start the stream again at *position_ms* (a paused one only moves)."""
        streamed = self._streamed
        if not streamed.url:
            raise PlayerError(m.ErrorCode.INVALID_ARGUMENT, "the speaker has nothing of ours")
        playing = streamed.playing
        await self._stop_stream()
        self._streamed = Streamed(streamed.url, max(0, position_ms))
        if playing:
            await self._begin(streamed.url, self._streamed.offset_ms)
        return await self.async_status()

    async def async_stop(self) -> PlayerStatus:
        """Stop the stream and forget the media; answer once the speaker is quiet."""
        await self._stop_stream(until_quiet=True)
        self._streamed = Streamed("", 0)
        return await self.async_status()

    async def async_set_volume(self, volume: int) -> PlayerStatus:
        """Set the speaker's volume (RTSP SET_PARAMETER while streaming, else with the next
        stream); in a stream's first moments, once it is heard (see `_volume_when_heard`)."""
        self._volume = max(0, min(100, volume))
        streamed, now = self._streamed, self._clock()
        if streamed.playing and now < streamed.heard_at(START_MS):
            self._tasks.async_spawn(self._volume_when_heard(streamed), "volume when heard")
        else:
            setting = self._require().audio.set_volume(self._volume)
            await self._call("volume", str(self._volume), setting)
        return await self.async_status()

    async def _volume_when_heard(self, streamed: Streamed) -> None:
        """Send the volume once *streamed* is heard: pyatv's RECORD and FLUSH may still be on
        their way until its frames flow, and a request beside them goes unanswered (seen with
        shairport-sync: "no response to CSeq"); before it is heard the volume changes nothing
        anyway (the stream was announced with the volume of then)."""
        await asyncio.sleep(max(0, streamed.heard_at(START_MS) - self._clock()) / 1e6)
        if self._streamed is streamed and self._atv is not None:
            setting = self._atv.audio.set_volume(self._volume)
            with contextlib.suppress(DeviceUnreachableError):  # the stream's end says so
                await self._call("volume", str(self._volume), setting)

    async def async_set_next(self, url: str, *, title: str = "", content_type: str = "") -> None:
        """Not offered (`describe().next_item` is False): each item is a stream of its own."""
        raise PlayerError(m.ErrorCode.INVALID_ARGUMENT, "an AirPlay speaker takes one stream")

    async def async_close(self) -> None:
        """Stop streaming and let the speaker go (idempotent)."""
        await self._stop_stream()
        await self._tasks.async_close(_CLOSE_TIMEOUT_S)
        atv, self._atv = self._atv, None
        if atv is not None:
            pending = atv.close()
            if pending:
                await asyncio.wait(pending, timeout=_CLOSE_TIMEOUT_S)

    # -------------------------------------------------------------------------- streams

    async def _begin(self, url: str, offset_ms: int) -> None:
        """Start ffmpeg at the offset and pyatv's stream of it; the position counts from now."""
        atv = self._require()
        command = decoder_command(FFMPEG, url, offset_ms)
        loop = asyncio.get_running_loop()
        try:
            decoder = await loop.run_in_executor(None, _start_decoder, command)
        except OSError as exc:
            raise PlayerError(m.ErrorCode.AUDIO_OUTPUT, f"cannot start ffmpeg: {exc}") from exc
        self._decoder = decoder
        try:
            await atv.audio.set_volume(self._volume)  # kept by pyatv for the stream: nothing sent
        except BaseException:
            self._reap_decoder()  # no stream reads it yet, so no stream's end would reap it
            raise
        title = self._title or fallback_title(url)  # an item without one
        metadata = MediaMetadata(title=title, artist=self._artist or None)
        assert isinstance(decoder.stdout, io.BufferedReader)
        self._streamed = Streamed(url, offset_ms, self._clock())
        stream = atv.stream.stream_file(decoder.stdout, metadata=metadata)
        task = self._stream = loop.create_task(self._streaming(stream, url, offset_ms))
        await self._until_streaming(atv, task)
        if task.done():
            failure = self._streamed.error or "the stream ended at once"
            raise PlayerError(m.ErrorCode.MEDIA_UNREACHABLE, f"the speaker did not play: {failure}")
        # The speaker plays each frame a fixed latency after pyatv's clock started, when its
        # RTSP set-up was done: the position counts from then, not from the request (the
        # set-up waits while the speaker still plays out a stream stopped just before).
        self._streamed = Streamed(url, offset_ms, self._clock())

    async def _until_streaming(self, atv: AppleTV, task: asyncio.Task[None]) -> None:
        """Wait until pyatv streams (its state says Playing once set up) or the stream ended.
        pyatv tells no one but its push listeners of that; its state is read in memory."""
        deadline = self._clock() + SETUP_TIMEOUT_S * 1_000_000
        while not task.done() and self._clock() < deadline:
            playing = await atv.metadata.playing()
            if playing.device_state is DeviceState.Playing:
                return
            await asyncio.sleep(SETUP_POLL_S)

    async def _streaming(self, stream: object, url: str, offset_ms: int) -> None:
        """Run one stream to its end; an end we did not ask for is the track's (or a failure)."""
        tracer = telemetry.tracer()
        attributes = {a.BRIDGE_KIND: "airplay", a.BRIDGE_SENT: f"stream from {offset_ms} ms"}
        error = ""
        with contextlib.ExitStack() as spans:
            span = None
            if tracer is not None:
                span = spans.enter_context(
                    tracer.start_as_current_span("airplay stream", attributes=attributes)
                )
            try:
                await stream  # type: ignore[misc]  # pyatv's coroutine
            except (atv_errors.ProtocolError, atv_errors.ConnectionFailedError, OSError) as exc:
                error = str(exc) or type(exc).__name__
            except Exception as exc:  # pyatv raises what its source's decoder raised
                error = f"{type(exc).__name__}: {exc}"
            decoder = self._decoder
            if error and decoder is not None:
                # ffmpeg says why on the bridge's stderr and exits (the stream's own error is
                # its echo: no data), a moment after pyatv found nothing to read.
                with contextlib.suppress(subprocess.TimeoutExpired):
                    await asyncio.to_thread(decoder.wait, DECODER_EXIT_S)
                if decoder.returncode not in (None, 0):
                    code = decoder.returncode
                    error = f"the media could not be read (ffmpeg exited with {code})"
            if span is not None:
                span.set_attribute(a.BRIDGE_ANSWER, error[:200] or "ended")
        if asyncio.current_task() is not self._stream:
            return  # stopped by us: the stopper set the state
        self._stream = None
        self._reap_decoder()
        if self._streamed.url == url:
            _LOG.info("%s: stream ended%s", self.device_id, f": {error}" if error else "")
            self._streamed = Streamed("", 0, error=error)
            ended = {a.BRIDGE_KIND: "airplay", a.BRIDGE_ANSWER: "stream ended"}
            telemetry.emit_event(a.EVENT_BRIDGE_CHANGED, ended)
            self._changed()

    async def _stop_stream(self, *, until_quiet: bool = False) -> None:
        """Stop the running stream (if any); the position is where the speaker goes quiet,
        which it is on return if *until_quiet* (a new stream is heard after the old one's tail
        anyway: START_MS > TAIL_MS)."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        now = self._clock()
        quiet_at = now + TAIL_MS * 1000
        self._streamed = self._streamed.stopped(now, START_MS, TAIL_MS)
        decoder, self._decoder = self._decoder, None
        if decoder is not None:
            with contextlib.suppress(ProcessLookupError):
                decoder.kill()  # a stream still opening its source ends on the pipe's end
        # pyatv's stop only ends a stream already sending (a stop during its RECORD and FLUSH
        # is overwritten when sending begins): asked again, a few times, until it ends.
        deadline = self._clock() + STOP_TIMEOUT_S * 1_000_000
        while not stream.done() and self._clock() < deadline:
            if self._atv is not None:
                with contextlib.suppress(atv_errors.BlockedStateError, OSError):
                    await self._atv.remote_control.stop()
            await asyncio.wait({stream}, timeout=STOP_AGAIN_S)
        if not stream.done():
            stream.cancel()
        if decoder is not None:
            self._reap(decoder)
        if until_quiet and self._clock() < quiet_at:
            # A measurement's wait, not a wait for a state: RAOP says nothing when it is quiet.
            await asyncio.sleep((quiet_at - self._clock()) / 1e6)

    def _reap_decoder(self) -> None:
        decoder, self._decoder = self._decoder, None
        if decoder is not None:
            with contextlib.suppress(ProcessLookupError):
                decoder.kill()
            self._reap(decoder)

    def _reap(self, decoder: subprocess.Popen[bytes]) -> None:
        """Wait for a killed ffmpeg and close its pipe (nothing reads it any more)."""

        def reap() -> None:
            decoder.wait()
            if decoder.stdout is not None:
                decoder.stdout.close()

        # A thread of its own, never cancelled: as a task's executor job, a close right after a
        # stream's end cancelled the job before a thread took it, leaving a zombie and its open
        # pipe (a ResourceWarning "unclosed file <_io.BufferedReader ...>" at collection).
        threading.Thread(target=reap, name="airplay reap ffmpeg", daemon=True).start()

    async def _call(self, what: str, sent: str, call: object) -> None:
        """Run one request, a span "airplay WHAT"; raise DeviceUnreachableError when the
        speaker is gone."""
        tracer = telemetry.tracer()
        attributes = {a.BRIDGE_KIND: "airplay", a.BRIDGE_SENT: f"{what} {sent}"}
        with contextlib.ExitStack() as spans:
            span = None
            if tracer is not None:
                span = spans.enter_context(
                    tracer.start_as_current_span(f"airplay {what}", attributes=attributes)
                )
            try:
                await call  # type: ignore[misc]
            except (atv_errors.ProtocolError, atv_errors.ConnectionFailedError, OSError) as exc:
                if span is not None:
                    span.set_attribute(a.BRIDGE_ANSWER, f"error {exc}"[:200])
                raise DeviceUnreachableError(
                    m.ErrorCode.AUDIO_OUTPUT, f"lost the AirPlay speaker ({what} {sent}): {exc}"
                ) from exc
            if span is not None:
                span.set_attribute(a.BRIDGE_ANSWER, "OK")

    def _require(self) -> AppleTV:
        if self._atv is None:
            raise DeviceUnreachableError(m.ErrorCode.AUDIO_OUTPUT, "the speaker is not started")
        return self._atv
