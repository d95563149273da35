"""The lean WebSocket client's framing and handshake, sans-IO (RFC 6455)."""

from __future__ import annotations

import pytest

from connect.session._websocket import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_TEXT,
    Frame,
    FrameReader,
    HandshakeError,
    MessageAssembler,
    WebSocketProtocolError,
    accept_key,
    check_handshake,
    encode_frame,
    handshake_request,
)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3's example
MASK = b"\x37\xfa\x21\x3d"  # RFC 6455 §5.7's example


def server_frame(opcode: int, payload: bytes, *, fin: bool = True, first: int = 0) -> bytes:
    """A frame as a device sends it: never masked."""
    length = len(payload)
    byte0 = first | (0x80 if fin else 0) | opcode
    if length < 126:
        return bytes((byte0, length)) + payload
    if length < 1 << 16:
        return bytes((byte0, 126)) + length.to_bytes(2, "big") + payload
    return bytes((byte0, 127)) + length.to_bytes(8, "big") + payload


def unmask(frame: bytes) -> tuple[int, bytes]:
    """Read back a client frame: its opcode and payload."""
    assert frame[0] & 0x80, "final"
    assert frame[1] & 0x80, "client frames are masked"
    length, offset = frame[1] & 0x7F, 2
    if length == 126:
        length, offset = int.from_bytes(frame[2:4], "big"), 4
    elif length == 127:
        length, offset = int.from_bytes(frame[2:10], "big"), 10
    mask, body = frame[offset : offset + 4], frame[offset + 4 :]
    assert len(body) == length
    return frame[0] & 0x0F, bytes(b ^ mask[i % 4] for i, b in enumerate(body))


def test_accept_key_is_the_rfc_example() -> None:
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_a_masked_hello_is_the_rfc_example() -> None:
    assert encode_frame(OP_TEXT, b"Hello", MASK) == bytes.fromhex("818537fa213d7f9f4d5158")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 300_001])
def test_client_frames_of_every_length_form_read_back(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
    assert unmask(encode_frame(OP_BINARY, payload, MASK)) == (OP_BINARY, payload)


@pytest.mark.parametrize("size", [0, 125, 126, 65_536])
def test_device_frames_are_read_whole_however_the_bytes_arrive(size: int) -> None:
    payload = b"x" * size
    data = server_frame(OP_BINARY, payload) + server_frame(OP_PING, b"p")
    reader = FrameReader(max_payload=1 << 20)
    frames = [f for i in range(len(data)) for f in reader.feed(data[i : i + 1])]
    assert frames == [Frame(True, OP_BINARY, payload), Frame(True, OP_PING, b"p")]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (bytes((0x82, 0x81)) + MASK + b"x", "masked"),
        (server_frame(OP_BINARY, b"x", first=0x40), "reserved"),
        (server_frame(OP_PING, b"x" * 126), "control"),
        (server_frame(OP_PING, b"x", fin=False), "control"),
        (server_frame(0x3, b"x"), "opcode"),
        (bytes((0x82, 127)) + (1 << 40).to_bytes(8, "big"), "frame"),
    ],
)
def test_frames_breaking_the_rules_end_the_session(data: bytes, why: str) -> None:
    with pytest.raises(WebSocketProtocolError, match=why):
        FrameReader(max_payload=1 << 20).feed(data)


def test_fragments_are_joined_and_control_frames_pass_between_them() -> None:
    parts = MessageAssembler(max_message=10)
    assert parts.add(Frame(False, OP_BINARY, b"ab")) is None
    assert parts.add(Frame(True, OP_PING, b"p")) == Frame(True, OP_PING, b"p")
    assert parts.add(Frame(False, OP_CONTINUATION, b"cd")) is None
    assert parts.add(Frame(True, OP_CONTINUATION, b"e")) == Frame(True, OP_BINARY, b"abcde")
    assert parts.add(Frame(True, OP_CLOSE, b"")) == Frame(True, OP_CLOSE, b"")


@pytest.mark.parametrize(
    ("frames", "why"),
    [
        ([Frame(True, OP_CONTINUATION, b"x")], "continuation"),
        ([Frame(False, OP_BINARY, b"x"), Frame(True, OP_BINARY, b"y")], "before the last"),
        ([Frame(False, OP_BINARY, b"x" * 6), Frame(True, OP_CONTINUATION, b"y" * 6)], "over"),
    ],
)
def test_messages_breaking_the_rules_end_the_session(frames: list[Frame], why: str) -> None:
    parts = MessageAssembler(max_message=10)
    for frame in frames[:-1]:
        parts.add(frame)
    with pytest.raises(WebSocketProtocolError, match=why):
        parts.add(frames[-1])


def test_the_upgrade_request_asks_for_version_13_and_no_extension() -> None:
    text = handshake_request("127.0.0.1:8443", "/connect/v1/ws", KEY).decode()
    assert text.startswith("GET /connect/v1/ws HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n")
    assert f"Sec-WebSocket-Key: {KEY}\r\n" in text
    assert "Sec-WebSocket-Version: 13\r\n" in text
    assert "Extensions" not in text
    assert text.endswith("\r\n\r\n")


def answer(status: str = "101 Switching Protocols", **headers: str) -> bytes:
    fields = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Accept": accept_key(KEY),
        **headers,
    }
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in fields.items() if v)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_proper_answer_is_accepted() -> None:
    check_handshake(answer(), KEY)


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (answer("403 Forbidden"), "HTTP 403 Forbidden"),
        (answer(Upgrade=""), "did not upgrade"),
        (answer(Connection="close"), "Connection"),
        (answer(**{"Sec-WebSocket-Accept": "bm90IGl0"}), "does not match"),
        (answer(**{"Sec-WebSocket-Extensions": "permessage-deflate"}), "extension"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP answer"),
    ],
)
def test_a_wrong_answer_is_refused_saying_why(head: bytes, why: str) -> None:
    with pytest.raises(HandshakeError, match=why):
        check_handshake(head, KEY)
