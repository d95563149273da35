"""Twins of the generated Envelope and QueuePage whose queue items are read as raw bytes.

A length-delimited sub-message and a `bytes` field share one wire encoding, so parsing with
these twins leaves queue items unparsed: a snapshot's whole `PlaybackState.queue` stays the
wire bytes of a `Queue` (the codec looks them up in a cache of recent queues and parses them
only when they are new), and each item of a SetQueue, AddToQueue, QueueInsert or QueuePage is
the bytes of one QueueItem, read by connect.wire._items without a message object per item.
Built once at import from the generated descriptor, so they can never drift from proto/.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from connect.wire._pb import connect_pb2 as pb

_PACKAGE = pb.DESCRIPTOR.package  # "baton.connect.v1"
_LAZY_PACKAGE = f"{_PACKAGE}.lazyqueue"


def _build() -> tuple[Any, Any]:
    proto = descriptor_pb2.FileDescriptorProto()
    pb.DESCRIPTOR.CopyToProto(proto)
    proto.name = proto.name.replace(".proto", "_lazyqueue.proto")
    proto.package = _LAZY_PACKAGE
    for message in proto.message_type:
        for field in message.field:
            if field.type_name.startswith(f".{_PACKAGE}."):
                field.type_name = field.type_name.replace(f".{_PACKAGE}.", f".{_LAZY_PACKAGE}.", 1)
            if (message.name, field.name) in _AS_BYTES:
                field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
                field.ClearField("type_name")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return tuple(
        message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_LAZY_PACKAGE}.{name}"))
        for name in ("Envelope", "QueuePage")
    )


_AS_BYTES = {
    ("PlaybackState", "queue"),
    ("SetQueue", "items"),
    ("AddToQueue", "items"),
    ("QueueInsert", "items"),
    ("QueuePage", "items"),
}
LazyEnvelope, LazyQueuePage = _build()
"""Parse any Envelope, a QueuePage; their queues and queue items are left as wire bytes."""
