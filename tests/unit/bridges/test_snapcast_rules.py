"""A Snapcast server's answers read as Baton's (bridges/snapcast/_status.py): addresses, ids,
names, the sources Baton feeds and which group feeds which, the feed's timeline."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bridges.errors import PlayerError
from bridges.snapcast._status import (
    DEFAULT_PORT,
    Feed,
    SampleFormat,
    Source,
    SourceClaims,
    baton_sources,
    group_name,
    parse_address,
    snapcast_device_id,
)
from connect.wire import messages as m


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("localhost", ("localhost", DEFAULT_PORT)),
        ("pi.local:1805", ("pi.local", 1805)),
        ("[::1]:1706", ("::1", 1706)),
        ("[fe80::1]", ("fe80::1", DEFAULT_PORT)),
        ("fe80::1", ("fe80::1", DEFAULT_PORT)),
        (" 10.0.0.2 ", ("10.0.0.2", DEFAULT_PORT)),
    ],
)
def test_addresses_read_as_host_and_port(text: str, address: tuple[str, int]) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize("text", ["", ":1705", "host:0", "host:70000", "host:x", "[]:1"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_address(text)


def test_a_group_id_is_stable_and_its_own() -> None:
    one = snapcast_device_id("Pi.local", 1705, "9a16-g1")
    assert one == snapcast_device_id("pi.local", 1705, "9a16-g1")
    assert one.startswith("snapcast-")
    assert len({one, snapcast_device_id("pi.local", 1705, "g2"),
                snapcast_device_id("pi.local", 1706, "9a16-g1")}) == 3  # fmt: skip


def _client(name: str = "", host: str = "pi") -> dict[str, Any]:
    return {"config": {"name": name}, "host": {"name": host}}


def test_a_group_is_named_by_itself_else_by_its_clients() -> None:
    assert group_name({"name": "Garden", "clients": [_client("x")]}) == "Garden"
    clients = [_client("Kitchen"), _client("", host="bathroom-pi")]
    assert group_name({"name": "", "clients": clients}) == "Kitchen + bathroom-pi"
    assert group_name({"name": "", "clients": []}) == "Snapcast group"


def _stream(name: str, uri: str = "tcp", **query: str) -> dict[str, Any]:
    return {
        "id": name,
        "uri": {"scheme": uri, "host": query.pop("host", "0.0.0.0:4953"),
                "query": {"name": name, **query}},
    }  # fmt: skip


def test_baton_sources_are_the_tcp_servers_named_baton() -> None:
    streams = [
        _stream("default", "pipe"),
        _stream("Baton 2", host="127.0.0.1:4954", sampleformat="44100:16:1", chunk_ms="26"),
        _stream("baton", mode="server"),
        _stream("Baton client", mode="client"),
        _stream("Spotify", "librespot"),
        _stream("Baton odd", sampleformat="48000:24:2"),  # not a format the bridge writes
    ]
    found = baton_sources(streams)
    assert found == (
        Source("baton", "", 4953, SampleFormat(48_000, 16, 2), 20),
        Source("Baton 2", "127.0.0.1", 4954, SampleFormat(44_100, 16, 1), 26),
    )
    assert found[0].format.frame_bytes == 4
    assert found[0].format.ffmpeg_format == "s16le"


@pytest.mark.parametrize("text", ["48000:16", "x:16:2", "48000:24:2", "1000:16:2", "48000:16:0"])
def test_odd_sample_formats_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        SampleFormat.parse(text)


def test_each_source_feeds_one_group_at_a_time() -> None:
    sources = baton_sources([_stream("Baton"), _stream("Baton 2", host="0.0.0.0:4954")])
    claims = SourceClaims()
    assert claims.claim("g1", sources).stream_id == "Baton"
    assert claims.claim("g1", sources).stream_id == "Baton"  # its own again
    assert claims.claim("g2", sources).stream_id == "Baton 2"
    with pytest.raises(PlayerError, match="another group") as refused:
        claims.claim("g3", sources)
    assert refused.value.code is m.ErrorCode.RESTRICTED
    claims.release("g1")
    assert claims.claim("g3", sources).stream_id == "Baton"
    with pytest.raises(PlayerError, match="no source for Baton"):
        SourceClaims().claim("g1", ())


def test_what_is_fed_is_heard_a_buffer_later() -> None:
    feed = Feed(start_ms=5_000, fed_at_us=10_000_000, rate=44_100, chunk_ms=20, frames=44_100)
    heard_from = 10_000_000 + 980_000  # the buffer less the chunk the server dates it back
    assert feed.heard_from_us(1_000) == heard_from
    assert feed.heard_until_us(1_000) == heard_from + 1_000_000
    assert feed.fed_ms() == 6_000
    assert feed.position_at(10_000_000, 1_000) == 5_000  # not heard yet: its start
    assert feed.position_at(heard_from + 400_000, 1_000) == 5_400
    assert feed.position_at(heard_from + 3_000_000, 1_000) == 6_000  # no further than fed


def test_a_feed_that_comes_late_is_dated_afresh_and_heard_that_much_later() -> None:
    feed = Feed(start_ms=5_000, fed_at_us=10_000_000, rate=44_100, chunk_ms=20, frames=44_100)
    assert feed.read_until_us() == 11_000_000  # read a chunk every 20 ms from when it came
    assert not feed.late_at(11_020_000)  # within a chunk: the server reads it on its timeline
    assert feed.late_at(11_021_000)  # it waited longer: it dates the next afresh
    later = feed.redated(11_300_000)
    assert (later.start_ms, later.fed_at_us, later.frames) == (6_000, 11_300_000, 0)
    assert later.heard_from_us(1_000) == 11_300_000 + 980_000
    # Until then the first feed is heard, to its end; then the content goes on from there.
    assert later.position_at(10_980_000 + 500_000, 1_000) == 5_500
    assert later.position_at(11_980_000 + 100_000, 1_000) == 6_000  # a gap: its end held
    assert replace(later, frames=4_410).position_at(12_280_000 + 50_000, 1_000) == 6_050
    assert later.redated(12_000_000).previous == replace(later, previous=None)  # one back
