"""The device side of Connect over aiohttp: `GET /connect/v1/info`, the session WebSocket, and
`GET /connect/v1/transfers/{id}` (a transfer's phase here, which a source left without a verdict
asks its target; the phases come from the host's transfer logic).

`SessionServer` speaks the protocol (Hello/Welcome negotiation, heartbeats, time sync, typed
errors for bad frames) and leaves what a device *does* to a `SessionHost`: its description,
its state, and how it handles commands and transfers. The host calls `broadcast()` after each
change and the server pushes the snapshot to every connected controller.

Access (docs/security.md): with an `AccessControl` the device is in `pin` mode: it serves
HTTPS/WSS only, every Hello needs a token, the pairing and owner endpoints exist
(connect/_access_http.py), and each link's role limits what it may do (connect/pairing.py).
Without one it is `open`: plain HTTP, anyone gets the role it asks for, the owner endpoints
answer 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Protocol

from aiohttp import WSMsgType, web
from opentelemetry.trace import SpanKind

from connect import codec, pairing, telemetry
from connect import messages as m
from connect._access_http import (
    PROTOBUF,
    Renamer,
    add_access_routes,
    add_open_device_routes,
    failure_response,
)
from connect._checks import check_path_id
from connect.clock import Clock, monotonic_us
from connect.errors import (
    FrameError,
    FrameTooLargeError,
    UnknownCommandError,
    UnknownMessageError,
)
from connect.http_guard import guarded_runner
from connect.pairing import AccessControl, AccessDeniedError, Grant
from tracing import attributes as a

_LOG = logging.getLogger(__name__)

__all__ = [
    "AccessControl",
    "AccessDeniedError",
    "ControllerLink",
    "Grant",
    "Renamer",
    "SessionHost",
    "SessionServer",
    "TransferPhases",
    "error_code_for",
]

INFO_PATH = "/connect/v1/info"
WS_PATH = "/connect/v1/ws"
TRANSFERS_PATH = "/connect/v1/transfers/{transfer_id}"
HEARTBEAT_INTERVAL_MS = 1000
"""Send a Heartbeat after this long without sending anything. A peer that hears nothing for
DEAD_AFTER_BEATS intervals is dead: 3 s, short enough to mark a killed receiver offline
quickly and long enough not to flap over Wi-Fi hiccups."""
DEAD_AFTER_BEATS = 3
HELLO_TIMEOUT_S = 5.0
# aiohttp closes the socket (code 1009) above this; between 1 MiB and this, frames get a typed
# Error(TOO_LARGE) and the session stays up. Bounds what one frame can make us buffer.
_HARD_FRAME_LIMIT = 4 * m.MAX_FRAME_BYTES
_SEND_QUEUE = 256  # frames waiting for a slow controller before it is dropped
MAX_HTTP_BODY = 64 * 1024
"""Bodies outside the session WebSocket (whose frames the protocol bounds) over this get 413."""
_TRANSFER_BODIES = (m.TransferOffer, m.TransferCommit, m.TransferAborted, m.TransferDone)
TransferPhases = Callable[[str], m.TransferPhase]
"""Tells a transfer's phase on this device by its id (the status endpoint asks it)."""


class SessionHost(Protocol):
    """What a device provides to its session server."""

    def device_info(self) -> m.DeviceInfo:
        """Return the device's current description."""
        ...

    def current_state(self) -> m.PlaybackState:
        """Return the device's current state."""
        ...

    async def async_handle_command(self, command: m.Command, role: m.Role) -> m.CommandResult:
        """Apply a command from a controller with *role*; return its result."""
        ...

    async def async_handle_transfer(self, body: m.Body, link: ControllerLink) -> None:
        """Handle a transfer message (offer, commit, abort) from a controller."""
        ...


class ControllerLink:
    """One connected controller, as the host sees it: who it is, and a way to answer it."""

    def __init__(
        self,
        connection_id: str,
        client: m.ClientIdentity,
        role: m.Role,
        token_id: str = "",
    ) -> None:
        self.connection_id = connection_id
        self.client = client
        self.role = role
        self.token_id = token_id  # empty on an open device
        self.outbox: asyncio.Queue[m.Envelope | None] = asyncio.Queue(_SEND_QUEUE)
        self._seq = itertools.count(1)
        self.closed = asyncio.Event()

    def envelope(self, body: m.Body, traceparent: str = "", tracestate: str = "") -> m.Envelope:
        """Wrap *body* in this link's next envelope (sequence numbers are per direction)."""
        return m.Envelope(next(self._seq), uuid.uuid4().hex, body, traceparent, tracestate)

    def send(self, body: m.Body, traceparent: str = "") -> None:
        """Queue *body* for this controller; drop the link if it cannot keep up.

        A traced reply (connect.telemetry) without a given *traceparent* gets a sender span to
        this controller, a child of the current span (the "handle" span of what it answers).
        """
        if self.closed.is_set():
            return
        tracestate = ""
        if not traceparent and telemetry.is_traced(body):
            span = telemetry.start_send(body, self.client.id)
            if span is not None:
                traceparent, tracestate = telemetry.carrier(span)
                span.end()
        try:
            self.outbox.put_nowait(self.envelope(body, traceparent, tracestate))
        except asyncio.QueueFull:
            _LOG.warning("%s: too slow, %d frames waiting; dropping it", self, _SEND_QUEUE)
            self.close()

    def close(self) -> None:
        """Ask the writer to stop; the session ends."""
        self.closed.set()
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(None)

    def __str__(self) -> str:
        return f"{self.client.name or self.client.id} [{self.connection_id[:8]}]"


class SessionServer:
    """Serves one device's Connect endpoints on an aiohttp application."""

    def __init__(
        self,
        host: SessionHost,
        *,
        heartbeat_interval_ms: int = HEARTBEAT_INTERVAL_MS,
        clock: Clock = monotonic_us,
        access: AccessControl | None = None,
        ssl_context: ssl.SSLContext | None = None,
        rename: Renamer | None = None,
        transfer_phase: TransferPhases | None = None,
    ) -> None:
        if access is not None and ssl_context is None:
            raise ValueError("a device with access control serves TLS only: give ssl_context")
        self._host = host
        self._heartbeat_ms = heartbeat_interval_ms
        self._clock = clock
        self._access = access
        self._ssl_context = ssl_context
        self._transfer_phase = transfer_phase
        self._links: dict[str, ControllerLink] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.app = web.Application(client_max_size=MAX_HTTP_BODY)
        self.app.router.add_get(INFO_PATH, self._info)
        self.app.router.add_get(WS_PATH, self._session)
        # No token, in pin mode too: the transfer id is the capability (docs/security.md).
        self.app.router.add_get(TRANSFERS_PATH, self._transfer_status)
        if access is not None:
            add_access_routes(self.app, access, self.end_sessions_of, rename)
        else:
            add_open_device_routes(self.app)

    @property
    def links(self) -> tuple[ControllerLink, ...]:
        """Return the controllers connected now."""
        return tuple(self._links.values())

    async def async_start(self, hosts: Sequence[str], port: int) -> int:
        """Listen on *hosts* (addresses) and *port* (0: any free one); return the bound port."""
        # No access log: a request line or header could hold a credential.
        self._runner = guarded_runner(self.app, "connect.http")
        await self._runner.setup()
        bound = port
        for address in hosts:
            site = web.TCPSite(
                self._runner, address, bound, reuse_address=True, ssl_context=self._ssl_context
            )
            await site.start()
            if bound == 0:
                server = site._server  # aiohttp exposes the bound port only on its server
                sockets = list(getattr(server, "sockets", None) or [])
                bound = int(sockets[0].getsockname()[1])
        return bound

    def broadcast(self, snapshot: m.StateSnapshot) -> None:
        """Push *snapshot* to every connected controller."""
        for link in self._links.values():
            link.send(snapshot)

    def end_sessions_of(self, token_id: str) -> None:
        """End every session that uses token *token_id*, with Goodbye(REVOKED)."""
        for link in list(self._links.values()):
            if link.token_id == token_id:
                _LOG.info("%s: token revoked, ending the session", link)
                link.send(
                    m.Goodbye(m.GoodbyeReason.REVOKED, "this controller's access was revoked")
                )
                link.close()

    def _spawn(self, coro: Coroutine[object, object, None], what: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"baton-{what}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOG.error("%s failed", task.get_name(), exc_info=task.exception())

    async def async_close(self) -> None:
        """Say goodbye to every controller and stop listening (idempotent)."""
        for task in list(self._tasks):
            task.cancel()
        for link in list(self._links.values()):
            link.send(m.Goodbye(m.GoodbyeReason.SHUTDOWN, "device is shutting down"))
            link.close()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await asyncio.wait_for(runner.cleanup(), timeout=5)

    # -------------------------------------------------------------------------- HTTP

    async def _info(self, request: web.Request) -> web.Response:
        info = self._host.device_info()
        if "application/json" in request.headers.get("Accept", ""):
            return web.Response(
                text=codec.device_info_to_json(info), content_type="application/json"
            )
        return web.Response(body=codec.encode_device_info(info), content_type=PROTOBUF)

    async def _transfer_status(self, request: web.Request) -> web.Response:
        transfer_id = request.match_info["transfer_id"]
        try:
            check_path_id("transfer id", transfer_id)
        except ValueError as exc:
            return failure_response(m.ErrorCode.MALFORMED, str(exc))
        phase = m.TransferPhase.UNKNOWN
        if self._transfer_phase is not None:
            phase = self._transfer_phase(transfer_id)
        return web.Response(
            body=codec.encode_transfer_status(m.TransferStatus(transfer_id, phase)),
            content_type=PROTOBUF,
        )

    async def _session(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=_HARD_FRAME_LIMIT, heartbeat=None)
        try:
            await ws.prepare(request)
        except (UnicodeError, ValueError):
            # aiohttp quotes handshake headers in its own refusal and fails on non-ASCII bytes.
            return web.Response(status=400, text="malformed WebSocket handshake")
        except ConnectionError:
            _LOG.debug("%s left before the upgrade was answered", request.remote)
            return web.Response(status=400)  # written to nobody; aiohttp drops it quietly
        peer = request.remote or "?"
        link = await self._handshake(ws, peer)
        if link is None:
            await ws.close()
            return ws
        self._links[link.connection_id] = link
        _LOG.info("%s: connected from %s as %s", link, peer, link.role.name.lower())
        writer = asyncio.create_task(self._write(ws, link), name=f"baton-ws-writer-{link}")
        link.send(m.StateSnapshot(self._host.current_state(), m.StateChangeReason.INITIAL))
        try:
            await self._read(ws, link)
        finally:
            self._links.pop(link.connection_id, None)
            link.close()
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                await asyncio.wait_for(writer, timeout=2)
            writer.cancel()
            await ws.close()
            _LOG.info("%s: disconnected", link)
        return ws

    # -------------------------------------------------------------------------- session

    async def _handshake(self, ws: web.WebSocketResponse, peer: str) -> ControllerLink | None:
        """Read Hello and answer Welcome, or Goodbye; return the new link or None."""
        try:
            message = await ws.receive(timeout=HELLO_TIMEOUT_S)
        except TimeoutError:
            _LOG.info("%s: no Hello within %.0f s", peer, HELLO_TIMEOUT_S)
            return None
        envelope = self._decode_hello(message)
        if envelope is None or not isinstance(envelope.body, m.Hello):
            goodbye = m.Goodbye(m.GoodbyeReason.PROTOCOL_ERROR, "expected Hello")
            await self._send_now(ws, m.Envelope(1, uuid.uuid4().hex, goodbye))
            return None
        # The device's half of the controller's "connect" span.
        with telemetry.current(telemetry.start_handle(envelope, kind=SpanKind.SERVER)):
            return await self._welcome(ws, envelope.body)

    async def _welcome(self, ws: web.WebSocketResponse, hello: m.Hello) -> ControllerLink | None:
        """Answer a Hello with Welcome (returning the new link) or Goodbye (returning None)."""
        device = self._host.device_info()
        version = device.protocol.highest_common(hello.supported)
        if version is None:
            goodbye = m.Goodbye(
                m.GoodbyeReason.VERSION,
                f"this device speaks {device.protocol}, not {hello.supported}",
                device.protocol,
            )
            await self._send_now(ws, m.Envelope(1, uuid.uuid4().hex, goodbye))
            return None
        token_id = ""
        if self._access is None:  # an open device grants what was asked, or controller
            role = hello.requested_role or m.Role.CONTROLLER
        else:
            grant = self._access.authenticate(hello.token) if hello.token else None
            if grant is None:
                goodbye = m.Goodbye(
                    m.GoodbyeReason.UNAUTHENTICATED, "this device needs pairing; no valid token"
                )
                await self._send_now(ws, m.Envelope(1, uuid.uuid4().hex, goodbye))
                return None
            role, token_id = pairing.weaker_role(grant.role, hello.requested_role), grant.token_id
        link = ControllerLink(uuid.uuid4().hex, hello.client, role, token_id)
        welcome = m.Welcome(version, role, device, link.connection_id, self._heartbeat_ms)
        await self._send_now(ws, link.envelope(welcome))
        return link

    @staticmethod
    def _decode_hello(message: object) -> m.Envelope | None:
        data = getattr(message, "data", None)
        if getattr(message, "type", None) is not WSMsgType.BINARY or not isinstance(data, bytes):
            return None
        try:
            return codec.decode(data)
        except FrameError:
            return None

    async def _read(self, ws: web.WebSocketResponse, link: ControllerLink) -> None:
        dead_after = DEAD_AFTER_BEATS * self._heartbeat_ms / 1000
        while not link.closed.is_set():
            try:
                message = await ws.receive(timeout=dead_after)
            except TimeoutError:
                _LOG.info("%s: silent for %.1f s, closing", link, dead_after)
                link.send(m.Goodbye(m.GoodbyeReason.TIMEOUT, "no frame within the timeout"))
                return
            received_at = self._clock()
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                return
            if message.type is WSMsgType.ERROR:
                _LOG.info("%s: websocket error %s", link, ws.exception())
                return
            if message.type is not WSMsgType.BINARY:
                link.send(m.Error(m.ErrorCode.MALFORMED, "only binary frames are used"))
                continue
            await self._handle_frame(message.data, received_at, link)

    async def _handle_frame(self, data: bytes, received_at: int, link: ControllerLink) -> None:
        try:
            envelope = codec.decode(data)
        except UnknownCommandError as exc:
            failure = m.Failure(m.ErrorCode.UNSUPPORTED, str(exc))
            state = self._host.current_state()
            link.send(m.CommandResult(exc.command_id, state.revision, failure))
            return
        except FrameError as exc:
            _LOG.debug("%s: refused frame: %s", link, exc)
            code = error_code_for(exc)
            telemetry.emit_event(a.EVENT_ERROR, {a.ERROR_TYPE: code.name})
            link.send(m.Error(code, str(exc), exc.seq or 0, exc.msg_id))
            return
        body = envelope.body
        if isinstance(body, m.TimeRequest):
            # device_send_us is stamped by the writer just before the frame leaves.
            link.send(m.TimeResponse(body.client_send_us, received_at, 0))
        elif isinstance(body, m.Command) and (refusal := pairing.command_refusal(link.role)):
            # Refused before the host sees it: nothing changes.
            link.send(
                m.CommandResult(body.command_id, self._host.current_state().revision, refusal)
            )
        elif isinstance(body, m.Command):
            session_id = self._host.current_state().session_id
            span = telemetry.start_handle(envelope, kind=SpanKind.SERVER, session_id=session_id)
            with telemetry.current(span):
                result = await self._host.async_handle_command(body, link.role)
                telemetry.record_result(span, result.revision, result.failure)
                link.send(result)  # traced as a child of the handle span
        elif isinstance(body, _TRANSFER_BODIES) and (
            refusal := pairing.transfer_refusal(link.role, body, self._host.device_info().id)
        ):
            link.send(m.TransferRejected(body.transfer_id, refusal))
        elif isinstance(body, _TRANSFER_BODIES):
            # In its own task: a target waits for its switch instant, and the link must go on
            # answering time requests meanwhile. TransferDone from a controller confirms to a
            # source that its target plays.
            self._spawn(self._handle_transfer(envelope, link), f"transfer for {link}")
        elif isinstance(body, m.Goodbye):
            _LOG.info("%s: said goodbye (%s)", link, body.reason.name.lower())
            link.close()
        elif not isinstance(body, m.Heartbeat):
            link.send(
                m.Error(
                    m.ErrorCode.UNSUPPORTED,
                    f"{type(body).__name__} is not a controller-to-device message",
                    envelope.seq,
                    envelope.msg_id,
                )
            )

    async def _handle_transfer(self, envelope: m.Envelope, link: ControllerLink) -> None:
        """Hand a transfer message to the host inside its "handle" span (replies are children)."""
        session_id = self._host.current_state().session_id
        with telemetry.current(telemetry.start_handle(envelope, session_id=session_id)):
            await self._host.async_handle_transfer(envelope.body, link)

    async def _write(self, ws: web.WebSocketResponse, link: ControllerLink) -> None:
        """Send queued frames; send a Heartbeat whenever nothing went out for an interval."""
        interval = self._heartbeat_ms / 1000
        queue = link.outbox
        try:
            while True:
                try:
                    envelope = await asyncio.wait_for(queue.get(), timeout=interval)
                except TimeoutError:
                    revision = self._host.current_state().revision
                    envelope = link.envelope(m.Heartbeat(revision))
                if envelope is None:
                    while not queue.empty():  # flush a Goodbye queued before the close
                        pending = queue.get_nowait()
                        if pending is not None:
                            await ws.send_bytes(codec.encode(pending))
                    return
                if isinstance(envelope.body, m.TimeResponse):
                    envelope = replace(
                        envelope, body=replace(envelope.body, device_send_us=self._clock())
                    )
                await ws.send_bytes(codec.encode(envelope))
        except (ConnectionError, RuntimeError) as exc:
            # aiohttp raises ConnectionResetError or RuntimeError on a socket that closed.
            _LOG.debug("%s: send failed: %s", link, exc)
        finally:
            link.closed.set()

    @staticmethod
    async def _send_now(ws: web.WebSocketResponse, envelope: m.Envelope) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_bytes(codec.encode(envelope))


def error_code_for(exc: FrameError) -> m.ErrorCode:
    """Return the Error code a device answers a refused frame with."""
    if isinstance(exc, UnknownMessageError):
        return m.ErrorCode.UNSUPPORTED
    if isinstance(exc, FrameTooLargeError):
        return m.ErrorCode.TOO_LARGE
    return m.ErrorCode.MALFORMED
