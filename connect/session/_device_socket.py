"""One session's WebSocket on the device, over aiohttp: the adapter of a `DeviceEnd`.

Three loops per session carry out what the machine (connect/session/device_end.py) decides:

* the reader feeds it every frame, and calls its `tick` at its deadline (heartbeats, a silent
  controller, a Hello that never came);
* the writer empties the link's outbox onto the WebSocket, stamping a TimeResponse just
  before it leaves, and closes the WebSocket after the session's last frame;
* the command worker applies commands one at a time, in the order they came, so that a slow
  command (media that takes a while to open) never holds up heartbeats or time requests.

Transfer messages each get a task of their own: a target waits for its switch instant; so do
group steps, for a host that plays in groups (`GroupHost`; any other has them refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import WSMessage, WSMsgType, web
from opentelemetry.trace import SpanKind

from connect import telemetry
from connect.access.pairing import AccessControl
from connect.clock import Clock
from connect.errors import EncodeError
from connect.session.admission import admission_for
from connect.session.device_end import (
    NO_HELLO,
    Admit,
    DeviceAction,
    DeviceEnd,
    FrameRefused,
    HandleCommand,
    HandleGroup,
    HandleTransfer,
    Opened,
    group_refused,
)
from connect.session.host import GroupHost, SessionHost
from connect.session.link import ControllerLink
from connect.session.machine import Close, Send
from connect.wire import codec
from connect.wire import messages as m
from httpguard import OncePerWindow
from tracing import attributes as a

__all__ = ["DeviceSocket"]

_LOG = logging.getLogger(__name__)

_COMMAND_QUEUE = 32  # commands read ahead of the one being applied; then reading waits
_WRITER_GRACE_S = 3.0  # for the writer to flush and close after the session ended
_ENDED = (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)
_SILENT_PEERS = OncePerWindow()  # "no Hello" once a minute, however many peers keep quiet

Spawn = Callable[[Coroutine[Any, Any, None], str], object]


class DeviceSocket:
    """Runs one controller's session on an upgraded WebSocket until it ends."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        peer: str,
        host: SessionHost,
        *,
        access: AccessControl | None,
        clock: Clock,
        heartbeat_interval_ms: int,
        links: dict[str, ControllerLink],
        spawn: Spawn,
        on_opened: Callable[[], None] = lambda: None,
    ) -> None:
        self._ws = ws
        self._peer = peer
        self._host = host
        self._access = access
        self._clock = clock
        self._links = links
        self._spawn = spawn
        self._on_opened = on_opened  # the server's: e.g. the connection guard's trust
        end = DeviceEnd(
            uuid.uuid4().hex,
            clock(),
            protocol=host.device_info().protocol,
            heartbeat_interval_ms=heartbeat_interval_ms,
        )
        self._end = end
        self.link = ControllerLink.for_session(end, clock)
        self._commands: asyncio.Queue[HandleCommand | None] = asyncio.Queue(_COMMAND_QUEUE)

    async def async_run(self) -> None:
        """Run the session until it ends, then finish its commands and close the WebSocket."""
        writer = asyncio.create_task(self._write(), name=f"baton-ws-writer-{self._peer}")
        worker = asyncio.create_task(self._work(), name=f"baton-ws-commands-{self._peer}")
        try:
            await self._read()
        finally:
            link = self.link
            if self._links.pop(link.connection_id, None) is not None:
                _LOG.info("%s: disconnected", link)
            link.close()
            if not worker.done():
                await self._commands.put(None)
            try:
                await worker  # commands read before the end still run, as they were sent
                with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                    await asyncio.wait_for(writer, timeout=_WRITER_GRACE_S)
            finally:
                worker.cancel()
                writer.cancel()
                await self._ws.close()

    # -------------------------------------------------------------------------- reader

    async def _read(self) -> None:
        end, ws, link = self._end, self._ws, self.link
        while not link.closed.is_set():
            # A frame already here is read before a tick: silence is judged on what came.
            message = await _receive(ws, end.deadline, self._clock())
            if message is not None:
                await self._run(self._feed(message))
                # Buffered frames come back without suspending: one frame per step, or a
                # controller's burst (a long queue's upload) holds the loop for all of it.
                await asyncio.sleep(0)
            now = self._clock()
            deadline = end.deadline
            if not link.closed.is_set() and deadline is not None and now >= deadline:
                await self._run(end.tick(now))

    def _feed(self, message: WSMessage) -> list[DeviceAction]:
        end, now = self._end, self._clock()
        if message.type in _ENDED:
            return end.lost("the controller closed the session")
        if message.type is WSMsgType.ERROR:
            _LOG.info("%s: websocket error %s", self.link, self._ws.exception())
            return end.lost(f"websocket error {self._ws.exception()}")
        if message.type is WSMsgType.BINARY:
            return end.receive(message.data, now)
        return end.receive_text(now)

    async def _run(self, actions: list[DeviceAction]) -> None:
        """Carry out what the machine asked for (sends and closes through the link)."""
        # "No Hello" is logged once a minute however many peers keep quiet: an attack repeats it.
        if any(isinstance(a, Close) and a.reason == NO_HELLO for a in actions) and (
            (left_out := _SILENT_PEERS.note("no Hello")) is not None
        ):
            _LOG.info("%s: %s (%d more since)", self._peer, NO_HELLO, left_out)
        for action in self.link.async_carry_out(actions):
            if isinstance(action, Admit):
                await self._run(self._admit(action))
            elif isinstance(action, Opened):
                self._opened()
            elif isinstance(action, HandleCommand):
                await self._commands.put(action)
            elif isinstance(action, HandleTransfer):
                self._spawn(self._transfer(action), f"transfer for {self.link}")
            elif isinstance(action, HandleGroup):
                self._group(action)
            elif isinstance(action, FrameRefused):
                _LOG.debug("%s: refused frame: %s", self.link, action.reason)
                telemetry.emit_event(a.EVENT_ERROR, {a.ERROR_TYPE: action.code.name})

    def _admit(self, admit: Admit) -> list[DeviceAction]:
        # The device's half of the controller's "connect" span.
        self.link.trace_peer = telemetry.sender_lifeline(admit.envelope)
        with telemetry.current(telemetry.start_handle(admit.envelope, kind=SpanKind.SERVER)):
            admission = admission_for(admit.hello, self._access)
            actions = self._end.admit(admission, self._host.device_info(), self._clock())
            # Written inside the span, as the Welcome always was.
            return self.link.async_carry_out(actions)

    def _opened(self) -> None:
        link = self.link
        self._links[link.connection_id] = link
        self._on_opened()
        _LOG.info("%s: connected from %s as %s", link, self._peer, link.role.name.lower())
        initial = m.StateSnapshot(self._host.current_state(), m.StateChangeReason.INITIAL)
        link.send(initial)

    # -------------------------------------------------------------------------- handlers

    async def _work(self) -> None:
        """Apply the session's commands one at a time, in order."""
        while (action := await self._commands.get()) is not None:
            await self._apply(action)

    async def _apply(self, action: HandleCommand) -> None:
        command = action.command
        session_id = self._host.current_state().session_id
        span = telemetry.start_handle(action.envelope, kind=SpanKind.SERVER, session_id=session_id)
        with telemetry.current(span):
            try:
                result = await self._host.async_handle_command(command, self.link.role)
            except Exception as exc:  # a host's bug must not leave the controller waiting
                _LOG.exception("%s: command %s failed in the device", self.link, command.command_id)
                failure = m.Failure(m.ErrorCode.INTERNAL, f"the device failed: {exc!r}")
                revision = self._host.current_state().revision
                result = m.CommandResult(command.command_id, revision, failure)
            telemetry.record_result(span, result.revision, result.failure)
            self.link.answer(result)  # traced as a child of the handle span

    async def _transfer(self, action: HandleTransfer) -> None:
        """Hand a transfer message to the host inside its "handle" span (replies are children)."""
        session_id = self._host.current_state().session_id
        with telemetry.current(telemetry.start_handle(action.envelope, session_id=session_id)):
            await self._host.async_handle_transfer(action.body, self.link)

    def _group(self, action: HandleGroup) -> None:
        """Hand a group step to a host that plays in groups; refuse it for any other."""
        host, body = self._host, action.body
        if isinstance(host, GroupHost):
            self._spawn(self._group_step(host, action), f"group step for {self.link}")
        elif not isinstance(body, m.GroupTimeline):  # a timeline is never answered
            why = m.Failure(m.ErrorCode.UNSUPPORTED, "this device does not play in groups")
            self.link.send(group_refused(body, why))

    async def _group_step(self, host: GroupHost, action: HandleGroup) -> None:
        """Carry out a group step inside its "handle" span (its answers are children)."""
        session_id = self._host.current_state().session_id
        with telemetry.current(telemetry.start_handle(action.envelope, session_id=session_id)):
            await host.async_handle_group(action.body, self.link)

    # -------------------------------------------------------------------------- writer

    async def _write(self) -> None:
        """Write queued frames in order; after the last one, close the WebSocket."""
        outbox = self.link.outbox
        try:
            while (send := await outbox.get()) is not None:
                await self._write_one(send)
                await asyncio.sleep(0)  # a queued burst is encoded a frame per step, as read
            while not outbox.empty():  # a Goodbye queued before the close
                pending = outbox.get_nowait()
                if pending is not None:
                    await self._write_one(pending)
        except (ConnectionError, RuntimeError) as exc:
            # aiohttp raises ConnectionResetError or RuntimeError on a socket that closed.
            _LOG.debug("%s: send failed: %s", self.link, exc)
        finally:
            self.link.async_carry_out(self._end.lost("the WebSocket could not be written"))
        await self._ws.close()  # wakes the reader if it still waits for a frame

    async def _write_one(self, send: Send) -> None:
        envelope = send.envelope
        if isinstance(envelope.body, m.TimeResponse):
            # t3 of the exchange: as late as possible, just before the frame leaves.
            body = envelope.body
            stamped = m.TimeResponse(body.client_send_us, body.device_receive_us, self._clock())
            envelope = m.Envelope(
                envelope.seq, envelope.msg_id, stamped, envelope.traceparent, envelope.tracestate
            )
        try:
            data = codec.encode(envelope)
        except EncodeError as exc:  # e.g. a state over the frame limit: this frame only
            _LOG.warning("%s: cannot send %s: %s", self.link, type(envelope.body).__name__, exc)
            return
        await self._ws.send_bytes(data)


async def _receive(ws: web.WebSocketResponse, deadline: int | None, now: int) -> WSMessage | None:
    """Return the next message, or None once *deadline* (µs, None: never) has come."""
    # At least a millisecond: aiohttp reads a timeout of 0 as "no timeout".
    timeout = None if deadline is None else max((deadline - now) / 1e6, 0.001)
    try:
        return await ws.receive(timeout=timeout)
    except TimeoutError:
        return None
