"""A UPnP renderer's answers read as Baton's (bridges/upnp/_status.py): ids, transport states,
codecs, REL_TIME both ways, DIDL-Lite, and the position refined from whole seconds."""

from __future__ import annotations

import pytest

from bridges.player import PlayerState
from bridges.upnp._status import (
    ANCHOR_SLACK_MS,
    FRESH_US,
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
from connect.media_formats import CODECS
from connect.wire import messages as m


def test_the_id_comes_from_the_udn() -> None:
    one = upnp_device_id("uuid:0B1D2C3E-0000-4000-8000-000000000001")
    assert one == upnp_device_id("uuid:0b1d2c3e-0000-4000-8000-000000000001")
    assert one != upnp_device_id("uuid:0b1d2c3e-0000-4000-8000-000000000002")
    assert one.startswith("upnp-")


@pytest.mark.parametrize(
    ("transport", "state"),
    [
        ("PLAYING", PlayerState.PLAYING),
        ("TRANSITIONING", PlayerState.PLAYING),
        ("PAUSED_PLAYBACK", PlayerState.PAUSED),
        ("STOPPED", PlayerState.STOPPED),
        ("NO_MEDIA_PRESENT", PlayerState.STOPPED),
        ("", PlayerState.STOPPED),
    ],
)
def test_transport_states(transport: str, state: PlayerState) -> None:
    assert player_state_of(transport) is state


def test_codecs_and_type_come_from_the_sink_protocol_info() -> None:
    sink = ["http-get:*:audio/mpeg:*", "http-get:*:audio/x-flac:*", "http-get:*:audio/x-wav:*",
            "rtsp-rtp-udp:*:audio/ogg:*"]  # fmt: skip
    assert codecs_from_protocol_info(sink) == ("wav", "mp3", "flac")
    assert device_type_of(sink) is m.DeviceType.SPEAKER
    everything = [*sink, "http-get:*:audio/*:*", "http-get:*:video/mp4:*"]
    assert codecs_from_protocol_info(everything) == CODECS
    assert device_type_of(everything) is m.DeviceType.TV


def test_rel_time_and_didl() -> None:
    assert rel_time(0) == "0:00:00.000"
    assert rel_time(3_723_456) == "1:02:03.456"
    didl = didl_for("http://h/a.wav?x=1&y=2", "A & B", "audio/wav")
    assert "<dc:title>A &amp; B</dc:title>" in didl
    assert 'protocolInfo="http-get:*:audio/wav:*"' in didl
    assert "http://h/a.wav?x=1&amp;y=2</res>" in didl


def test_whole_seconds_are_refined_by_the_bridges_own_anchor() -> None:
    anchor = Anchor(12_000, 1_000_000, True)
    # 2.7 s later the renderer says "14 s": our anchor says 14.7, inside that second.
    assert refined_position(14_000, True, 3_700_000, anchor) == (14_700, anchor)
    # Paused, the anchor holds still.
    paused = Anchor(14_700, 3_700_000, False)
    assert refined_position(14_000, False, 9_000_000, paused) == (14_700, paused)


def test_a_renderer_moved_by_someone_else_is_taken_at_its_word() -> None:
    anchor = Anchor(12_000, 1_000_000, True)
    at = 1_000_000 + FRESH_US
    sought = refined_position(40_000, True, at, anchor)  # the middle of its second
    assert sought == (40_500, Anchor(40_500, at, True, ours=False))
    paused = refined_position(13_000, False, at, anchor)  # paused elsewhere
    assert paused == (13_500, Anchor(13_500, at, False, ours=False))
    late = refined_position(13_000, True, 3_000_000 + (ANCHOR_SLACK_MS + 1) * 1000, anchor)
    assert late[0] == 13_500  # ran past its second: the report wins


def test_just_after_a_seek_an_old_report_does_not_move_the_anchor() -> None:
    anchor = Anchor(9_000, 1_000_000, True)  # the bridge sought to 9 s
    assert refined_position(0, True, 1_200_000, anchor) == (9_200, anchor)
    # A report from someone else's copy (not ours) gets no such grace.
    theirs = Anchor(9_000, 1_000_000, True, ours=False)
    assert refined_position(0, True, 1_200_000, theirs)[0] == 500


def test_rel_time_is_read_back() -> None:
    assert position_of("0:00:07") == 7_000
    assert position_of("1:02:03.250") == 3_723_250
    assert position_of(rel_time(61_500)) == 61_500
    assert position_of("NOT_IMPLEMENTED") is None
    assert position_of("") is None


def test_an_anchor_dated_ahead_holds_its_position_until_then() -> None:
    # The bridge dates a seek or a resume when the renderer is heard, a few ms after its answer.
    anchor = Anchor(9_000, 1_035_000, True)
    assert anchor.position_at(1_000_000) == 9_000
    assert anchor.position_at(1_535_000) == 9_500
