"""Sans-IO codec of the Connect protocol: frozen dataclasses <-> protobuf bytes.

`encode(Envelope) -> bytes` and `decode(bytes) -> Envelope` for session frames, plus the HTTP
bodies (DeviceInfo, pairing). Generated protobuf classes never leave this module and its two
private helpers. Every refusal is a typed `ConnectError`: FrameTooLargeError, MalformedFrameError,
UnknownMessageError / UnknownCommandError (decoding), EncodeError (encoding). A refused Command
whose id can be read is refused with its id (MalformedCommandError, InvalidCommandError,
UnknownCommandError), so the device can answer it with a CommandResult.

Queues dominate snapshot size and rarely change between snapshots, so the codec keeps a few
recent queues in both directions. Encoding reuses the wire bytes of a queue tuple it has seen
(by identity: a tuple of frozen items cannot change) and splices them into the snapshot with
their length prefixes; every field still appears once, as protobuf writes it (only the queue
comes after the state's other fields, which every parser accepts). Decoding
parses with a twin of Envelope that leaves the queue as bytes (connect.wire._lazy) and returns the
same tuple for byte-identical queues. Both caches are small, bounded and thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from google.protobuf.message import DecodeError
from google.protobuf.message import Message as _WireMessage

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
from connect.wire import _from_wire as rd
from connect.wire import _to_wire as wr
from connect.wire import messages as m
from connect.wire._checks import check_id, check_path_id, check_queue
from connect.wire._group_wire import BODY_READERS as _GROUP_READERS
from connect.wire._group_wire import BODY_WRITERS as _GROUP_WRITERS
from connect.wire._items import items_from_field
from connect.wire._lazy import LazyEnvelope, LazyQueuePage
from connect.wire._pb import connect_pb2 as pb
from connect.wire._protowire import length_delimited
from connect.wire._queue_frames import queue_change_bytes, queue_page_bytes

__all__ = [
    "decode",
    "decode_device_info",
    "decode_failure",
    "decode_pairing_code",
    "decode_pairing_request",
    "decode_pairing_response",
    "decode_queue_page",
    "decode_rename_request",
    "decode_saved_queue",
    "decode_token_list",
    "decode_transfer_status",
    "device_info_from_json",
    "device_info_to_json",
    "encode",
    "encode_device_info",
    "encode_failure",
    "encode_pairing_code",
    "encode_pairing_request",
    "encode_pairing_response",
    "encode_queue_page",
    "encode_rename_request",
    "encode_saved_queue",
    "encode_token_list",
    "encode_transfer_status",
]

# Errors protobuf raises on bad input (DecodeError) and our readers/writers raise on values
# out of range (ValueError), wrong types (TypeError) or an unknown body type (KeyError).
_BAD_VALUE = (DecodeError, ValueError, TypeError, KeyError, OverflowError, RecursionError)

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class _Recent(Generic[K, V]):
    """A tiny thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


# id(queue tuple) -> (the tuple itself, to rule out a recycled id; its wire bytes; its uids)
_encoded_queues: _Recent[int, tuple[tuple[m.QueueItem, ...], bytes, frozenset[str]]] = _Recent(8)
# wire bytes of a Queue -> (decoded tuple, its uids)
_decoded_queues: _Recent[bytes, tuple[tuple[m.QueueItem, ...], frozenset[str]]] = _Recent(8)


# ------------------------------------------------------------------------------ frames


def encode(envelope: m.Envelope) -> bytes:
    """Return the wire bytes of *envelope*; raise EncodeError if a value cannot go on the wire."""
    try:
        if envelope.seq < 1:
            raise ValueError(f"seq must be >= 1, got {envelope.seq}")
        check_id("msg_id", envelope.msg_id)
        env = pb.Envelope(
            seq=envelope.seq,
            msg_id=envelope.msg_id,
            traceparent=envelope.traceparent,
            tracestate=envelope.tracestate,
        )
        body = envelope.body
        data: bytes
        if isinstance(body, m.StateSnapshot):
            data = env.SerializeToString() + length_delimited(
                _SNAPSHOT_FIELD, _snapshot_bytes(body)
            )
        elif isinstance(body, m.QueuePage):  # items by hand (connect.wire._queue_frames)
            data = env.SerializeToString() + length_delimited(
                _PAGE_BODY_FIELD, queue_page_bytes(body)
            )
        else:
            field, fill = _BODY_WRITERS[type(body)]
            target = getattr(env, field)
            target.SetInParent()  # marks the oneof even for bodies without fields
            fill(target, body)
            data = env.SerializeToString()
    except _BAD_VALUE as exc:
        raise EncodeError(f"cannot encode {type(envelope.body).__name__}: {exc}") from exc
    if len(data) > m.MAX_FRAME_BYTES:
        raise EncodeError(f"frame of {len(data)} bytes is over the {m.MAX_FRAME_BYTES}-byte limit")
    return data


def decode(frame: bytes) -> m.Envelope:
    """Return the Envelope in *frame*, or raise a FrameError subclass saying why not."""
    if len(frame) > m.MAX_FRAME_BYTES:
        raise FrameTooLargeError(
            f"frame of {len(frame)} bytes is over the {m.MAX_FRAME_BYTES}-byte limit"
        )
    try:
        env = LazyEnvelope.FromString(frame)
    except _BAD_VALUE as exc:
        raise MalformedFrameError(f"not a Connect envelope: {exc}") from exc
    seq, msg_id = env.seq, env.msg_id
    # A controller waits on its command's id: whatever is wrong around a command whose id can
    # be read, the refusal names that id so the device can answer it (issue 13, item 8).
    command_id = _answerable_command_id(env)
    try:
        if seq < 1:
            raise ValueError("seq is missing")
        check_id("msg_id", msg_id)
        body = _read_body(env, seq, command_id)
    except FrameError:
        raise  # already typed (an unknown body or command); FrameError is also a ValueError
    except _BAD_VALUE as exc:
        message = f"frame {seq} is malformed: {exc}"
        if command_id is not None:
            raise MalformedCommandError(
                message, command_id=command_id, seq=seq, msg_id=msg_id
            ) from exc
        raise MalformedFrameError(message, seq=seq, msg_id=msg_id) from exc
    return m.Envelope(seq, msg_id, body, env.traceparent, env.tracestate)


def _answerable_command_id(env: Any) -> str | None:
    """Return the id of the Command in *env* if it may be echoed in a CommandResult, else None."""
    if env.WhichOneof("body") != "command":
        return None
    command_id: str = env.command.command_id
    try:
        check_id("command_id", command_id)
    except ValueError:
        return None  # over the identifier limit: no result could carry it
    return command_id


def _read_body(env: Any, seq: int, command_id: str | None) -> m.Body:
    kind = env.WhichOneof("body")
    if kind is None:
        raise UnknownMessageError(
            f"frame {seq} has no body this version knows", seq=seq, msg_id=env.msg_id
        )
    w = getattr(env, kind)
    if kind == "state_snapshot":
        return _read_snapshot(w)
    if kind == "command":
        if command_id is None:
            raise ValueError("command_id is longer than 128 bytes")
        try:
            action = rd.command_action(w)
        except _BAD_VALUE as exc:
            raise InvalidCommandError(
                f"command {command_id!r}: {exc}", command_id=command_id, seq=seq, msg_id=env.msg_id
            ) from exc
        if action is None:
            raise UnknownCommandError(
                f"command {command_id!r} has an action this version does not know",
                command_id=command_id,
                seq=seq,
            )
        return rd.command_from(w, action)
    return _BODY_READERS[kind](w)


# Body type (or Envelope oneof field) -> how to write (read) it: the session's and transfer's
# bodies, then the groups' (protocol 1.2, connect.wire._group_wire).
_BODY_WRITERS = {**wr.BODY_WRITERS, **_GROUP_WRITERS}
_BODY_READERS = {**rd.BODY_READERS, **_GROUP_READERS}


# Field numbers used to splice a cached queue into a snapshot, read from the descriptors.
_SNAPSHOT_FIELD = pb.Envelope.DESCRIPTOR.fields_by_name["state_snapshot"].number
_PAGE_BODY_FIELD = pb.Envelope.DESCRIPTOR.fields_by_name["queue_page"].number
_CHANGE_FIELD = pb.StateSnapshot.DESCRIPTOR.fields_by_name["queue_change"].number
_STATE_FIELD = pb.StateSnapshot.DESCRIPTOR.fields_by_name["state"].number
_QUEUE_FIELD = pb.PlaybackState.DESCRIPTOR.fields_by_name["queue"].number
_QUEUE_ITEMS_FIELD = pb.Queue.DESCRIPTOR.fields_by_name["items"].number
_PAGE_ITEMS_FIELD = pb.QueuePage.DESCRIPTOR.fields_by_name["items"].number


def _snapshot_bytes(snapshot: m.StateSnapshot) -> bytes:
    """Return the wire bytes of a StateSnapshot, reusing the cached bytes of its queue."""
    state = snapshot.state
    queue = state.queue
    cached = _encoded_queues.get(id(queue))
    if cached is None or cached[0] is not queue:
        wire_queue = wr.queue_items_bytes(queue, _QUEUE_ITEMS_FIELD)
        cached = (queue, wire_queue, frozenset(item.uid for item in queue))
        _encoded_queues.put(id(queue), cached)
    if state.current_uid and state.current_uid not in cached[2]:
        raise ValueError(f"current_uid {state.current_uid!r} is not in the queue")
    wire_state = pb.PlaybackState()
    wr.fill_state_except_queue(wire_state, state)
    state_bytes: bytes = wire_state.SerializeToString()
    if queue:  # an empty queue is an absent field, as protobuf itself would write it
        state_bytes += length_delimited(_QUEUE_FIELD, cached[1])
    wire_reason: Any = pb.StateSnapshot()
    wire_reason.reason = snapshot.reason.value
    reason: bytes = wire_reason.SerializeToString()
    if snapshot.queue_change is not None:  # after the reason, as protobuf orders them
        reason += length_delimited(_CHANGE_FIELD, queue_change_bytes(snapshot.queue_change))
    return length_delimited(_STATE_FIELD, state_bytes) + reason


def read_queue_bytes(data: bytes) -> tuple[tuple[m.QueueItem, ...], frozenset[str]]:
    """Return the queue encoded in *data* (a wire Queue) and its uids, from the cache if seen."""
    cached = _decoded_queues.get(data)
    if cached is None:
        items = items_from_field(data, _QUEUE_ITEMS_FIELD)
        check_queue(items)
        cached = (items, frozenset(item.uid for item in items))
        _decoded_queues.put(data, cached)
    return cached


def _read_snapshot(w: Any) -> m.StateSnapshot:
    ws = w.state
    items, uids = read_queue_bytes(ws.queue)
    if ws.current_uid and ws.current_uid not in uids:
        raise ValueError(f"current_uid {ws.current_uid!r} is not in the queue")
    change = rd.queue_change(w.queue_change) if w.HasField("queue_change") else None
    return m.StateSnapshot(rd.state(ws, items), rd.change_reason(w.reason), change)


# ------------------------------------------------------------------------------ HTTP bodies


def _parse(cls: type[_WireMessage], data: bytes, what: str) -> Any:
    if len(data) > m.MAX_FRAME_BYTES:
        raise FrameTooLargeError(f"{what} of {len(data)} bytes is over the limit")
    try:
        return cls.FromString(data)
    except _BAD_VALUE as exc:
        raise MalformedFrameError(f"not a {what}: {exc}") from exc


def encode_device_info(info: m.DeviceInfo) -> bytes:
    """Return the protobuf body of `GET /connect/v1/info`."""
    return _serialize(pb.DeviceInfo(), wr.fill_device_info, info)


def decode_device_info(data: bytes) -> m.DeviceInfo:
    """Read a protobuf DeviceInfo; raise a FrameError subclass if it is not one."""
    return _read(rd.device_info, _parse(pb.DeviceInfo, data, "DeviceInfo"), "DeviceInfo")


def device_info_to_json(info: m.DeviceInfo) -> str:
    """Return DeviceInfo as protobuf JSON (field names as in the .proto, enums by name)."""
    from google.protobuf import json_format  # JSON is rare; its import costs ~20 ms

    wire = pb.DeviceInfo()
    _fill(wire, wr.fill_device_info, info)
    text: str = json_format.MessageToJson(wire, preserving_proto_field_name=True, indent=2)
    return text


def device_info_from_json(text: str) -> m.DeviceInfo:
    """Read DeviceInfo from protobuf JSON, ignoring unknown fields."""
    from google.protobuf import json_format

    try:
        wire = json_format.Parse(text, pb.DeviceInfo(), ignore_unknown_fields=True)
    except (json_format.ParseError, *_BAD_VALUE) as exc:
        raise MalformedFrameError(f"not a DeviceInfo JSON document: {exc}") from exc
    return _read(rd.device_info, wire, "DeviceInfo")


def encode_pairing_request(request: m.PairingRequest) -> bytes:
    """Return the protobuf body of `POST /connect/v1/pair`."""

    def fill(out: Any, v: m.PairingRequest) -> None:
        wr.fill_client(out.client, v.client)
        out.pin = v.pin
        if v.requested_role is not None:
            out.requested_role = v.requested_role.value

    return _serialize(pb.PairingRequest(), fill, request)


def decode_pairing_request(data: bytes) -> m.PairingRequest:
    """Read a PairingRequest body."""
    w = _parse(pb.PairingRequest, data, "PairingRequest")
    return _read(
        lambda w: m.PairingRequest(rd.client(w.client), w.pin, rd.optional_role(w.requested_role)),
        w,
        "PairingRequest",
    )


def encode_pairing_response(response: m.PairingResponse) -> bytes:
    """Return the protobuf body of a successful pairing answer."""

    def fill(out: Any, v: m.PairingResponse) -> None:
        check_id("device id", v.device_id)
        out.token, out.role, out.device_id = v.token, v.role.value, v.device_id
        out.certificate_sha256 = v.certificate_sha256

    return _serialize(pb.PairingResponse(), fill, response)


def decode_pairing_response(data: bytes) -> m.PairingResponse:
    """Read a PairingResponse body."""
    w = _parse(pb.PairingResponse, data, "PairingResponse")
    return _read(
        lambda w: m.PairingResponse(
            w.token, rd.required_role(w.role), w.device_id, w.certificate_sha256
        ),
        w,
        "PairingResponse",
    )


def encode_failure(failure: m.Failure) -> bytes:
    """Return the protobuf body of an HTTP error answer (a 4xx with a Failure)."""
    return _serialize(pb.Failure(), wr.fill_failure, failure)


def decode_failure(data: bytes) -> m.Failure:
    """Read a Failure body of an HTTP error answer."""
    return _read(rd.failure, _parse(pb.Failure, data, "Failure"), "Failure")


def encode_token_list(tokens: m.TokenList) -> bytes:
    """Return the protobuf body of `GET /connect/v1/tokens`."""

    def fill(out: Any, v: m.TokenList) -> None:
        for token in v.tokens:
            check_id("token id", token.id)
            entry = out.tokens.add(
                id=token.id,
                role=token.role.value,
                created_unix_ms=token.created_unix_ms,
                last_used_unix_ms=token.last_used_unix_ms,
            )
            wr.fill_client(entry.client, token.client)

    return _serialize(pb.TokenList(), fill, tokens)


def decode_token_list(data: bytes) -> m.TokenList:
    """Read a TokenList body."""

    def read(w: Any) -> m.TokenList:
        out = []
        for t in w.tokens:
            check_id("token id", t.id)
            role = rd.required_role(t.role)
            out.append(
                m.TokenInfo(t.id, rd.client(t.client), role, t.created_unix_ms, t.last_used_unix_ms)
            )
        return m.TokenList(tuple(out))

    return _read(read, _parse(pb.TokenList, data, "TokenList"), "TokenList")


def encode_pairing_code(code: m.PairingCode) -> bytes:
    """Return the protobuf body of `GET /connect/v1/pairing-code`."""

    def fill(out: Any, v: m.PairingCode) -> None:
        out.code = v.code

    return _serialize(pb.PairingCode(), fill, code)


def decode_pairing_code(data: bytes) -> m.PairingCode:
    """Read a PairingCode body."""
    w = _parse(pb.PairingCode, data, "PairingCode")
    return _read(lambda w: m.PairingCode(w.code), w, "PairingCode")


def encode_rename_request(request: m.RenameRequest) -> bytes:
    """Return the protobuf body of `PUT /connect/v1/name`."""

    def fill(out: Any, v: m.RenameRequest) -> None:
        out.name = v.name

    return _serialize(pb.RenameRequest(), fill, request)


def decode_rename_request(data: bytes) -> m.RenameRequest:
    """Read a RenameRequest body."""
    w = _parse(pb.RenameRequest, data, "RenameRequest")
    return _read(lambda w: m.RenameRequest(w.name), w, "RenameRequest")


def encode_transfer_status(status: m.TransferStatus) -> bytes:
    """Return the protobuf body of `GET /connect/v1/transfers/{transfer_id}`."""

    def fill(out: Any, v: m.TransferStatus) -> None:
        check_path_id("transfer_id", v.transfer_id)
        out.transfer_id = v.transfer_id
        out.phase = v.phase.value

    return _serialize(pb.TransferStatus(), fill, status)


def decode_transfer_status(data: bytes) -> m.TransferStatus:
    """Read a TransferStatus body (an unknown phase reads as UNKNOWN)."""

    def read(w: Any) -> m.TransferStatus:
        check_path_id("transfer_id", w.transfer_id)
        return m.TransferStatus(w.transfer_id, rd.transfer_phase(w.phase))

    return _read(read, _parse(pb.TransferStatus, data, "TransferStatus"), "TransferStatus")


def encode_queue_page(page: m.QueuePage) -> bytes:
    """Return the protobuf body of `GET /connect/v1/transfers/{transfer_id}/queue`."""
    try:
        return queue_page_bytes(page)
    except _BAD_VALUE as exc:
        raise EncodeError(f"cannot encode QueuePage: {exc}") from exc


def decode_queue_page(data: bytes) -> m.QueuePage:
    """Read a QueuePage body; raise a FrameError subclass if it is not one."""
    return _read(rd.queue_page, _parse(LazyQueuePage, data, "QueuePage"), "QueuePage")


MAX_QUEUE_FILE_BYTES = 256 * 1024 * 1024
"""A saved queue larger than this is refused unread (a library of a million tracks fits)."""


def encode_saved_queue(
    session_id: str, revision: int, items: Sequence[m.QueueItem], slice_items: int = 2000
) -> Iterator[bytes]:
    """Yield a device's whole queue for its state directory, a slice of items at a time: one
    QueuePage with no frame limit (`request_id` holds the session id, `queue_revision` the
    revision). Protobuf messages concatenate (a repeated field's items append), so the parts,
    written one after another, read as that one QueuePage; no copy of the whole is ever held."""
    header = m.QueuePage(session_id, revision, 0, len(items))
    yield _serialize(pb.QueuePage(), wr.fill_queue_page, header)
    for start in range(0, len(items), slice_items):
        part = items[start : start + slice_items]
        try:  # only the items field of a QueuePage: with the header, they read as one
            yield wr.queue_items_bytes(part, _PAGE_ITEMS_FIELD)
        except _BAD_VALUE as exc:
            raise EncodeError(f"cannot encode the saved queue: {exc}") from exc


def decode_saved_queue(data: bytes) -> m.QueuePage:
    """Read a queue written by encode_saved_queue; raise a FrameError subclass if it is not one."""
    if len(data) > MAX_QUEUE_FILE_BYTES:
        raise FrameTooLargeError(f"a saved queue of {len(data)} bytes is over the limit")
    try:
        wire = LazyQueuePage.FromString(data)
    except _BAD_VALUE as exc:
        raise MalformedFrameError(f"not a saved queue: {exc}") from exc
    return _read(rd.queue_page, wire, "saved queue")


def _fill(wire: Any, fill: Callable[[Any, T], None], value: T) -> None:
    try:
        fill(wire, value)
    except _BAD_VALUE as exc:
        raise EncodeError(f"cannot encode {type(value).__name__}: {exc}") from exc


def _serialize(wire: Any, fill: Callable[[Any, T], None], value: T) -> bytes:
    _fill(wire, fill, value)
    data: bytes = wire.SerializeToString()
    return data


def _read(reader: Callable[[Any], T], wire: Any, what: str) -> T:
    try:
        return reader(wire)
    except _BAD_VALUE as exc:
        raise MalformedFrameError(f"{what} is malformed: {exc}") from exc
