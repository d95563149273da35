"""A small WebSocket client (RFC 6455) for a controller's session, on asyncio streams.

Why Baton has one besides aiohttp's: importing aiohttp costs every `baton` command about
120 ms of CPU, half of it loading the system's CA certificates twice (aiohttp.connector makes
its default TLS contexts at import), which a session never uses: a device is trusted by the
fingerprint its id pins, not by a CA. A session needs little of WebSocket: binary messages,
ping/pong, close; no extensions, no subprotocol. The framing here is sans-IO (`FrameReader`,
`encode_frame`, the handshake's request and check); `async_open_lean_socket` is the asyncio adapter,
a `SessionSocket` (connect.session._socket) like aiohttp's, for DeviceConnection.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import ssl
from dataclasses import dataclass

from connect.endpoint import Endpoint
from connect.errors import (
    ConnectError,
    FingerprintMismatchError,
    SocketClosedError,
    TlsHandshakeError,
)

__all__ = [
    "Frame",
    "FrameReader",
    "HandshakeError",
    "LeanSocket",
    "WebSocketProtocolError",
    "accept_key",
    "async_open_lean_socket",
    "check_handshake",
    "encode_frame",
    "handshake_request",
]

OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
_CONTROL = frozenset({OP_CLOSE, OP_PING, OP_PONG})
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
_MAX_HEAD = 16 * 1024  # a handshake answer's head; a device's is a few hundred bytes
_CLOSE_NORMAL = 1000


class WebSocketProtocolError(ConnectError):
    """The device broke the WebSocket framing rules (RFC 6455 §5): the session must end."""


class HandshakeError(ConnectError):
    """The device did not accept the WebSocket upgrade (its HTTP answer says why)."""


# ------------------------------------------------------------------------------ sans-IO


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame as read: `fin`, `opcode`, and the (unmasked) payload."""

    fin: bool
    opcode: int
    payload: bytes


def encode_frame(opcode: int, payload: bytes, mask: bytes) -> bytes:
    """Return one final, masked client frame (§5.2); *mask* is the 4-byte masking key."""
    length = len(payload)
    if length < 126:
        head = bytes((0x80 | opcode, 0x80 | length))
    elif length < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    return head + mask + _masked(payload, mask)


class FrameReader:
    """Bytes from a device in, whole frames out (§5.2); raises WebSocketProtocolError.

    A device's frames are never masked (§5.1); no extension was negotiated, so the reserved
    bits are 0 (§5.2); control frames are final and at most 125 bytes (§5.5). *max_payload*
    bounds one frame's payload, so a hostile length cannot make us buffer gigabytes.
    """

    def __init__(self, max_payload: int) -> None:
        self._max_payload = max_payload
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """Add *data*; return the frames it completed, in order."""
        self._buffer += data
        frames = []
        while (frame := self._next()) is not None:
            frames.append(frame)
        return frames

    def _next(self) -> Frame | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        first, second = buffer[0], buffer[1]
        if first & 0x70:
            raise WebSocketProtocolError("a frame with reserved bits set (no extension agreed)")
        if second & 0x80:
            raise WebSocketProtocolError("a masked frame from the device")
        fin, opcode, length, offset = bool(first & 0x80), first & 0x0F, second & 0x7F, 2
        if opcode in _CONTROL and (not fin or length > 125):
            raise WebSocketProtocolError("a fragmented or oversized control frame")
        if opcode not in _CONTROL and opcode not in (OP_CONTINUATION, OP_TEXT, OP_BINARY):
            raise WebSocketProtocolError(f"unknown opcode {opcode:#x}")
        if length >= 126:
            offset = 4 if length == 126 else 10
            if len(buffer) < offset:
                return None
            length = int.from_bytes(buffer[2:offset], "big")
        if length > self._max_payload:
            raise WebSocketProtocolError(f"a {length}-byte frame (at most {self._max_payload})")
        if len(buffer) < offset + length:
            return None
        payload = bytes(buffer[offset : offset + length])
        del buffer[: offset + length]
        return Frame(fin, opcode, payload)


class MessageAssembler:
    """Frames in, messages out: joins fragments (§5.4), passes control frames through."""

    def __init__(self, max_message: int) -> None:
        self._max_message = max_message
        self._opcode: int | None = None  # the data message being assembled
        self._parts: list[bytes] = []
        self._size = 0

    def add(self, frame: Frame) -> Frame | None:
        """Return a whole message (as a final frame) or a control frame; None while partial."""
        if frame.opcode in _CONTROL:
            return frame
        if frame.opcode == OP_CONTINUATION:
            if self._opcode is None:
                raise WebSocketProtocolError("a continuation frame with no message begun")
        elif self._opcode is not None:
            raise WebSocketProtocolError("a new message before the last one ended")
        else:
            self._opcode = frame.opcode
        self._size += len(frame.payload)
        if self._size > self._max_message:
            raise WebSocketProtocolError(f"a message over {self._max_message} bytes")
        self._parts.append(frame.payload)
        if not frame.fin:
            return None
        message = Frame(True, self._opcode, b"".join(self._parts))
        self._opcode, self._parts, self._size = None, [], 0
        return message


def accept_key(key: str) -> str:
    """Return the Sec-WebSocket-Accept a device must answer to *key* (§4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()  # noqa: S324


def handshake_request(authority: str, path: str, key: str) -> bytes:
    """Return the HTTP/1.1 upgrade request for *path* at *authority* (§4.1)."""
    return (
        f"GET {path} HTTP/1.1\r\n"
        f"Host: {authority}\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n"
    ).encode()


def check_handshake(head: bytes, key: str) -> None:
    """Check the device's answer head (through the blank line); raise HandshakeError if not 101."""
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    if len(status) < 2 or not status[0].startswith("HTTP/1."):
        raise HandshakeError(f"not an HTTP answer: {lines[0][:80]!r}")
    if status[1] != "101":
        raise HandshakeError(f"the device answered HTTP {' '.join(status[1:])[:80]}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    if headers.get("upgrade", "").lower() != "websocket":
        raise HandshakeError("the device did not upgrade to WebSocket")
    if "upgrade" not in headers.get("connection", "").lower():
        raise HandshakeError("the device did not answer Connection: Upgrade")
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise HandshakeError("the device's Sec-WebSocket-Accept does not match our key")
    if headers.get("sec-websocket-extensions"):
        raise HandshakeError("the device chose an extension we did not offer")


def _masked(payload: bytes, mask: bytes) -> bytes:
    """XOR *payload* with the repeated 4-byte *mask* (§5.3), as big integers: C speed."""
    if not payload:
        return b""
    length = len(payload)
    key = (mask * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(length, "big")


# ------------------------------------------------------------------------------ asyncio


class LeanSocket:
    """One open session WebSocket: binary messages in and out, pings answered, close."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, max_message: int
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._frames = FrameReader(max_message)
        self._messages = MessageAssembler(max_message)
        self._ready: list[Frame] = []
        self._closed = False  # a close was sent or received, or the stream ended
        self._ended = asyncio.Event()  # the device's close came, or the stream ended
        self._reading = False  # a receive() is waiting on the stream: close() must not read

    @property
    def closed(self) -> bool:
        """Whether the socket is closing or closed (nothing more may be sent)."""
        return self._closed

    async def receive(self, timeout: float | None = None) -> bytes:
        """Return the next binary message; raise SocketClosedError, or TimeoutError.

        One receiver at a time (the session's loop); close() may run beside it.
        """
        if self._reading:
            raise RuntimeError("receive() is already waiting on this socket")
        self._reading = True
        try:
            return await self._receive(timeout)
        finally:
            self._reading = False

    async def _receive(self, timeout: float | None) -> bytes:
        async with asyncio.timeout(timeout):
            while True:
                while self._ready:
                    message = self._messages.add(self._ready.pop(0))
                    if message is not None and (data := self._handle(message)) is not None:
                        return data
                if self._closed and self._ended.is_set():
                    raise SocketClosedError("closed by the device")
                chunk = await self._reader.read(64 * 1024)
                if not chunk:
                    self._closed = True
                    self._ended.set()
                    raise SocketClosedError("the device closed the connection")
                try:
                    self._ready.extend(self._frames.feed(chunk))
                except WebSocketProtocolError:
                    self._abort()
                    raise

    async def send_bytes(self, data: bytes) -> None:
        """Send one binary message; raise ConnectionResetError once closing."""
        self._send(OP_BINARY, data)
        await self._writer.drain()

    async def close(self, timeout: float = 2.0) -> None:
        """Send a close frame, wait (bounded) for the device's, release the connection."""
        if not self._closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                self._send(OP_CLOSE, _CLOSE_NORMAL.to_bytes(2, "big"))
                self._closed = True
                await self._writer.drain()
            with contextlib.suppress(TimeoutError, ConnectError, OSError):
                async with asyncio.timeout(timeout):
                    if self._reading:  # the session's loop reads: it will see the answer
                        await self._ended.wait()
                    while not self._ended.is_set():
                        await self.receive()
        self._abort()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(timeout):
                await self._writer.wait_closed()

    def _handle(self, message: Frame) -> bytes | None:
        """Act on a whole message or control frame; return a binary message's payload."""
        if message.opcode == OP_BINARY:
            return message.payload
        if message.opcode == OP_PING:
            with contextlib.suppress(ConnectionError, RuntimeError):
                self._send(OP_PONG, message.payload)
        elif message.opcode == OP_CLOSE:
            self._ended.set()
            if not self._closed:  # echo the device's close (§5.5.1), then the stream ends
                with contextlib.suppress(ConnectionError, RuntimeError):
                    self._send(OP_CLOSE, message.payload[:2])
                self._closed = True
            raise SocketClosedError("closed by the device")
        elif message.opcode == OP_TEXT:
            raise SocketClosedError("the device sent a text message")
        return None  # a pong

    def _send(self, opcode: int, payload: bytes) -> None:
        if self._closed or self._writer.is_closing():
            raise ConnectionResetError("the session WebSocket is closed")
        # One write per frame: frames from concurrent senders never interleave.
        self._writer.write(encode_frame(opcode, payload, os.urandom(4)))

    def _abort(self) -> None:
        self._closed = True
        self._ended.set()
        self._writer.close()


async def async_open_lean_socket(
    endpoint: Endpoint, timeout: float, max_message: int
) -> LeanSocket:
    """Open the session WebSocket at *endpoint*: TCP, TLS pinned to its fingerprint, upgrade.

    Raises FingerprintMismatchError (another certificate), TlsHandshakeError, HandshakeError,
    TimeoutError, OSError.
    """
    context = None
    if endpoint.tls:
        # No CA, no host name: the certificate's SHA-256 must be the device id (checked below).
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    async with asyncio.timeout(timeout):
        try:
            # server_hostname "": no SNI, no host name check (the fingerprint is the check),
            # and no IDNA codec loaded to encode a name that is not used.
            reader, writer = await asyncio.open_connection(
                endpoint.host, endpoint.port, ssl=context, server_hostname="" if context else None
            )
        except ssl.SSLError as exc:
            raise TlsHandshakeError(f"{endpoint.authority}: {exc}") from exc
        try:
            if context is not None:
                _check_fingerprint(endpoint, writer)
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(handshake_request(endpoint.authority, endpoint.ws_path, key))
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                raise HandshakeError("the device closed the connection during the upgrade") from exc
            except asyncio.LimitOverrunError as exc:
                raise HandshakeError("the device's answer head is too long") from exc
            if len(head) > _MAX_HEAD:
                raise HandshakeError("the device's answer head is too long")
            check_handshake(head, key)
        except BaseException:
            writer.close()
            raise
    return LeanSocket(reader, writer, max_message)


def _check_fingerprint(endpoint: Endpoint, writer: asyncio.StreamWriter) -> None:
    tls = writer.get_extra_info("ssl_object")
    der = tls.getpeercert(binary_form=True) if tls is not None else None
    got = hashlib.sha256(der).hexdigest() if der else ""
    if got != endpoint.fingerprint:
        raise FingerprintMismatchError(endpoint.host, endpoint.port, got)
