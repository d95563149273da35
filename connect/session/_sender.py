"""The sending half of a controller's session: the machine's steps, frames out, answers awaited.

A `SessionSender` holds the session of the moment (its `ControllerEnd` machine and its
WebSocket) and runs every step of the machine that may send under one lock, writing the
frames in the order the machine numbered them. It matches what comes back to whoever waits:
a command's result or its loss to the command, a TimeResponse to the oldest clock sample
waiting. When the session is lost, everything still waiting fails with ConnectionLostError.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

from opentelemetry.trace import Span, SpanKind

from connect import telemetry
from connect.clock import Clock
from connect.errors import ConnectionLostError, ConnectTimeoutError, EncodeError
from connect.session._socket import SessionSocket
from connect.session.controller_end import (
    CommandDone,
    CommandLost,
    ControllerAction,
    ControllerEnd,
    PageDone,
    PageLost,
)
from connect.session.machine import Send
from connect.wire import codec
from connect.wire import messages as m

INITIAL_CLOCK_SAMPLES = 5

Step = Callable[[ControllerEnd], list[ControllerAction]]
"""One call of the machine (receive, tick, send, ...), made under the send lock."""


class SessionSender:
    """Sends on one device's session (the machine and WebSocket of the moment)."""

    def __init__(self, device_id: str, clock: Clock, session_id: Callable[[], str]) -> None:
        self._device_id = device_id
        self._clock = clock
        self._session_id = session_id  # the device's session, for the spans' attributes
        self._ws: SessionSocket | None = None
        self._end: ControllerEnd | None = None
        self._send_lock = asyncio.Lock()
        self._pending: dict[str, asyncio.Future[m.CommandResult]] = {}
        self._pages: dict[str, asyncio.Future[m.QueuePage]] = {}
        self._time_waiters: list[asyncio.Future[None]] = []

    @property
    def ws(self) -> SessionSocket | None:
        """Return the WebSocket frames go to now, or None between sessions."""
        return self._ws

    def attach(self, ws: SessionSocket | None, end: ControllerEnd | None = None) -> None:
        """Run session *end* on *ws* from now on (None: the session is gone, sending fails)."""
        self._ws, self._end = ws, end

    async def async_step(self, step: Step, *, need_open: bool = True) -> list[ControllerAction]:
        """Run *step* on the machine under the send lock, write its frames; return the rest.

        With *need_open*, a session whose WebSocket is gone raises ConnectionLostError.
        """
        async with self._send_lock:
            ws, end = self._ws, self._end
            if end is None or (need_open and (ws is None or ws.closed)):
                raise ConnectionLostError(f"not connected to device {self._device_id}")
            actions = step(end)
            rest: list[ControllerAction] = []
            for action in actions:
                if isinstance(action, Send):
                    await self._write(ws, end, action)
                else:
                    rest.append(action)
            return rest

    async def _write(self, ws: SessionSocket | None, end: ControllerEnd, send: Send) -> None:
        body = send.body
        try:
            data = codec.encode(send.envelope)
        except EncodeError:
            if isinstance(body, m.Command):
                end.abandon(body.command_id)  # it never left: nobody answers it
            raise
        if ws is None:
            raise ConnectionLostError(f"not connected to device {self._device_id}")
        try:
            await ws.send_bytes(data)
        except (ConnectionError, RuntimeError) as exc:
            raise ConnectionLostError(f"device {self._device_id}: {exc}") from exc

    async def async_command(
        self,
        action: m.Action,
        *,
        expected_revision: int | None = None,
        timeout: float = 5.0,
        traceparent: str = "",
    ) -> m.CommandResult:
        """Send a command and return its result; raise ConnectionLostError/ConnectTimeoutError."""
        command_id = uuid.uuid4().hex
        future: asyncio.Future[m.CommandResult] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        command = m.Command(command_id, action, expected_revision)
        span = None
        if not traceparent:  # the round trip is one span: send Command ... its result
            span = telemetry.start_send(
                command, self._device_id, kind=SpanKind.CLIENT, session_id=self._session_id()
            )
        end = self._end
        try:
            with telemetry.current(span):
                await self.async_send_frame(command, traceparent, span=span)
                result = await asyncio.wait_for(future, timeout)
                telemetry.record_result(span, result.revision, result.failure)
                return result
        except TimeoutError:
            raise ConnectTimeoutError(
                f"device {self._device_id} did not answer command within {timeout:g} s"
            ) from None
        finally:
            self._pending.pop(command_id, None)
            if end is not None:
                end.abandon(command_id)  # no-op once answered or lost
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: a loss after a timeout is nobody's news

    async def async_queue_page(self, offset: int, count: int, timeout: float) -> m.QueuePage:
        """Ask for *count* queue items from *offset* on; raise ConnectionLostError/Timeout."""
        request = m.QueueRequest(uuid.uuid4().hex, offset, count)
        future: asyncio.Future[m.QueuePage] = asyncio.get_running_loop().create_future()
        self._pages[request.request_id] = future
        end = self._end
        try:
            await self.async_step(lambda e: e.request_queue(request, self._clock()))
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise ConnectTimeoutError(
                f"device {self._device_id} sent no queue page within {timeout:g} s"
            ) from None
        finally:
            self._pages.pop(request.request_id, None)
            if end is not None:
                end.abandon(request.request_id)
            if future.done() and not future.cancelled():
                future.exception()

    async def async_send(self, body: m.Body, traceparent: str = "") -> None:
        """Send one frame; raise ConnectionLostError when the session is down.

        A traced message (connect.telemetry) without a given *traceparent* gets a sender span,
        a child of the current span, whose context the envelope carries.
        """
        span = None
        if not traceparent and telemetry.is_traced(body):
            span = telemetry.start_send(body, self._device_id, session_id=self._session_id())
        if span is None:
            await self.async_send_frame(body, traceparent)
            return
        with telemetry.current(span):
            await self.async_send_frame(body, span=span)

    async def async_send_frame(
        self, body: m.Body, traceparent: str = "", *, span: Span | None = None
    ) -> None:
        """Send *body* in the next envelope, carrying *span*'s context if given."""
        tracestate = ""
        if span is not None:
            traceparent, tracestate = telemetry.carrier(span)

        def step(end: ControllerEnd) -> list[ControllerAction]:
            now = self._clock()
            if isinstance(body, m.Command):
                return end.command(body, now, traceparent, tracestate)
            return end.send(body, now, traceparent, tracestate)

        await self.async_step(step)

    async def async_sync_clock(
        self, samples: int = INITIAL_CLOCK_SAMPLES, timeout: float = 2.0
    ) -> None:
        """Take *samples* clock samples in turn; raise ConnectionLostError/ConnectTimeoutError."""
        for _ in range(samples):
            # Waiting before the request goes out: its answer may come while the send awaits.
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._time_waiters.append(waiter)
            try:
                await self.async_step(lambda end: end.request_time(self._clock()))
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                raise ConnectTimeoutError(f"device {self._device_id}: no TimeResponse") from None
            finally:
                # A request that never went out (or a caller gone) leaves no waiter behind.
                with contextlib.suppress(ValueError):
                    self._time_waiters.remove(waiter)
                if waiter.done() and not waiter.cancelled():
                    waiter.exception()  # failed during the send: the send's error is raised
                waiter.cancel()

    def settle(self, outcome: CommandDone | CommandLost) -> None:
        """Hand a command's result (or its loss) to the caller waiting for it."""
        future = self._pending.get(outcome.command_id)
        if future is None or future.done():
            return
        if isinstance(outcome, CommandDone):
            future.set_result(outcome.result)
        else:
            future.set_exception(outcome.error)

    def settle_page(self, outcome: PageDone | PageLost) -> None:
        """Hand a queue page (or its loss) to the caller waiting for it."""
        future = self._pages.get(outcome.request_id)
        if future is None or future.done():
            return
        if isinstance(outcome, PageDone):
            future.set_result(outcome.page)
        else:
            future.set_exception(outcome.error)

    def time_answered(self) -> None:
        """A TimeResponse came (its sample already taken): wake the oldest sample waiting."""
        while self._time_waiters:
            waiter = self._time_waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                break

    def fail_waiting(self, reason: str) -> None:
        """The session is lost: every command and clock sample still waiting fails."""
        waiting: list[asyncio.Future[m.CommandResult] | asyncio.Future[m.QueuePage]] = [
            *self._pending.values(),
            *self._pages.values(),
        ]
        for future in waiting:
            if not future.done():
                future.set_exception(ConnectionLostError(reason))
        for waiter in self._time_waiters:
            # An error, not a cancel: a caller of async_sync_clock must see ConnectionLostError,
            # not a CancelledError it would take for its own cancellation.
            if not waiter.done():
                waiter.set_exception(ConnectionLostError(reason))
        self._time_waiters.clear()
