"""A twin of the generated Envelope whose PlaybackState.queue is read as raw bytes.

A length-delimited sub-message and a `bytes` field share one wire encoding, so parsing with
this twin leaves the queue unparsed: the codec looks its bytes up in a cache of recent queues
and parses them only when they are new. Built once at import from the generated descriptor,
so it can never drift from proto/.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from connect._pb import connect_pb2 as pb

_PACKAGE = pb.DESCRIPTOR.package  # "baton.connect.v1"
_LAZY_PACKAGE = f"{_PACKAGE}.lazyqueue"


def _build() -> Any:
    proto = descriptor_pb2.FileDescriptorProto()
    pb.DESCRIPTOR.CopyToProto(proto)
    proto.name = proto.name.replace(".proto", "_lazyqueue.proto")
    proto.package = _LAZY_PACKAGE
    for message in proto.message_type:
        for field in message.field:
            if field.type_name.startswith(f".{_PACKAGE}."):
                field.type_name = field.type_name.replace(f".{_PACKAGE}.", f".{_LAZY_PACKAGE}.", 1)
            if message.name == "PlaybackState" and field.name == "queue":
                field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
                field.ClearField("type_name")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_LAZY_PACKAGE}.Envelope"))


LazyEnvelope: Any = _build()
"""Parses any Envelope; `...state.queue` is the wire bytes of a `Queue` message."""
