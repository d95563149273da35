"""One group kept by connect/group/coordinator.py: its machine (connect/group/membership.py)
fed on one task, in order, and its actions carried out over the controller's sessions: frames
sent (one that had to arrive and could not is fed back as Lost, before the rest of its batch),
timers armed, outcomes handed to whoever waits for them, notes traced and logged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Protocol

from opentelemetry.trace import Span

from connect import telemetry
from connect.clock import Clock, ClockEstimate
from connect.discovery.registry import DeviceRegistry
from connect.errors import ConnectError
from connect.group import events as ev
from connect.group.membership import Membership
from connect.group.reports import GroupView
from connect.session.connection import ConnectionEvent, DeviceConnection, StateChanged
from connect.wire import messages as m
from tracing import attributes as a

__all__ = ["Devices", "GroupRun", "Waiter", "outcome", "state_of"]

_LOG = logging.getLogger("connect.group.coordinator")

Waiter = asyncio.Future[m.Failure | None]

STATE_WAIT_S = 1.0  # a session's first snapshot follows its Welcome at once


class Devices(Protocol):
    """What the coordinator needs of a controller (connect.controller.Controller is one)."""

    registry: DeviceRegistry

    def connection(self, device_id: str) -> DeviceConnection: ...

    def known_connection(self, device_id: str) -> DeviceConnection | None: ...

    async def async_connect(self, device_id: str, timeout: float = 5.0) -> DeviceConnection: ...

    def subscribe(self, listener: Callable[[ConnectionEvent], None]) -> Callable[[], None]: ...


class GroupRun:
    """One group: its machine, fed on one task; its timers; who waits for which outcome."""

    def __init__(
        self,
        machine: Membership,
        devices: Devices,
        clock: Clock,
        names: Callable[[], dict[str, str]],
        ended: Callable[[GroupRun], None],
    ) -> None:
        self.machine, self._devices, self._clock = machine, devices, clock
        self._names, self._ended = names, ended
        # Each event with the span of the request it carries (None: a device's, a timer's).
        self.events: asyncio.Queue[tuple[ev.Event, Span | None]] = asyncio.Queue()
        self.timers: dict[ev.Timer, asyncio.TimerHandle] = {}
        self.waiters: dict[tuple[str, m.GroupStep], deque[tuple[Waiter, Span | None]]] = {}
        self.clocks: dict[str, ClockEstimate] = {}  # the estimates the machine was last given
        self.task: asyncio.Task[None] | None = None
        self.why_over = ""

    def start(self, span: Span | None = None) -> None:
        """Start feeding the machine; its first steps go out under *span* (the forming's)."""
        name = f"baton-group-{self.machine.plan.group_id}"
        self.task = asyncio.get_running_loop().create_task(self._loop(span), name=name)

    def waiter(self, device_id: str, step: m.GroupStep, span: Span | None = None) -> Waiter:
        """Return a future for the next outcome of *step* on *device_id* (its failure or None);
        *span*, the step's, ends with that outcome."""
        future: Waiter = asyncio.get_running_loop().create_future()
        self.waiters.setdefault((device_id, step), deque()).append((future, span))
        return future

    def ask(
        self, event: ev.JoinAsked | ev.LeaveAsked | ev.VolumeAsked, step: m.GroupStep
    ) -> Waiter:
        """Feed a request in a span of its own; return the future of its outcome."""
        span = telemetry.start_group(step, self.machine.plan.group_id, event.device_id)
        future = self.waiter(event.device_id, step, span)
        self.events.put_nowait((event, span))
        return future

    def feed(self, event: ev.Event) -> None:
        self.events.put_nowait((event, None))

    def view(self) -> GroupView:
        return GroupView.of(self.machine.roster, self._names())

    async def async_stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self._wind_up("the controller stopped keeping the group")

    async def _loop(self, span: Span | None) -> None:
        try:
            with telemetry.within(span):
                over = await self._carry_out(deque(self.machine.start(self._clock())))
            while not over:
                event, span = await self.events.get()
                with telemetry.within(span):  # a request's frames are its span's children
                    over = await self._carry_out(deque(self._step(event)))
        except Exception:
            _LOG.exception("group %s: coordination failed", self.machine.plan.group_id)
            self.why_over = "coordination failed"
        finally:
            self._wind_up(self.why_over or "the controller stopped keeping the group")

    async def _carry_out(self, pending: deque[ev.Action]) -> bool:
        """Carry out *pending* in order; return True at Finish (the group is over)."""
        while pending:
            action = pending.popleft()
            if isinstance(action, ev.Finish):
                self.why_over = action.reason
                return True
            lost = await self._do(action)
            if lost is not None:  # its consequences come before the rest of the batch
                pending.extendleft(reversed(self._step(lost)))
        return False

    def _step(self, event: ev.Event) -> list[ev.Action]:
        """Feed *event*, after any clock estimate of a member's link newer than the machine's."""
        now = self._clock()
        actions: list[ev.Action] = []
        for member in self.machine.roster.members:
            conn = self._devices.known_connection(member.device_id)
            estimate = conn.clock if conn is not None else None
            if estimate is not None and estimate != self.clocks.get(member.device_id):
                self.clocks[member.device_id] = estimate
                actions += self.machine.step(ev.ClockUpdate(member.device_id, estimate), now)
        return actions + self.machine.step(event, now)

    async def _do(self, action: ev.Action) -> ev.Lost | None:
        """Carry out one action; return the Lost of a frame that had to arrive and could not."""
        if isinstance(action, ev.Send):
            conn = self._devices.known_connection(action.device_id)
            try:
                if conn is None:
                    raise ConnectError("no session")
                await conn.async_send(action.body)
            except ConnectError as exc:
                if action.must_arrive:
                    return ev.Lost(action.device_id, str(exc) or "could not send")
        elif isinstance(action, ev.ArmTimer):
            old = self.timers.pop(action.timer, None)
            if old is not None:
                old.cancel()
            delay_s = max(0.0, (action.at_us - self._clock()) / 1e6)
            loop = asyncio.get_running_loop()
            self.timers[action.timer] = loop.call_later(
                delay_s, self.feed, ev.Deadline(action.timer)
            )
        elif isinstance(action, ev.Outcome):
            waiting = self.waiters.get((action.device_id, action.step))
            if waiting:
                future, span = waiting.popleft()
                telemetry.end_group_step(span, action.failure)
                if not future.done():
                    future.set_result(action.failure)
        elif isinstance(action, ev.Note):
            telemetry.phase(f"group {action.phase}", {a.PEER_DEVICE_ID: action.device_id})
            if action.log:
                level = logging.WARNING if action.log == "warning" else logging.INFO
                _LOG.log(level, "group %s: %s", self.machine.plan.group_id, action.message)
        return None

    def _wind_up(self, why: str) -> None:
        """The group is over here: no timer fires, every caller still waiting is told why."""
        for handle in self.timers.values():
            handle.cancel()
        self.timers.clear()
        over = m.Failure(m.ErrorCode.NOT_FOUND, f"the group is over: {why}")
        for waiting in self.waiters.values():
            for future, span in waiting:
                telemetry.end_group_step(span, over)
                if not future.done():
                    future.set_result(over)
        self.waiters.clear()
        self._ended(self)


async def outcome(waiter: Waiter, timeout_s: float) -> m.Failure | None:
    """Return a step's outcome (its failure, or None), or a TIMEOUT failure after *timeout_s*."""
    try:
        return await asyncio.wait_for(asyncio.shield(waiter), timeout_s)
    except TimeoutError:
        return m.Failure(m.ErrorCode.TIMEOUT, "no answer in time")


async def state_of(conn: DeviceConnection) -> m.PlaybackState | None:
    """Return *conn*'s last state, waiting a moment for the first after its Welcome."""
    if conn.state is not None:
        return conn.state
    arrived = asyncio.Event()
    unsubscribe = conn.subscribe(lambda e: arrived.set() if isinstance(e, StateChanged) else None)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrived.wait(), STATE_WAIT_S)
    finally:
        unsubscribe()
    return conn.state
