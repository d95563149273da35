"""The controller side of one Connect session: `DeviceConnection`, reconnecting by device id.

A connection resolves the device's current address on every attempt (so a device that moved
is found again), says Hello, keeps the latest StateSnapshot, answers nothing itself, and sends
a TimeRequest whenever it has been quiet for a heartbeat interval: one frame that keeps the
link alive and feeds the clock-offset estimate. After a loss it retries with exponential
backoff and jitter (connect.session._reconnect: capped at about a second for two minutes after a
session ends, then doubling up to 30 s); `async_retry_now` cuts a wait short when there is a
sign the device is reachable again.

Security (docs/security.md): a device in `pin` mode is reached over WSS with its certificate
pinned to its id, and the Hello carries the token stored for it, read again at every attempt
(a pairing made meanwhile counts). A device that answers Goodbye(UNAUTHENTICATED) or
Goodbye(REVOKED) will not change its mind by retrying: the connection stops for good and says
why (`stopped_by`, an `AccessDenied` event); a revoked token is forgotten.

This module is an adapter: the session's protocol (Hello and Welcome, heartbeats, the dead-peer
rule, commands matched to their results) is the sans-IO machine of
connect/session/controller_end.py; this module holds the lifecycle around it (resolve,
connect, feed it frames and ticks, act on what it says, retry). Beside it in
connect/session/: _sender.py (the machine's steps under one send lock, and the callers waiting
for answers), _device_answers.py (what a Welcome or Goodbye means) and _connection_types.py
(Endpoint, the events, TokenKeeper: re-exported here, import them from this module).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from opentelemetry.trace import Span, SpanContext, SpanKind

from connect import telemetry
from connect.clock import Clock, ClockEstimate, ClockOffsetEstimator, monotonic_us
from connect.endpoint import Endpoint, pinned
from connect.errors import (
    AccessError,
    AccessRevokedError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    CredentialStoreError,
)
from connect.session._connection_types import (
    AccessDenied,
    Connected,
    ConnectionEvent,
    Disconnected,
    GroupMessage,
    Resolver,
    StateChanged,
    TokenKeeper,
    TransferReply,
)
from connect.session._device_answers import VersionMismatchError
from connect.session._reconnect import Backoff, ReconnectSchedule
from connect.session._sender import INITIAL_CLOCK_SAMPLES, SessionSender
from connect.session._socket import (
    Dial,
    FingerprintMismatchError,
    SessionSocket,
    SocketClosedError,
    TlsHandshakeError,
    aiohttp_dial,
)
from connect.session.controller_end import (
    CommandDone,
    CommandLost,
    ControllerAction,
    ControllerEnd,
    Ended,
    ErrorReported,
    GroupReceived,
    PageDone,
    PageLost,
    SnapshotReceived,
    TimeAnswered,
    TransferReceived,
    Unreadable,
    Welcomed,
)
from connect.wire import messages as m
from tracing import attributes as a

if TYPE_CHECKING:
    import aiohttp

# Callers import these from here; Backoff so they can tune it per connection.
__all__ = [
    "AccessDenied",
    "Backoff",
    "Connected",
    "ConnectionEvent",
    "DeviceConnection",
    "Dial",
    "Disconnected",
    "Endpoint",
    "GroupMessage",
    "Resolver",
    "StateChanged",
    "TokenKeeper",
    "TransferReply",
    "pinned",
]

_LOG = logging.getLogger(__name__)

_DEFAULT_BACKOFF = Backoff()
_DIAL_TIMEOUT_S = 5.0  # TCP, TLS and the WebSocket upgrade; the Welcome has its own deadline


class DeviceConnection:
    """A session with one device, kept up until `async_close()`.

    Its WebSocket is opened with aiohttp on *http*, or by *dial* (connect.session._socket:
    `async_lean_dial` for a `baton` command, which cannot afford aiohttp's import).
    """

    def __init__(
        self,
        device_id: str,
        resolve: Resolver,
        identity: m.ClientIdentity,
        http: aiohttp.ClientSession | None = None,
        *,
        dial: Dial | None = None,
        role: m.Role | None = None,
        credentials: TokenKeeper | None = None,
        clock: Clock = monotonic_us,
        backoff: Backoff = _DEFAULT_BACKOFF,
    ) -> None:
        self.device_id = device_id
        self._resolve = resolve
        self._identity = identity
        if dial is None:
            if http is None:
                raise ValueError("a DeviceConnection needs an aiohttp session or a dial")
            dial = aiohttp_dial(http)
        self._dial = dial
        self._role = role
        self._credentials = credentials
        self._token = ""  # the token presented in the latest Hello
        self._clock = clock
        self._backoff = backoff
        self._schedule = ReconnectSchedule()
        self._wake = asyncio.Event()  # a sign the device is reachable: stop waiting out the delay
        self._estimator = ClockOffsetEstimator()
        self._listeners: list[Callable[[ConnectionEvent], None]] = []
        self._sender = SessionSender(device_id, clock, self._session_id)
        self._connected = asyncio.Event()
        self._closing = asyncio.Event()
        self._goodbye_heard = False  # the session now ending ended with the device's Goodbye
        self._stopped = asyncio.Event()  # the loop ended for good (see stopped_by)
        self._stopped_by: ConnectError | None = None
        self._task: asyncio.Task[None] | None = None
        self.welcome: m.Welcome | None = None
        self.endpoint: Endpoint | None = None  # the last attempt's (the session's, while up)
        self.state: m.PlaybackState | None = None
        self.last_error = ""
        # The span of the last successful connect (Hello to Welcome): what transfers link to.
        self.session_span: SpanContext | None = None

    # -------------------------------------------------------------------------- public

    @property
    def connected(self) -> bool:
        """Return True while the session is up."""
        return self._connected.is_set()

    @property
    def stopped_by(self) -> ConnectError | None:
        """Return why the connection gave up for good (NotPairedError, ...), or None."""
        return self._stopped_by

    @property
    def clock(self) -> ClockEstimate | None:
        """Return the link's clock-offset estimate (device minus local), or None yet."""
        return self._estimator.estimate

    def subscribe(self, listener: Callable[[ConnectionEvent], None]) -> Callable[[], None]:
        """Call *listener* (on the loop thread) for every event; return an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def async_start(self) -> None:
        """Start connecting (and reconnecting) in the background."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"baton-connection-{self.device_id}"
            )

    def async_retry_now(self, why: str) -> None:
        """Cut short a wait between reconnect attempts (no-op while connected or closing).

        For a sign the device is reachable again (heard on mDNS, its host answering, a network
        change); the retry still starts no sooner than `Backoff.woken_gap_s` after the last.
        """
        if self._connected.is_set() or self._closing.is_set() or self._wake.is_set():
            return
        _LOG.debug("%s: retrying early: %s", self.device_id, why)
        self._wake.set()

    async def async_wait_connected(self, timeout: float) -> None:
        """Wait until the session is up.

        Raises at once the error that stopped the connection for good (NotPairedError,
        AccessRevokedError, CredentialStoreError), else ConnectTimeoutError with the last error.
        """
        await _first_set(self._connected, self._stopped, timeout=timeout)
        if self._stopped_by is not None:
            raise self._stopped_by
        if not self._connected.is_set():
            why = f": {self.last_error}" if self.last_error else ""
            raise ConnectTimeoutError(
                f"device {self.device_id} not reachable within {timeout:g} s{why}"
            )

    async def async_command(
        self,
        action: m.Action,
        *,
        expected_revision: int | None = None,
        timeout: float = 5.0,
        traceparent: str = "",
    ) -> m.CommandResult:
        """Send a command and return its result; raise ConnectionLostError/ConnectTimeoutError."""
        return await self._sender.async_command(
            action, expected_revision=expected_revision, timeout=timeout, traceparent=traceparent
        )

    async def async_queue_page(
        self, offset: int, count: int, *, timeout: float = 5.0
    ) -> m.QueuePage:
        """Return *count* items of the device's queue from *offset* on (protocol 1.1).

        The page says which queue revision it belongs to; fewer items come back past the end
        or past the device's page limit (1 000). A device that does not page answers with a
        failure (UNSUPPORTED); a target still receiving a transferred queue with BUSY. Raises
        ConnectionLostError/ConnectTimeoutError.
        """
        return await self._sender.async_queue_page(offset, count, timeout)

    async def async_send(self, body: m.Body, traceparent: str = "") -> None:
        """Send one frame; raise ConnectionLostError when the session is down.

        A traced message (connect.telemetry) without a given *traceparent* gets a sender span,
        a child of the current span, whose context the envelope carries.
        """
        await self._sender.async_send(body, traceparent)

    async def async_sync_clock(
        self, samples: int = INITIAL_CLOCK_SAMPLES, timeout: float = 2.0
    ) -> None:
        """Take *samples* clock samples in turn; raise ConnectionLostError/ConnectTimeoutError."""
        await self._sender.async_sync_clock(samples, timeout)

    async def async_close(self) -> None:
        """Say goodbye and stop reconnecting (idempotent, bounded)."""
        self._closing.set()
        ws = self._sender.ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(ConnectError):
                # Goodbye, and every command still waiting fails now: nobody will answer it.
                self._act(
                    await asyncio.wait_for(
                        self._sender.async_step(lambda end: end.close(self._clock())), 1
                    )
                )
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(ws.close(), 2)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -------------------------------------------------------------------------- session loop

    async def _run(self) -> None:
        try:
            await self._keep_connected()
        finally:
            self._stopped.set()

    async def _keep_connected(self) -> None:
        while not self._closing.is_set():
            self._wake.clear()  # a sign seen before this attempt is answered by the attempt
            self._schedule.attempt_started()
            try:
                endpoint = self.endpoint = await self._resolve()
                # Read at every attempt: a pairing made since the last one counts.
                self._token = (
                    self._credentials.token_for(self.device_id) if self._credentials else ""
                )
                ws = await self._dial(endpoint, _DIAL_TIMEOUT_S, 4 * m.MAX_FRAME_BYTES)
                try:
                    end = self._new_session()
                    self._sender.attach(ws, end)
                    await self._handshake(ws, end)
                    self._schedule.connected()
                    await self._session(ws, end)
                finally:
                    await ws.close()
            except VersionMismatchError as exc:
                self._lost(str(exc))
                return  # a newer major version will not change by retrying
            except (AccessError, CredentialStoreError) as exc:
                if isinstance(exc, AccessError) and self._paired_since():
                    # The token refused was replaced by a pairing made meanwhile (here or in
                    # another process): its Goodbye(REVOKED) is about the old one. Try the new.
                    self._lost(f"{exc}; trying the newer pairing")
                    continue
                self._give_up(exc)  # the device (or the user's file) must change first
                return
            except FingerprintMismatchError as exc:
                # Someone else answers at the device's address: keep trying, the device may return.
                self._lost(
                    f"the device at {exc.host}:{exc.port} is not {self.device_id}: "
                    f"its certificate is {exc.got}"
                )
            except TlsHandshakeError as exc:
                # Likely a plain-HTTP server where TLS is due (pin mode, or paired): no downgrade.
                self._lost(f"device {self.device_id} did not complete a TLS handshake: {exc}")
            except (TimeoutError, OSError, ConnectError) as exc:
                self._lost(_describe(exc))
            finally:
                self._sender.attach(None)
            if self._closing.is_set():
                return
            await self._wait_before_retry(self._schedule.next_delay(self._backoff))

    async def _wait_before_retry(self, delay: float) -> None:
        """Sleep *delay* s, or less when woken (`async_retry_now`); return early on close."""
        _LOG.debug("%s: reconnecting in %.2f s", self.device_id, delay)
        if await _first_set(self._closing, self._wake, timeout=delay) is self._wake:
            rest = self._schedule.woken_delay(self._backoff)
            if rest > 0:  # woken too soon after the last attempt: keep the floor
                await _first_set(self._closing, timeout=rest)

    def _new_session(self) -> ControllerEnd:
        hello = m.Hello(m.PROTOCOL_V1, self._identity, self._role, self._token)
        return ControllerEnd(self.device_id, hello)

    async def _handshake(self, ws: SessionSocket, end: ControllerEnd) -> None:
        # The session's connect span: Hello to Welcome, an arrow to the device's "handle Hello".
        span = telemetry.start_send(end.hello, self.device_id, kind=SpanKind.CLIENT, name="connect")
        with telemetry.current(span):
            traceparent, tracestate = telemetry.carrier(span)
            await self._sender.async_step(lambda e: e.start(self._clock(), traceparent, tracestate))
            await self._welcome(ws, end)
        self.session_span = span.get_span_context() if span is not None else None

    async def _welcome(self, ws: SessionSocket, end: ControllerEnd) -> None:
        """Feed the machine until the device welcomes us (or says why not: raised)."""
        while not end.is_open:
            if end.ended:  # closed by us meanwhile (async_close)
                raise ConnectionLostError(f"the session with device {self.device_id} was closed")
            message = await _receive(ws, end.deadline, self._clock())
            now = self._clock()
            self._act(await (self._tick(now) if message is None else self._feed(end, message, now)))
        assert end.welcome is not None
        self.welcome = end.welcome
        self._estimator.reset()  # the device may be a new process with a new clock
        self.last_error = ""
        self._connected.set()
        welcome = end.welcome
        _LOG.info(
            "%s: connected (%s, protocol %s)", self.device_id, welcome.device.name, welcome.version
        )
        self._emit(Connected(self.device_id, welcome))

    async def _session(self, ws: SessionSocket, end: ControllerEnd) -> None:
        """Feed the machine frames and ticks until the session ends (its error is raised)."""
        clock_sync = asyncio.create_task(self.async_sync_clock(), name="baton-clock-sync")
        try:
            while not end.ended:
                # A frame already here is read before a tick: silence is judged on what came.
                message = await _receive(ws, end.deadline, self._clock())
                now = self._clock()
                if message is not None:
                    self._act(await self._feed(end, message, now))
                    # Frames already buffered come back without suspending: a controller that
                    # fell behind would hold the loop for its whole backlog. One per step.
                    await asyncio.sleep(0)
                deadline = end.deadline
                if deadline is not None and now >= deadline:
                    self._act(await self._tick(now))
            raise ConnectionLostError(f"the session with device {self.device_id} was closed")
        finally:
            clock_sync.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectError):
                await clock_sync

    async def _feed(
        self, end: ControllerEnd, message: bytes | SocketClosedError, now: int
    ) -> list[ControllerAction]:
        """Hand the machine one message (or the socket's end) that came at *now*."""
        if isinstance(message, SocketClosedError):
            if end.is_open:
                lost = ConnectionLostError(f"device {self.device_id}: {message}")
            else:
                lost = ConnectionLostError(f"device {self.device_id} closed before Welcome")
            return await self._sender.async_step(lambda e: e.lost(lost), need_open=False)
        return await self._sender.async_step(lambda e: e.receive(message, now), need_open=False)

    async def _tick(self, now: int) -> list[ControllerAction]:
        return await self._sender.async_step(lambda e: e.tick(now), need_open=False)

    def _act(self, actions: list[ControllerAction]) -> None:
        """Carry out what the machine said (its frames are written already); raise its end."""
        for action in actions:
            if isinstance(action, SnapshotReceived):
                self.state = action.snapshot.state
                self._emit(StateChanged(self.device_id, action.snapshot))
            elif isinstance(action, CommandDone | CommandLost):
                envelope = action.envelope if isinstance(action, CommandDone) else None
                with telemetry.current(self._handle_span(envelope)):
                    self._sender.settle(action)
            elif isinstance(action, PageDone | PageLost):
                self._sender.settle_page(action)
            elif isinstance(action, TimeAnswered):
                self._estimator.add(action.sample)
                self._sender.time_answered()
            elif isinstance(action, TransferReceived):
                with telemetry.current(self._handle_span(action.envelope)):
                    reply = TransferReply(self.device_id, action.body, action.envelope.traceparent)
                    self._emit(reply)
            elif isinstance(action, GroupReceived):  # a step's answer is traced, a timeline not
                with telemetry.current(self._handle_span(action.envelope)):
                    self._emit(GroupMessage(self.device_id, action.body))
            elif isinstance(action, ErrorReported):
                error = action.error
                _LOG.warning(
                    "%s: device reports %s: %s", self.device_id, error.code.name, error.message
                )
                telemetry.emit_event(
                    a.EVENT_ERROR, {a.ERROR_TYPE: error.code.name, a.PEER_DEVICE_ID: self.device_id}
                )
            elif isinstance(action, Unreadable):
                _LOG.warning(
                    "%s: ignoring a frame we cannot read: %s", self.device_id, action.reason
                )
            elif isinstance(action, Ended):
                # Revoked or shutting down is on purpose: the Disconnected it makes says so.
                self._goodbye_heard = action.goodbye
                raise action.error
            elif isinstance(action, Welcomed):
                pass  # the handshake reads `end.welcome`

    def _handle_span(self, envelope: m.Envelope | None) -> Span | None:
        """Return the "handle KIND" span of a reply from a traced device, or None."""
        if envelope is None or not telemetry.is_traced(envelope.body):
            return None
        return telemetry.start_handle(envelope, session_id=self._session_id(), only_if_traced=True)

    def _paired_since(self) -> bool:
        """Whether a token other than the one the device just refused is stored now."""
        if self._credentials is None:
            return False
        try:
            stored = self._credentials.token_for(self.device_id)
        except CredentialStoreError:
            return False  # the next attempt reads the file again and says what is wrong
        return bool(stored) and stored != self._token

    def _give_up(self, error: ConnectError) -> None:
        """Stop for good: forget a revoked token, record why, tell the listeners."""
        # Forget before `stopped_by` is set: whoever sees the connection stopped (another
        # thread, the app) must never still find the revoked credential in the store.
        if isinstance(error, AccessRevokedError) and self._credentials and self._token:
            try:
                self._credentials.forget_token(self.device_id, self._token)
            except CredentialStoreError as exc:  # the error the user sees says it all already
                _LOG.warning("%s: could not forget the revoked credential: %s", self.device_id, exc)
        self._stopped_by = error
        self._lost(str(error))
        _LOG.info("%s: %s", self.device_id, error)  # the caller shows it: not a log warning
        if isinstance(error, AccessError):
            revoked = isinstance(error, AccessRevokedError)
            self._emit(AccessDenied(self.device_id, revoked, str(error)))

    def _lost(self, reason: str) -> None:
        goodbye, self._goodbye_heard = self._goodbye_heard, False
        was_connected = self._connected.is_set()
        self._connected.clear()
        self.last_error = reason
        self._sender.fail_waiting(reason)
        # Closing our own session says nothing about the device: no Disconnected then.
        if was_connected and not self._closing.is_set():
            _LOG.info("%s: disconnected: %s", self.device_id, reason)
            self._emit(Disconnected(self.device_id, reason, goodbye))

    def _session_id(self) -> str:
        return self.state.session_id if self.state is not None else ""

    def _emit(self, event: ConnectionEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not take the session down
                _LOG.exception("%s: listener failed on %s", self.device_id, type(event).__name__)


async def _first_set(*events: asyncio.Event, timeout: float) -> asyncio.Event | None:
    """Return the first of *events* to be set within *timeout* s, or None."""
    waits = {asyncio.ensure_future(event.wait()): event for event in events}
    try:
        done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    return next((waits[w] for w in done), None)


async def _receive(
    ws: SessionSocket, deadline: int | None, now: int
) -> bytes | SocketClosedError | None:
    """Return the next message, the socket's end, or None once *deadline* (µs) has come."""
    # At least a millisecond: aiohttp reads a timeout of 0 as "no timeout".
    timeout = None if deadline is None else max((deadline - now) / 1e6, 0.001)
    try:
        return await ws.receive(timeout=timeout)
    except TimeoutError:
        return None
    except SocketClosedError as exc:
        return exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
