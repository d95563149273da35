"""A Music Player Daemon as a bridged player: python-mpd2's asyncio client, idle-driven.

One connection carries the commands and MPD's `idle` (python-mpd2 leaves idle for a command and
goes back to it 0.1 s after): a change MPD makes on its own (the song ended, another client
paused it, someone turned the volume) wakes the listener, which reads the status once; nothing
polls. The bridge keeps one song in MPD's queue, the session's current item (bridges/mpd/
_status.py says why), and a paused load is queued but not started: MPD opens media only to
play it, so the song is held, silent, and started at the position on resume.

Every command is a span "mpd <command>" carrying what was sent and what MPD answered
(tracing.attributes BRIDGE_*; a media URL is never written there: it holds its capability).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import mpd
from mpd.asyncio import MPDClient

from bridges.errors import DeviceUnreachableError, PlayerError
from bridges.mpd._status import (
    POSITION_UNCERTAINTY_MS,
    Loaded,
    codecs_from_decoders,
    mpd_device_id,
    status_from,
)
from bridges.player import PlayerDescription, PlayerStatus
from connect import telemetry
from connect.cli_common import baton_version
from connect.clock import Clock, monotonic_us
from connect.wire import messages as m
from taskowner import TaskOwner
from tracing import attributes as a

__all__ = ["MpdPlayer"]

_LOG = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 5.0
RECONNECT_FIRST_S = 0.5  # after MPD went away, the first try to reach it again; doubling
RECONNECT_CAP_S = 30.0
COMMAND_TIMEOUT_S = 5.0
_CLOSE_TIMEOUT_S = 2.0
_IDLE = ("player", "mixer", "playlist")
# MPD's ACK codes (src/protocol/Ack.hxx): the kind of refusal, for the controller's failure.
_ACKS = {
    2: m.ErrorCode.INVALID_ARGUMENT,  # ACK_ERROR_ARG
    50: m.ErrorCode.MEDIA_NOT_FOUND,  # ACK_ERROR_NO_EXIST
}
_ACK = re.compile(r"\[(\d+)@")


class _Client(MPDClient):  # type: ignore[misc]  # python-mpd2 is untyped
    """python-mpd2's asyncio client, quiet when MPD goes away while it idles.

    Its idle result's callback (3.1.1, `MPDClient.__idle_result`) re-raises a lost
    connection inside the event loop, which logs it as an unhandled "Exception in callback"
    with a traceback; the idle's consumers (our `_follow`) are told anyway, by `disconnect`.
    So a lost connection is left to them; a refusal (CommandError) goes on as before.
    """

    def _MPDClient__idle_result(self, result: asyncio.Future[Any]) -> None:  # noqa: N802 (its name)
        if result.cancelled() or not isinstance(result.exception(), mpd.CommandError | None):
            return
        super()._MPDClient__idle_result(result)


class MpdPlayer:
    """The MPD at *host*:*port*, as a `bridges.player.BridgedPlayer`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        name: str = "",
        id_host: str = "",
        clock: Clock = monotonic_us,
        uncertainty_ms: int = POSITION_UNCERTAINTY_MS,
    ) -> None:
        self.host, self.port = host, port
        # Its id: from the host as named (or as it announced itself), not from the address.
        self.device_id = mpd_device_id(id_host or host, port)
        self._name = name or f"MPD on {host}"
        self._clock = clock
        self._uncertainty_ms = uncertainty_ms
        self._client = _Client()
        self._tasks = TaskOwner(f"mpd {host}:{port}", _LOG)
        self._loaded: Loaded | None = None
        self._codecs: tuple[str, ...] = ()
        self._volume_settable = False
        self._version = ""

    def describe(self) -> PlayerDescription:
        """Return what this MPD is (its codecs and volume as it said when started)."""
        return PlayerDescription(
            kind="mpd",
            device_id=self.device_id,
            name=self._name,
            type=m.DeviceType.SPEAKER,
            model="Music Player Daemon",
            manufacturer="The Music Player Daemon Project",
            software_version=f"mpd {self._version} via baton-bridge {baton_version()}",
            audio_codecs=self._codecs,
            position_uncertainty_ms=self._uncertainty_ms,
            volume_settable=self._volume_settable,
        )

    async def async_start(self, changed: Callable[[], None]) -> None:
        """Connect, learn the decoders and the mixer, and follow MPD's idle."""
        await self._connect()
        self._tasks.async_spawn(self._follow(changed), "idle")

    async def _connect(self) -> None:
        """Open a new connection; learn what MPD decodes and whether it has a mixer."""
        client = _Client()
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await client.connect(self.host, self.port)
        except (OSError, TimeoutError, mpd.ConnectionError) as exc:
            raise DeviceUnreachableError(
                m.ErrorCode.AUDIO_OUTPUT, f"cannot reach MPD at {self.host}:{self.port}: {exc}"
            ) from exc
        self._client = client
        self._version = client.mpd_version or "?"
        self._codecs = codecs_from_decoders(await self._send("decoders"))
        status = await self._send("status")
        self._volume_settable = status.get("volume", "-1") != "-1"

    async def async_status(self) -> PlayerStatus:
        """Read MPD's status; its instant is the middle of the round trip."""
        before = self._clock()
        raw = await self._send("status", trace=False)
        as_of = (before + self._clock()) // 2
        return status_from(raw, self._loaded, as_of, self._uncertainty_ms)

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
        """Make *url* MPD's one song; start it at *position_ms*, or hold it there (MPD reads
        the title and type from the stream itself)."""
        await self._send("clear")
        self._loaded = None
        song_id = str(await self._send("addid", url))
        if play:
            await self._send("seekid", song_id, _seconds(position_ms))
            self._loaded = Loaded(song_id, url)
        else:
            self._loaded = Loaded(song_id, url, held_ms=position_ms)
        return await self.async_status()

    async def async_pause(self) -> PlayerStatus:
        """Pause (a held song stays held)."""
        if self._loaded is not None and self._loaded.held_ms is None:
            await self._send("pause", 1)
        return await self.async_status()

    async def async_resume(self) -> PlayerStatus:
        """Play on: a held song starts at its position, a paused one resumes."""
        loaded = self._loaded
        if loaded is None:
            raise PlayerError(m.ErrorCode.INVALID_ARGUMENT, "MPD has nothing of ours to play")
        if loaded.held_ms is not None:
            await self._send("seekid", loaded.song_id, _seconds(loaded.held_ms))
            self._loaded = replace(loaded, held_ms=None)
        else:
            await self._send("pause", 0)
        return await self.async_status()

    async def async_seek(self, position_ms: int) -> PlayerStatus:
        """Move within our song (a held one moves where it will start)."""
        loaded = self._loaded
        if loaded is None:
            raise PlayerError(m.ErrorCode.INVALID_ARGUMENT, "MPD has nothing of ours to seek in")
        if loaded.held_ms is not None:
            self._loaded = replace(loaded, held_ms=position_ms)
        else:
            await self._send("seekcur", _seconds(position_ms))
        return await self.async_status()

    async def async_stop(self) -> PlayerStatus:
        """Stop and empty MPD's queue."""
        self._loaded = None
        await self._send("stop")
        await self._send("clear")
        return await self.async_status()

    async def async_set_volume(self, volume: int) -> PlayerStatus:
        """Set MPD's mixer volume (refused when MPD has no mixer)."""
        if not self._volume_settable:
            raise PlayerError(m.ErrorCode.RESTRICTED, "this MPD has no mixer: its volume is fixed")
        await self._send("setvol", max(0, min(100, volume)))
        return await self.async_status()

    async def async_set_next(self, url: str, *, title: str = "", content_type: str = "") -> None:
        """Not offered (`next_item` is False): the bridge starts the next item after the end."""

    async def async_close(self) -> None:
        """Stop following idle and disconnect (idempotent)."""
        await self._tasks.async_close(_CLOSE_TIMEOUT_S)
        if self._client.connected:
            self._client.disconnect()

    # -------------------------------------------------------------------------- the wire

    async def _follow(self, changed: Callable[[], None]) -> None:
        """Wake *changed* for each batch of changes MPD reports (empty batches: our noidle);
        when MPD goes away, say so and reach it again, with backoff."""
        while True:
            with contextlib.suppress(mpd.ConnectionError):
                async for subsystems in self._client.idle(_IDLE):
                    if subsystems:
                        telemetry.emit_event(
                            a.EVENT_BRIDGE_CHANGED,
                            {a.BRIDGE_KIND: "mpd", a.BRIDGE_ANSWER: " ".join(sorted(subsystems))},
                        )
                        changed()
            _LOG.warning("%s:%s: MPD went away; reaching it again", self.host, self.port)
            if self._client.connected:
                self._client.disconnect()
            self._loaded = None  # a restarted MPD holds its own queue, not our song
            changed()  # the next status read says it is gone
            delay = RECONNECT_FIRST_S
            while True:
                await asyncio.sleep(delay)  # the backoff: a timer owned by this task
                try:
                    await self._connect()
                    break
                except PlayerError as exc:
                    _LOG.debug("%s:%s: %s", self.host, self.port, exc)
                    delay = min(RECONNECT_CAP_S, delay * 2)
            _LOG.info("%s:%s: MPD is back", self.host, self.port)
            changed()

    async def _send(self, command: str, *args: Any, trace: bool = True) -> Any:
        """Send one command; raise PlayerError (refused) or DeviceUnreachableError (gone)."""
        if not self._client.connected:
            raise DeviceUnreachableError(
                m.ErrorCode.AUDIO_OUTPUT, f"MPD at {self.host}:{self.port} is not reachable now"
            )
        sent = " ".join([command, *(_shown(arg) for arg in args)])
        with self._span(command, sent if trace else "") as span:
            try:
                async with asyncio.timeout(COMMAND_TIMEOUT_S):
                    answer = await getattr(self._client, command)(*args)
            except mpd.CommandError as exc:
                found = _ACK.search(str(exc))
                code = _ACKS.get(int(found[1]) if found else 0, m.ErrorCode.MEDIA_UNREACHABLE)
                if span is not None:
                    span.set_attribute(a.BRIDGE_ANSWER, f"ACK {exc}"[:200])
                raise PlayerError(code, f"MPD refused {command}: {exc}") from exc
            except (mpd.ConnectionError, OSError, TimeoutError) as exc:
                raise DeviceUnreachableError(
                    m.ErrorCode.AUDIO_OUTPUT,
                    f"lost MPD at {self.host}:{self.port} ({command}): {exc or 'no answer'}",
                ) from exc
            if span is not None:
                span.set_attribute(a.BRIDGE_ANSWER, _answer(answer))
            return answer

    @contextlib.contextmanager
    def _span(self, command: str, sent: str) -> Iterator[Any]:
        tracer = telemetry.tracer() if sent else None
        if tracer is None:
            yield None
            return
        attributes = {a.BRIDGE_KIND: "mpd", a.BRIDGE_SENT: sent}
        with tracer.start_as_current_span(f"mpd {command}", attributes=attributes) as span:
            yield span


def _seconds(position_ms: int) -> str:
    return f"{max(0, position_ms) / 1000:.3f}"


def _shown(arg: object) -> str:
    """An argument as a trace may show it: a URL holds a media capability, so not its text."""
    text = str(arg)
    return "<url>" if "://" in text else text


def _answer(answer: object) -> str:
    """MPD's answer, short: a status as its few telling fields, anything else cut."""
    if isinstance(answer, dict):
        keys = ("state", "elapsed", "songid", "volume", "error")
        return " ".join(f"{k}={answer[k]}" for k in keys if k in answer)
    if isinstance(answer, list):
        return f"{len(answer)} entries"
    return "OK" if answer is None else _shown(answer)[:200]
