"""One connected controller as a device's host sees it: who it is, and a way to answer it.

A `ControllerLink` holds the session's machine (connect/session/device_end.py) and its
outbox: what the host sends (snapshots, transfer replies) goes through the machine, which
numbers it and drops it once the session is over, into a bounded queue that the session's
writer (connect/session/_device_socket.py) empties onto the WebSocket. A controller that
cannot keep up with `SEND_QUEUE` frames is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from connect import telemetry
from connect.clock import Clock, monotonic_us
from connect.session.device_end import DeviceAction, DeviceEnd
from connect.session.machine import Close, Send
from connect.wire import messages as m

__all__ = ["SEND_QUEUE", "ControllerLink"]

_LOG = logging.getLogger(__name__)

SEND_QUEUE = 256
"""Frames waiting for a slow controller before it is dropped."""


class ControllerLink:
    """One controller's session, for the host: send to it, close it, see when it closed."""

    def __init__(
        self,
        connection_id: str,
        client: m.ClientIdentity,
        role: m.Role,
        token_id: str = "",
        *,
        clock: Clock = monotonic_us,
    ) -> None:
        """Make a link to a session already past its Welcome (a host's tests use this)."""
        end = DeviceEnd.opened(connection_id, client, role, clock(), token_id=token_id)
        self._attach(end, clock)

    @classmethod
    def for_session(cls, end: DeviceEnd, clock: Clock = monotonic_us) -> ControllerLink:
        """Return the link of the session *end* runs (from its upgrade on)."""
        link = cls.__new__(cls)
        link._attach(end, clock)
        return link

    def _attach(self, end: DeviceEnd, clock: Clock) -> None:
        self._clock = clock
        self.end = end
        # Send actions to write, in order; None: the session is over (flush, then close).
        self.outbox: asyncio.Queue[Send | None] = asyncio.Queue(SEND_QUEUE)
        self.closed = asyncio.Event()
        # The lifeline the controller's traced Hello named (connect.telemetry.sender_lifeline):
        # replies are traced to it; "" (an untraced controller): to its client id.
        self.trace_peer = ""

    @property
    def connection_id(self) -> str:
        """Return the id the device gave this session in its Welcome."""
        return self.end.connection_id

    @property
    def client(self) -> m.ClientIdentity:
        """Return who the controller says it is (its Hello)."""
        return self.end.client

    @property
    def role(self) -> m.Role:
        """Return what the controller may do here."""
        return self.end.role

    @property
    def token_id(self) -> str:
        """Return the id of the token it presented ("" on an open device)."""
        return self.end.token_id

    def send(self, body: m.Body, traceparent: str = "") -> None:
        """Send *body* to this controller; drop the link if it cannot keep up.

        A traced reply (connect.telemetry) without a given *traceparent* gets a sender span to
        this controller, a child of the current span (the "handle" span of what it answers).
        """
        if self.end.closed:
            return
        traceparent, tracestate = self._carrier(body, traceparent)
        self.async_carry_out(self.end.send(body, self._clock(), traceparent, tracestate))

    def answer(self, result: m.CommandResult) -> None:
        """Send the host's result of a command the machine handed it (traced as `send` is)."""
        if self.end.closed:
            return
        traceparent, tracestate = self._carrier(result, "")
        self.async_carry_out(self.end.answer(result, self._clock(), traceparent, tracestate))

    def close(self, goodbye: m.Goodbye | None = None) -> None:
        """End the session, saying *goodbye* first if given (idempotent)."""
        self.async_carry_out(self.end.close(self._clock(), goodbye))

    def async_carry_out(self, actions: list[DeviceAction]) -> list[DeviceAction]:
        """Queue the sends and closes of *actions*; return the others, for the session to run."""
        rest: list[DeviceAction] = []
        for action in actions:
            if isinstance(action, Send):
                self._queue(action)
            elif isinstance(action, Close):
                self._closed()
            else:
                rest.append(action)
        return rest

    def _carrier(self, body: m.Body, traceparent: str) -> tuple[str, str]:
        if traceparent or not telemetry.is_traced(body):
            return traceparent, ""
        span = telemetry.start_send(body, self.trace_peer or self.client.id)
        if span is None:
            return "", ""
        carrier = telemetry.carrier(span)
        span.end()
        return carrier

    def _queue(self, send: Send) -> None:
        if self.closed.is_set():
            return  # dropped for being too slow: nothing more is written
        try:
            self.outbox.put_nowait(send)
        except asyncio.QueueFull:
            _LOG.warning("%s: too slow, %d frames waiting; dropping it", self, SEND_QUEUE)
            self.end.lost("too slow")
            while not self.outbox.empty():  # it would not read them: write no more
                self.outbox.get_nowait()
            self._closed()

    def _closed(self) -> None:
        self.closed.set()
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(None)

    def __str__(self) -> str:
        return f"{self.client.name or self.client.id} [{self.connection_id[:8]}]"
