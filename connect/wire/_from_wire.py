"""Generated protobuf -> model: read a parsed wire message into frozen dataclasses.

Private to the codec. Readers raise ValueError for values that matter and are out of range
(the codec turns it into MalformedFrameError), and map enum values this version does not know
onto each enum's documented fallback, so a newer peer's additions never break us.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

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
from connect.wire._group_roster import read_group
from connect.wire._items import item_from_bytes, items_from_field
from connect.wire._pb import connect_pb2 as pb

QUEUE_ITEMS_FIELD = pb.Queue.DESCRIPTOR.fields_by_name["items"].number

Wire = Any
E = TypeVar("E", bound=enum.Enum)


def _enum_reader(cls: type[E], fallback: E) -> Callable[[int], E]:
    """Return a function mapping a wire number to a member of *cls*, unknown ones to *fallback*."""
    table = {member.value: member for member in cls}
    return lambda number: table.get(number, fallback)


device_type = _enum_reader(m.DeviceType, m.DeviceType.OTHER)
pairing_mode = _enum_reader(m.PairingMode, m.PairingMode.PIN)
error_code = _enum_reader(m.ErrorCode, m.ErrorCode.UNKNOWN)
command_kind = _enum_reader(m.CommandKind, m.CommandKind.UNKNOWN)
goodbye_reason = _enum_reader(m.GoodbyeReason, m.GoodbyeReason.UNKNOWN)
playback_status = _enum_reader(m.PlaybackStatus, m.PlaybackStatus.STOPPED)
repeat_mode = _enum_reader(m.RepeatMode, m.RepeatMode.OFF)
change_reason = _enum_reader(m.StateChangeReason, m.StateChangeReason.UNKNOWN)
transfer_mode = _enum_reader(m.TransferMode, m.TransferMode.HANDOFF)
volume_policy = _enum_reader(m.VolumePolicy, m.VolumePolicy.KEEP_TARGET)
source_after = _enum_reader(m.SourceAfter, m.SourceAfter.STOP)
transfer_phase = _enum_reader(m.TransferPhase, m.TransferPhase.UNKNOWN)
_ROLES = {member.value: member for member in m.Role}
_TRANSFER_ROLES = {member.value: member for member in m.TransferRole}


def optional_role(number: int) -> m.Role | None:
    """Read a requested role: 0 means "the best allowed" (None); an unknown one is refused."""
    if number == 0:
        return None
    return required_role(number)


def required_role(number: int) -> m.Role:
    """Read a role that must be known: granting an unknown role would be a guess."""
    try:
        return _ROLES[number]
    except KeyError:
        raise ValueError(f"unknown role {number}") from None


def transfer_role(number: int) -> m.TransferRole:
    """Read a transfer role, which every Commit and Done must name."""
    try:
        return _TRANSFER_ROLES[number]
    except KeyError:
        raise ValueError(f"transfer role must be SOURCE or TARGET, got {number}") from None


def version(w: Wire) -> m.ProtocolVersion:
    return m.ProtocolVersion(w.major, w.minor)


def version_range(w: Wire) -> m.VersionRange:
    value = m.VersionRange(version(w.min), version(w.max))
    check_version_range("versions", value)
    return value


def failure(w: Wire) -> m.Failure:
    left = w.pairing_tries_left if w.HasField("pairing_tries_left") else None
    return m.Failure(error_code(w.code), w.message, left)


def restrictions(w: Wire) -> tuple[m.Restriction, ...]:
    out = []
    for entry in w.entries:
        if not entry.reasons:
            raise ValueError("a restriction without a reason")
        out.append(m.Restriction(command_kind(entry.command), tuple(entry.reasons)))
    return tuple(out)


def capabilities(w: Wire) -> m.Capabilities:
    check_percent("capabilities.max_volume", w.max_volume)
    return m.Capabilities(
        audio_codecs=tuple(w.audio_codecs),
        volume=m.VolumeCapabilities(w.volume.settable, w.volume.reportable, w.volume.steps),
        seek=w.seek,
        queue=w.queue,
        transfer_source=w.transfer_source,
        transfer_target=w.transfer_target,
        output_delay_us=w.output_delay_us,
        max_volume=w.max_volume,
        no_timed_start=w.no_timed_start,
        position_uncertainty_ms=w.position_uncertainty_ms,
        group_member=w.group_member,
    )


def device_info(w: Wire) -> m.DeviceInfo:
    check_id("device id", w.id)
    return m.DeviceInfo(
        id=w.id,
        name=w.name,
        type=device_type(w.type),
        protocol=version_range(w.protocol),
        capabilities=capabilities(w.capabilities),
        model=w.model,
        manufacturer=w.manufacturer,
        software_version=w.software_version,
        restrictions=restrictions(w.restrictions),
        ws_path=w.ws_path,
        pairing=pairing_mode(w.pairing),
        revision=w.revision,
    )


def client(w: Wire) -> m.ClientIdentity:
    check_id("client id", w.id)
    return m.ClientIdentity(w.id, w.name, device_type(w.type), w.software)


def queue_items(w: Wire) -> tuple[m.QueueItem, ...]:
    """Read a repeated QueueItem field (uids are checked by the caller, with the current uid).

    Through connect.wire._lazy's twins each item is its wire bytes, read by hand; the generated
    classes' messages are read field by field.
    """
    if w and isinstance(w[0], bytes):
        return tuple(map(item_from_bytes, w))
    item = m.QueueItem
    return tuple(
        item(i.uid, i.url, i.title, i.artist, i.album, i.duration_ms, i.artwork_url, i.content_type)
        for i in w
    )


def state(w: Wire, queue: tuple[m.QueueItem, ...]) -> m.PlaybackState:
    """Read a PlaybackState whose queue the caller has already read (and maybe cached)."""
    check_id("session_id", w.session_id)
    check_percent("volume", w.volume)
    c = w.clock
    check_rate(c.rate)
    offset, length = w.queue_offset, w.queue_length
    if offset == 0 and length == len(queue):
        length = 0  # the whole queue, said the long way
    if (length and offset + len(queue) > length) or (not length and offset):
        raise ValueError(
            f"a window of {len(queue)} items at {offset} does not fit a queue of {length}"
        )
    return m.PlaybackState(
        session_id=w.session_id,
        revision=w.revision,
        device_id=w.device_id,
        queue=queue,
        current_uid=w.current_uid,
        clock=m.PlaybackClock(c.position_ms, c.as_of_us, c.rate, c.playing),
        status=playback_status(w.status),
        volume=w.volume,
        muted=w.muted,
        shuffle=w.shuffle,
        shuffle_seed=w.shuffle_seed,
        repeat=repeat_mode(w.repeat),
        active=w.active,
        last_command_id=w.last_command_id,
        error=failure(w.error) if w.HasField("error") else None,
        restrictions=restrictions(w.restrictions),
        live=w.live,
        now_playing=now_playing(w.now_playing) if w.HasField("now_playing") else None,
        epoch=w.epoch,
        queue_offset=offset,
        queue_length=length,
        queue_revision=w.queue_revision,
        group=read_group(w.group) if w.HasField("group") else None,
    )


def queue_change(w: Wire) -> m.QueueChange:
    """Read a snapshot's QueueChange (uids checked; inserted items too)."""
    edits: list[m.QueueEdit] = []
    for e in w.edits:
        kind = e.WhichOneof("edit")
        if kind == "insert":
            check_id("after_uid", e.insert.after_uid)
            items = queue_items(e.insert.items)
            check_queue(items)
            edits.append(m.QueueInsert(e.insert.after_uid, items))
        elif kind == "remove":
            edits.append(m.QueueRemove(uids(e.remove.uids)))
        elif kind == "move":
            check_id("uid", e.move.uid)
            check_id("after_uid", e.move.after_uid)
            edits.append(m.QueueMove(e.move.uid, e.move.after_uid))
        else:  # an edit of a newer version: what it did is unknown, so fetch again
            return m.QueueChange(w.from_revision, reset=True)
    return m.QueueChange(w.from_revision, tuple(edits), w.reset)


def uids(w: Wire) -> tuple[str, ...]:
    """Read a repeated uid field, each non-empty and at most 128 bytes."""
    for uid in w:
        if not uid:
            raise ValueError("an empty uid")
        check_id("uid", uid)
    return tuple(w)


def queue_page(w: Wire) -> m.QueuePage:
    """Read a QueuePage (a session body, and the HTTP answer of a transfer's source)."""
    check_id("request_id", w.request_id)
    items = queue_items(w.items)
    check_queue(items)
    if w.offset + len(items) > w.queue_length:
        raise ValueError(f"{len(items)} items at {w.offset} do not fit a queue of {w.queue_length}")
    return m.QueuePage(
        w.request_id,
        w.queue_revision,
        w.offset,
        w.queue_length,
        items,
        failure(w.failure) if w.HasField("failure") else None,
    )


def now_playing(w: Wire) -> m.NowPlaying:
    """Read what a live stream says is on."""
    return m.NowPlaying(w.title, w.station, w.logo_url)


# ------------------------------------------------------------------------------ bodies


def _hello(w: Wire) -> m.Hello:
    return m.Hello(
        supported=version_range(w.supported),
        client=client(w.client),
        requested_role=optional_role(w.requested_role),
        token=w.token,
    )


def _welcome(w: Wire) -> m.Welcome:
    return m.Welcome(
        version=version(w.version),
        role=required_role(w.role),
        device=device_info(w.device),
        connection_id=w.connection_id,
        heartbeat_interval_ms=w.heartbeat_interval_ms,
    )


def command_action(w: Wire) -> m.Action | None:
    """Read a Command's action; None when the action is one this version does not know."""
    kind = w.WhichOneof("action")
    a: Wire = getattr(w, kind) if kind else None
    if kind == "play":
        return m.Play(a.item_uid, a.position_ms if a.HasField("position_ms") else None)
    if kind == "seek":
        return m.Seek(a.position_ms)
    if kind == "set_volume":
        # Any uint32: the device clamps it to 100 and to its cap (the .proto's SetVolume).
        return m.SetVolume(a.volume, a.muted if a.HasField("muted") else None)
    if kind == "set_queue":
        items = queue_items(a.items)
        check_queue(items)  # an unknown start_uid is the session's NOT_FOUND, not malformed
        return m.SetQueue(items, a.start_uid, a.start_position_ms, a.play)
    if kind == "add_to_queue":
        items = queue_items(a.items)
        check_queue(items)
        return m.AddToQueue(items, a.after_uid)
    if kind == "remove_from_queue":
        uids = tuple(a.uids)
        check_uids("remove_from_queue.uids", uids)
        return m.RemoveFromQueue(uids)
    if kind == "move_in_queue":
        check_uids("move_in_queue.uid", (a.uid,))
        check_id("move_in_queue.after_uid", a.after_uid)
        return m.MoveInQueue(a.uid, a.after_uid)
    if kind == "set_options":
        return m.SetOptions(
            shuffle=a.shuffle if a.HasField("shuffle") else None,
            shuffle_seed=a.shuffle_seed if a.HasField("shuffle_seed") else None,
            repeat=repeat_mode(a.repeat) if a.HasField("repeat") else None,
        )
    plain: dict[str | None, m.Action] = {
        "pause": m.Pause(),
        "resume": m.Resume(),
        "skip_next": m.SkipNext(),
        "skip_previous": m.SkipPrevious(),
        "clear_queue": m.ClearQueue(),
    }
    return plain.get(kind)


def command_from(w: Wire, action: m.Action) -> m.Command:
    check_id("command_id", w.command_id)
    expected = w.expected_revision if w.HasField("expected_revision") else None
    return m.Command(w.command_id, action, expected)


def _command_result(w: Wire) -> m.CommandResult:
    return m.CommandResult(
        w.command_id, w.revision, failure(w.failure) if w.HasField("failure") else None
    )


def _transfer_offer(w: Wire) -> m.TransferOffer:
    check_id("transfer_id", w.transfer_id)
    check_percent("source_volume", w.source_volume)
    # The codec parses with connect.wire._lazy, where a state's queue arrives as wire bytes.
    items = items_from_field(w.state.queue, QUEUE_ITEMS_FIELD)
    check_queue(items, w.state.current_uid)
    o = w.options
    return m.TransferOffer(
        transfer_id=w.transfer_id,
        state=state(w.state, items),
        options=m.TransferOptions(
            mode=transfer_mode(o.mode),
            volume_policy=volume_policy(o.volume_policy),
            source_after=source_after(o.source_after),
            paused=o.paused,
            fade_ms=o.fade_ms,
        ),
        source_device_id=w.source_device_id,
        deadline_us=w.deadline_us,
        source_volume=w.source_volume,
        prepare=w.prepare,
        commit_lead_us=w.commit_lead_us,
        source_url=_source_url(w),
    )


def _source_url(w: Wire) -> str:
    if w.source_url:
        check_base_url("source_url", "source_device_id", w.source_device_id, w.source_url)
    return str(w.source_url)


def _queue_request(w: Wire) -> m.QueueRequest:
    check_id("request_id", w.request_id)
    return m.QueueRequest(w.request_id, w.offset, w.count)


def _transfer_ready(w: Wire) -> m.TransferReady:
    return m.TransferReady(
        w.transfer_id, w.prerolled_position_ms, w.ready_at_us, w.output_delay_us,
        w.start_lead_us, w.offer_received_at_us,
    )  # fmt: skip


def _transfer_commit(w: Wire) -> m.TransferCommit:
    check_transfer_target(w.target_device_id, w.target_url)
    return m.TransferCommit(
        transfer_id=w.transfer_id,
        role=transfer_role(w.role),
        switch_at_us=w.switch_at_us,
        position_ms=w.position_ms,
        fade_ms=w.fade_ms,
        source_after=source_after(w.source_after),
        revision=w.revision,
        target_device_id=w.target_device_id,
        target_url=w.target_url,
        epoch=w.epoch,
    )


def _transfer_done(w: Wire) -> m.TransferDone:
    t = w.timings
    timings = (
        m.TransferTimings(
            t.request_to_ready_ms,
            t.ready_to_audible_ms,
            t.request_to_audible_ms,
            t.gap_us,
            t.position_error_ms,
            t.offer_us,
            t.preroll_us,
            t.lead_us,
            t.start_us,
        )
        if w.HasField("timings")
        else None
    )
    return m.TransferDone(
        w.transfer_id, transfer_role(w.role), w.edge_at_us, w.position_ms, w.revision, timings
    )


def _goodbye(w: Wire) -> m.Goodbye:
    supported = version_range(w.supported) if w.HasField("supported") else None
    return m.Goodbye(goodbye_reason(w.reason), w.message, supported)


# Envelope oneof field -> reader. StateSnapshot and Command are handled by the codec itself
# (the snapshot for its queue cache, the command to report unknown actions by command id).
BODY_READERS: dict[str, Callable[[Wire], m.Body]] = {
    "hello": _hello,
    "welcome": _welcome,
    "time_request": lambda w: m.TimeRequest(w.client_send_us),
    "time_response": lambda w: m.TimeResponse(
        w.client_send_us, w.device_receive_us, w.device_send_us
    ),
    "command_result": _command_result,
    "transfer_offer": _transfer_offer,
    "transfer_ready": _transfer_ready,
    "transfer_rejected": lambda w: m.TransferRejected(
        w.transfer_id, failure(w.failure), w.owner_device_id
    ),
    "transfer_commit": _transfer_commit,
    "transfer_aborted": lambda w: m.TransferAborted(w.transfer_id, failure(w.failure)),
    "transfer_done": _transfer_done,
    "heartbeat": lambda w: m.Heartbeat(w.revision),
    "goodbye": _goodbye,
    "error": lambda w: m.Error(error_code(w.code), w.message, w.ref_seq, w.ref_msg_id),
    "queue_request": _queue_request,
    "queue_page": queue_page,
}
