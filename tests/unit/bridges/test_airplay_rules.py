"""An AirPlay speaker's stream read as Baton's (bridges/airplay/_status.py): addresses, ids,
names, the decoder's command, and the position computed from what was streamed and when."""

from __future__ import annotations

import pytest

from bridges.airplay._raop import _without_fmtp
from bridges.airplay._status import (
    DEFAULT_PORT,
    POSITION_UNCERTAINTY_MS,
    Streamed,
    airplay_device_id,
    decoder_command,
    fallback_title,
    parse_address,
    properties_of,
    speaker_name,
)
from bridges.player import PlayerState

URL = "http://127.0.0.1:8000/media/k/a.wav"
START = 1_700
S = 1_000_000


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("patio.local", ("patio.local", DEFAULT_PORT)),
        ("patio.local:7000", ("patio.local", 7000)),
        ("[::1]:5001", ("::1", 5001)),
        ("[fe80::1]", ("fe80::1", DEFAULT_PORT)),
        (" 10.0.0.2 ", ("10.0.0.2", DEFAULT_PORT)),
    ],
)
def test_addresses_are_read_with_rtsps_usual_port(text: str, address: tuple[str, int]) -> None:
    assert parse_address(text) == address


@pytest.mark.parametrize("text", ["", ":5000", "host:http", "host:0", "host:70000", "[::1]:x"])
def test_a_bad_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"host|port"):
        parse_address(text)


def test_the_id_comes_from_the_hardware_id_where_known_else_host_and_port() -> None:
    by_hardware = airplay_device_id("10.0.0.2", 5000, "aabbccddeeff")
    assert by_hardware == airplay_device_id("10.0.0.9", 7000, "AABBCCDDEEFF")  # moved: same
    assert by_hardware.startswith("airplay-")
    assert airplay_device_id("Patio.local", 5000) == airplay_device_id("patio.local", 5000)
    assert airplay_device_id("patio.local", 5000) != airplay_device_id("patio.local", 5001)


def test_an_raop_name_holds_the_hardware_id_and_the_name() -> None:
    assert speaker_name("AABBCCDDEEFF@Patio Speaker") == ("AABBCCDDEEFF", "Patio Speaker")
    assert speaker_name("Patio") == ("", "Patio")


def test_txt_records_become_text_properties() -> None:
    assert properties_of({b"et": b"0,1", b"MD": b"0,1,2", b"pw": None}) == {
        "et": "0,1", "md": "0,1,2", "pw": "",
    }  # fmt: skip


def test_the_decoder_starts_at_the_offset_and_writes_lossless_stereo() -> None:
    command = decoder_command("ffmpeg", URL, 9_250)
    assert command[command.index("-ss") + 1] == "9.250"
    assert command[command.index("-i") + 1] == URL
    assert command[command.index("-f") + 1] == "flac"
    assert command[-1] == "pipe:1"
    assert decoder_command("ffmpeg", URL, -5)[command.index("-ss") + 1] == "0.000"


def test_the_announce_keeps_l16_and_drops_the_alac_fmtp_line() -> None:
    payload = "v=0\r\nm=audio 0 RTP/AVP 96\r\na=rtpmap:96 L16/44100/2\r\na=fmtp:96 352 0 16\r\n"
    assert _without_fmtp(payload) == "v=0\r\nm=audio 0 RTP/AVP 96\r\na=rtpmap:96 L16/44100/2\r\n"


def test_the_offset_is_heard_start_ms_after_the_stream_began() -> None:
    streamed = Streamed(URL, 5_000, begun_us=10 * S)
    assert streamed.position_at(10 * S, START) == 5_000  # not heard yet: the offset
    assert streamed.position_at(10 * S + START * 1000 + 2 * S, START) == 7_000
    status = streamed.status(10 * S, START, 80)
    # Anchored where it is heard: the clock reaches the offset at that instant.
    assert (status.state, status.position_ms, status.as_of_us) == (
        PlayerState.PLAYING, 5_000, 10 * S + START * 1000,
    )  # fmt: skip
    assert status.position_at(10 * S + START * 1000 + S) == 6_000
    assert (status.url, status.volume, status.uncertainty_ms) == (URL, 80, POSITION_UNCERTAINTY_MS)


def test_a_stopped_stream_ends_where_the_speaker_goes_quiet_after_its_tail() -> None:
    streamed = Streamed(URL, 5_000, begun_us=10 * S)
    heard_from = 10 * S + START * 1000
    stopped = streamed.stopped(heard_from + 3 * S, START, 1_000)
    assert (stopped.playing, stopped.offset_ms) == (False, 9_000)
    # Stopped before anything was heard: nothing of it plays, the offset stays.
    assert streamed.stopped(10 * S + 100_000, START, 1_000).offset_ms == 5_000
    paused = stopped.status(20 * S, START, 100)
    assert (paused.state, paused.position_ms, paused.url) == (PlayerState.PAUSED, 9_000, URL)


def test_nothing_streamed_is_stopped_and_says_why_it_ended() -> None:
    status = Streamed("", 0, error="ffmpeg: 404").status(S, START, 100)
    assert (status.state, status.url, status.error) == (PlayerState.STOPPED, "", "ffmpeg: 404")


def test_an_item_without_a_title_is_shown_by_its_file_name() -> None:
    assert fallback_title("http://h:1/media/k/Blue%20in%20Green.flac?x=1") == "Blue in Green"
    assert fallback_title("http://h:1/stream") == "stream"
    assert fallback_title("http://h:1/") == "Baton"
