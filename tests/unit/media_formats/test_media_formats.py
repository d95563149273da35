"""Formats a receiver decodes are formats it is offered: connect/media_formats.py, the
coordinator's and a target's "cannot play X audio" checks, and the receiver's codec probe."""

from __future__ import annotations

from pathlib import Path

import pytest

from connect import media_formats as f
from connect.transfer.rules import why_not_target
from connect.wire import messages as m
from devices import _decoders

RECEIVER = m.DeviceInfo(
    id="d1", name="Car", type=m.DeviceType.SPEAKER, protocol=m.PROTOCOL_V1,
    capabilities=m.Capabilities(audio_codecs=_decoders.DEBIAN_CODECS, transfer_target=True),
)  # fmt: skip
OLD_RECEIVER = m.DeviceInfo(
    id="d2", name="Den", type=m.DeviceType.SPEAKER, protocol=m.PROTOCOL_V1,
    capabilities=m.Capabilities(audio_codecs=("wav", "mp3", "ogg"), transfer_target=True),
)  # fmt: skip


@pytest.mark.parametrize(
    "url",
    [
        "http://host/a.m4a", "http://host/a.mp4", "http://host/a.M4A?token=1", "http://host/a.oga",
        "http://host/a.ogg", "http://host/a.opus", "http://host/a.mka", "http://host/a.flac",
        "http://host/a.mp3", "http://host/a.wav", "http://host/a.aac", "http://host/a.webm",
    ],
)  # fmt: skip
def test_a_receiver_offering_what_libvlc_decodes_takes_every_common_format(url: str) -> None:
    # Before: an .m4a (AAC) was refused with "cannot play m4a audio" while the list held aac.
    assert why_not_target(RECEIVER, m.QueueItem("u", url)) == ""


@pytest.mark.parametrize(
    ("url", "content_type", "codecs"),
    [
        ("http://host/x", "audio/mp4", {"aac", "alac"}),
        ("http://host/x", "audio/x-m4a", {"aac", "alac"}),
        ("http://host/x", 'audio/mp4; codecs="alac"', {"alac"}),
        ("http://host/x", "audio/ogg; codecs=opus", {"opus"}),
        ("http://host/x", "audio/ogg", {"vorbis", "opus", "flac"}),
        ("http://host/x.flac", "application/octet-stream", None),
        ("http://host/a.ogg", "", {"vorbis", "opus", "flac"}),
        ("http://host/a.m4a", "", {"aac", "alac"}),
        ("http://host/live.m3u8", "", None),
        ("http://radio.example.com", "", None),
        ("http://host/stream", "", None),
    ],
)
def test_a_format_names_the_codecs_it_may_hold(
    url: str, content_type: str, codecs: set[str] | None
) -> None:
    found = f.format_of(url, content_type)
    assert (found.codecs if found is not None else None) == codecs


def test_a_device_decoding_none_of_a_containers_codecs_is_refused_by_the_containers_name() -> None:
    assert why_not_target(OLD_RECEIVER, m.QueueItem("u", "http://h/a.m4a")) == (
        "Den cannot play m4a audio"
    )
    assert f.why_unplayable(("aac",), "http://h/a", 'audio/mp4; codecs="alac"') == (
        "cannot play m4a audio"
    )
    assert f.why_unplayable(("mp3",), "http://h/a.xyz") == "cannot play xyz audio"


def test_protocol_1_0s_ogg_still_means_vorbis_both_ways() -> None:
    # A 1.0 receiver lists "ogg"; a 1.0 controller looks for "ogg" in a new receiver's list.
    assert why_not_target(OLD_RECEIVER, m.QueueItem("u", "http://h/a.oga")) == ""
    assert "ogg" in f.legacy_codec_names(("wav", "vorbis"))
    assert "ogg" not in f.legacy_codec_names(("wav", "opus"))


def test_the_receiver_offers_the_decoders_its_libvlc_has(tmp_path: Path) -> None:
    codec = tmp_path / "codec"
    codec.mkdir()
    for plugin in ("araw", "mpg123", "flac", "opus"):
        (codec / f"lib{plugin}_plugin.so").touch()
    assert _decoders.codecs_in(tmp_path) == ("wav", "mp3", "flac", "opus")
    (codec / "libavcodec_plugin.so").touch()
    assert _decoders.codecs_in(tmp_path) == f.CODECS


def test_this_machines_libvlc_decodes_every_common_codec() -> None:
    offered = _decoders.offered_codecs()
    for codec in ("wav", "mp3", "aac", "flac", "vorbis", "opus"):
        assert codec in offered
