"""A receiver's live streams: recognised, what they say is on, reconnected when they drop.

`LiveWatch.async_run` asks the player every WATCH_INTERVAL_S what libVLC knows of the playing
media (devices/player.py `async_stream_info`). A stream libVLC cannot seek in and found no
length for is live (internet radio: no Content-Length, no byte ranges), and so is an HLS
playlist that says so (no EXT-X-ENDLIST, not a VOD: libVLC seeks in its window and reports
the window's length, so only the playlist tells; a master playlist's first variant decides,
read with the station's headers, once per URL); the session then says
`live`, restricts Seek with the reason (connect/session/playback.py `stream_learnt`) and shows
what is on: the ICY StreamTitle libVLC reads in-band, the station's `icy-name`, and its logo
from the `icy-logo` header (one short request of our own, headers only; libVLC does not pass
headers on). libVLC raises no event for a new title, so the poll is what notices it (research:
real-world.md, radio).

Trouble: a live stream's time that stands still for STALL_NOTICE_S while playing is a stall:
the state says so (BUFFERING, with a MEDIA_UNREACHABLE notice) until audio flows again. A live
stream that ends (the server restarted, the connection dropped) is opened again with bounded
backoff (RECONNECT_DELAYS_S), the state saying which attempt it is; a 404 ends that at once with
MEDIA_NOT_FOUND, and so does running out of attempts, with MEDIA_UNREACHABLE: never a silent
stop. Traces get an event for each (tracing/attributes.py, EVENT_NOW_PLAYING, EVENT_STREAM).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, replace
from typing import Protocol
from urllib.parse import unquote, urljoin, urlsplit

import aiohttp

from connect import telemetry
from connect.clock import Clock
from connect.media_urls import is_media_url
from connect.session import playback
from connect.wire import messages as m
from devices.errors import MediaNotFoundError, ReceiverError
from devices.failures import failure_from
from devices.player import Player
from devices.player_types import PlayerState, StreamInfo
from tracing import attributes as a

_LOG = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0
STALL_NOTICE_S = 2.5  # a live stream's time standing still this long while playing: a stall
RECONNECT_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)  # before each attempt; then it gives up
HEADERS_TIMEOUT_S = 3.0
PLAYLIST_MAX_BYTES = 256 * 1024  # more than a live window lists; a longer body is no playlist
HLS_TYPES = frozenset({
    "application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl",
})  # fmt: skip


class LiveHost(Protocol):
    """What the live watch needs from its receiver."""

    clock: Clock
    lock: asyncio.Lock

    @property
    def player(self) -> Player: ...

    @property
    def state(self) -> m.PlaybackState: ...

    def publish_state(self, state: m.PlaybackState, reason: m.StateChangeReason) -> None: ...


def title_id(text: str) -> str:
    """Return the trace digest of a title: 8 hex digits of its SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Station:
    """What a stream's server says of it: its icy-name, logo, and whether HLS calls it live."""

    name: str = ""
    logo: str = ""
    hls_live: bool = False


class LiveWatch:
    """Finds live streams, follows what they say is on, and brings them back when they drop."""

    def __init__(self, host: LiveHost) -> None:
        self._host = host
        self._stations: dict[str, Station] = {}  # url -> what its server said, asked once
        self._time: tuple[int, float] | None = None  # last libVLC time seen, and when it moved
        self._stall_said = False  # the state says the stream stalls
        self.reconnecting = ""  # the URL being reconnected, "" if none

    async def async_run(self) -> None:
        """Watch the playing stream until cancelled."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL_S)  # a polling timer: libVLC has no title event
            await self._check()

    async def _check(self) -> None:
        host = self._host
        item = host.state.current_item
        player = host.player
        if item is None or player.state is not PlayerState.PLAYING or player.url != item.url:
            self._time = None
            return
        info = await player.async_stream_info()
        unbounded = not info.seekable and player.length_ms is None
        station = await self._station(info.url) if unbounded or _may_be_hls(item) else None
        live = unbounded or (station is not None and station.hls_live)
        playing = _now_playing(info, station) if station is not None and live else None
        stalled = live and self._stalled(info)
        async with host.lock:
            state = host.state
            if state.current_item != item or self.reconnecting:
                return  # a command or a reconnection came meanwhile
            said = state.now_playing
            if playing is not None and not playing.title and said is not None:
                # Not said yet on this connection (a transfer's target, a reconnection): ICY
                # repeats a title only when it changes, so the last one heard still holds.
                playing = replace(playing, title=said.title)
            learnt = playback.stream_learnt(state, item.url, live, playing)
            if learnt is not None:
                if learnt.now_playing != state.now_playing and learnt.now_playing is not None:
                    _say_now_playing(learnt.now_playing)
                state = learnt
            health = self._with_stall(state, stalled)
            if health is not state:
                state = replace(health, revision=state.revision + 1)
            if state is not host.state:
                host.publish_state(state, m.StateChangeReason.PLAYBACK)

    def _with_stall(self, state: m.PlaybackState, stalled: bool) -> m.PlaybackState:
        """Return *state* saying the stream stalls or flows again (the same object if neither)."""
        if stalled and state.status is m.PlaybackStatus.PLAYING:
            _LOG.info("the live stream stalls")
            _say_stream("stalled", 0)
            self._stall_said = True
            notice = m.Failure(m.ErrorCode.MEDIA_UNREACHABLE, "the live stream stalls: waiting")
            return replace(state, status=m.PlaybackStatus.BUFFERING, error=notice)
        if not stalled and self._stall_said:
            self._stall_said = False
            if state.status is m.PlaybackStatus.BUFFERING:
                _LOG.info("the live stream flows again")
                _say_stream("back", 0)
                return replace(state, status=m.PlaybackStatus.PLAYING, error=None)
        return state

    def _stalled(self, info: StreamInfo) -> bool:
        """Return whether the stream's time has stood still for STALL_NOTICE_S."""
        now = asyncio.get_running_loop().time()
        if self._time is None or self._time[0] != info.time_ms:
            self._time = (info.time_ms, now)
            return False
        return now - self._time[1] >= STALL_NOTICE_S

    async def _station(self, url: str) -> Station:
        """Return what the stream's server says of it (asked once per URL)."""
        known = self._stations.get(url)
        if known is not None:
            return known
        self._stations[url] = Station()  # asked once, whatever the answer
        try:
            timeout = aiohttp.ClientTimeout(total=HEADERS_TIMEOUT_S)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url, headers={"Icy-MetaData": "0"}) as response,
            ):
                name = response.headers.get("icy-name", "")[:200]
                logo = response.headers.get("icy-logo", "")
                hls_live = False
                if response.ok and (_is_hls(url, response.content_type)):
                    hls_live = await _hls_live(session, url, await _playlist(response))
        except (aiohttp.ClientError, TimeoutError, ValueError, UnicodeDecodeError) as exc:
            _LOG.info("station headers of %s: %s", url, exc)
            return self._stations[url]
        logo = logo if is_media_url(logo) and len(logo) <= 2048 else ""
        self._stations[url] = Station(name, logo, hls_live)
        return self._stations[url]

    # ---------------------------------------------------------------- reconnection

    async def async_reconnect(self, url: str) -> None:
        """Open the live stream at *url* again after it ended, with bounded backoff."""
        host = self._host
        self.reconnecting = url
        try:
            for attempt, delay in enumerate(RECONNECT_DELAYS_S, 1):
                async with host.lock:
                    if not self._still_wanted(url):
                        return
                    notice = (
                        f"the live stream dropped; reconnecting (attempt {attempt} of "
                        f"{len(RECONNECT_DELAYS_S)})"
                    )
                    _LOG.info("%s: %s", url, notice)
                    _say_stream("dropped", attempt)
                    self._publish_health(m.Failure(m.ErrorCode.MEDIA_UNREACHABLE, notice))
                await asyncio.sleep(delay)  # the backoff itself
                async with host.lock:
                    if not self._still_wanted(url):
                        return
                    try:
                        await host.player.async_load(url, 0, play=True)
                    except MediaNotFoundError as exc:
                        self._give_up(failure_from(exc))
                        return
                    except ReceiverError as exc:
                        _LOG.info("reconnecting %s failed: %s", url, exc)
                        continue
                    _LOG.info("%s: the live stream is back (attempt %d)", url, attempt)
                    _say_stream("back", attempt)
                    self._publish_health(None)
                    return
            async with host.lock:
                if self._still_wanted(url):
                    tries = len(RECONNECT_DELAYS_S)
                    self._give_up(m.Failure(m.ErrorCode.MEDIA_UNREACHABLE,
                                            f"the live stream dropped and did not come back "
                                            f"after {tries} attempts"))  # fmt: skip
        finally:
            self.reconnecting = ""
            self._time = None
            self._stall_said = False

    def _still_wanted(self, url: str) -> bool:
        """Return whether the session still wants this stream played (no command moved it)."""
        state = self._host.state
        item = state.current_item
        wants = state.status in (m.PlaybackStatus.PLAYING, m.PlaybackStatus.BUFFERING)
        return item is not None and item.url == url and wants and state.active

    def _publish_health(self, notice: m.Failure | None) -> None:
        state = self._host.state
        status = m.PlaybackStatus.BUFFERING if notice else m.PlaybackStatus.PLAYING
        changed = replace(state, status=status, error=notice, revision=state.revision + 1)
        self._host.publish_state(changed, m.StateChangeReason.PLAYBACK)

    def _give_up(self, failure: m.Failure) -> None:
        _LOG.warning("live stream lost: %s", failure.message)
        _say_stream("gave_up", 0)
        telemetry.emit_event(a.EVENT_ERROR, {a.ERROR_TYPE: failure.code.name})
        state = self._host.state
        stopped = playback.after_failure(state, failure, self._host.clock())
        self._host.publish_state(stopped, m.StateChangeReason.ERROR)


def _now_playing(info: StreamInfo, station: Station) -> m.NowPlaying:
    # libVLC's title is the station's icy-name, or else the file name: not a station.
    name = station.name or ("" if info.title == _file_name(info.url) else info.title)
    return m.NowPlaying(info.now_playing, name, station.logo)


def _file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def _may_be_hls(item: m.QueueItem) -> bool:
    """Return whether the item says it is an HLS playlist (by its content type or name)."""
    kind = item.content_type.split(";")[0].strip().lower()
    return kind in HLS_TYPES or urlsplit(item.url).path.lower().endswith((".m3u8", ".m3u"))


def _is_hls(url: str, content_type: str) -> bool:
    return content_type.lower() in HLS_TYPES or urlsplit(url).path.lower().endswith(".m3u8")


async def _playlist(response: aiohttp.ClientResponse) -> str:
    """Return a playlist's text (at most PLAYLIST_MAX_BYTES; "" if it is longer)."""
    body = await response.content.read(PLAYLIST_MAX_BYTES + 1)
    return "" if len(body) > PLAYLIST_MAX_BYTES else body.decode()


async def _hls_live(session: aiohttp.ClientSession, url: str, text: str) -> bool:
    """Return whether an HLS playlist is live; a master playlist's first variant decides."""
    if not text.startswith("#EXTM3U"):
        return False
    lines = [line.strip() for line in text.splitlines()]
    if any(line.startswith("#EXT-X-STREAM-INF") for line in lines):
        variant = next((line for line in lines if line and not line.startswith("#")), "")
        if not variant:
            return False
        variant_url = urljoin(url, variant)
        if not is_media_url(variant_url):
            return False
        async with session.get(variant_url) as response:
            text = await _playlist(response) if response.ok else ""
        lines = [line.strip() for line in text.splitlines()]
        if not text.startswith("#EXTM3U"):
            return False
    ended = "#EXT-X-ENDLIST" in lines or "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    return not ended


def _say_now_playing(playing: m.NowPlaying) -> None:
    telemetry.emit_event(
        a.EVENT_NOW_PLAYING, {a.NOW_PLAYING_ID: title_id(f"{playing.station}\n{playing.title}")}
    )


def _say_stream(what: str, attempt: int) -> None:
    telemetry.emit_event(a.EVENT_STREAM, {a.REASON: what, a.STREAM_ATTEMPT: attempt})
