"""Playback transfer between two devices, coordinated by the controller that asked: the async
driver around the pure machine of connect/transfer/coordination.py.

Handoff (make-before-break), DESIGN.md's four steps:
  1. Offer the session to the target, its clock converted into the target's clock.
  2. The target pre-rolls the media where the source will be when the commits are through and
     answers Ready (or Rejected). The source has not been touched.
  3. Commit to the source, then to the target, with the switch instant in each one's clock:
     the instant the source's clock reaches the pre-rolled position. The target fades in and
     the source fades out there. The source only pauses (media kept) until the target proves
     it plays: if it does not, the source is told to roll back and resumes.
  4. Each device reports Done with the instant its output changed; the timings come from those.
Stop-first (how other systems do it, kept to compare): commit the source at once, wait for it
to stop, then offer, pre-roll and start the target.

Faults (tests/integration/transfer/test_faults.py). The target is committed only after the
source acknowledged its own commit (a TransferReady from the source), early enough for the
target's start lead: a source that cannot hear the commit (a dropped link) then keeps the
music and the target is called off, so two devices never play on. A source whose session has
closed (its process died) is not waited for: the target takes over from its last known state,
the position extrapolated, and the outcome says `source_reachable=False`; unless that state
does not hold the session (it had let it go): then the transfer fails (NOT_ACTIVE). A target
lost after Ready or after the commit makes the source resume (`rolled_back`). What remains: if
the link drops after the source's acknowledgement left and before the verdict reaches it, the
source cannot tell a playing target from a failed one, unless it can reach the target: the source's
Commit names the target (its id and base URL), and a source left without a verdict asks it
`GET /connect/v1/transfers/{id}` (`async_ask_transfer_phase`) and takes the music back unless the
target started. That is what saves a controller that dies between the two commits.

Prepared transfers: `prepare` offers the source's session to targets with `prepare` set while a
device picker shows, so each opens the media and holds it; a transfer to one of them then only
seeks there instead of loading.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from connect import telemetry
from connect.clock import Clock, ClockEstimate, monotonic_us
from connect.controller import Controller
from connect.errors import ConnectError
from connect.session.connection import ConnectionEvent, Disconnected, TransferReply
from connect.transfer import coordination as c
from connect.transfer._preflight import OFFER_DEADLINE_S, Preflight, StepFailedError
from connect.transfer.coordination import DEFAULT_OPTIONS, TransferOutcome
from connect.wire import messages as m
from tracing import attributes as a

__all__ = [
    "DEFAULT_OPTIONS",
    "OFFER_DEADLINE_S",
    "Prepared",
    "TransferCoordinator",
    "TransferOutcome",
]

_LOG = logging.getLogger(__name__)

PREPARE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Prepared:
    """How one target answered a prepare: ready (media open), or the failure."""

    target_id: str
    failure: m.Failure | None = None

    @property
    def ok(self) -> bool:
        """Return True when the target holds the media pre-rolled."""
        return self.failure is None


class TransferCoordinator:
    """Runs transfers between a controller's devices (one at a time per coordinator)."""

    def __init__(self, controller: Controller, *, clock: Clock = monotonic_us) -> None:
        self._controller = controller
        self._clock = clock
        self._lock = asyncio.Lock()

    async def async_transfer(
        self,
        source_id: str,
        target_id: str,
        options: m.TransferOptions = DEFAULT_OPTIONS,
        *,
        timeout_s: float = OFFER_DEADLINE_S,
        on_send: Callable[[m.TransferRole, m.Body], None] | None = None,
        min_lead_us: int = 0,
    ) -> TransferOutcome:
        """Move the session from *source_id* to *target_id*; never raises for a failed step.
        *on_send* sees each message just before it goes out (a group's moves time its members
        by the commits' switch instant, client/group_moves.py); *min_lead_us*, the least time
        from the target's Ready to the switch instant (a group's followers open the music)."""
        tid = uuid.uuid4().hex
        requested_at = self._clock()
        async with self._lock:
            # One span for the whole transfer: every message it sends is its child, so each
            # device's handling of them joins this trace; it links to both devices' sessions.
            mode = options.mode.name.lower()
            with telemetry.current(
                telemetry.start_transfer(tid, source_id, target_id, mode)
            ) as span:
                run = _Run(self._controller, self._clock, tid, source_id, target_id, timeout_s)
                run.on_send, run.min_lead_us = on_send, min_lead_us
                try:
                    outcome = await run.async_execute(options, requested_at)
                except StepFailedError as exc:
                    _LOG.info("transfer %s %s -> %s failed: %s", tid[:8], source_id, target_id, exc)
                    outcome = TransferOutcome(
                        tid, options.mode, source_id, target_id, exc.failure,
                        source_reachable=run.preflight.source_reachable,
                        owner_id=run.preflight.holder, mode_reason=run.preflight.mode_reason,
                    )  # fmt: skip
                finally:
                    run.close()
                    for device_id, role in ((source_id, "source"), (target_id, "target")):
                        conn = self._controller.known_connection(device_id)
                        session = conn.session_span if conn is not None else None
                        telemetry.link_device(span, session, device_id, role)
                telemetry.record_result(span, outcome.revision, outcome.failure)
                telemetry.record_mode(span, outcome.mode.name.lower(), outcome.mode_reason)
                error_us = self._clock_error_us(source_id, target_id)
                telemetry.record_transfer(
                    span, outcome.failure, outcome.timings, rolled_back=outcome.rolled_back,
                    fade_ms=options.fade_ms, clock_error_us=error_us,
                )  # fmt: skip
                if outcome.failure is not None:
                    failed = {a.ERROR_TYPE: outcome.failure.code.name, a.TRANSFER_ID: tid}
                    telemetry.emit_event(a.EVENT_ERROR, failed)
                return outcome

    def _clock_error_us(self, source_id: str, target_id: str) -> int | None:
        """Return how far the two links' clock estimates can be off, added (None: unknown)."""
        bounds = []
        for device_id in (source_id, target_id):
            conn = self._controller.known_connection(device_id)
            if conn is None or conn.clock is None:
                return None
            bounds.append(conn.clock.error_bound_us)
        return sum(bounds)

    async def async_prepare(
        self, source_id: str, target_ids: Iterable[str], *, timeout_s: float = PREPARE_TIMEOUT_S
    ) -> list[Prepared]:
        """Ask each target to open the source's current media and hold it for a transfer.

        For a device picker: call it when the picker shows (and again every few seconds while
        it stays: a target holds prepared media for about 15 s). Never raises for a device.
        """
        conn = self._controller.connection(source_id)
        state = conn.state
        if state is None or state.current_item is None or conn.clock is None:
            failure = m.Failure(m.ErrorCode.INVALID_ARGUMENT, "the source has nothing to transfer")
            return [Prepared(target_id, failure) for target_id in target_ids]
        src = conn.clock
        answers = [self._prepare_one(source_id, state, src, t, timeout_s) for t in target_ids]
        return list(await asyncio.gather(*answers))

    async def _prepare_one(
        self,
        source_id: str,
        state: m.PlaybackState,
        src: ClockEstimate,
        target_id: str,
        timeout_s: float,
    ) -> Prepared:
        tid = uuid.uuid4().hex
        replies: asyncio.Queue[m.Body] = asyncio.Queue()

        def listen(event: ConnectionEvent) -> None:
            if isinstance(event, TransferReply) and event.body.transfer_id == tid:
                replies.put_nowait(event.body)

        try:
            conn = await self._controller.async_connect(target_id, timeout_s)
        except ConnectError as exc:
            return Prepared(target_id, m.Failure(m.ErrorCode.TIMEOUT, str(exc)))
        if conn.clock is None:
            return Prepared(target_id, m.Failure(m.ErrorCode.TIMEOUT, "no clock estimate"))
        tgt = conn.clock
        as_of = tgt.to_device(src.to_local(state.clock.as_of_us))
        offered = replace(state, clock=replace(state.clock, as_of_us=as_of))
        deadline = tgt.to_device(self._clock() + round(timeout_s * 1e6))
        offer = m.TransferOffer(
            tid, offered, DEFAULT_OPTIONS, source_id, deadline, state.volume, prepare=True
        )
        unsubscribe = conn.subscribe(listen)
        try:
            await conn.async_send(offer)
            async with asyncio.timeout(timeout_s):
                body = await replies.get()
        except (ConnectError, TimeoutError) as exc:
            return Prepared(target_id, m.Failure(m.ErrorCode.TIMEOUT, str(exc) or "no answer"))
        finally:
            unsubscribe()
        if isinstance(body, m.TransferRejected):
            return Prepared(target_id, body.failure)
        return Prepared(target_id)


class _Run:
    """One transfer: the preflight, then the machine fed with the devices' events."""

    def __init__(
        self,
        controller: Controller,
        clock: Clock,
        tid: str,
        source_id: str,
        target_id: str,
        timeout_s: float,
    ) -> None:
        self.controller, self.clock, self.tid = controller, clock, tid
        self.source_id, self.target_id = source_id, target_id
        self.events: asyncio.Queue[ConnectionEvent | c.Deadline] = asyncio.Queue()
        self.preflight = Preflight(
            controller, tid, source_id, target_id, timeout_s, self.events.put_nowait
        )
        self.timers: dict[c.Timer, asyncio.TimerHandle] = {}
        self.on_send: Callable[[m.TransferRole, m.Body], None] | None = None
        self.min_lead_us = 0

    def close(self) -> None:
        for unsubscribe in self.preflight.unsubscribe:
            unsubscribe()
        for handle in self.timers.values():
            handle.cancel()

    async def async_execute(self, options: m.TransferOptions, requested_at: int) -> TransferOutcome:
        plan = await self.preflight.async_plan(options, requested_at)
        machine = c.Coordination(replace(plan, min_lead_us=self.min_lead_us))
        pending = deque(machine.start(self.clock()))
        while True:
            while pending:
                action = pending.popleft()
                if isinstance(action, c.Finish):
                    return action.outcome
                failed = await self._do(action)
                if failed is not None:
                    # The failure's consequences come before the rest of the batch.
                    pending.extendleft(reversed(machine.step(failed, self.clock())))
            event = self._event(await self.events.get())
            if event is not None:
                pending.extend(machine.step(event, self.clock()))

    async def _do(self, action: c.Action) -> c.SessionLost | None:
        """Carry out one action; return the SessionLost of a Send that could not go out."""
        if isinstance(action, c.Send):
            device_id = self.source_id if action.role is c.SOURCE else self.target_id
            conn = self.controller.connection(device_id)
            if self.on_send is not None:
                self.on_send(action.role, action.body)
            try:
                await conn.async_send(action.body)
            except ConnectError as exc:
                if action.must_arrive:
                    return c.SessionLost(action.role, str(exc), sending=True)
        elif isinstance(action, c.ArmTimer):
            old = self.timers.pop(action.timer, None)
            if old is not None:
                old.cancel()
            delay_s = max(0.0, (action.at_us - self.clock()) / 1e6)
            deadline = c.Deadline(action.timer)
            loop = asyncio.get_running_loop()
            self.timers[action.timer] = loop.call_later(delay_s, self.events.put_nowait, deadline)
        elif isinstance(action, c.Note):
            attributes: dict[str, str | int] = {}
            if action.role:
                attributes[a.TRANSFER_ROLE] = action.role
            if action.revision:
                attributes[a.REVISION] = action.revision
            telemetry.phase(action.phase, attributes or None)
            if action.log:
                _LOG.log(
                    logging.WARNING if action.log == "warning" else logging.INFO, action.message
                )
        return None

    def _event(self, raw: ConnectionEvent | c.Deadline) -> c.Event | None:
        """Turn a connection's event into the machine's (None: not about this transfer)."""
        if isinstance(raw, c.Deadline):
            return raw
        role = {self.source_id: c.SOURCE, self.target_id: c.TARGET}.get(raw.device_id)
        if role is None:
            return None
        if isinstance(raw, Disconnected):
            return c.SessionLost(role)
        if not isinstance(raw, TransferReply) or raw.body.transfer_id != self.tid:
            return None
        body = raw.body
        if isinstance(body, m.TransferReady):
            target = self.controller.connection(self.target_id)
            return c.Ready(
                role,
                body,
                source_up=self.controller.connection(self.source_id).connected,
                target_up=target.connected,
                # Its snapshots come ahead of its Ready on the one link: its revision now.
                target_revision=target.state.revision if target.state is not None else 0,
            )
        if isinstance(body, m.TransferRejected):
            return c.Rejected(role, body)
        if isinstance(body, m.TransferDone):
            return c.Done(role, body)
        return None
