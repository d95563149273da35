"""A UPnP MediaRenderer's answers read as Baton's: ids, transport states, codecs, metadata.
Pure: no I/O.

AVTransport reports `TransportState` (evented), `RelativeTimePosition` ("H:MM:SS", polled: it is
never evented) and the track's duration; RenderingControl the volume. Many renderers, Debian's
gmediarender among them, give the position in whole seconds, so it is known to ±1 s.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from didl_lite import didl_lite

from bridges.player import PlayerState
from connect.media_formats import CODECS, format_of
from connect.wire import messages as m

__all__ = [
    "ANCHOR_SLACK_MS",
    "FRESH_US",
    "POSITION_UNCERTAINTY_MS",
    "Anchor",
    "codecs_from_protocol_info",
    "device_type_of",
    "didl_for",
    "player_state_of",
    "position_of",
    "refined_position",
    "rel_time",
    "upnp_device_id",
]

POSITION_UNCERTAINTY_MS = 1_000

_STATES = {
    "PLAYING": PlayerState.PLAYING,
    "TRANSITIONING": PlayerState.PLAYING,  # loading what it was told to play
    "PAUSED_PLAYBACK": PlayerState.PAUSED,
}


def upnp_device_id(udn: str) -> str:
    """Return the Baton id of the renderer with this UDN (`uuid:...`): stable, not a
    fingerprint's shape."""
    digest = hashlib.sha256(f"upnp:{udn.strip().lower()}".encode()).hexdigest()
    return f"upnp-{digest[:24]}"


def player_state_of(transport_state: str) -> PlayerState:
    """Return the player state of an AVTransport `TransportState` (anything else: stopped)."""
    return _STATES.get(transport_state, PlayerState.STOPPED)


def codecs_from_protocol_info(sink: Iterable[str]) -> tuple[str, ...]:
    """Return the codecs a renderer's `SinkProtocolInfo` entries cover (`audio/*`: all)."""
    found: set[str] = set()
    for entry in sink:
        parts = entry.split(":")
        if len(parts) < 3 or parts[0] != "http-get":
            continue
        mime = parts[2].strip().lower()
        if mime in ("audio/*", "*"):
            return CODECS
        media = format_of("", mime) if mime.startswith(("audio/", "application/ogg")) else None
        if media is not None and media.content_type:
            found |= media.codecs
    return tuple(c for c in CODECS if c in found)


def device_type_of(sink: Iterable[str]) -> m.DeviceType:
    """A renderer that takes video is a TV; one that takes only audio, a speaker."""
    takes_video = any(e.split(":")[2:3] and e.split(":")[2].startswith("video/") for e in sink)
    return m.DeviceType.TV if takes_video else m.DeviceType.SPEAKER


def rel_time(position_ms: int) -> str:
    """Return a position as AVTransport's REL_TIME, "H:MM:SS.mmm"."""
    position_ms = max(0, position_ms)
    seconds, ms = divmod(position_ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{ms:03d}"


def position_of(rel: str) -> int | None:
    """Return AVTransport's "H:MM:SS[.fff]" (RelTime) in ms; None if it is no time
    ("NOT_IMPLEMENTED")."""
    parts = rel.strip().split(":")
    try:
        hours, minutes, seconds = int(parts[0]), int(parts[1]), float(parts[2])
    except (IndexError, ValueError):
        return None
    return round(((hours * 60 + minutes) * 60 + seconds) * 1000)


def didl_for(url: str, title: str, content_type: str) -> str:
    """Return the DIDL-Lite of one music track (what SetAVTransportURI's metadata carries)."""
    resource = didl_lite.Resource(uri=url, protocol_info=f"http-get:*:{content_type or '*'}:*")
    track = didl_lite.MusicTrack(
        id="0", parent_id="-1", title=title or "Baton", restricted="1", resources=[resource]
    )
    return str(didl_lite.to_xml_string(track).decode())


@dataclass(frozen=True)
class Anchor:
    """Where the renderer is known to be: a position at an instant, playing or not. `ours`: set
    where the bridge itself started, sought, paused or resumed it (at a whole second or where
    it paused, dated when the renderer is heard); else taken from a report (the middle of the
    reported second)."""

    position_ms: int
    at_us: int
    playing: bool
    ours: bool = True

    def position_at(self, at_us: int) -> int:
        """Return the position at *at_us*, extrapolated while playing; an anchor dated ahead
        (a renderer heard a few ms after its answer) holds its position until then."""
        return self.position_ms + (max(0, at_us - self.at_us) // 1000 if self.playing else 0)


ANCHOR_SLACK_MS = 150  # how far past its whole-second bounds an anchor may run (start latency)
# For this long after the bridge moved the renderer, a report that disagrees is the renderer
# not there yet (a position read just after a seek can still be the old one), not a move.
FRESH_US = 1_500_000


def refined_position(
    reported_ms: int, playing: bool, as_of_us: int, anchor: Anchor | None
) -> tuple[int, Anchor]:
    """Return the position at *as_of_us* and the anchor to keep.

    A renderer that reports whole seconds (gmediarender) says only that it is somewhere in
    [reported, reported + 1 s). The anchor, extrapolated, says where in that second, as long as
    it stays inside it (give or take ANCHOR_SLACK_MS) and the renderer plays as the anchor says,
    or the bridge set it moments ago (FRESH_US); otherwise the renderer moved on its own
    (another control point sought or paused it) and its report is all there is: a new anchor in
    the middle of the reported second, known to ±0.5 s.
    """
    if anchor is not None and anchor.playing == playing:
        expected = anchor.position_at(as_of_us)
        fresh = anchor.ours and as_of_us - anchor.at_us < FRESH_US
        inside = reported_ms - ANCHOR_SLACK_MS <= expected < reported_ms + 1_000 + ANCHOR_SLACK_MS
        if fresh or inside:
            return expected, anchor
    middle = reported_ms + 500
    return middle, Anchor(middle, as_of_us, playing, ours=False)
