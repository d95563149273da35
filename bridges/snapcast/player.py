"""One group of a Snapcast server as a bridged player: the `snapcast` control library for the
group, a `SourceFeed` for the audio.

A group plays one stream; to play, the bridge sets the group's stream to a Baton source of the
server (bridges/snapcast/_status.py) and feeds it from the position (bridges/snapcast/feed.py).
What is fed is heard `buffer` ms later, so the position is the feed's, that much behind; a
start is heard that much after it is asked (the status's clock is anchored then: in the
future). Pause and seek stop the feed at once and mute the group, so the second already in the
server's buffer is not heard; the group is unmuted when the next feed is heard. A paused load
is held (nothing fed) and fed from its position on resume. The volume is the group's clients'
(the library moves them together, keeping their balance).

The library keeps the server's state from its notifications: a status is read from it with no
request. Every request is a span "snapcast <method>" with what was sent and what the server
answered (a media URL is never written there: the server is never sent one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from typing import Any

from snapcast.control.server import Snapserver

from bridges.errors import DeviceUnreachableError, PlayerError
from bridges.player import PlayerDescription, PlayerState, PlayerStatus
from bridges.snapcast._control import async_reach_server
from bridges.snapcast._status import (
    DEFAULT_BUFFER_MS,
    POSITION_UNCERTAINTY_MS,
    SourceClaims,
    baton_sources,
    group_name,
    snapcast_device_id,
)
from bridges.snapcast.feed import SourceFeed
from connect import telemetry
from connect.cli_common import baton_version
from connect.clock import Clock, monotonic_us
from connect.media_formats import CODECS
from connect.wire import messages as m
from taskowner import TaskOwner
from tracing import attributes as a

__all__ = ["SnapcastPlayer"]

_LOG = logging.getLogger(__name__)
REQUEST_TIMEOUT_S = 5.0
_CLOSE_TIMEOUT_S = 2.0
# From the mute's answer until the group is silent: the server tells the client, which mutes
# the next block it writes (10-60 ms later with the file player's 50 ms blocks, measured).
MUTE_LAG_MS = 40
DRAIN_SLACK_MS = 150  # past the buffer: the client's last block


class SnapcastPlayer:
    """Group *group_id* of the Snapcast server at *host*:*port*, as a BridgedPlayer."""

    def __init__(
        self,
        host: str,
        port: int,
        group_id: str,
        *,
        claims: SourceClaims | None = None,
        buffer_ms: int = DEFAULT_BUFFER_MS,
        clock: Clock = monotonic_us,
    ) -> None:
        self.host, self.port, self.group_id = host, port, group_id
        self.device_id = snapcast_device_id(host, port, group_id)
        self._claims = claims or SourceClaims()
        self._buffer_ms = buffer_ms
        self._clock = clock
        self._server: Snapserver | None = None
        self._connected = False
        self._changed: Callable[[], None] = lambda: None
        self._feed: SourceFeed | None = None
        self._url = ""  # our media ("" none)
        self._held: int | None = None  # set while our media waits, unfed, at a position
        self._muted_by_us = False
        self._muted_at_us = 0
        self._tasks = TaskOwner(f"snapcast {host}:{port} {group_id[:8]}", _LOG)

    def describe(self) -> PlayerDescription:
        """Return what this group is (ffmpeg decodes every codec Baton knows for it)."""
        server = self._server
        group = self._group_data() if server is not None else {}
        return PlayerDescription(
            kind="snapcast",
            device_id=self.device_id,
            name=group_name(group),
            type=m.DeviceType.SPEAKER,
            model="Snapcast group",
            manufacturer="Snapcast",
            software_version=f"snapserver {server.version if server else '?'} "
            f"via baton-bridge {baton_version()}",
            audio_codecs=CODECS,
            position_uncertainty_ms=POSITION_UNCERTAINTY_MS,
        )

    async def async_start(self, changed: Callable[[], None]) -> None:
        """Connect to the server's control port and follow its notifications."""
        self._changed = changed
        server = await async_reach_server(self.host, self.port)
        self._server, self._connected = server, True
        server.set_on_update_callback(self._on_change)
        server.set_on_connect_callback(self._on_connected)
        server.set_on_disconnect_callback(self._on_disconnected)
        self._group()  # it exists now, or this raises
        self._follow_objects()

    async def async_status(self) -> PlayerStatus:
        """Read the group's status from the library's mirror of the server (no request)."""
        now = self._clock()
        group = self._group()
        volume = group.volume if group.clients else -1
        if group.muted and not self._muted_by_us and volume > 0:
            volume = 0  # muted by another control client (Snapweb): heard as nothing
        feeding = self._feed
        feed = feeding.feed if feeding is not None else None
        ours = feeding is not None and group.stream == feeding.source.stream_id
        if not (ours and self._url):
            if self._url and feeding is not None:  # moved to another stream: ours stops
                self._url, self._held = "", None
                self._claims.release(self.group_id)
                self._tasks.async_spawn(feeding.async_stop(), "stop")
            return PlayerStatus(PlayerState.STOPPED, 0, now, POSITION_UNCERTAINTY_MS, volume=volume)
        if self._held is not None or feed is None:
            held = self._held or 0
            return PlayerStatus(PlayerState.PAUSED, held, now, POSITION_UNCERTAINTY_MS, self._url,
                                volume=volume)  # fmt: skip
        if feed.ended and now >= feed.heard_until_us(self._buffer_ms):
            return PlayerStatus(PlayerState.STOPPED, 0, now, POSITION_UNCERTAINTY_MS, volume=volume)
        # Not heard yet: anchored where it will be heard (a clock in the future).
        at = max(now, feed.heard_from_us(self._buffer_ms))
        return PlayerStatus(
            PlayerState.PLAYING, feed.position_at(at, self._buffer_ms), at,
            POSITION_UNCERTAINTY_MS, self._url, volume=volume,
        )  # fmt: skip

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
        """Make *url* the group's: its stream set to our source; fed from *position_ms*, or held.

        A Snapcast stream carries no metadata Baton could give it: *title*, *artist* unused."""
        await self._stop_feeding()
        self._url, self._held = "", None
        feed = await self._source_feed()
        if self._group().stream != feed.source.stream_id:
            stream = feed.source.stream_id
            setting = self._server_().group_stream(self.group_id, stream)
            await self._request("Group.SetStream", stream, setting)
            self._group().update({**self._group_data(), "stream_id": feed.source.stream_id})
        self._url, self._held = url, position_ms
        if play:
            return await self.async_resume()
        return await self.async_status()

    async def async_pause(self) -> PlayerStatus:
        """Stop feeding and mute the group: what its buffer holds is not heard."""
        feed = self._feed.feed if self._feed is not None else None
        if self._held is not None or feed is None:
            return await self.async_status()
        await self._mute(True)
        # Silent once the client applies the mute to its next block: the position then, and
        # that instant, are where and when it stopped.
        silent_at = self._muted_at_us + MUTE_LAG_MS * 1000
        self._held = feed.position_at(silent_at, self._buffer_ms)
        await self._stop_feeding()
        self._tasks.async_spawn(self._unmute_at(self._drained_us()), "unmute")
        return replace(await self.async_status(), as_of_us=silent_at)

    async def async_resume(self) -> PlayerStatus:
        """Feed from the held position (unmuted first, once the group's buffer is drained)."""
        if not self._url:
            raise PlayerError(m.ErrorCode.INVALID_ARGUMENT, "the group has nothing of ours")
        held, feed = self._held, await self._source_feed()
        if held is None:
            return await self.async_status()
        if self._muted_by_us:
            # The server sends nothing to a muted group (its `send_to_muted`), so it is
            # unmuted before the feed, once what it held when it was muted is heard.
            await _until(self._clock, self._drained_us())
            await self._mute(False)
        with self._span("feed", f"{feed.source.stream_id} from {held / 1000:.3f} s") as span:
            fed = await feed.async_start(self._url, held)
            if span is not None:
                heard_in = fed.heard_from_us(self._buffer_ms) - self._clock()
                span.set_attribute(a.BRIDGE_ANSWER, f"heard in {heard_in // 1000} ms")
        self._held = None
        return await self.async_status()

    async def async_seek(self, position_ms: int) -> PlayerStatus:
        """Feed from *position_ms* (a held item moves where it will start)."""
        if self._held is not None:
            self._held = position_ms
            return await self.async_status()
        await self.async_pause()
        self._held = position_ms
        return await self.async_resume()

    async def async_stop(self) -> PlayerStatus:
        """Stop feeding; the group is muted while the server's buffer drains."""
        playing = self._held is None and self._feed is not None and self._feed.feed is not None
        if playing:
            await self._mute(True)
        await self._stop_feeding()
        self._url, self._held = "", None
        self._claims.release(self.group_id)
        if self._muted_by_us:
            self._tasks.async_spawn(self._unmute_at(self._drained_us()), "unmute")
        return await self.async_status()

    async def async_set_volume(self, volume: int) -> PlayerStatus:
        """Set the group's clients' volumes (moved together, their balance kept); a group
        another control client muted is unmuted (a volume asked is to be heard)."""
        group = self._group()
        if not group.clients:
            raise PlayerError(m.ErrorCode.RESTRICTED, "the group has no client to turn")
        level = max(0, min(100, volume))
        await self._request("Group volume", str(level), group.set_volume(level))
        if group.muted and not self._muted_by_us and level > 0:
            unmuting = self._server_().group_mute(self.group_id, False)
            await self._request("Group.SetMute", "false", unmuting)
            group.update({**self._group_data(), "muted": False})
        return await self.async_status()

    async def async_set_next(self, url: str, *, title: str = "", content_type: str = "") -> None:
        """Not offered (`next_item` is False): the bridge feeds the next item after the end."""

    async def async_close(self) -> None:
        """Stop feeding, give the group back unmuted, disconnect (idempotent)."""
        await self._tasks.async_close(_CLOSE_TIMEOUT_S)
        feed, self._feed = self._feed, None
        if feed is not None:
            await feed.async_close()
        self._claims.release(self.group_id)
        server, self._server = self._server, None
        if server is not None:
            server.set_on_disconnect_callback(None)  # going away is ours now, not news
            if self._muted_by_us and self._connected:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(REQUEST_TIMEOUT_S):
                        await server.group_mute(self.group_id, False)
            server.stop()

    # -------------------------------------------------------------------------- internals

    async def _source_feed(self) -> SourceFeed:
        source = self._claims.claim(self.group_id, baton_sources(self._streams()))
        feed = self._feed
        if feed is None or feed.source != source:
            if feed is not None:
                await feed.async_close()
            late = lambda: self._told("fed late: re-dated, heard that much later")  # noqa: E731
            feed = self._feed = SourceFeed(source, self.host, self._clock, self._fed_to_end, late)
        await feed.async_connect()  # now: the server accepts it before the first feed comes
        return feed

    def _fed_to_end(self) -> None:
        """The media's last frame is fed: the device changes when it has been heard."""
        feed = self._feed.feed if self._feed is not None else None
        if feed is not None:
            self._tasks.async_spawn(self._changed_at(feed.heard_until_us(self._buffer_ms)), "end")

    async def _changed_at(self, at_us: int) -> None:
        await _until(self._clock, at_us)
        self._changed()

    async def _stop_feeding(self) -> None:
        for task in self._tasks.running():
            task.cancel()  # a pending unmute (a resume unmutes first), the end's read
        if self._feed is not None:
            await self._feed.async_stop()

    async def _mute(self, muted: bool) -> None:
        if self._muted_by_us == muted:
            return
        await self._request("Group.SetMute", str(muted).lower(),
                            self._server_().group_mute(self.group_id, muted))  # fmt: skip
        self._muted_by_us = muted
        self._muted_at_us = self._clock()
        self._group().update({**self._group_data(), "muted": muted})  # the mirror, quietly

    def _drained_us(self) -> int:
        """Return when the group may be unmuted: what it was sent before the mute has played,
        and the server has read (muted: sent nowhere) all that the last feed wrote."""
        read_until = self._feed.read_until_us if self._feed is not None else 0
        heard_until = self._muted_at_us + self._buffer_ms * 1000
        return max(heard_until, read_until) + DRAIN_SLACK_MS * 1000

    async def _unmute_at(self, at_us: int) -> None:
        await _until(self._clock, at_us)
        with contextlib.suppress(PlayerError):
            await self._mute(False)

    async def _request(self, method: str, sent: str, call: Coroutine[Any, Any, Any]) -> Any:
        """Run one request; raise PlayerError (refused) or DeviceUnreachableError (gone)."""
        if not self._connected:
            call.close()
            raise DeviceUnreachableError(m.ErrorCode.AUDIO_OUTPUT, self._gone())
        with self._span(method, sent) as span:
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    answer = await call
            except (OSError, TimeoutError) as exc:
                raise DeviceUnreachableError(m.ErrorCode.AUDIO_OUTPUT, self._gone()) from exc
            if isinstance(answer, dict) and "message" in answer and "code" in answer:
                if span is not None:
                    span.set_attribute(a.BRIDGE_ANSWER, f"error {answer['message']}"[:200])
                if answer["code"] in (None, -1):  # not connected, connection lost
                    raise DeviceUnreachableError(m.ErrorCode.AUDIO_OUTPUT, self._gone())
                refused = f"the Snapcast server refused {method}: {answer['message']}"
                raise PlayerError(m.ErrorCode.MEDIA_UNREACHABLE, refused)
            if span is not None:
                span.set_attribute(a.BRIDGE_ANSWER, "OK" if answer is None else str(answer)[:200])
            return answer

    @contextlib.contextmanager
    def _span(self, method: str, sent: str) -> Iterator[Any]:
        tracer = telemetry.tracer()
        if tracer is None:
            yield None
            return
        attributes = {a.BRIDGE_KIND: "snapcast", a.BRIDGE_SENT: f"{method} {sent}".strip()}
        with tracer.start_as_current_span(f"snapcast {method}", attributes=attributes) as span:
            yield span

    def _gone(self) -> str:
        return f"the Snapcast server at {self.host}:{self.port} is not reachable now"

    def _server_(self) -> Snapserver:
        if self._server is None or not self._connected:
            raise DeviceUnreachableError(m.ErrorCode.AUDIO_OUTPUT, self._gone())
        return self._server

    def _group(self) -> Any:
        try:
            return self._server_().group(self.group_id)
        except KeyError:
            raise DeviceUnreachableError(
                m.ErrorCode.AUDIO_OUTPUT,
                f"the Snapcast server at {self.host}:{self.port} has no group {self.group_id}",
            ) from None

    def _group_data(self) -> dict[str, Any]:
        with contextlib.suppress(DeviceUnreachableError):
            return dict(self._group()._group)  # the library keeps the server's JSON there
        return {}

    def _streams(self) -> list[dict[str, Any]]:
        return [s._stream for s in self._server_().streams]  # the server's JSON, as above

    def _follow_objects(self) -> None:
        """Have the group and its clients tell us of their changes (volume, mute, stream)."""
        server = self._server
        if server is None:
            return
        with contextlib.suppress(KeyError):
            group = server.group(self.group_id)
            group.set_callback(lambda _: self._told("the group changed"))
            for client_id in group.clients:
                with contextlib.suppress(KeyError):
                    client = server.client(client_id)
                    client.set_callback(lambda _: self._told("a client of the group changed"))

    def _told(self, what: str) -> None:
        """The server told of a change (its notification, mirrored by the library), or the
        feed did: an event, and the device reads the status again."""
        said = {a.BRIDGE_KIND: "snapcast", a.BRIDGE_ANSWER: what}
        telemetry.emit_event(a.EVENT_BRIDGE_CHANGED, said)
        self._changed()

    def _on_change(self) -> None:
        self._follow_objects()
        self._told("Server.OnUpdate")

    def _on_connected(self) -> None:
        self._connected = True
        self._follow_objects()
        self._changed()

    def _on_disconnected(self, exc: Exception | None) -> None:
        _LOG.warning("%s:%s: the Snapcast server went away (%s); reaching it again",
                     self.host, self.port, exc)  # fmt: skip
        self._connected = False
        self._changed()


async def _until(clock: Clock, at_us: int) -> None:
    """Wait until the clock reaches *at_us* (a scheduled instant: a buffer drained, heard)."""
    delay_s = (at_us - clock()) / 1e6
    if delay_s > 0:
        await asyncio.sleep(delay_s)
