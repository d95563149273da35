"""Every Connect message survives encode -> decode unchanged (property-based)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect.errors import MalformedFrameError
from connect.wire import codec
from connect.wire import messages as m
from tests import strategies as s


@settings(max_examples=400)
@given(s.envelopes)
def test_every_envelope_round_trips(envelope: m.Envelope) -> None:
    assert codec.decode(codec.encode(envelope)) == envelope


@given(s.playback_states(), st.sampled_from(m.StateChangeReason))
def test_snapshot_round_trips_twice_through_the_queue_caches(
    state: m.PlaybackState, reason: m.StateChangeReason
) -> None:
    # The second pass hits both queue caches; it must give the same result as the first.
    envelope = m.Envelope(1, "id", m.StateSnapshot(state, reason))
    first = codec.encode(envelope)
    second = codec.encode(envelope)
    assert first == second
    assert codec.decode(first) == codec.decode(second) == envelope


def test_snapshots_with_equal_but_distinct_queues_encode_alike() -> None:
    items = tuple(m.QueueItem(f"u{i}", f"http://h/{i}.wav") for i in range(3))
    copy = tuple(m.QueueItem(i.uid, i.url) for i in items)
    one = codec.encode(m.Envelope(1, "a", m.StateSnapshot(m.PlaybackState("s", 1, queue=items))))
    two = codec.encode(m.Envelope(1, "a", m.StateSnapshot(m.PlaybackState("s", 1, queue=copy))))
    assert one == two


def test_a_changed_queue_is_not_served_from_the_cache() -> None:
    first = tuple(m.QueueItem(f"u{i}", f"http://h/{i}.wav") for i in range(3))
    second = (*first, m.QueueItem("u9", "http://h/9.wav"))
    for queue in (first, second, first):
        envelope = m.Envelope(1, "a", m.StateSnapshot(m.PlaybackState("s", 2, queue=queue)))
        assert codec.decode(codec.encode(envelope)).body == envelope.body


@given(s.device_infos)
def test_device_info_round_trips_as_protobuf_and_json(info: m.DeviceInfo) -> None:
    assert codec.decode_device_info(codec.encode_device_info(info)) == info
    assert codec.device_info_from_json(codec.device_info_to_json(info)) == info


@given(s.clients, s.TEXT, st.none() | st.sampled_from(m.Role))
def test_pairing_request_round_trips(
    client: m.ClientIdentity, pin: str, role: m.Role | None
) -> None:
    request = m.PairingRequest(client, pin, role)
    assert codec.decode_pairing_request(codec.encode_pairing_request(request)) == request


@given(s.TEXT, st.sampled_from(m.Role), s.ID, s.TEXT)
def test_pairing_response_round_trips(token: str, role: m.Role, device: str, sha: str) -> None:
    response = m.PairingResponse(token, role, device, sha)
    assert codec.decode_pairing_response(codec.encode_pairing_response(response)) == response


def test_device_info_json_uses_proto_names_and_enum_names() -> None:
    info = m.DeviceInfo("dev-1", "Car", m.DeviceType.CAR, m.PROTOCOL_V1)
    text = codec.device_info_to_json(info)
    assert '"type": "DEVICE_TYPE_CAR"' in text
    assert '"ws_path": "/connect/v1/ws"' in text


@given(s.failures)
def test_failure_round_trips_as_an_http_error_body(failure: m.Failure) -> None:
    assert codec.decode_failure(codec.encode_failure(failure)) == failure


@given(s.token_lists)
def test_token_list_round_trips(tokens: m.TokenList) -> None:
    assert codec.decode_token_list(codec.encode_token_list(tokens)) == tokens


@given(s.pairing_codes)
def test_pairing_code_round_trips(code: m.PairingCode) -> None:
    assert codec.decode_pairing_code(codec.encode_pairing_code(code)) == code


@given(s.rename_requests)
def test_rename_request_round_trips(rename: m.RenameRequest) -> None:
    assert codec.decode_rename_request(codec.encode_rename_request(rename)) == rename


def test_a_token_list_with_an_unknown_role_is_refused() -> None:
    wire = codec.encode_token_list(
        m.TokenList((m.TokenInfo("0a1b2c3d", m.ClientIdentity("c", "C"), m.Role.GUEST),))
    )
    # Role GUEST is 3 on the wire; 0x18 0x03 is field 3 (role), varint 3. Make it 9 (unknown).
    assert b"\x18\x03" in wire
    with pytest.raises(MalformedFrameError):
        codec.decode_token_list(wire.replace(b"\x18\x03", b"\x18\x09"))


@given(s.transfer_statuses)
def test_transfer_status_round_trips(status: m.TransferStatus) -> None:
    assert codec.decode_transfer_status(codec.encode_transfer_status(status)) == status
