"""Queue items on the wire, written and read by hand: the encoding a long queue takes most.

A queue of 50 000 items is written into saved queues and snapshots and read out of uploads,
pages and snapshots. Through the generated classes each item is a message object made and
thrown away: in pure-Python protobuf (armhf has no upb wheel) that is slow, and the garbage,
interleaved with the items a device keeps, leaves its memory fragmented. Here an item goes
from bytes to a `QueueItem` and back directly. The bytes are protobuf's own, byte for byte
(fields in number order, empty ones left out), and reading skips unknown fields as protobuf
does (tests/unit/queues/test_queue_wire.py checks both against the generated code).
"""

from __future__ import annotations

from collections.abc import Sequence

from connect.wire._queue import QueueItem

__all__ = ["item_from_bytes", "items_bytes", "items_from_field"]

_STRINGS = {
    1: "uid",
    2: "url",
    3: "title",
    4: "artist",
    5: "album",
    7: "artwork_url",
    8: "content_type",
}
_TAGS = {number: bytes([number << 3 | 2]) for number in _STRINGS}
_DURATION = 6
_FIELDS = 8  # QueueItem's fields are 1 to 8
_UINT32 = 2**32


def items_bytes(items: Sequence[QueueItem], field_number: int) -> bytes:
    """Return *items* as the repeated message field *field_number* (uids not checked here)."""
    # Pieces joined once, short lengths from a table: a 1.0 controller's snapshot of a long
    # queue is ~9 000 items written in one step of the device's loop (10.9 ms here, now 5.2).
    tag = _varint(field_number << 3 | 2)
    uid, url, title, artist, album, artwork, kind = (_TAGS[n] for n in (1, 2, 3, 4, 5, 7, 8))
    out: list[bytes] = []
    for item in items:
        body: list[bytes] = []
        for field, text in ((uid, item.uid), (url, item.url), (title, item.title),
                            (artist, item.artist), (album, item.album)):  # fmt: skip
            if text:
                data = text.encode()
                body += (field, _length(len(data)), data)
        if item.duration_ms:
            if not 0 <= item.duration_ms < _UINT32:
                raise ValueError(f"duration_ms out of range: {item.duration_ms}")
            body += (b"\x30", _varint(item.duration_ms))
        for field, text in ((artwork, item.artwork_url), (kind, item.content_type)):
            if text:
                data = text.encode()
                body += (field, _length(len(data)), data)
        message = b"".join(body)
        out += (tag, _length(len(message)), message)
    return b"".join(out)


def items_from_field(data: bytes, field_number: int) -> tuple[QueueItem, ...]:
    """Read the repeated message field *field_number* of the message *data* as queue items,
    skipping its other fields; raise ValueError for bytes that are not such a message."""
    items = []
    for number, kind, value in _fields(data):
        if number == field_number:
            if kind != 2:
                raise ValueError(f"field {number} is not a message")
            assert isinstance(value, bytes | memoryview)
            items.append(item_from_bytes(bytes(value)))
    return tuple(items)


def item_from_bytes(data: bytes) -> QueueItem:
    """Read one QueueItem message; raise ValueError for bytes that are not one."""
    # One pass, no object per field: a page or an upload's frame is 1000 items, read in one
    # step of the reader's event loop (this took 2.7 ms a page through `_fields`, now 1.2).
    # Fields 1 to 8 are QueueItem's, in its order; a later copy of a field wins, as in protobuf.
    values: list[str | int] = ["", "", "", "", "", 0, "", ""]
    at, end = 0, len(data)
    while at < end:
        key = data[at]
        if key < 0x80:
            at += 1
        else:
            key, at = _read_varint(data, at)
        number, kind = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        if kind == 2:
            if at < end and data[at] < 0x80:  # a length under 128: one byte
                stop = at + 1 + data[at]
                at += 1
            else:
                size, at = _read_varint(data, at)
                stop = at + size
            if stop > end:
                raise ValueError("a field runs past the end of its message")
            if number <= _FIELDS:
                if number == _DURATION:
                    raise ValueError(f"field {number} has wire type {kind}")
                values[number - 1] = data[at:stop].decode()  # UnicodeDecodeError: a ValueError
            at = stop
        elif kind == 0:
            value, at = _read_varint(data, at)
            if number <= _FIELDS:
                if number != _DURATION:
                    raise ValueError(f"field {number} has wire type {kind}")
                values[_DURATION - 1] = value % _UINT32  # a uint32 takes the varint's low bits
        elif kind in (1, 5):
            at += 8 if kind == 1 else 4
            if at > end:
                raise ValueError("a fixed-size field runs past the end of its message")
            if number <= _FIELDS:
                raise ValueError(f"field {number} has wire type {kind}")
        else:
            raise ValueError(f"wire type {kind} is not read here")
    return QueueItem(*values)  # type: ignore[arg-type]


def _fields(data: bytes) -> list[tuple[int, int, int | memoryview]]:
    """Return the (field number, wire type, value) of each field of a message, in order."""
    view = memoryview(data)
    fields: list[tuple[int, int, int | memoryview]] = []
    at, end = 0, len(data)
    while at < end:
        key, at = _read_varint(data, at)
        number, kind = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        if kind == 0:
            value, at = _read_varint(data, at)
            fields.append((number, kind, value))
        elif kind == 2:
            size, at = _read_varint(data, at)
            if at + size > end:
                raise ValueError("a field runs past the end of its message")
            fields.append((number, kind, view[at : at + size]))
            at += size
        elif kind in (1, 5):
            at += 8 if kind == 1 else 4
            if at > end:
                raise ValueError("a fixed-size field runs past the end of its message")
        else:
            raise ValueError(f"wire type {kind} is not read here")
    return fields


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(10):
        if at >= len(data):
            raise ValueError("a varint runs past the end of its message")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & (2**64 - 1), at
        shift += 7
    raise ValueError("a varint longer than 10 bytes")


_SHORT = [bytes((n,)) for n in range(0x80)]  # a length under 128 is its own one byte


def _length(size: int) -> bytes:
    return _SHORT[size] if size < 0x80 else _varint(size)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
