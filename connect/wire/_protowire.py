"""Protobuf's wire format for the few frames Baton writes by hand (long queues, where building
a message object per item costs too much in pure-Python protobuf): varints and fields."""

from __future__ import annotations


def varint(value: int) -> bytes:
    """Return *value* (>= 0) as a base-128 varint."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varint_field(number: int, value: int) -> bytes:
    """Return a varint field (wire type 0) with the given number."""
    return varint(number << 3) + varint(value)


def length_delimited(number: int, payload: bytes) -> bytes:
    """Return *payload* as a length-delimited field (wire type 2) with the given number."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload
