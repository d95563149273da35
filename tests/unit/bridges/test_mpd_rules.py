"""MPD's answers read as Baton's (bridges/mpd/_status.py): addresses, ids, status, decoders."""

from __future__ import annotations

import pytest

from bridges.mpd._status import (
    DEFAULT_PORT,
    Loaded,
    codecs_from_decoders,
    mpd_device_id,
    parse_address,
    status_from,
)
from bridges.player import PlayerState
from connect.media_formats import CODECS

URL = "http://127.0.0.1:8000/media/k/a.wav"


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("localhost", ("localhost", DEFAULT_PORT)),
        ("kitchen.local:6601", ("kitchen.local", 6601)),
        ("[::1]:6602", ("::1", 6602)),
        ("[fe80::1]", ("fe80::1", DEFAULT_PORT)),
        ("fe80::1", ("fe80::1", DEFAULT_PORT)),
        (" 10.0.0.2 ", ("10.0.0.2", DEFAULT_PORT)),
    ],
)
def test_addresses_read_as_host_and_port(text: str, address: tuple[str, int]) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize("text", ["", ":6600", "host:0", "host:70000", "host:x", "[]:1"])
def test_bad_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_address(text)


def test_the_id_is_stable_per_address_and_never_a_fingerprint() -> None:
    one = mpd_device_id("Kitchen.local", 6600)
    assert one == mpd_device_id("kitchen.local", 6600)
    assert one != mpd_device_id("kitchen.local", 6601)
    assert one.startswith("mpd-")
    assert len(one) == 28  # a fingerprint is 64 hex digits, pinned in pin mode: this is not one


def test_our_song_playing_reads_with_its_position_and_length() -> None:
    raw = {"state": "play", "songid": "7", "elapsed": "12.345", "duration": "60.000",
           "volume": "40"}  # fmt: skip
    status = status_from(raw, Loaded("7", URL), 1_000_000, 100)
    assert (status.state, status.position_ms, status.as_of_us) == (
        PlayerState.PLAYING, 12_345, 1_000_000,
    )  # fmt: skip
    assert (status.url, status.duration_ms, status.volume, status.uncertainty_ms) == (
        URL, 60_000, 40, 100,
    )  # fmt: skip
    assert status.position_at(1_500_000) == 12_845


def test_a_held_song_is_paused_at_its_position_while_mpd_is_stopped() -> None:
    status = status_from({"state": "stop", "volume": "-1"}, Loaded("3", URL, 8_000), 5, 100)
    assert (status.state, status.position_ms, status.url, status.volume) == (
        PlayerState.PAUSED, 8_000, URL, -1,
    )  # fmt: skip
    assert status.position_at(10_000_000) == 8_000  # paused: no extrapolation


@pytest.mark.parametrize(
    "raw",
    [
        {"state": "stop"},  # ended: MPD stops after the last song
        {"state": "play", "songid": "99", "elapsed": "1.0"},  # another client's song
        {"state": "pause", "elapsed": "1.0"},  # no song at all
    ],
)
def test_a_song_that_is_not_ours_reads_as_stopped(raw: dict[str, str]) -> None:
    status = status_from(raw, Loaded("7", URL), 0, 100)
    assert (status.state, status.url, status.position_ms) == (PlayerState.STOPPED, "", 0)


def test_an_error_is_carried() -> None:
    status = status_from({"state": "stop", "error": "Failed to open"}, Loaded("7", URL), 0, 100)
    assert status.error == "Failed to open"


def test_codecs_come_from_the_decoders_suffixes() -> None:
    decoders = [
        {"plugin": "mad", "suffix": "mp3", "mime_type": "audio/mpeg"},
        {"plugin": "sndfile", "suffix": ["wav", "aiff"]},
        {"plugin": "vorbis", "suffix": ["ogg", "oga"]},
    ]
    assert codecs_from_decoders(decoders) == ("wav", "mp3", "vorbis")
    assert codecs_from_decoders([*decoders, {"plugin": "ffmpeg", "suffix": ["m4a"]}]) == CODECS
    assert codecs_from_decoders([]) == ()
