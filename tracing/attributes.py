"""The attribute names Baton's instrumentation emits and the collector reads: one shared vocabulary.

Everyone imports names from here; nobody spells them as string literals. `tracing` imports
none of Baton's other packages, so connect/, devices/ and client/ can all depend on this module.

Where each attribute goes
-------------------------
Resource attributes (set once per process by `tracing.setup`):

* `DEVICE_ID`, `DEVICE_NAME`, `DEVICE_TYPE` (one of `DEVICE_TYPES`): the lifeline. A span or
  event may carry them too, for a second device inside one process (the app's in-process
  "This computer"): the collector then files that record under the record's device, not the
  resource's (same user: the resource's `USER_ID` still decides who may see it).
* `USER_ID`: `pseudonymise_user(user name)`; the collector shows a device only to the users whose
  token maps to this value. A resource without it is visible only to admin users.
* `CLOCK_OFFSET_MS` (optional): the device's current estimate of its clock minus the
  reference clock, in milliseconds. May also be set on a span to record the offset at that time.

Span and log-record attributes:

* `SESSION_ID`, `TRANSFER_ID`, `COMMAND_ID`, `REVISION`, `ENVELOPE_SEQ`, `MESSAGE_KIND`:
  the Connect correlation fields of the message a span sends or handles.
* `PEER_DEVICE_ID`: on a *sender* span, the device the message goes to (see "Arrows").
* `GROUP_ID`, `GROUP_STEP`: on a group step's messages (protocol 1.2) and on the controller's
  "group STEP" span of each step it was asked for, with `GROUP_MEMBER`, the device it is about.
* `ENVELOPE_SEQ` is the sender's per-connection sequence number; a skip on one device's stream is
  drawn as a gap (lost or late messages).

Arrows (how the viewer and the exporters draw one message)
---------------------------------------------------------
A message from device A to device B is a pair of spans in one trace:

1. the sender span on A (name e.g. "send Command", kind PRODUCER or CLIENT) carrying
   `PEER_DEVICE_ID` = B's device id and `MESSAGE_KIND`;
2. the receiver span on B (name e.g. "handle Command", kind CONSUMER or SERVER) whose parent is
   the sender span (the trace context travels in the Envelope).

The arrow goes from A's lifeline to B's, at the sender span's start time, with
latency = receiver start − sender start. The two starts come from two clocks, so the latency
includes their offset. The collector measures the offsets from the arrows themselves
(`tracing._clock`: causal bounds both ways, NTP-style midpoint); the viewer shows each device's
measured offset (else a reported `CLOCK_OFFSET_MS`) next to its lifeline, the corrected latency
beside the raw one, and marks an arrow still backwards after correction.

Rules the collector's exports and the viewer both apply (`tracing._export.pair_arrows`,
`tracing/static/viewer.js`):

* Any span whose parent is on another device makes an arrow, peer attribute or not; a span
  whose parent is on its own device is local work and draws nothing (its details remain
  searchable).
* Fan-out (one message to several devices): either one sender span per peer (preferred: each
  gets its own `ENVELOPE_SEQ` and latency), or one sender span and receiver spans that carry a
  span *link* to it instead of a parent (each may then start its own trace). Either way there is
  one arrow per (sender span, receiving device).
* Halves may arrive in any order and in different requests (each device exports on its own):
  the arrow appears, complete, when both are in. A sender span with `PEER_DEVICE_ID` whose
  receiver has not arrived is drawn dashed to the peer, and marked "lost?" after 5 s.
* `ENVELOPE_SEQ` should count up by one per message on each (sender, peer) pair; a jump is
  drawn as a gap marker ("3 message(s) missing"). Omit it where there is no such sequence.
* Times: span start and end in the device's own clock; never adjust them for the offset (the
  collector measures offsets and the viewer shows them, it never silently shifts spans).

Lifelines of controllers: each controller program (the app; the `baton` CLI) on each host has
its own `DEVICE_ID`, stable across runs, and a name with the host ("baton CLI on sofa"),
although they present one client id to devices (see `TRACESTATE_KEY`).

A transfer is one "transfer" span on its controller, with `TRANSFER_ID`, its source and target
and, once over, its outcome and timings (the `TRANSFER_*` names below); its messages are the
span's children, and carry `TRANSFER_ID` too.

Discrete happenings (discovered, lost, state changed) are log records (OTel events) with
`event.name` set to one of the `EVENT_*` names; the viewer draws them as notes on the device's
lifeline. Span events are also accepted and shown in a span's details.
"""

from __future__ import annotations

import hashlib
from typing import Final

# ---------------------------------------------------------------- resource: the device and user
DEVICE_ID: Final = "baton.device.id"
DEVICE_NAME: Final = "baton.device.name"
DEVICE_TYPE: Final = "baton.device.type"
USER_ID: Final = "baton.user.id"
CLOCK_OFFSET_MS: Final = "baton.clock.offset_ms"

DEVICE_TYPES: Final = ("controller", "speaker", "car", "tv", "receiver", "other")

# ---------------------------------------------------------------- spans and events: the message
SESSION_ID: Final = "baton.session.id"
TRANSFER_ID: Final = "baton.transfer.id"
COMMAND_ID: Final = "baton.command.id"
REVISION: Final = "baton.revision"
ENVELOPE_SEQ: Final = "baton.envelope.seq"
MESSAGE_KIND: Final = "baton.message.kind"
PEER_DEVICE_ID: Final = "baton.peer.device.id"

# The OTel semantic-convention attribute that names an event carried as a log record.
EVENT_NAME: Final = "event.name"

EVENT_DEVICE_DISCOVERED: Final = "baton.device.discovered"
EVENT_DEVICE_LOST: Final = "baton.device.lost"
EVENT_STATE_CHANGED: Final = "baton.state.changed"
EVENT_ERROR: Final = "baton.error"
# A live stream said what is on (a new title or station), or dropped, stalled, came back.
EVENT_NOW_PLAYING: Final = "baton.stream.now_playing"
EVENT_STREAM: Final = "baton.stream.health"

# ---------------------------------------------------------------- details of spans and events
# Short code words only (never free text: it could carry addresses or names).
REASON: Final = "baton.reason"  # a StateChangeReason name, or why a device was found or lost
ERROR_TYPE: Final = "error.type"  # OTel semantic convention: an error code or exception class
COMMAND_ACTION: Final = "baton.command.action"  # the Command's action, e.g. "Pause"
TRANSFER_ROLE: Final = "baton.transfer.role"  # "source" or "target", on a transfer span's links
SPOOL_DROPPED: Final = "baton.spool.dropped"  # batches an offline spool dropped, oldest first
# What is on, as a digest: the title itself is free text (a listener's programme), so a trace
# carries 8 hex digits of its SHA-256 (two devices playing the same programme show the same).
NOW_PLAYING_ID: Final = "baton.stream.title_id"
STREAM_ATTEMPT: Final = "baton.stream.attempt"  # the reconnection attempt, 1 on

# ---------------------------------------------------------------- a bridged device's protocol
# A bridge (bridges/) speaks another protocol to a device people already own: each command it
# sends there is a span named "<kind> <command>" with what it sent and what the device answered,
# and the device's own changes are events, so its lifeline shows both sides.
BRIDGE_KIND: Final = "baton.bridge.kind"  # "mpd"
BRIDGE_SENT: Final = "baton.bridge.sent"  # the command as sent, e.g. "seekid 3 12.500"
BRIDGE_ANSWER: Final = "baton.bridge.answer"  # what the device answered, shortened
EVENT_BRIDGE_CHANGED: Final = "baton.bridge.changed"  # the device changed on its own

# ---------------------------------------------------------------- a transfer's own span
# The one "transfer" span of the controller that ran it (connect.telemetry.start_transfer and
# record_transfer): who it moved between, how it ended and how long each phase took, every
# duration measured in the controller's clock (connect/transfer/rules.py, transfer_timings).
TRANSFER_SOURCE: Final = "baton.transfer.source"  # the source's device id
TRANSFER_TARGET: Final = "baton.transfer.target"  # the target's device id
TRANSFER_MODE: Final = "baton.transfer.mode"  # "handoff" or "stop_first": the mode it ran in
# Why it ran in that mode, in plain words: a device that cannot start at an instant (a bridged
# one) makes it stop-first (connect.transfer.rules.transfer_mode).
TRANSFER_MODE_REASON: Final = "baton.transfer.mode_reason"
TRANSFER_OUTCOME: Final = "baton.transfer.outcome"  # one of TRANSFER_OUTCOMES
TRANSFER_LATENCY_MS: Final = "baton.transfer.latency_ms"  # request -> first audible sample
TRANSFER_GAP_US: Final = "baton.transfer.gap_us"  # silence between the two (< 0: overlap)
TRANSFER_POSITION_ERROR_MS: Final = "baton.transfer.position_error_ms"
# The phases, which add up to the latency: the offer's way to the target, its pre-roll, the
# lead from Ready to the switch instant, the switch to the first audible sample; and the
# source's fade-out, which ends where the gap begins.
TRANSFER_OFFER_US: Final = "baton.transfer.offer_us"
TRANSFER_PREROLL_US: Final = "baton.transfer.preroll_us"
TRANSFER_LEAD_US: Final = "baton.transfer.lead_us"
TRANSFER_START_US: Final = "baton.transfer.start_us"
TRANSFER_FADE_MS: Final = "baton.transfer.fade_ms"
# How far the gap and position error can be off: the two links' clock error bounds added.
TRANSFER_CLOCK_ERROR_US: Final = "baton.transfer.clock_error_us"

TRANSFER_OUTCOMES: Final = ("ok", "failed", "rolled_back")

# ---------------------------------------------------------------- groups (protocol 1.2)
# A group's steps are arrows like a transfer's messages (connect.telemetry.TRACED: GroupLead,
# GroupJoin, GroupLeave, GroupVolume and the members' GroupDone and GroupRefused; a leader's
# GroupTimeline, repeated every few seconds, is not traced, as snapshots are not). Each carries
# the group's id and roster epoch, and the step; a step that carries the roster (GroupLead,
# GroupJoin) names its leader and its members, in rank order, with each member's phase.
GROUP_ID: Final = "baton.group.id"
GROUP_EPOCH: Final = "baton.group.epoch"  # the roster's epoch (grows with each change)
GROUP_STEP: Final = "baton.group.step"  # a GroupStep name: "LEAD", "JOIN", "LEAVE", "VOLUME"
GROUP_LEADER: Final = "baton.group.leader"  # the leader's device id
GROUP_MEMBERS: Final = "baton.group.members"  # the members' device ids, in rank order
GROUP_PHASES: Final = "baton.group.phases"  # each member's GroupMemberPhase name, same order
GROUP_MEMBER: Final = "baton.group.member"  # the device a controller's "group STEP" span is about
# A member playing in a group measures how far its output is from the group's timeline and says
# so in an `EVENT_GROUP_SKEW` every few seconds (connect.telemetry.group_skew): `GROUP_SKEW_US`
# is positive when its output is late on the timeline, negative when early; the difference of
# two members' is their skew against each other. `GROUP_SKEW_FROM` says what was measured:
# "output" (where the device's converter really is, the drift stage's reading, plus how far the
# player's clock is from the timeline) or "player" (the player's clock against the timeline
# only: an output that reports no timing). `GROUP_ROLE` is "leader" or "follower".
EVENT_GROUP_SKEW: Final = "baton.group.skew"
GROUP_SKEW_US: Final = "baton.group.skew_us"
GROUP_SKEW_FROM: Final = "baton.group.skew_from"
GROUP_ROLE: Final = "baton.group.role"

GROUP_ROLES: Final = ("leader", "follower")
GROUP_SKEW_SOURCES: Final = ("output", "player")

# ---------------------------------------------------------------- trace context
TRACESTATE_KEY: Final = "baton"
"""The W3C `tracestate` key under which a traced sender names its own lifeline (the
`DEVICE_ID` its spans are filed under). A device's replies name that lifeline as their
`PEER_DEVICE_ID`, so a controller process whose session presents a client id shared with
another program (the app and the CLI share one, for pairing) still gets its own lifeline. A
sender that is not traced sends no trace context: replies to it name its client id, a lifeline
that never sends a record, which the viewer shows as "not traced"."""

_USER_HASH_DOMAIN: Final = b"baton.user.id/v1\x00"


def pseudonymise_user(name: str) -> str:
    """Return the `baton.user.id` value for a user name: 32 hex digits of a domain-tagged SHA-256.

    Names are compared case-insensitively and without surrounding space. This is a pseudonym,
    not anonymity: anyone who can guess a name can compute its id.
    """
    normalised = name.strip().casefold().encode()
    return hashlib.sha256(_USER_HASH_DOMAIN + normalised).hexdigest()[:32]
