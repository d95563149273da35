"""A queue page and a snapshot's queue change, encoded with their items written by hand.

A source serves a transferred queue of 50 000 items in 50 pages, and a controller's upload
comes back as 50 snapshots whose `queue_change` inserts a thousand items each. Through the
generated classes every item is a message object made and thrown away: in pure-Python protobuf
(armhf) a 1 000-item page took 100 ms of the device's event loop; written by hand, 4 ms. With
upb (C) the generated classes are faster still (2.4 ms against 5.7), so they are used when
protobuf runs on upb. By hand, the messages around the items still go through the generated
classes and only the items through connect.wire._items; fields come in number order, as
protobuf writes them (tests/unit/queues/test_queue_wire.py compares the bytes with the
generated code's, in both implementations).
"""

from __future__ import annotations

from dataclasses import replace

from google.protobuf.internal import api_implementation

from connect.wire import _to_wire as wr
from connect.wire import messages as m
from connect.wire._checks import check_id
from connect.wire._pb import connect_pb2 as pb
from connect.wire._protowire import length_delimited, varint_field

__all__ = ["queue_change_bytes", "queue_page_bytes"]

_PAGE_ITEMS = pb.QueuePage.DESCRIPTOR.fields_by_name["items"].number
_PAGE_FAILURE = pb.QueuePage.DESCRIPTOR.fields_by_name["failure"].number
_CHANGE_FROM = pb.QueueChange.DESCRIPTOR.fields_by_name["from_revision"].number
_CHANGE_EDITS = pb.QueueChange.DESCRIPTOR.fields_by_name["edits"].number
_CHANGE_RESET = pb.QueueChange.DESCRIPTOR.fields_by_name["reset"].number
_EDIT_INSERT = pb.QueueEdit.DESCRIPTOR.fields_by_name["insert"].number
_INSERT_ITEMS = pb.QueueInsert.DESCRIPTOR.fields_by_name["items"].number
_UINT64 = 2**64
BY_HAND = api_implementation.Type() == "python"
"""Whether items are written by hand: only where protobuf runs in pure Python."""


def queue_page_bytes(page: m.QueuePage) -> bytes:
    """Return the wire bytes of *page* (uids and ids checked); ValueError/TypeError if bad."""
    if not BY_HAND:
        wire = pb.QueuePage()
        wr.fill_queue_page(wire, page)
        whole: bytes = wire.SerializeToString()
        return whole
    head = pb.QueuePage()
    wr.fill_queue_page(head, replace(page, items=(), failure=None))
    data: bytes = head.SerializeToString()
    if page.items:
        data += wr.queue_items_bytes(page.items, _PAGE_ITEMS)
    if page.failure is not None:
        failure = pb.Failure()
        wr.fill_failure(failure, page.failure)
        data += length_delimited(_PAGE_FAILURE, failure.SerializeToString())
    return data


def queue_change_bytes(change: m.QueueChange) -> bytes:
    """Return the wire bytes of *change* (uids checked); ValueError/TypeError if bad."""
    if not BY_HAND:
        wire = pb.QueueChange()
        wr.fill_queue_change(wire, change)
        whole: bytes = wire.SerializeToString()
        return whole
    out = bytearray()
    if change.from_revision:
        out += varint_field(_CHANGE_FROM, _uint64(change.from_revision))
    for edit in change.edits:
        if isinstance(edit, m.QueueInsert):
            check_id("after_uid", edit.after_uid)
            head = pb.QueueInsert(after_uid=edit.after_uid).SerializeToString()
            insert = head + wr.queue_items_bytes(edit.items, _INSERT_ITEMS)
            out += length_delimited(_CHANGE_EDITS, length_delimited(_EDIT_INSERT, insert))
        else:  # a few uids: the generated classes (and their checks) cost nothing here
            wire = pb.QueueChange()
            wr.fill_queue_change(wire, m.QueueChange(0, (edit,)))
            out += wire.SerializeToString()
    if change.reset:
        out += varint_field(_CHANGE_RESET, 1)
    return bytes(out)


def _uint64(value: int) -> int:
    if not 0 <= value < _UINT64:
        raise ValueError(f"from_revision out of range: {value}")
    return value
