"""The TXT contract: build/parse round trip, tolerance of unknown and missing keys, typed errors."""

from __future__ import annotations

import pytest

from connect.discovery import ServiceRecord, capability_hash
from connect.discovery.txt import (
    DEFAULT_WS_PATH,
    InvalidServiceRecordError,
    build_txt,
    instance_name,
    parse_txt,
)
from connect.errors import ConnectError
from connect.wire.messages import DeviceType, PairingMode

RECORD = ServiceRecord(
    name="Kitchen",
    id="b7e1c0de",
    type=DeviceType.SPEAKER,
    model="Pi Speaker 2",
    version="1",
    ws_path="/connect/v1/ws",
    revision=42,
    caps_hash="a1b2c3d4",
    pairing=PairingMode.OPEN,
    addresses=("192.168.1.20",),
    port=8765,
)


def test_build_has_exactly_the_design_keys():
    assert build_txt(RECORD) == {
        "id": "b7e1c0de",
        "v": "1",
        "type": "speaker",
        "model": "Pi Speaker 2",
        "path": "/connect/v1/ws",
        "rev": "42",
        "caps": "a1b2c3d4",
        "pair": "open",
    }


def test_round_trip_through_wire_bytes():
    wire = {k.encode(): v.encode() for k, v in build_txt(RECORD).items()}
    assert parse_txt("Kitchen", wire, ("192.168.1.20",), 8765) == RECORD


def test_unknown_keys_are_ignored_and_keys_are_case_insensitive():
    wire = {b"ID": b"x1", b"Rev": b"7", b"future": b"whatever", b"flag": None}
    record = parse_txt("Car", wire)
    assert record.id == "x1"
    assert record.revision == 7


def test_missing_optional_keys_take_safe_defaults():
    record = parse_txt("Bare", {b"id": b"only-id"})
    assert record == ServiceRecord(name="Bare", id="only-id")
    assert record.ws_path == DEFAULT_WS_PATH
    assert record.version == "1"
    assert record.type is DeviceType.OTHER
    assert record.pairing is PairingMode.PIN  # never assume a device is open


@pytest.mark.parametrize(
    ("txt", "field", "expected"),
    [
        ({"type": "hologram"}, "type", DeviceType.OTHER),
        ({"type": "TV"}, "type", DeviceType.TV),
        ({"pair": "qr"}, "pairing", PairingMode.PIN),
        ({"rev": "seven"}, "revision", 0),
        ({"rev": "-3"}, "revision", 0),
        ({"path": ""}, "ws_path", DEFAULT_WS_PATH),
    ],
)
def test_malformed_optional_values_read_as_missing(txt, field, expected):
    assert getattr(parse_txt("D", {"id": "d1", **txt}), field) == expected


@pytest.mark.parametrize("wire", [{}, {b"id": b""}, {b"id": b"  "}, {b"id": None}])
def test_record_without_id_is_rejected_with_a_typed_error(wire):
    with pytest.raises(InvalidServiceRecordError) as caught:
        parse_txt("Nameless", wire)
    assert isinstance(caught.value, ConnectError)
    assert isinstance(caught.value, ValueError)


def test_first_occurrence_of_a_key_wins():
    assert parse_txt("D", {b"id": b"first", b"ID": b"second"}).id == "first"


def test_build_refuses_values_that_do_not_fit_a_txt_string():
    with pytest.raises(InvalidServiceRecordError):
        build_txt(ServiceRecord(name="D", id="d", model="m" * 250))
    with pytest.raises(InvalidServiceRecordError):
        build_txt(ServiceRecord(name="D", id=""))
    with pytest.raises(InvalidServiceRecordError):
        build_txt(ServiceRecord(name="D", id="d", revision=-1))


def test_capability_hash_is_short_hex_and_order_insensitive():
    h = capability_hash(["flac", "mp3", "volume"])
    assert h == capability_hash(["volume", "flac", "mp3", "mp3"])
    assert len(h) == 8
    int(h, 16)
    assert h != capability_hash(["flac", "mp3"])


def test_instance_name_strips_the_service_type():
    assert instance_name("Kitchen (2)._baton._tcp.local.") == "Kitchen (2)"
    assert instance_name("plain") == "plain"
