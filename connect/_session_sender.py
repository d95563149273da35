"""The sending half of a controller's session: frames out, and the replies that answer them.

A `SessionSender` numbers and traces the frames a `DeviceConnection` sends on its current
WebSocket, one at a time, and matches the answers the connection hands back to it: a
CommandResult to the command waiting for it, a TimeResponse to the oldest clock sample
waiting. When the session is lost, everything still waiting fails with ConnectionLostError.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable

import aiohttp
from opentelemetry.trace import Span, SpanKind

from connect import codec, telemetry
from connect import messages as m
from connect.clock import Clock
from connect.errors import ConnectionLostError, ConnectTimeoutError

INITIAL_CLOCK_SAMPLES = 5


class SessionSender:
    """Sends on one device's session (the WebSocket of the moment) and awaits the answers."""

    def __init__(self, device_id: str, clock: Clock, session_id: Callable[[], str]) -> None:
        self._device_id = device_id
        self._clock = clock
        self._session_id = session_id  # the device's session, for the spans' attributes
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._send_lock = asyncio.Lock()
        self._seq = itertools.count(1)
        self._pending: dict[str, asyncio.Future[m.CommandResult]] = {}
        self._time_waiters: list[asyncio.Future[None]] = []
        self.last_sent = 0.0  # loop time of the last frame sent: the keepalive's reference

    @property
    def ws(self) -> aiohttp.ClientWebSocketResponse | None:
        """Return the WebSocket frames go to now, or None between sessions."""
        return self._ws

    def attach(self, ws: aiohttp.ClientWebSocketResponse | None) -> None:
        """Send on *ws* from now on (None: the session is gone, sending fails)."""
        self._ws = ws

    async def command(
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
        try:
            with telemetry.current(span):
                await self.send_frame(command, traceparent, span=span)
                result = await asyncio.wait_for(future, timeout)
                telemetry.record_result(span, result.revision, result.failure)
                return result
        except TimeoutError:
            raise ConnectTimeoutError(
                f"device {self._device_id} did not answer command within {timeout:g} s"
            ) from None
        finally:
            self._pending.pop(command_id, None)

    async def send(self, body: m.Body, traceparent: str = "") -> None:
        """Send one frame; raise ConnectionLostError when the session is down.

        A traced message (connect.telemetry) without a given *traceparent* gets a sender span,
        a child of the current span, whose context the envelope carries.
        """
        span = None
        if not traceparent and telemetry.is_traced(body):
            span = telemetry.start_send(body, self._device_id, session_id=self._session_id())
        if span is None:
            await self.send_frame(body, traceparent)
            return
        with telemetry.current(span):
            await self.send_frame(body, span=span)

    async def send_frame(
        self, body: m.Body, traceparent: str = "", *, span: Span | None = None
    ) -> None:
        """Send *body* in the next envelope, carrying *span*'s context if given."""
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionLostError(f"not connected to device {self._device_id}")
        tracestate = ""
        if span is not None:
            traceparent, tracestate = telemetry.carrier(span)
        async with self._send_lock:
            envelope = m.Envelope(next(self._seq), uuid.uuid4().hex, body, traceparent, tracestate)
            try:
                await ws.send_bytes(codec.encode(envelope))
            except (ConnectionError, RuntimeError) as exc:
                raise ConnectionLostError(f"device {self._device_id}: {exc}") from exc
            self.last_sent = asyncio.get_running_loop().time()

    async def sync_clock(self, samples: int = INITIAL_CLOCK_SAMPLES, timeout: float = 2.0) -> None:
        """Take *samples* clock samples in turn; raise ConnectionLostError/ConnectTimeoutError."""
        for _ in range(samples):
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._time_waiters.append(waiter)
            await self.send(m.TimeRequest(self._clock()))
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                raise ConnectTimeoutError(f"device {self._device_id}: no TimeResponse") from None

    def command_answered(self, result: m.CommandResult) -> None:
        """Hand *result* to the command waiting for it (none waits after its timeout)."""
        future = self._pending.get(result.command_id)
        if future is not None and not future.done():
            future.set_result(result)

    def time_answered(self) -> None:
        """A TimeResponse came (its sample already taken): wake the oldest sample waiting."""
        while self._time_waiters:
            waiter = self._time_waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                break

    def fail_waiting(self, reason: str) -> None:
        """The session is lost: every command and clock sample still waiting fails."""
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLostError(reason))
        for waiter in self._time_waiters:
            # An error, not a cancel: a caller of sync_clock must see ConnectionLostError,
            # not a CancelledError it would take for its own cancellation.
            if not waiter.done():
                waiter.set_exception(ConnectionLostError(reason))
        self._time_waiters.clear()
