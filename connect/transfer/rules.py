"""The pure rules of a transfer, shared by both ends: no I/O, no clock read, no asyncio.

Which format an item is in and whether a device can take it over (the controller asks before
offering, a target before pre-rolling); when to switch and which position to hear then; and
the timings a finished transfer reports. Instants are microseconds in the controller's
clock unless a name says otherwise; `now_us` is passed in, so every rule is a plain function.
"""

from __future__ import annotations

from connect.clock import ClockEstimate
from connect.media_formats import MediaFormat, format_of, why_unplayable
from connect.wire import messages as m

__all__ = [
    "ACK_SLACK_US",
    "LATE_COMMIT_US",
    "MIN_LEAD_US",
    "SOURCE_TURNAROUND_US",
    "ack_deadline",
    "ack_slack_us",
    "commit_lead_us",
    "holds_session",
    "media_format_of",
    "position_at",
    "start_lead_us",
    "switch_instant",
    "transfer_mode",
    "transfer_timings",
    "why_not_source",
    "why_not_target",
]

# The least time from Ready to the switch instant, whatever the clock estimates say: a
# loopback estimate can be near 0, and the commits still have to be read and acted on.
MIN_LEAD_US = 15_000
# What a source needs to read its Commit and send its acknowledgement, beyond the round trip
# (an event-loop turn or two). A later one still lets the target go at the switch instant while
# the target has at least half its start lead left (`ack_deadline`); later still, the target
# starts as soon as it can: a gap, not a failure.
SOURCE_TURNAROUND_US = 2_000
# A target behind a sound server starts its output that server's delay before the switch
# instant (Ready's `output_delay_us`, part of its `start_lead_us`): that part cannot shrink, so
# a late acknowledgement cannot eat into it as it may into a start lead that is all margin. A
# handoff to such a target leaves the source's acknowledgement this much more room, in the
# lead both ends plan with (measured: at load 8-9 a receiver feeding a sound server answered
# its commit up to ~30 ms late).
ACK_SLACK_US = 30_000
# A source refuses a commit that comes this long after its switch instant (one held up by a
# dropped link); so an acknowledgement that has not come by then never will.
LATE_COMMIT_US = 100_000


def media_format_of(item: m.QueueItem) -> MediaFormat | None:
    """Return the format of an item's media from its content type or URL (None if unknown)."""
    return format_of(item.url, item.content_type)


def why_not_target(device: m.DeviceInfo, item: m.QueueItem | None) -> str:
    """Return why *device* cannot take *item* over ("" if it can), in plain words."""
    if not device.capabilities.transfer_target:
        return f"{device.name} does not take transfers"
    if item is None:
        return ""
    why = why_unplayable(device.capabilities.audio_codecs, item.url, item.content_type)
    return f"{device.name} {why}" if why else ""


def transfer_mode(
    requested: m.TransferMode, source: m.DeviceInfo | None, target: m.DeviceInfo
) -> tuple[m.TransferMode, str]:
    """Return the mode a transfer runs in, and why, in plain words.

    Make-before-break needs both devices to start and stop their output at an instant; a
    device that cannot (`no_timed_start`: a bridged MPD or UPnP renderer) makes the transfer
    stop-first, with the position carried over. *source* is None when its description is not
    known (a source gone before the transfer): then only the target decides.
    """
    if requested is m.TransferMode.STOP_FIRST:
        return requested, "stop-first, as asked"
    untimed = [d for d in (source, target) if d is not None and d.capabilities.no_timed_start]
    if not untimed:
        return m.TransferMode.HANDOFF, "handoff: both devices start at an instant"
    names = " and ".join(d.name or d.id for d in untimed)
    return m.TransferMode.STOP_FIRST, (
        f"stop-first: {names} cannot start at an instant, so the source stops, then the "
        "target starts where it stopped (a short gap)"
    )


def why_not_source(
    source_id: str,
    state: m.PlaybackState,
    known: dict[str, m.PlaybackState],
    *,
    reachable: bool = True,
) -> tuple[m.Failure, str] | None:
    """Return why the session cannot be moved from *source_id*, and who holds it (or None).

    *state* is the source's state as this controller last saw it; *known* the other devices'
    states it knows. Refused up front, with the holder named: a session another device holds
    now (this controller's view of the source is stale, or the source is cut off and the
    session moved on without it). A source that let go while no holder is known here yet (its
    target's news still on its way) is not refused here: the source refuses itself, and names
    the device it handed the session to (connect/transfer/source.py); unless it cannot be
    reached (not *reachable*), when its last known state is all there is to go by.
    """
    holder = next(
        (
            device_id
            for device_id, other in known.items()
            if device_id != source_id and other.active and other.session_id == state.session_id
        ),
        "",
    )
    if holder and not (state.active and state.epoch > known[holder].epoch):
        return m.Failure(m.ErrorCode.CONFLICT, "the session is held by another device now"), holder
    if not reachable and not holds_session(state):
        return m.Failure(m.ErrorCode.NOT_ACTIVE, "it does not hold the session now"), ""
    return None


def holds_session(state: m.PlaybackState) -> bool:
    """Return whether a device with *state* may move its session on: it holds it (active).

    A device that never says `active` (an older or simpler one) is taken at its word while it
    plays; one that handed its session over is never playing (it paused or stopped at the
    switch), so its copy cannot be moved on again.
    """
    return state.active or state.status in (m.PlaybackStatus.PLAYING, m.PlaybackStatus.BUFFERING)


def commit_lead_us(src: ClockEstimate | None, tgt: ClockEstimate) -> int:
    """Return how long the commits take from Ready to the target, without its start lead.

    Handoff (*src* given): the source's Commit out and its acknowledgement back (two round trips
    allowed, and its turnaround), then the target's Commit out. Stop-first (no *src*): the
    target's Commit alone.
    """
    lead = tgt.delay_us
    if src is not None:
        lead += 2 * src.delay_us + SOURCE_TURNAROUND_US
    return lead


def ack_slack_us(output_delay_us: int) -> int:
    """Return the acknowledgement's extra room in a handoff to a target with this output delay."""
    return ACK_SLACK_US if output_delay_us > 0 else 0


def start_lead_us(src: ClockEstimate | None, tgt: ClockEstimate, ready: m.TransferReady) -> int:
    """Return the least time from Ready (now) to the switch instant: commits and start lead.

    A handoff (*src* given) to a target with an output delay adds `ack_slack_us`; the target
    counts it too when it pre-rolls (connect/transfer/target.py).
    """
    slack = ack_slack_us(ready.output_delay_us) if src is not None else 0
    return max(MIN_LEAD_US, ready.start_lead_us + commit_lead_us(src, tgt) + slack)


def ack_deadline(switch_at: int, ready: m.TransferReady, tgt: ClockEstimate) -> int:
    """Return the last instant (local) the source's acknowledgement can let the target go.

    The target keeps its output delay whole and at least half the rest of its start lead.
    """
    delay = min(ready.output_delay_us, ready.start_lead_us)
    return switch_at - delay - (ready.start_lead_us - delay) // 2 - tgt.delay_us


def position_at(clock: m.PlaybackClock, at_us: int, duration_ms: int = 0) -> int:
    """Return the content position *clock* reaches at *at_us*, kept inside the item if known."""
    position = clock.position_at(at_us)
    if duration_ms:
        position = min(position, max(0, duration_ms - 1))
    return max(0, position)


def switch_instant(
    now_us: int,
    state: m.PlaybackState,
    src: ClockEstimate,
    tgt: ClockEstimate,
    ready: m.TransferReady,
    options: m.TransferOptions,
) -> tuple[int, int]:
    """Return the switch instant (local clock) and the content position to be heard then."""
    earliest = now_us + start_lead_us(src, tgt, ready)
    clock = state.clock
    if options.paused or not clock.playing:
        return earliest, ready.prerolled_position_ms
    # When does the source's clock reach the pre-rolled position?
    reach = src.to_local(
        clock.as_of_us
        + round((ready.prerolled_position_ms - clock.position_ms) * 1000 / clock.rate)
    )
    if reach >= earliest:
        return reach, ready.prerolled_position_ms
    # Ready came too late for that position: switch as soon as possible further on (the
    # target seeks there; slower, still continuous).
    return earliest, clock.position_at(src.to_device(earliest))


def transfer_timings(
    requested_at: int,
    ready_at: int,
    ready: m.TransferReady,
    target: m.TransferDone,
    tgt: ClockEstimate,
    source: m.TransferDone | None,
    src: ClockEstimate,
    switch_at: int,
) -> m.TransferTimings:
    """Return a finished transfer's timings from both Done reports (the source's if it came).

    Every instant is local (the controller's clock): *ready_at* when Ready arrived, *switch_at*
    the switch instant asked for. The breakdown adds up to request -> audible: the offer's way
    (to the instant the target says it arrived), the pre-roll (the target's own two readings),
    the lead (from the end of the pre-roll to the switch instant), the start (to the first
    audible sample).
    """
    audible = tgt.to_local(target.edge_at_us)
    gap_us, position_error = 0, 0
    if source is not None:
        silent = src.to_local(source.edge_at_us)
        gap_us = audible - silent
        # What the source would have been playing at the target's first instant. Rounded, not
        # floored: a handoff's overlap is a negative gap, and flooring -30.01 ms to -31 made
        # every reported error 1 ms too high (measured: +1.7 ms on average against the audio).
        expected = source.position_ms + round((audible - silent) / 1000)
        position_error = target.position_ms - expected
    prerolled = tgt.to_local(ready.ready_at_us)
    preroll_us = ready.ready_at_us - ready.offer_received_at_us if ready.offer_received_at_us else 0
    return m.TransferTimings(
        request_to_ready_ms=max(0, (ready_at - requested_at) // 1000),
        ready_to_audible_ms=max(0, (audible - ready_at) // 1000),
        request_to_audible_ms=max(0, (audible - requested_at) // 1000),
        gap_us=gap_us,
        position_error_ms=position_error,
        offer_us=prerolled - preroll_us - requested_at,
        preroll_us=preroll_us,
        lead_us=switch_at - prerolled,
        start_us=audible - switch_at,
    )
