"""An AirPlay (RAOP) speaker's stream read as Baton's: ids, addresses, what is heard when.
Pure: no I/O.

RAOP has no transport to ask: the sender streams PCM in real time and the receiver plays each
frame a fixed latency after the sender's clock says (pyatv announces 1.5 s; the receiver adds
its own output buffer). So the bridge knows the position from what it streamed and when: the
content at `offset_ms` is heard `START_MS` after the stream was asked for, and the speaker goes
on for `TAIL_MS` after the stream is stopped (what it had buffered). Both were measured against
Debian's shairport-sync 3.3.8 (pipe output, loopback) by tests/integration/bridges/
test_airplay.py; a speaker with a longer buffer is heard later, which the uncertainty covers
only in part (README, "Devices you already own").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from bridges.player import PlayerState, PlayerStatus

__all__ = [
    "DEFAULT_PORT",
    "POSITION_UNCERTAINTY_MS",
    "START_MS",
    "TAIL_MS",
    "Streamed",
    "airplay_device_id",
    "decoder_command",
    "fallback_title",
    "parse_address",
    "properties_of",
    "speaker_name",
]

DEFAULT_PORT = 5000  # RAOP's usual RTSP port (AirPort Express, shairport-sync)
# From pyatv streaming (its RTSP set-up done, its clock started) until the content at the
# offset is heard: pyatv's 1.5 s latency and the receiver's own buffer (measured 1.69-1.70 s
# with shairport-sync on loopback; its first 100 ms fade in). Asking for a stream adds ffmpeg
# opening the URL and the RTSP set-up (0.1-0.2 s; 0.7 s while the speaker plays out a stream
# stopped just before), which the bridge waits for and does not count.
START_MS = 1_695
# How long the speaker plays on after the stream stops: the receiver's output buffer, which
# a TEARDOWN does not flush (shairport-sync: 1.03 s, measured).
TAIL_MS = 1_030
# How far the position may be from what is heard. Against shairport-sync the clock was within
# -7..+0 ms of the recording (six runs, also at load 2.2: the set-up's time is not counted),
# but a start is heard 0.1 s late (its fade-in) and another speaker's buffer differs from
# shairport-sync's by what it does not say: 250 ms is a margin, not a measured spread.
POSITION_UNCERTAINTY_MS = 250


def parse_address(address: str) -> tuple[str, int]:
    """Return (host, port) of "HOST", "HOST:PORT" or "[V6]:PORT"; raise ValueError."""
    address = address.strip()
    host, port = address, DEFAULT_PORT
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), address)
    elif address.count(":") == 1:
        host, _, text = address.partition(":")
        port = _port(text, address)
    if not host:
        raise ValueError(f"no host in {address!r}")
    return host, port


def _port(text: str, address: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"not a port in {address!r}")
    return int(text)


def airplay_device_id(host: str, port: int, hardware_id: str = "") -> str:
    """Return the Baton id of a speaker: from the hardware id its RAOP name starts with
    ("AABBCCDDEEFF@Kitchen") when known, else from its host and port."""
    key = hardware_id.strip().upper() or f"{host.strip().lower()}:{port}"
    return "airplay-" + hashlib.sha256(f"airplay:{key}".encode()).hexdigest()[:24]


def speaker_name(raop_name: str) -> tuple[str, str]:
    """Return (hardware id, name) of an RAOP instance name "AABBCCDDEEFF@Kitchen"."""
    hardware, at, name = raop_name.partition("@")
    if not at:
        return "", raop_name
    return hardware, name


def fallback_title(url: str) -> str:
    """Return a title for an item that has none: its file's name, without the extension."""
    name = unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])
    return name.rpartition(".")[0] or name or "Baton"


def decoder_command(ffmpeg: str, url: str, offset_ms: int) -> list[str]:
    """Return the ffmpeg command decoding *url* from *offset_ms* to FLAC on stdout, the
    lossless stream pyatv reads from a pipe (it cannot read a streamed WAV's unknown size)."""
    return [
        ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
        "-ss", f"{max(0, offset_ms) / 1000:.3f}", "-i", url, "-vn",
        "-ac", "2", "-ar", "44100", "-sample_fmt", "s16",
        "-f", "flac", "-compression_level", "0", "pipe:1",
    ]  # fmt: skip


@dataclass(frozen=True)
class Streamed:
    """What the bridge streams: *url* from *offset_ms*, asked for at *begun_us* (playing), or
    stopped (paused, held) at *offset_ms*."""

    url: str
    offset_ms: int
    begun_us: int | None = None  # None: not streaming
    error: str = ""

    @property
    def playing(self) -> bool:
        """Return True while a stream runs."""
        return self.begun_us is not None

    def heard_at(self, start_ms: int) -> int:
        """Return the instant the offset is heard (µs; only while playing)."""
        assert self.begun_us is not None
        return self.begun_us + start_ms * 1000

    def position_at(self, at_us: int, start_ms: int) -> int:
        """Return the content heard at *at_us* (the offset until it is heard)."""
        if self.begun_us is None:
            return self.offset_ms
        return self.offset_ms + max(0, (at_us - self.heard_at(start_ms)) // 1000)

    def stopped(self, at_us: int, start_ms: int, tail_ms: int) -> Streamed:
        """Return it stopped at *at_us*: where the speaker goes quiet, after its tail."""
        if self.begun_us is None:
            return self
        heard = self.position_at(at_us, start_ms)
        began = at_us >= self.heard_at(start_ms)
        return Streamed(self.url, heard + (tail_ms if began else 0))

    def status(self, now_us: int, start_ms: int, volume: int) -> PlayerStatus:
        """Return the player status it amounts to at *now_us*."""
        if not self.url:
            return PlayerStatus(PlayerState.STOPPED, 0, now_us, POSITION_UNCERTAINTY_MS,
                                volume=volume, error=self.error)  # fmt: skip
        if self.begun_us is None:
            return PlayerStatus(PlayerState.PAUSED, self.offset_ms, now_us,
                                POSITION_UNCERTAINTY_MS, self.url, volume=volume)  # fmt: skip
        # Anchored where the offset is heard (in the future at first): extrapolated before it,
        # the session's clock reaches the offset at the instant it is heard.
        at = max(now_us, self.heard_at(start_ms))
        return PlayerStatus(PlayerState.PLAYING, self.position_at(at, start_ms), at,
                            POSITION_UNCERTAINTY_MS, self.url, volume=volume)  # fmt: skip


def properties_of(txt: Mapping[bytes, bytes | None]) -> dict[str, str]:
    """Return an mDNS TXT record as pyatv's service properties (text keys and values)."""
    out: dict[str, str] = {}
    for key, value in txt.items():
        out[key.decode(errors="replace").lower()] = (value or b"").decode(errors="replace")
    return out
