"""The decoder refuses bad frames with typed errors, ignores what a newer peer adds, and the
encoder refuses values a peer would refuse."""

from __future__ import annotations

import contextlib
import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connect.errors import (
    EncodeError,
    FrameError,
    FrameTooLargeError,
    InvalidCommandError,
    MalformedCommandError,
    MalformedFrameError,
    UnknownCommandError,
    UnknownMessageError,
)
from connect.wire import codec
from connect.wire import messages as m
from connect.wire._pb import connect_pb2 as pb
from tests import strategies as s


def frame(body: m.Body, seq: int = 7) -> bytes:
    return codec.encode(m.Envelope(seq, "msg-1", body))


def wire_envelope(**fields: object) -> pb.Envelope:
    return pb.Envelope(seq=3, msg_id="w", **fields)


# ------------------------------------------------------------------ refused frames


def test_frame_over_one_mebibyte_is_refused_unparsed() -> None:
    with pytest.raises(FrameTooLargeError, match="1048577 bytes"):
        codec.decode(b"\x00" * (m.MAX_FRAME_BYTES + 1))


def test_frame_of_exactly_one_mebibyte_is_parsed_not_refused_for_size() -> None:
    # A valid envelope padded with an unknown bytes field up to the limit.
    head = frame(m.Heartbeat(1))
    pad_len = m.MAX_FRAME_BYTES - len(head) - 5  # tag (2 bytes) + 3-byte length
    padded = (
        head
        + b"\xfa\x07"
        + bytes([0x80 | (pad_len & 0x7F), 0x80 | (pad_len >> 7 & 0x7F), pad_len >> 14])
        + b"x" * pad_len
    )
    assert len(padded) == m.MAX_FRAME_BYTES
    assert codec.decode(padded).body == m.Heartbeat(1)


@pytest.mark.parametrize("cut", [1, 5, 12])
def test_truncated_frame_is_malformed(cut: int) -> None:
    data = frame(m.Command("c", m.SetVolume(30)))
    with pytest.raises(MalformedFrameError):
        codec.decode(data[:-cut])


def test_garbage_is_malformed() -> None:
    with pytest.raises(MalformedFrameError):
        codec.decode(b"\xff\xfe\xfd\xfc\xfb")


def test_empty_frame_lacks_a_sequence_number() -> None:
    with pytest.raises(MalformedFrameError, match="seq"):
        codec.decode(b"")


def test_invalid_utf8_in_a_string_is_malformed() -> None:
    # field 2 (msg_id), length 2, bytes that are not UTF-8
    with pytest.raises(MalformedFrameError):
        codec.decode(b"\x08\x01\x12\x02\xc3\x28")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda w: setattr(w.state_snapshot.state, "volume", 101), "volume"),
        (lambda w: setattr(w.state_snapshot.state.clock, "rate", math.nan), "rate"),
        (lambda w: setattr(w.state_snapshot.state.clock, "rate", 0.0), "rate"),
        (lambda w: setattr(w.state_snapshot.state.clock, "rate", 9.0), "rate"),
        (lambda w: setattr(w.state_snapshot.state, "current_uid", "nope"), "current_uid"),
        (lambda w: w.state_snapshot.state.queue.items.add(uid="a"), "twice"),
        (lambda w: w.state_snapshot.state.queue.items.add(uid=""), "without uid"),
        (lambda w: setattr(w.state_snapshot.state, "session_id", "x" * 129), "session_id"),
    ],
)
def test_state_values_that_matter_are_refused(mutate, message: str) -> None:
    wire = wire_envelope()
    state = wire.state_snapshot.state
    state.clock.rate = 1.0
    state.queue.items.add(uid="a", url="http://h/a.wav")
    mutate(wire)
    with pytest.raises(MalformedFrameError, match=message) as caught:
        codec.decode(wire.SerializeToString())
    assert caught.value.seq == 3
    assert caught.value.msg_id == "w"


def test_inverted_version_range_is_refused() -> None:
    wire = wire_envelope()
    wire.hello.supported.min.major = 2
    wire.hello.supported.max.major = 1
    with pytest.raises(MalformedFrameError, match="above max"):
        codec.decode(wire.SerializeToString())


def test_commit_without_a_role_is_refused() -> None:
    wire = wire_envelope()
    wire.transfer_commit.transfer_id = "t"
    with pytest.raises(MalformedFrameError, match="transfer role"):
        codec.decode(wire.SerializeToString())


@pytest.mark.parametrize(
    ("device_id", "url", "message"),
    [
        ("ab" * 32, "ftp://10.0.0.2:7000", "must start with http"),
        ("not-a-fingerprint", "https://10.0.0.2:7000", "fingerprint"),
        ("ab" * 32, "http://" + "h" * 600, "longer than"),
    ],
)
def test_a_commit_naming_a_target_it_could_not_ask_safely_is_refused(
    device_id: str, url: str, message: str
) -> None:
    wire = wire_envelope()
    wire.transfer_commit.transfer_id = "t"
    wire.transfer_commit.role = m.TransferRole.SOURCE.value
    wire.transfer_commit.target_device_id = device_id
    wire.transfer_commit.target_url = url
    with pytest.raises(MalformedFrameError, match=message):
        codec.decode(wire.SerializeToString())
    commit = m.TransferCommit("t", m.TransferRole.SOURCE, 0, target_device_id=device_id)
    with pytest.raises(EncodeError, match=message):
        frame(replace(commit, target_url=url))


def test_a_transfer_status_with_an_id_unfit_for_its_url_is_refused() -> None:
    with pytest.raises(EncodeError, match="transfer_id"):
        codec.encode_transfer_status(m.TransferStatus("a/b", m.TransferPhase.STARTED))
    with pytest.raises(MalformedFrameError, match="transfer_id"):
        codec.decode_transfer_status(b"")


# ------------------------------------------------------------------ a newer peer


def test_unknown_fields_are_ignored() -> None:
    # field 99, varint 5 appended at the top level, field 98 inside nothing we know
    data = frame(m.Heartbeat(4)) + b"\x98\x06\x05" + b"\x92\x06\x01z"
    assert codec.decode(data) == m.Envelope(7, "msg-1", m.Heartbeat(4))


def test_unknown_body_is_typed_and_names_the_frame() -> None:
    data = wire_envelope().SerializeToString() + b"\xc2\x02\x00"  # field 40, empty message
    with pytest.raises(UnknownMessageError) as caught:
        codec.decode(data)
    assert (caught.value.seq, caught.value.msg_id) == (3, "w")


def test_unknown_command_action_names_the_command() -> None:
    command = pb.Command(command_id="cmd-9").SerializeToString() + b"\xb2\x03\x00"  # field 54
    data = wire_envelope().SerializeToString() + b"\x72" + bytes([len(command)]) + command
    with pytest.raises(UnknownCommandError) as caught:
        codec.decode(data)
    assert caught.value.command_id == "cmd-9"
    assert caught.value.seq == 3


def test_a_command_with_a_refused_value_names_its_command_id() -> None:
    wire = wire_envelope()
    wire.command.command_id = "cmd-dup"
    for uid in ("a", "a"):
        wire.command.add_to_queue.items.add(uid=uid, url="http://h/a.wav")
    with pytest.raises(InvalidCommandError, match="twice") as caught:
        codec.decode(wire.SerializeToString())
    assert (caught.value.command_id, caught.value.seq) == ("cmd-dup", 3)


def test_a_readable_command_in_a_broken_envelope_names_its_command_id() -> None:
    wire = pb.Envelope(msg_id="w")  # seq missing
    wire.command.command_id = "cmd-7"
    wire.command.pause.SetInParent()
    with pytest.raises(MalformedCommandError, match="seq") as caught:
        codec.decode(wire.SerializeToString())
    assert not isinstance(caught.value, InvalidCommandError)
    assert caught.value.command_id == "cmd-7"


def test_a_command_id_over_the_limit_is_plainly_malformed() -> None:
    wire = wire_envelope()
    wire.command.command_id = "c" * 129
    wire.command.pause.SetInParent()
    with pytest.raises(MalformedFrameError) as caught:
        codec.decode(wire.SerializeToString())
    assert not isinstance(caught.value, MalformedCommandError)


def test_volume_above_100_and_an_unknown_start_uid_reach_the_session_rules() -> None:
    # The device clamps the one and answers NOT_FOUND to the other: neither is malformed.
    loud = codec.decode(frame(m.Command("c", m.SetVolume(150)))).body
    assert loud == m.Command("c", m.SetVolume(150))
    queue = m.SetQueue((m.QueueItem("a", "http://h/a.wav"),), start_uid="zzz")
    assert codec.decode(frame(m.Command("c", queue))).body == m.Command("c", queue)


def test_unknown_enum_values_read_as_each_enums_fallback() -> None:
    wire = wire_envelope()
    wire.welcome.role = pb.ROLE_OWNER
    device = wire.welcome.device
    device.type = 77
    device.pairing = 9
    device.protocol.max.major = 1
    wire.welcome.version.major = 1
    welcome = codec.decode(wire.SerializeToString()).body
    assert isinstance(welcome, m.Welcome)
    assert welcome.device.type is m.DeviceType.OTHER
    assert welcome.device.pairing is m.PairingMode.PIN  # the safe side


def test_zero_enum_values_read_as_their_documented_meaning() -> None:
    wire = wire_envelope()
    wire.state_snapshot.state.clock.rate = 1.0
    snapshot = codec.decode(wire.SerializeToString()).body
    assert isinstance(snapshot, m.StateSnapshot)
    assert snapshot.state.repeat is m.RepeatMode.OFF
    assert snapshot.state.status is m.PlaybackStatus.STOPPED


def test_an_unknown_granted_role_is_refused_rather_than_guessed() -> None:
    wire = wire_envelope()
    wire.welcome.role = 42
    with pytest.raises(MalformedFrameError, match="role"):
        codec.decode(wire.SerializeToString())


# ------------------------------------------------------------------ fuzz


@settings(max_examples=1500)
@given(st.binary(max_size=300))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        codec.decode(data)


@settings(max_examples=800)
@given(s.envelopes, st.data())
def test_mutated_frames_never_crash_the_decoder(envelope: m.Envelope, data: st.DataObject) -> None:
    raw = bytearray(codec.encode(envelope))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[at] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del raw[at:]
        elif op == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=4))
        elif raw:
            del raw[at]
    with contextlib.suppress(FrameError):
        codec.decode(bytes(raw))


# ------------------------------------------------------------------ encoder refusals


@pytest.mark.parametrize(
    "body",
    [
        m.Command("c", m.SetVolume(-1)),  # above 100 goes out: the device clamps it
        m.Command("c" * 200, m.Pause()),
        m.StateSnapshot(m.PlaybackState("s", 1, volume=-1)),
        m.StateSnapshot(m.PlaybackState("s", 1, clock=m.PlaybackClock(0, 0, rate=0.0))),
        m.StateSnapshot(m.PlaybackState("s", 1, current_uid="missing")),
        m.StateSnapshot(m.PlaybackState("s", -1)),
        m.Command("c", m.SetQueue((m.QueueItem("a", "u"), m.QueueItem("a", "v")))),
        m.Goodbye(
            m.GoodbyeReason.VERSION,
            supported=m.VersionRange(m.ProtocolVersion(2), m.ProtocolVersion(1)),
        ),
    ],
)
def test_encoder_refuses_values_a_peer_would_refuse(body: m.Body) -> None:
    with pytest.raises(EncodeError):
        frame(body)


def test_encoder_refuses_sequence_zero() -> None:
    with pytest.raises(EncodeError, match="seq"):
        codec.encode(m.Envelope(0, "x", m.Heartbeat()))


def test_encoder_refuses_frames_over_the_limit() -> None:
    big = tuple(m.QueueItem(f"u{i}", "http://h/" + "x" * 2000) for i in range(600))
    with pytest.raises(EncodeError, match="limit"):
        frame(m.StateSnapshot(m.PlaybackState("s", 1, queue=big)))


def test_encoder_refuses_what_is_not_a_body() -> None:
    with pytest.raises(EncodeError):
        codec.encode(m.Envelope(1, "x", m.QueueItem("a", "b")))  # type: ignore[arg-type]
