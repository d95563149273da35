"""Baton's instrumentation: spans for Connect messages, trace context in Envelopes, events.

OpenTelemetry API only (DESIGN.md, Tracing): a process that wants its traces configures the
SDK with `tracing.setup`. Until then `tracer()` is None and every helper here returns at once,
building nothing: tracing off costs one check per message.

The shapes (tracing/attributes.py, "Arrows"):
* a message from A to B is a "send KIND" span on A (PRODUCER; CLIENT for a Command, which
  lasts until its result) with `baton.peer.device.id` = B, and a "handle KIND" span on B
  (CONSUMER; SERVER for a Command) whose parent is the sender span: its trace context travels
  in the Envelope's `traceparent` / `tracestate` (W3C Trace Context).
* the envelope sequence number is on the *handle* span: heartbeats and time requests share
  the sequence and are not traced, so on a sender span every skip would read as a lost message.
* discrete happenings (device found or lost, state changed, errors) are events: OTel log
  records with `event.name`, emitted in the current span's context.
* a second device inside one process (the app's "This computer", a receiver on the app's own
  loop) shares the process's one tracer provider, so its resource names the process's device.
  It runs under a `DeviceTag` (`enter_device`) instead: its spans and events carry its own
  `baton.device.id`, name and type, and the collector files them under that device.
* the trace context a sender carries names its lifeline (`baton=<device id>` in `tracestate`,
  tracing.attributes.TRACESTATE_KEY): a device sends its replies to the lifeline the Hello
  named (`sender_lifeline`), not to the client id, which the app and the CLI share.
Only attribute names from `tracing.attributes` are set, with ids and code words as values:
never names of people, titles, addresses or free text.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from opentelemetry import _logs as otel_logs
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue

from connect.wire import messages as m
from tracing import attributes as a

SCOPE = "baton.connect"

TRACED = (
    m.Command, m.CommandResult, m.TransferOffer, m.TransferReady, m.TransferRejected,
    m.TransferCommit, m.TransferAborted, m.TransferDone,
    m.GroupLead, m.GroupJoin, m.GroupLeave, m.GroupVolume, m.GroupDone, m.GroupRefused,
)  # fmt: skip
"""Messages that get spans. Hello/Welcome are the session's "connect" span; time requests,
heartbeats and snapshots do not (a state change is an event on the device that changed), nor
does a leader's GroupTimeline, which repeats every few seconds like a snapshot."""

_PROPAGATOR = TraceContextTextMapPropagator()
# A tracestate value (W3C Trace Context): printable ASCII but ',' and '=', at most 256.
_TRACESTATE_VALUE = re.compile(r"[\x21-\x2b\x2d-\x3c\x3e-\x7e]{1,256}")
_cache: list[object] = [None, None, None, None]  # provider, tracer, logger provider, logger

Attributes = dict[str, AttributeValue]


@dataclass
class DeviceTag:
    """A device that is not its process's own: what runs under it is filed as this device.

    Mutable on purpose: the tasks a device starts copy the context when they are created, often
    before the device knows its id, and must all see the id once it is set.
    """

    name: str
    type: str  # one of tracing.attributes.DEVICE_TYPES
    device_id: str = ""  # until set, nothing is tagged (the process's device is assumed)


_DEVICE: contextvars.ContextVar[DeviceTag | None] = contextvars.ContextVar(
    "baton_telemetry_device", default=None
)


def enter_device(tag: DeviceTag) -> None:
    """Tag the current context (and every task created from it from now on) as *tag*'s device."""
    _DEVICE.set(tag)


def _tag(attributes: Attributes) -> Attributes:
    tag = _DEVICE.get()
    if tag is not None and tag.device_id:
        attributes[a.DEVICE_ID] = tag.device_id
        attributes[a.DEVICE_NAME] = tag.name
        attributes[a.DEVICE_TYPE] = tag.type
    return attributes


def tracer() -> trace.Tracer | None:
    """Return Baton's tracer, or None while no SDK is configured (tracing off)."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider):
        return None
    if _cache[0] is not provider:  # a new provider (tests install several): a new tracer
        _cache[0], _cache[1] = provider, provider.get_tracer(SCOPE)
    return _cache[1]  # type: ignore[return-value]


def is_traced(body: m.Body) -> bool:
    """Return True for the messages that get send and handle spans."""
    return isinstance(body, TRACED)


def message_attributes(body: m.Body, session_id: str = "") -> Attributes:
    """Return the correlation attributes of one message (ids and code words only)."""
    attributes: Attributes = {a.MESSAGE_KIND: type(body).__name__}
    if session_id:
        attributes[a.SESSION_ID] = session_id
    command_id = getattr(body, "command_id", "")
    if command_id:
        attributes[a.COMMAND_ID] = command_id
    if isinstance(body, m.Command):
        attributes[a.COMMAND_ACTION] = type(body.action).__name__
        if body.expected_revision is not None:
            attributes[a.REVISION] = body.expected_revision
    transfer_id = getattr(body, "transfer_id", "")
    if transfer_id:
        attributes[a.TRANSFER_ID] = transfer_id
    revision = getattr(body, "revision", 0)
    if isinstance(revision, int) and revision:
        attributes[a.REVISION] = revision
    failure = getattr(body, "failure", None)
    if isinstance(failure, m.Failure):
        attributes[a.ERROR_TYPE] = failure.code.name
    if isinstance(body, _GROUP_STEPS):
        attributes.update(group_attributes(body))
    return attributes


_GROUP_STEPS = (m.GroupLead, m.GroupJoin, m.GroupLeave, m.GroupVolume, m.GroupDone, m.GroupRefused)
_STEP_OF = {
    m.GroupLead: "LEAD", m.GroupJoin: "JOIN", m.GroupLeave: "LEAVE", m.GroupVolume: "VOLUME",
}  # fmt: skip


def group_attributes(body: m.Body) -> Attributes:
    """Return a group step's attributes: the group, its epoch, the step, and the roster when
    the step carries it (the leader, the members in rank order, each one's phase)."""
    step = getattr(body, "step", None)
    attributes: Attributes = {
        a.GROUP_STEP: step.name if isinstance(step, m.GroupStep) else _STEP_OF.get(type(body), "")
    }
    roster = getattr(body, "group", None)
    if isinstance(roster, m.Group):
        members = sorted(roster.members, key=lambda member: member.rank)
        attributes.update(
            {
                a.GROUP_ID: roster.group_id,
                a.GROUP_EPOCH: roster.group_epoch,
                a.GROUP_LEADER: roster.leader_device_id,
                a.GROUP_MEMBERS: [member.device_id for member in members],
                a.GROUP_PHASES: [member.phase.name for member in members],
            }
        )
    else:
        attributes[a.GROUP_ID] = str(getattr(body, "group_id", ""))
        epoch = getattr(body, "group_epoch", 0)
        if isinstance(epoch, int) and epoch:
            attributes[a.GROUP_EPOCH] = epoch
    return attributes


def start_send(
    body: m.Body,
    peer_device_id: str,
    *,
    kind: SpanKind = SpanKind.PRODUCER,
    name: str = "",
    session_id: str = "",
) -> Span | None:
    """Start the sender span of *body* to *peer_device_id*, a child of the current span."""
    tracer_ = tracer()
    if tracer_ is None:
        return None
    attributes = message_attributes(body, session_id)
    attributes[a.PEER_DEVICE_ID] = peer_device_id
    return tracer_.start_span(
        name or f"send {type(body).__name__}", kind=kind, attributes=_tag(attributes)
    )


def carrier(span: Span | None) -> tuple[str, str]:
    """Return the (traceparent, tracestate) that make the receiver's span a child of *span*;
    the tracestate names this sender's lifeline (`sender_lifeline` reads it)."""
    if span is None or not span.get_span_context().is_valid:
        return "", ""
    headers: dict[str, str] = {}
    _PROPAGATOR.inject(headers, context=trace.set_span_in_context(span))
    return headers.get("traceparent", ""), _naming_lifeline(headers.get("tracestate", ""))


def own_lifeline() -> str:
    """Return the device id this context's spans are filed under ("" when unknown)."""
    tag = _DEVICE.get()
    if tag is not None and tag.device_id:
        return tag.device_id
    # The SDK's provider (tracing.setup) has the process's resource; the API's has none.
    resource = getattr(trace.get_tracer_provider(), "resource", None)
    value = getattr(resource, "attributes", {}).get(a.DEVICE_ID, "")
    return value if isinstance(value, str) else ""


def _naming_lifeline(tracestate: str) -> str:
    # W3C Trace Context: an entry a participant changes moves to the front; at most 32.
    entries = [e.strip() for e in tracestate.split(",") if e.strip()]
    entries = [e for e in entries if e.partition("=")[0] != a.TRACESTATE_KEY]
    own = own_lifeline()
    if _TRACESTATE_VALUE.fullmatch(own):
        entries.insert(0, f"{a.TRACESTATE_KEY}={own}")
    return ",".join(entries[:32])


def sender_lifeline(envelope: m.Envelope) -> str:
    """Return the lifeline a traced sender named in *envelope*'s tracestate, or ""."""
    for entry in envelope.tracestate.split(","):
        key, _, value = entry.strip().partition("=")
        if key == a.TRACESTATE_KEY and _TRACESTATE_VALUE.fullmatch(value):
            return value
    return ""


def remote_context(envelope: m.Envelope) -> Context | None:
    """Return the sender's context carried by *envelope* (None when it carries none)."""
    if not envelope.traceparent:
        return None
    headers = {"traceparent": envelope.traceparent}
    if envelope.tracestate:
        headers["tracestate"] = envelope.tracestate
    return _PROPAGATOR.extract(headers)


def start_handle(
    envelope: m.Envelope,
    *,
    kind: SpanKind = SpanKind.CONSUMER,
    session_id: str = "",
    only_if_traced: bool = False,
) -> Span | None:
    """Start the receiver span of *envelope*: a child of the sender's span when it has one.

    With `only_if_traced`, an envelope without trace context gets no span.
    """
    tracer_ = tracer()
    if tracer_ is None or (only_if_traced and not envelope.traceparent):
        return None
    attributes = message_attributes(envelope.body, session_id)
    attributes[a.ENVELOPE_SEQ] = envelope.seq
    return tracer_.start_span(
        f"handle {type(envelope.body).__name__}",
        context=remote_context(envelope) or Context(),
        kind=kind,
        attributes=_tag(attributes),
    )


@contextlib.contextmanager
def current(span: Span | None) -> Iterator[Span | None]:
    """Make *span* current for the block, record an escaping exception, and end it."""
    if span is None:
        yield None
        return
    with trace.use_span(
        span, end_on_exit=True, record_exception=False, set_status_on_exception=False
    ):
        try:
            yield span
        except BaseException as exc:
            fail(span, type(exc).__name__)
            raise


def fail(span: Span | None, error_type: str) -> None:
    """Mark *span* failed with a code word (an ErrorCode name or an exception class name)."""
    if span is not None and span.is_recording():
        span.set_attribute(a.ERROR_TYPE, error_type)
        span.set_status(Status(StatusCode.ERROR))


def record_result(span: Span | None, revision: int, failure: m.Failure | None) -> None:
    """Note a command's outcome on its span: the revision it produced, or its failure."""
    if span is None or not span.is_recording():
        return
    span.set_attribute(a.REVISION, revision)
    if failure is not None:
        fail(span, failure.code.name)


def start_transfer(
    transfer_id: str, source_id: str = "", target_id: str = "", mode: str = ""
) -> Span | None:
    """Start the one span of a transfer on the controller that runs it (its messages nest)."""
    tracer_ = tracer()
    if tracer_ is None:
        return None
    attributes: Attributes = {a.TRANSFER_ID: transfer_id}
    for key, value in ((a.TRANSFER_SOURCE, source_id), (a.TRANSFER_TARGET, target_id)):
        if value:
            attributes[key] = value
    if mode:
        attributes[a.TRANSFER_MODE] = mode
    return tracer_.start_span("transfer", attributes=attributes)


def start_group(step: m.GroupStep, group_id: str, device_id: str) -> Span | None:
    """Start the span of one group step asked of a controller (its messages nest); it ends
    with the step's outcome (`end_group_step`)."""
    tracer_ = tracer()
    if tracer_ is None:
        return None
    attributes: Attributes = {
        a.GROUP_ID: group_id,
        a.GROUP_STEP: step.name,
        a.GROUP_MEMBER: device_id,
    }
    return tracer_.start_span(f"group {step.name.lower()}", attributes=attributes)


def end_group_step(span: Span | None, failure: m.Failure | None) -> None:
    """End a group step's span with its outcome."""
    if span is None:
        return
    if failure is not None:
        fail(span, failure.code.name)
    span.end()


@contextlib.contextmanager
def within(span: Span | None) -> Iterator[None]:
    """Make *span* current for the block without ending it (a span some later block goes on)."""
    if span is None:
        yield
        return
    with trace.use_span(span, end_on_exit=False, record_exception=False):
        yield


def record_transfer(
    span: Span | None,
    failure: m.Failure | None,
    timings: m.TransferTimings | None,
    *,
    rolled_back: bool = False,
    fade_ms: int = 0,
    clock_error_us: int | None = None,
) -> None:
    """Note how a transfer ended on its span: the outcome, and its timings when it played."""
    if span is None or not span.is_recording():
        return
    outcome = "rolled_back" if rolled_back else "failed" if failure is not None else "ok"
    span.set_attribute(a.TRANSFER_OUTCOME, outcome)
    if timings is None:
        return
    span.set_attributes(
        {
            a.TRANSFER_LATENCY_MS: timings.request_to_audible_ms,
            a.TRANSFER_GAP_US: timings.gap_us,
            a.TRANSFER_POSITION_ERROR_MS: timings.position_error_ms,
            a.TRANSFER_OFFER_US: timings.offer_us,
            a.TRANSFER_PREROLL_US: timings.preroll_us,
            a.TRANSFER_LEAD_US: timings.lead_us,
            a.TRANSFER_START_US: timings.start_us,
            a.TRANSFER_FADE_MS: fade_ms,
        }
    )
    if clock_error_us is not None:
        span.set_attribute(a.TRANSFER_CLOCK_ERROR_US, clock_error_us)


def record_mode(span: Span | None, mode: str, reason: str) -> None:
    """Note on a transfer's span the mode it ran in and why (a device may have made it
    stop-first: connect.transfer.rules.transfer_mode)."""
    if span is None or not span.is_recording():
        return
    span.set_attribute(a.TRANSFER_MODE, mode)
    if reason:
        span.set_attribute(a.TRANSFER_MODE_REASON, reason)


def link_device(span: Span | None, session: SpanContext | None, device_id: str, role: str) -> None:
    """Link *span* to a device's session (its connect span), naming the device and its role."""
    if span is None or session is None or not session.is_valid or not span.is_recording():
        return
    span.add_link(session, {a.PEER_DEVICE_ID: device_id, a.TRANSFER_ROLE: role})


def phase(name: str, attributes: Mapping[str, AttributeValue] | None = None) -> None:
    """Note a phase of the current span (a transfer's offer, ready, commit, done) as its event."""
    span = trace.get_current_span()
    if span.is_recording():
        span.add_event(name, dict(attributes or {}))


def emit_event(name: str, attributes: Mapping[str, AttributeValue]) -> None:
    """Emit one event (an OTel log record with `event.name`) in the current span's context."""
    if tracer() is None:  # tracing.setup installs spans and events together
        return
    provider = otel_logs.get_logger_provider()
    if _cache[2] is not provider:
        _cache[2], _cache[3] = provider, provider.get_logger(SCOPE)
    logger: otel_logs.Logger = _cache[3]  # type: ignore[assignment]
    logger.emit(timestamp=time.time_ns(), event_name=name, attributes=_tag(dict(attributes)))


def group_skew(group_id: str, skew_us: int, *, role: str, measured: str) -> None:
    """Emit a member's measured skew on its group's timeline (µs, + late): `EVENT_GROUP_SKEW`."""
    emit_event(
        a.EVENT_GROUP_SKEW,
        {a.GROUP_ID: group_id, a.GROUP_SKEW_US: skew_us, a.GROUP_ROLE: role,
         a.GROUP_SKEW_FROM: measured},
    )  # fmt: skip
