"""A Snapcast server's answers read as Baton's: addresses, ids, names, sources, the feed's
timeline. Pure: no I/O.

Snapcast (https://github.com/badaix/snapcast, doc/json_rpc_api) has groups of clients, each
group playing one stream; a stream reads PCM from a source. Baton plays into a group through a
`tcp` source in server mode that the server's snapserver.conf names (Debian's 0.26 has no
`Stream.AddStream`): the bridge connects to it and writes PCM at the pace of the clock. The
server stamps each chunk as it reads it and every client plays it `buffer` ms later (1000 by
default), less one chunk: the server dates the first chunk it reads after a pause one chunk
before it read it (its AsioStream), and the rest follow it. So what was fed at t is heard at
t + buffer - chunk_ms, give or take the client's output (measured:
tests/integration/bridges/test_snapcast.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from bridges.errors import PlayerError
from connect.wire import messages as m

__all__ = [
    "DEFAULT_BUFFER_MS",
    "DEFAULT_PORT",
    "POSITION_UNCERTAINTY_MS",
    "Feed",
    "SampleFormat",
    "Source",
    "SourceClaims",
    "baton_sources",
    "group_name",
    "parse_address",
    "snapcast_device_id",
]

DEFAULT_PORT = 1705  # snapserver's JSON-RPC over TCP
DEFAULT_BUFFER_MS = 1000  # snapserver's `buffer`: fed -> heard; the control API does not say it
# How far the position may be from what is heard: the server's chunk (20 ms), the client's
# output blocks (50 ms for the file player; an ALSA client corrects for its device's delay), a
# late write by a busy bridge. tests/integration/bridges/test_snapcast.py checks the recording.
POSITION_UNCERTAINTY_MS = 100
SOURCE_PREFIX = "baton"  # the sources the bridge feeds are named Baton, Baton 2, ... (any case)


def parse_address(text: str) -> tuple[str, int]:
    """Return (host, port) from "HOST", "HOST:PORT" or "[V6]:PORT"; raise ValueError."""
    text = text.strip()
    if not text:
        raise ValueError("a Snapcast server's address needs a host")
    if text.count(":") > 1 and not text.startswith("["):
        return text, DEFAULT_PORT  # a bare IPv6 address
    try:
        parts = urlsplit(f"//{text}")
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{text!r}: the port must be 1..65535") from exc
    if not parts.hostname:
        raise ValueError(f"{text!r}: no host")
    if port == 0:
        raise ValueError(f"{text!r}: the port must be 1..65535")
    return parts.hostname, port or DEFAULT_PORT


def snapcast_device_id(host: str, port: int, group_id: str) -> str:
    """Return the Baton id of one group of the server at *host*:*port* (as named: lower-cased).

    A group's id is the server's (a UUID kept in its server.json), stable while its clients
    stay together.
    """
    digest = hashlib.sha256(f"snapcast:{host.lower()}:{port}:{group_id}".encode()).hexdigest()
    return f"snapcast-{digest[:24]}"


def group_name(group: Mapping[str, Any]) -> str:
    """Return a group's name: its own, else its clients' names joined, as Snapweb shows it."""
    own = str(group.get("name") or "").strip()
    if own:
        return own
    names = sorted(_client_name(c) for c in group.get("clients", ()) if _client_name(c))
    return " + ".join(names) or "Snapcast group"


def _client_name(client: Mapping[str, Any]) -> str:
    config = client.get("config") or {}
    host = client.get("host") or {}
    return str(config.get("name") or host.get("name") or "").strip()


@dataclass(frozen=True)
class SampleFormat:
    """A stream's `sampleformat` ("48000:16:2"): what the bridge must write."""

    rate: int = 48_000
    bits: int = 16
    channels: int = 2

    @classmethod
    def parse(cls, text: str) -> SampleFormat:
        """Read "RATE:BITS:CHANNELS"; raise ValueError for one the bridge cannot write."""
        try:
            rate, bits, channels = (int(p) for p in text.split(":"))
        except ValueError as exc:
            raise ValueError(f"not a sample format: {text!r}") from exc
        if bits not in (16, 32) or not 0 < channels <= 8 or not 8_000 <= rate <= 192_000:
            raise ValueError(f"a sample format the bridge does not write: {text!r}")
        return cls(rate, bits, channels)

    @property
    def frame_bytes(self) -> int:
        """Return the bytes of one frame (a sample of every channel)."""
        return self.bits // 8 * self.channels

    @property
    def ffmpeg_format(self) -> str:
        """Return ffmpeg's raw format name for it."""
        return f"s{self.bits}le"


@dataclass(frozen=True)
class Source:
    """A source of the server the bridge can feed: a `tcp` source listening for it."""

    stream_id: str
    host: str  # where it listens ("" or a wildcard: the server's own address)
    port: int
    format: SampleFormat
    chunk_ms: int


def baton_sources(streams: Iterable[Mapping[str, Any]]) -> tuple[Source, ...]:
    """Return the server's sources Baton feeds: `tcp` sources in server mode named Baton...,
    by name (one per group that plays at a time)."""
    found = []
    for stream in streams:
        uri = stream.get("uri") or {}
        query = uri.get("query") or {}
        name = str(query.get("name") or stream.get("id") or "")
        if uri.get("scheme") != "tcp" or query.get("mode", "server") != "server":
            continue
        if not name.lower().startswith(SOURCE_PREFIX):
            continue
        host, _, port = str(uri.get("host") or "").rpartition(":")
        try:
            sample = SampleFormat.parse(str(query.get("sampleformat") or "48000:16:2"))
            chunk_ms = int(query.get("chunk_ms") or 20)
            where = int(port or 4953)  # snapserver's tcp source's own default port
        except ValueError:
            continue
        found.append(Source(str(stream.get("id")), _listening(host), where, sample, chunk_ms))
    return tuple(sorted(found, key=lambda s: s.stream_id.lower()))


class SourceClaims:
    """Which group of one server each Baton source feeds now (one group per source)."""

    def __init__(self) -> None:
        self._fed: dict[str, str] = {}  # stream id -> group id

    def claim(self, group_id: str, sources: tuple[Source, ...]) -> Source:
        """Return the source the group plays through (its own, else a free one)."""
        for source in sources:
            if self._fed.get(source.stream_id) == group_id:
                return source
        for source in sources:
            if source.stream_id not in self._fed:
                self._fed[source.stream_id] = group_id
                return source
        if not sources:
            raise PlayerError(
                m.ErrorCode.RESTRICTED,
                "the Snapcast server has no source for Baton: add "
                "`source = tcp://0.0.0.0:4953?name=Baton` to its snapserver.conf",
            )
        raise PlayerError(
            m.ErrorCode.RESTRICTED,
            "every Baton source of the Snapcast server plays to another group: add one "
            "(`source = tcp://0.0.0.0:4954?name=Baton 2`) to its snapserver.conf",
        )

    def release(self, group_id: str) -> None:
        """Free the group's source."""
        self._fed = {s: g for s, g in self._fed.items() if g != group_id}


def _listening(host: str) -> str:
    host = host.strip("[]")
    return "" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 (a wildcard read, not bound)


@dataclass(frozen=True)
class Feed:
    """What the bridge fed a source: content from `start_ms`, its first frame written at
    `fed_at_us`, `frames` written since at `rate` in the source's `chunk_ms`; `ended` once the
    media has no more. `previous`: the feed this one follows on when the server dated it afresh
    (`redated`), heard until this one is."""

    start_ms: int
    fed_at_us: int
    rate: int
    chunk_ms: int
    frames: int = 0
    ended: bool = False
    previous: Feed | None = None

    def heard_from_us(self, buffer_ms: int) -> int:
        """Return the instant the first frame fed is heard."""
        return self.fed_at_us + (buffer_ms - self.chunk_ms) * 1000

    def heard_until_us(self, buffer_ms: int) -> int:
        """Return the instant the last frame fed so far is heard to its end."""
        return self.heard_from_us(buffer_ms) + self.frames * 1_000_000 // self.rate

    def read_until_us(self) -> int:
        """Return when the server, reading a chunk every `chunk_ms` from `fed_at_us`, has read
        all that was fed so far."""
        return self.fed_at_us + self.frames * 1_000_000 // self.rate

    def late_at(self, at_us: int) -> bool:
        """Return True if what is fed at *at_us* comes more than a chunk after the server read
        the last: it has waited for it, and dates it afresh (its AsioStream's resync)."""
        return at_us > self.read_until_us() + self.chunk_ms * 1000

    def redated(self, at_us: int) -> Feed:
        """Return the feed as the server dates what is fed from *at_us* on: the content where
        this one got to, heard a buffer later, this one heard until then."""
        previous = replace(self, previous=None)  # heard out by the time the new one is
        return Feed(self.fed_ms(), at_us, self.rate, self.chunk_ms, previous=previous)

    def fed_ms(self) -> int:
        """Return the content position just after the last frame fed."""
        return self.start_ms + self.frames * 1000 // self.rate

    def position_at(self, at_us: int, buffer_ms: int) -> int:
        """Return the content heard at *at_us*: the start until it is heard (what the previous
        feed played, if any), the end after."""
        if self.previous is not None and at_us < self.heard_from_us(buffer_ms):
            return self.previous.position_at(at_us, buffer_ms)
        heard = (at_us - self.heard_from_us(buffer_ms)) // 1000
        return self.start_ms + max(0, min(heard, self.frames * 1000 // self.rate))
