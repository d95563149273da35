"""Generated protobuf -> model: read a parsed wire message into frozen dataclasses.

Private to the codec. Readers raise ValueError for values that matter and are out of range
(the codec turns it into MalformedFrameError), and map enum values this version does not know
onto each enum's documented fallback, so a newer peer's additions never break us.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

from connect import messages as m
from connect._checks import (
    check_id,
    check_percent,
    check_queue,
    check_rate,
    check_transfer_target,
    check_version_range,
)
from connect._pb import connect_pb2 as pb

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
    return m.Failure(error_code(w.code), w.message)


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
    """Read a repeated QueueItem field (uids are checked by the caller, with the current uid)."""
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
    )


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
        check_percent("set_volume.volume", a.volume)
        return m.SetVolume(a.volume, a.muted if a.HasField("muted") else None)
    if kind == "set_queue":
        items = queue_items(a.items)
        check_queue(items, a.start_uid)
        return m.SetQueue(items, a.start_uid, a.start_position_ms, a.play)
    if kind == "add_to_queue":
        items = queue_items(a.items)
        check_queue(items)
        return m.AddToQueue(items, a.after_uid)
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
    # The codec parses with connect._lazy, where a state's queue arrives as wire bytes.
    items = queue_items(pb.Queue.FromString(w.state.queue).items)
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
    )


def _transfer_ready(w: Wire) -> m.TransferReady:
    return m.TransferReady(
        w.transfer_id, w.prerolled_position_ms, w.ready_at_us, w.output_delay_us, w.start_lead_us
    )


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
    "transfer_rejected": lambda w: m.TransferRejected(w.transfer_id, failure(w.failure)),
    "transfer_commit": _transfer_commit,
    "transfer_aborted": lambda w: m.TransferAborted(w.transfer_id, failure(w.failure)),
    "transfer_done": _transfer_done,
    "heartbeat": lambda w: m.Heartbeat(w.revision),
    "goodbye": _goodbye,
    "error": lambda w: m.Error(error_code(w.code), w.message, w.ref_seq, w.ref_msg_id),
}
