"""Model -> generated protobuf: fill a wire message in place from a frozen dataclass.

Private to the codec. Every `fill_*` writes into an empty message that protobuf already
allocated (a sub-message or a oneof member), which is cheaper than building and copying.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from connect.wire import messages as m
from connect.wire._checks import (
    check_base_url,
    check_id,
    check_percent,
    check_queue,
    check_rate,
    check_transfer_target,
    check_uids,
    check_version_range,
)
from connect.wire._group_roster import fill_group
from connect.wire._items import items_bytes
from connect.wire._pb import connect_pb2 as pb

# Wire messages are typed loosely here: the generated classes are checked through their
# .pyi stubs where it matters, and these fillers are exercised by the round-trip tests.
Wire = Any


def fill_version_range(out: Wire, value: m.VersionRange) -> None:
    check_version_range("versions", value)
    out.SetInParent()  # present even when every value is zero
    out.min.major, out.min.minor = value.lowest.major, value.lowest.minor
    out.max.major, out.max.minor = value.highest.major, value.highest.minor


def fill_failure(out: Wire, value: m.Failure) -> None:
    out.SetInParent()  # a failure is present even with code 0 and no message
    out.code = value.code.value
    out.message = value.message
    if value.pairing_tries_left is not None:
        out.pairing_tries_left = value.pairing_tries_left


def fill_restrictions(out: Wire, values: Iterable[m.Restriction]) -> None:
    for restriction in values:
        if not restriction.reasons:
            raise ValueError(f"restriction on {restriction.command.name} has no reason")
        out.entries.add(command=restriction.command.value, reasons=restriction.reasons)


def fill_capabilities(out: Wire, value: m.Capabilities) -> None:
    check_percent("capabilities.max_volume", value.max_volume)
    out.audio_codecs.extend(value.audio_codecs)
    out.volume.settable = value.volume.settable
    out.volume.reportable = value.volume.reportable
    out.volume.steps = value.volume.steps
    out.seek = value.seek
    out.queue = value.queue
    out.transfer_source = value.transfer_source
    out.transfer_target = value.transfer_target
    out.output_delay_us = value.output_delay_us
    out.max_volume = value.max_volume
    out.no_timed_start = value.no_timed_start
    out.position_uncertainty_ms = value.position_uncertainty_ms
    out.group_member = value.group_member


def fill_device_info(out: Wire, value: m.DeviceInfo) -> None:
    check_id("device id", value.id)
    out.id = value.id
    out.name = value.name
    out.type = value.type.value
    out.model = value.model
    out.manufacturer = value.manufacturer
    out.software_version = value.software_version
    fill_version_range(out.protocol, value.protocol)
    fill_capabilities(out.capabilities, value.capabilities)
    fill_restrictions(out.restrictions, value.restrictions)
    out.ws_path = value.ws_path
    out.pairing = value.pairing.value
    out.revision = value.revision


def fill_client(out: Wire, value: m.ClientIdentity) -> None:
    check_id("client id", value.id)
    out.id = value.id
    out.name = value.name
    out.type = value.type.value
    out.software = value.software


def fill_queue_items(out: Wire, items: tuple[m.QueueItem, ...], current_uid: str = "") -> None:
    """Append *items* to the repeated field *out*, after checking their uids."""
    check_queue(items, current_uid)
    add = out.add
    for it in items:
        add(
            uid=it.uid,
            url=it.url,
            title=it.title,
            artist=it.artist,
            album=it.album,
            duration_ms=it.duration_ms,
            artwork_url=it.artwork_url,
            content_type=it.content_type,
        )


def queue_items_bytes(items: Sequence[m.QueueItem], field_number: int) -> bytes:
    """Return *items* as a repeated QueueItem field *field_number*, after checking their uids
    (written by hand, connect.wire._items: the encoding a long queue takes most)."""
    check_queue(items)
    return items_bytes(items, field_number)


def fill_state_except_queue(out: Wire, s: m.PlaybackState) -> None:
    """Write every PlaybackState field but the queue (the codec caches the queue's encoding)."""
    check_id("session_id", s.session_id)
    check_percent("volume", s.volume)
    check_rate(s.clock.rate)
    out.session_id = s.session_id
    out.revision = s.revision
    out.current_uid = s.current_uid
    clock = out.clock
    clock.position_ms = s.clock.position_ms
    clock.as_of_us = s.clock.as_of_us
    clock.rate = s.clock.rate
    clock.playing = s.clock.playing
    out.status = s.status.value
    out.volume = s.volume
    out.muted = s.muted
    out.shuffle = s.shuffle
    out.shuffle_seed = s.shuffle_seed
    out.repeat = s.repeat.value
    out.active = s.active
    out.last_command_id = s.last_command_id
    if s.error is not None:
        fill_failure(out.error, s.error)
    fill_restrictions(out.restrictions, s.restrictions)
    out.device_id = s.device_id
    out.live = s.live
    if s.now_playing is not None:
        playing = out.now_playing
        playing.SetInParent()
        playing.title = s.now_playing.title
        playing.station = s.now_playing.station
        playing.logo_url = s.now_playing.logo_url
    out.epoch = s.epoch
    out.queue_offset = s.queue_offset
    out.queue_length = s.queue_length
    out.queue_revision = s.queue_revision
    if s.group is not None:
        fill_group(out.group, s.group)


def fill_queue_change(out: Wire, change: m.QueueChange) -> None:
    """Write a snapshot's QueueChange (the edits' uids and items are checked)."""
    out.from_revision = change.from_revision
    out.reset = change.reset
    for edit in change.edits:
        wire = out.edits.add()
        if isinstance(edit, m.QueueInsert):
            check_id("after_uid", edit.after_uid)
            wire.insert.after_uid = edit.after_uid
            fill_queue_items(wire.insert.items, edit.items)
        elif isinstance(edit, m.QueueRemove):
            for uid in edit.uids:
                check_id("removed uid", uid)
            wire.remove.uids.extend(edit.uids)
        else:
            check_id("moved uid", edit.uid)
            check_id("after_uid", edit.after_uid)
            wire.move.uid, wire.move.after_uid = edit.uid, edit.after_uid


# ------------------------------------------------------------------------------ bodies


def _hello(out: Wire, v: m.Hello) -> None:
    fill_version_range(out.supported, v.supported)
    if v.requested_role is not None:
        out.requested_role = v.requested_role.value
    fill_client(out.client, v.client)
    out.token = v.token


def _welcome(out: Wire, v: m.Welcome) -> None:
    out.version.major, out.version.minor = v.version.major, v.version.minor
    out.role = v.role.value
    fill_device_info(out.device, v.device)
    out.connection_id = v.connection_id
    out.heartbeat_interval_ms = v.heartbeat_interval_ms


def _command(out: Wire, v: m.Command) -> None:
    check_id("command_id", v.command_id)
    out.command_id = v.command_id
    if v.expected_revision is not None:
        out.expected_revision = v.expected_revision
    action = v.action
    field = _ACTION_FIELDS[type(action)]
    target = getattr(out, field)
    target.SetInParent()  # marks the oneof even for actions without fields (Pause)
    if isinstance(action, m.Play):
        target.item_uid = action.item_uid
        if action.position_ms is not None:
            target.position_ms = action.position_ms
    elif isinstance(action, m.Seek):
        target.position_ms = action.position_ms
    elif isinstance(action, m.SetVolume):
        target.volume = action.volume  # above 100: the device clamps it (the .proto says so)
        if action.muted is not None:
            target.muted = action.muted
    elif isinstance(action, m.SetQueue):
        fill_queue_items(target.items, action.items)
        target.start_uid = action.start_uid
        target.start_position_ms = action.start_position_ms
        target.play = action.play
    elif isinstance(action, m.AddToQueue):
        fill_queue_items(target.items, action.items)
        target.after_uid = action.after_uid
    elif isinstance(action, m.RemoveFromQueue):
        check_uids("remove_from_queue.uids", action.uids)
        target.uids.extend(action.uids)
    elif isinstance(action, m.MoveInQueue):
        check_uids("move_in_queue.uid", (action.uid,))
        check_id("move_in_queue.after_uid", action.after_uid)
        target.uid = action.uid
        target.after_uid = action.after_uid
    elif isinstance(action, m.SetOptions):
        if action.shuffle is not None:
            target.shuffle = action.shuffle
        if action.shuffle_seed is not None:
            target.shuffle_seed = action.shuffle_seed
        if action.repeat is not None:
            target.repeat = action.repeat.value


_ACTION_FIELDS: dict[type, str] = {
    m.Play: "play",
    m.Pause: "pause",
    m.Resume: "resume",
    m.Seek: "seek",
    m.SkipNext: "skip_next",
    m.SkipPrevious: "skip_previous",
    m.SetVolume: "set_volume",
    m.SetQueue: "set_queue",
    m.AddToQueue: "add_to_queue",
    m.SetOptions: "set_options",
    m.RemoveFromQueue: "remove_from_queue",
    m.MoveInQueue: "move_in_queue",
    m.ClearQueue: "clear_queue",
}


def _command_result(out: Wire, v: m.CommandResult) -> None:
    out.command_id = v.command_id
    out.revision = v.revision
    if v.failure is not None:
        fill_failure(out.failure, v.failure)


def _transfer_offer(out: Wire, v: m.TransferOffer) -> None:
    check_id("transfer_id", v.transfer_id)
    check_percent("source_volume", v.source_volume)
    out.transfer_id = v.transfer_id
    fill_state_except_queue(out.state, v.state)
    fill_queue_items(out.state.queue.items, v.state.queue, v.state.current_uid)
    o = v.options
    out.options.mode = o.mode.value
    out.options.volume_policy = o.volume_policy.value
    out.options.source_after = o.source_after.value
    out.options.paused = o.paused
    out.options.fade_ms = o.fade_ms
    out.source_device_id = v.source_device_id
    out.deadline_us = v.deadline_us
    out.source_volume = v.source_volume
    out.prepare = v.prepare
    out.commit_lead_us = v.commit_lead_us
    if v.source_url:
        check_base_url("source_url", "source_device_id", v.source_device_id, v.source_url)
    out.source_url = v.source_url


def _transfer_ready(out: Wire, v: m.TransferReady) -> None:
    out.transfer_id = v.transfer_id
    out.prerolled_position_ms = v.prerolled_position_ms
    out.ready_at_us = v.ready_at_us
    out.output_delay_us = v.output_delay_us
    out.start_lead_us = v.start_lead_us
    out.offer_received_at_us = v.offer_received_at_us


def _with_failure(out: Wire, v: m.TransferRejected | m.TransferAborted) -> None:
    out.transfer_id = v.transfer_id
    fill_failure(out.failure, v.failure)
    if isinstance(v, m.TransferRejected):
        out.owner_device_id = v.owner_device_id


def _transfer_commit(out: Wire, v: m.TransferCommit) -> None:
    out.transfer_id = v.transfer_id
    out.role = v.role.value
    out.switch_at_us = v.switch_at_us
    out.position_ms = v.position_ms
    out.fade_ms = v.fade_ms
    out.source_after = v.source_after.value
    out.revision = v.revision
    check_transfer_target(v.target_device_id, v.target_url)
    out.target_device_id = v.target_device_id
    out.target_url = v.target_url
    out.epoch = v.epoch


def _transfer_done(out: Wire, v: m.TransferDone) -> None:
    out.transfer_id = v.transfer_id
    out.role = v.role.value
    out.edge_at_us = v.edge_at_us
    out.position_ms = v.position_ms
    out.revision = v.revision
    if v.timings is not None:
        t = v.timings
        out.timings.SetInParent()
        out.timings.request_to_ready_ms = t.request_to_ready_ms
        out.timings.ready_to_audible_ms = t.ready_to_audible_ms
        out.timings.request_to_audible_ms = t.request_to_audible_ms
        out.timings.gap_us = t.gap_us
        out.timings.offer_us = t.offer_us
        out.timings.preroll_us = t.preroll_us
        out.timings.lead_us = t.lead_us
        out.timings.start_us = t.start_us
        out.timings.position_error_ms = t.position_error_ms


def _queue_request(out: Wire, v: m.QueueRequest) -> None:
    check_id("request_id", v.request_id)
    out.request_id, out.offset, out.count = v.request_id, v.offset, v.count


def fill_queue_page(out: Wire, v: m.QueuePage) -> None:
    """Write a QueuePage (a session body, and the HTTP answer of a source)."""
    check_id("request_id", v.request_id)
    out.request_id = v.request_id
    out.queue_revision = v.queue_revision
    out.offset = v.offset
    out.queue_length = v.queue_length
    fill_queue_items(out.items, v.items)
    if v.failure is not None:
        fill_failure(out.failure, v.failure)


def _goodbye(out: Wire, v: m.Goodbye) -> None:
    out.reason = v.reason.value
    out.message = v.message
    if v.supported is not None:
        fill_version_range(out.supported, v.supported)


def _error(out: Wire, v: m.Error) -> None:
    out.code = v.code.value
    out.message = v.message
    out.ref_seq = v.ref_seq
    out.ref_msg_id = v.ref_msg_id


def _fields(*names: str) -> Callable[[Wire, Any], None]:
    """Return a filler that copies the named attributes unchanged (plain scalar messages)."""

    def fill(out: Wire, v: Any) -> None:
        for name in names:
            setattr(out, name, getattr(v, name))

    return fill


# Body type -> (Envelope oneof field, filler). StateSnapshot is handled by the codec itself.
BODY_WRITERS: dict[type, tuple[str, Callable[[Wire, Any], None]]] = {
    m.Hello: ("hello", _hello),
    m.Welcome: ("welcome", _welcome),
    m.TimeRequest: ("time_request", _fields("client_send_us")),
    m.TimeResponse: (
        "time_response",
        _fields("client_send_us", "device_receive_us", "device_send_us"),
    ),
    m.Command: ("command", _command),
    m.CommandResult: ("command_result", _command_result),
    m.TransferOffer: ("transfer_offer", _transfer_offer),
    m.TransferReady: ("transfer_ready", _transfer_ready),
    m.TransferRejected: ("transfer_rejected", _with_failure),
    m.TransferCommit: ("transfer_commit", _transfer_commit),
    m.TransferAborted: ("transfer_aborted", _with_failure),
    m.TransferDone: ("transfer_done", _transfer_done),
    m.Heartbeat: ("heartbeat", _fields("revision")),
    m.Goodbye: ("goodbye", _goodbye),
    m.Error: ("error", _error),
    m.QueueRequest: ("queue_request", _queue_request),
    m.QueuePage: ("queue_page", fill_queue_page),
}


def new_envelope() -> Wire:
    """Return an empty wire Envelope."""
    return pb.Envelope()
