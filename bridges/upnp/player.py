"""A UPnP/DLNA MediaRenderer as a bridged player: async-upnp-client's DmrDevice.

AVTransport and RenderingControl with GENA events: the renderer tells the bridge (through a
notify server on the address facing it) when its transport state, track or volume changes,
and the listener wakes the device, which reads the status once. The position is read with
GetPositionInfo when a status is read (AVTransport never events it), in whole seconds on many
renderers: known to ±1 s. Like MPD, a paused load is held (the URI set, not played) and
started at its position on resume. Each action is a span "upnp <action>" with what was sent
and answered (a media URL is never written there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from async_upnp_client.aiohttp import AiohttpNotifyServer, AiohttpRequester
from async_upnp_client.client import UpnpService, UpnpStateVariable
from async_upnp_client.client_factory import UpnpFactory
from async_upnp_client.exceptions import UpnpError
from async_upnp_client.profiles.dlna import DmrDevice

from bridges.errors import DeviceUnreachableError, PlayerError
from bridges.player import PlayerDescription, PlayerState, PlayerStatus
from bridges.upnp._status import (
    POSITION_UNCERTAINTY_MS,
    Anchor,
    codecs_from_protocol_info,
    device_type_of,
    didl_for,
    player_state_of,
    position_of,
    refined_position,
    rel_time,
    upnp_device_id,
)
from connect import telemetry
from connect.cli_common import baton_version
from connect.clock import Clock, monotonic_us
from connect.media_formats import format_of
from connect.wire import messages as m
from tracing import attributes as a

__all__ = ["UpnpPlayer"]

_LOG = logging.getLogger(__name__)
REQUEST_TIMEOUT_S = 5
PREROLL_TIMEOUT_US = 3_000_000  # how long a started track may take to open before seeking
PREROLL_STEP_S = 0.02
# Measured on gmediarender's recording (tests/upnp_peer.py; bench/README, bridges), from the
# request's sending (its answer may reach a busy bridge late; the renderer acts on receipt): a
# Seek, a Pause or a Play is heard 25-47 ms later (a seek flushes: a new HTTP range, decoded
# anew), a SetMute 76-109 ms later (the buffers already past GStreamer's volume element). The
# anchors are dated so; another renderer's lags differ: its position stays known to ±1 s.
OUTPUT_LAG_US = 35_000
UNMUTE_LAG_US = 100_000
_T = TypeVar("_T")
# Variables whose change is worth a status read (the position is never evented).
_WAKING = frozenset({"TransportState", "CurrentTrackURI", "AVTransportURI", "Volume", "Mute"})


class UpnpPlayer:
    """The MediaRenderer described at *location*, as a `bridges.player.BridgedPlayer`."""

    def __init__(self, location: str, *, name: str = "", clock: Clock = monotonic_us) -> None:
        self.location = location
        self._name = name
        self._clock = clock
        self._requester = AiohttpRequester(timeout=REQUEST_TIMEOUT_S)
        self._notify: AiohttpNotifyServer | None = None
        self._dmr: DmrDevice | None = None
        self._sink: tuple[str, ...] = ()
        self._url = ""  # the URI we set ("" none)
        self._next = ""  # the URI we set to follow it (SetNextAVTransportURI; "" none)
        self._held: int | None = None  # set while our URI waits, unplayed, for its start
        self._anchor: Anchor | None = None  # where we put it last (_status.refined_position)

    @property
    def udn(self) -> str:
        """Return the renderer's UDN (valid once started)."""
        return self._require().device.udn

    def describe(self) -> PlayerDescription:
        """Return what this renderer is, as its description says."""
        dmr = self._require()
        device = dmr.device
        return PlayerDescription(
            kind="upnp",
            device_id=upnp_device_id(device.udn),
            name=self._name or device.friendly_name,
            type=device_type_of(self._sink),
            model=device.model_name,
            manufacturer=device.manufacturer,
            software_version=f"{device.model_number or device.model_name} "
            f"via baton-bridge {baton_version()}",
            audio_codecs=codecs_from_protocol_info(self._sink),
            position_uncertainty_ms=POSITION_UNCERTAINTY_MS,
            volume_settable=dmr.has_volume_level,
            seek=dmr.has_seek_rel_time,
            next_item=dmr.has_next_transport_uri,
        )

    async def async_start(self, changed: Callable[[], None]) -> None:
        """Read the renderer's description, subscribe to its events, learn what it plays."""
        try:
            device = await UpnpFactory(self._requester).async_create_device(self.location)
        except (UpnpError, OSError, TimeoutError) as exc:
            raise DeviceUnreachableError(
                m.ErrorCode.AUDIO_OUTPUT, f"cannot reach the renderer at {self.location}: {exc}"
            ) from exc
        source = _address_facing(urlsplit(self.location).hostname or "127.0.0.1")
        self._notify = AiohttpNotifyServer(self._requester, source=(source, 0))
        await self._notify.async_start_server()
        dmr = self._dmr = DmrDevice(device, self._notify.event_handler)

        def on_event(service: UpnpService, variables: Sequence[UpnpStateVariable[Any]]) -> None:
            names = {v.name for v in variables} & _WAKING
            if names:
                telemetry.emit_event(
                    a.EVENT_BRIDGE_CHANGED,
                    {a.BRIDGE_KIND: "upnp", a.BRIDGE_ANSWER: " ".join(sorted(names))},
                )
                changed()

        dmr.on_event = on_event
        await self._call("Subscribe", "", dmr.async_subscribe_services(auto_resubscribe=True))
        info = await self._call("GetProtocolInfo", "", dmr.async_get_protocol_info())
        self._sink = tuple(info.get("sink", ()))
        await self._call("Update", "", dmr.async_update())

    async def async_status(self) -> PlayerStatus:
        """Poll the transport and position; the instant is the middle of the round trip."""
        dmr = self._require()
        before = self._clock()
        # GetTransportInfo too, though TransportState is evented: its event can come after the
        # answer to our own Play, and a status read between them would say STOPPED.
        await self._call("GetPositionInfo", "", dmr.async_update(do_ping=True), trace=False)
        as_of = (before + self._clock()) // 2
        state = player_state_of(dmr.transport_state.value if dmr.transport_state else "")
        volume = -1
        if dmr.has_volume_level and dmr.volume_level is not None:
            volume = round(dmr.volume_level * 100)
        if self._next and dmr.current_track_uri == self._next:
            # It went on to the next item by itself: that is ours now, from its start.
            self._url, self._next = self._next, ""
            self._anchor = None
        ours = bool(self._url) and (dmr.current_track_uri or self._url) == self._url
        if self._held is not None and state is PlayerState.STOPPED:
            return PlayerStatus(PlayerState.PAUSED, self._held, as_of, POSITION_UNCERTAINTY_MS,
                                self._url, volume=volume)  # fmt: skip
        if not ours or state is PlayerState.STOPPED:
            return PlayerStatus(PlayerState.STOPPED, 0, as_of, POSITION_UNCERTAINTY_MS,
                                volume=volume)  # fmt: skip
        reported = (dmr.media_position or 0) * 1000
        position, self._anchor = refined_position(
            reported, state is PlayerState.PLAYING, as_of, self._anchor
        )
        return PlayerStatus(
            state,
            position,
            as_of,
            POSITION_UNCERTAINTY_MS,
            self._url,
            duration_ms=(dmr.media_duration or 0) * 1000,
            volume=volume,
        )

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
        """Set *url* as the renderer's URI; play it from *position_ms*, or hold it there."""
        dmr = self._require()
        kind = content_type or _content_type(url)
        self._url, self._held, self._anchor, self._next = "", None, None, ""
        setting = dmr.async_set_transport_uri(url, title, didl_for(url, title, kind))
        await self._call("SetAVTransportURI", "<url>", setting)
        self._url = url
        if play:
            await self._start(position_ms)
        else:
            self._held = position_ms
        return await self.async_status()

    async def async_pause(self) -> PlayerStatus:
        """Pause (a held URI stays held)."""
        if self._held is None:
            sent = self._clock()
            await self._call("Pause", "", self._require().async_pause())
            self._re_anchor(sent, playing=False)
        return await self.async_status()

    async def async_resume(self) -> PlayerStatus:
        """Play on: a held URI starts at its position, a paused one resumes."""
        if not self._url:
            raise PlayerError(m.ErrorCode.INVALID_ARGUMENT, "the renderer has nothing of ours")
        held, self._held = self._held, None
        if held is not None:
            await self._start(held)
        else:
            sent = self._clock()
            await self._call("Play", "", self._require().async_play())
            self._re_anchor(sent, playing=True)
        return await self.async_status()

    async def async_seek(self, position_ms: int) -> PlayerStatus:
        """Move within our URI (a held one moves where it will start)."""
        if self._held is not None:
            self._held = position_ms
        else:
            await self._seek(position_ms)
        return await self.async_status()

    async def async_stop(self) -> PlayerStatus:
        """Stop the renderer."""
        self._url, self._held, self._anchor, self._next = "", None, None, ""
        await self._call("Stop", "", self._require().async_stop())
        return await self.async_status()

    async def async_set_volume(self, volume: int) -> PlayerStatus:
        """Set RenderingControl's volume."""
        level = max(0, min(100, volume)) / 100
        await self._call("SetVolume", str(volume), self._require().async_set_volume_level(level))
        return await self.async_status()

    async def async_set_next(self, url: str, *, title: str = "", content_type: str = "") -> None:
        """SetNextAVTransportURI: the renderer goes on to *url* when ours ends ("" clears it)."""
        dmr = self._require()
        kind = content_type or _content_type(url) if url else ""
        meta = didl_for(url, title, kind) if url else ""
        await self._call("SetNextAVTransportURI", "<url>" if url else "",
                         dmr.async_set_next_transport_uri(url, title, meta))  # fmt: skip
        self._next = url

    async def async_close(self) -> None:
        """Unsubscribe and stop the notify server (idempotent)."""
        dmr, self._dmr = self._dmr, None
        if dmr is not None:
            with contextlib.suppress(UpnpError, OSError, TimeoutError):
                await dmr.async_unsubscribe_services()
        notify, self._notify = self._notify, None
        if notify is not None:
            await notify.async_stop_server()

    # -------------------------------------------------------------------------- the wire

    async def _start(self, position_ms: int) -> None:
        """Play from *position_ms*, first heard there. A renderer starts a track at its beginning
        and seeks whole seconds (gmediarender), so the track plays muted, is sought to the second
        at or before the position, and stays muted until that position plays: the listener hears
        the music go on where it was asked (after a gap longer by the fraction of a second), not
        up to a second of it again. Returns once the position is heard, its status saying so."""
        dmr = self._require()
        await self._call("WaitForCanPlay", "", dmr.async_wait_for_can_play())
        second = max(0, position_ms) // 1000 * 1000
        muting = second > 0 and dmr.has_volume_mute and not dmr.is_volume_muted
        if muting:
            await self._call("SetMute", "1", dmr.async_mute_volume(True))
        sought = False
        try:
            sent = self._clock()
            await self._call("Play", "", dmr.async_play())
            # From its start, heard once it has opened the track: 9-60 ms after the Play is sent.
            self._anchor = Anchor(0, sent + OUTPUT_LAG_US, True)
            if second > 0:
                await self._seek_taken(second)
                sought = True
        finally:
            anchor = self._anchor
            heard_at = 0  # a failed start is unmuted at once
            if sought and anchor is not None:
                heard_at = anchor.at_us + (position_ms - anchor.position_ms) * 1000
            if muting:
                await _until(self._clock, heard_at - UNMUTE_LAG_US)
                await self._call("SetMute", "0", dmr.async_mute_volume(False))
                await _until(self._clock, heard_at)  # the status read next is of the heard sound

    async def _seek_taken(self, second_ms: int) -> None:
        """Seek to *second_ms* until the renderer reads there: a seek before it has opened the
        track is dropped (gmediarender's pipeline cannot seek yet), and its evented duration
        says nothing then (it keeps the last track's after a Stop)."""
        action = self._av_transport().action("GetPositionInfo")
        deadline = self._clock() + PREROLL_TIMEOUT_US
        while True:
            await self._seek(second_ms)
            read = await self._call("GetPositionInfo", "", action.async_call(InstanceID=0))
            reported = position_of(str(read.get("RelTime", "")))
            if reported is None or reported >= second_ms or self._clock() >= deadline:
                return
            await asyncio.sleep(PREROLL_STEP_S)  # the position is never evented: read it again

    async def _seek(self, position_ms: int) -> None:
        """Seek REL_TIME to the whole second at or before *position_ms*: renderers that read
        whole seconds only (gmediarender) land exactly there too; the anchor is dated when that
        second is heard, OUTPUT_LAG_US after the Seek is sent (the renderer fetches it anew)."""
        action = self._av_transport().action("Seek")
        second = max(0, position_ms) // 1000 * 1000
        target = rel_time(second)
        sent = self._clock()
        await self._call(
            "Seek", f"REL_TIME {target}",
            action.async_call(InstanceID=0, Unit="REL_TIME", Target=target),
        )  # fmt: skip
        playing = self._anchor.playing if self._anchor is not None else True
        self._anchor = Anchor(second, sent + (OUTPUT_LAG_US if playing else 0), playing)

    def _av_transport(self) -> UpnpService:
        return self._require().device.service("urn:schemas-upnp-org:service:AVTransport:1")

    def _re_anchor(self, sent_us: int, *, playing: bool) -> None:
        """Keep the anchor's position across a pause or a resume sent at *sent_us*, heard
        OUTPUT_LAG_US later (the renderer plays on, or stays silent, that long)."""
        heard = sent_us + OUTPUT_LAG_US
        if self._anchor is not None:
            self._anchor = Anchor(
                self._anchor.position_at(heard), heard, playing, self._anchor.ours
            )

    async def _call(self, action: str, sent: str, call: Awaitable[_T], *, trace: bool = True) -> _T:
        """Run one UPnP action; raise PlayerError (refused) or DeviceUnreachableError (gone)."""
        with self._span(action, sent, trace) as span:
            try:
                answer = await call
            except UpnpError as exc:
                if span is not None:
                    span.set_attribute(a.BRIDGE_ANSWER, f"error {exc}"[:200])
                raise PlayerError(m.ErrorCode.MEDIA_UNREACHABLE,
                                  f"the renderer refused {action}: {exc}") from exc  # fmt: skip
            except (OSError, TimeoutError) as exc:
                raise DeviceUnreachableError(
                    m.ErrorCode.AUDIO_OUTPUT, f"lost the renderer ({action}): {exc or 'no answer'}"
                ) from exc
            if span is not None:
                span.set_attribute(a.BRIDGE_ANSWER, "OK" if answer is None else "answered")
            return answer

    @contextlib.contextmanager
    def _span(self, action: str, sent: str, trace: bool) -> Iterator[Any]:
        tracer = telemetry.tracer() if trace else None
        if tracer is None:
            yield None
            return
        attributes = {a.BRIDGE_KIND: "upnp", a.BRIDGE_SENT: f"{action} {sent}".strip()}
        with tracer.start_as_current_span(f"upnp {action}", attributes=attributes) as span:
            yield span

    def _require(self) -> DmrDevice:
        if self._dmr is None:
            raise DeviceUnreachableError(m.ErrorCode.AUDIO_OUTPUT, "the renderer is not started")
        return self._dmr


async def _until(clock: Clock, at_us: int) -> None:
    """Wait until the clock reaches *at_us* (a scheduled instant, not a state)."""
    delay_s = (at_us - clock()) / 1e6
    if delay_s > 0:
        await asyncio.sleep(delay_s)


def _content_type(url: str) -> str:
    media = format_of(url)
    return media.content_type if media is not None else ""


def _address_facing(host: str) -> str:
    """Return this host's address on the route to *host* (where the renderer sends events)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((host, 9))  # a datagram socket only picks its route: nothing is sent
        return str(s.getsockname()[0])
