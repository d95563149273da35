"""The controller side of one Connect session: `DeviceConnection`, reconnecting by device id.

A connection resolves the device's current address on every attempt (so a device that moved
is found again), says Hello, keeps the latest StateSnapshot, answers nothing itself, and sends
a TimeRequest whenever it has been quiet for a heartbeat interval: one frame that keeps the
link alive and feeds the clock-offset estimate. After a loss it retries with exponential
backoff and jitter (connect._reconnect: capped at about a second for two minutes after a
session ends, then doubling up to 30 s); `async_retry_now` cuts a wait short when there is a
sign the device is reachable again.

Security (docs/security.md): a device in `pin` mode is reached over WSS with its certificate
pinned to its id, and the Hello carries the token stored for it, read again at every attempt
(a pairing made meanwhile counts). A device that answers Goodbye(UNAUTHENTICATED) or
Goodbye(REVOKED) will not change its mind by retrying: the connection stops for good and says
why (`stopped_by`, an `AccessDenied` event); a revoked token is forgotten.

This module holds the session's lifecycle (connect, handshake, receive loop, retry). Beside it:
connect._session_sender (frames out, and the replies matched to them), connect._device_answers
(what a Welcome or Goodbye means) and connect._connection_types (Endpoint, the events,
TokenKeeper: re-exported here, import them from this module).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import aiohttp
from opentelemetry.trace import SpanContext, SpanKind

from connect import codec, telemetry
from connect import messages as m
from connect._connection_types import (
    AccessDenied,
    Connected,
    ConnectionEvent,
    Disconnected,
    Endpoint,
    Resolver,
    StateChanged,
    TokenKeeper,
    TransferReply,
    pinned,
)
from connect._device_answers import VersionMismatchError, raise_if_access_denied, welcome_from
from connect._reconnect import Backoff, ReconnectSchedule
from connect._session_sender import INITIAL_CLOCK_SAMPLES, SessionSender
from connect.clock import Clock, ClockEstimate, ClockOffsetEstimator, ClockSample, monotonic_us
from connect.errors import (
    AccessError,
    AccessRevokedError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    CredentialStoreError,
    FrameError,
)
from connect.server import DEAD_AFTER_BEATS
from tracing import attributes as a

# Callers import these from here; Backoff so they can tune it per connection.
__all__ = [
    "AccessDenied",
    "Backoff",
    "Connected",
    "ConnectionEvent",
    "DeviceConnection",
    "Disconnected",
    "Endpoint",
    "Resolver",
    "StateChanged",
    "TokenKeeper",
    "TransferReply",
    "pinned",
]

_LOG = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 5.0
_DEFAULT_BACKOFF = Backoff()


class DeviceConnection:
    """A session with one device, kept up until `async_close()`."""

    def __init__(
        self,
        device_id: str,
        resolve: Resolver,
        identity: m.ClientIdentity,
        http: aiohttp.ClientSession,
        *,
        role: m.Role | None = None,
        credentials: TokenKeeper | None = None,
        clock: Clock = monotonic_us,
        backoff: Backoff = _DEFAULT_BACKOFF,
    ) -> None:
        self.device_id = device_id
        self._resolve = resolve
        self._identity = identity
        self._http = http
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
        self._stopped = asyncio.Event()  # the loop ended for good (see stopped_by)
        self._stopped_by: ConnectError | None = None
        self._task: asyncio.Task[None] | None = None
        self.welcome: m.Welcome | None = None
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

    async def wait_connected(self, timeout: float) -> None:
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

    async def command(
        self,
        action: m.Action,
        *,
        expected_revision: int | None = None,
        timeout: float = 5.0,
        traceparent: str = "",
    ) -> m.CommandResult:
        """Send a command and return its result; raise ConnectionLostError/ConnectTimeoutError."""
        return await self._sender.command(
            action, expected_revision=expected_revision, timeout=timeout, traceparent=traceparent
        )

    async def send(self, body: m.Body, traceparent: str = "") -> None:
        """Send one frame; raise ConnectionLostError when the session is down.

        A traced message (connect.telemetry) without a given *traceparent* gets a sender span,
        a child of the current span, whose context the envelope carries.
        """
        await self._sender.send(body, traceparent)

    async def sync_clock(self, samples: int = INITIAL_CLOCK_SAMPLES, timeout: float = 2.0) -> None:
        """Take *samples* clock samples in turn; raise ConnectionLostError/ConnectTimeoutError."""
        await self._sender.sync_clock(samples, timeout)

    async def async_close(self) -> None:
        """Say goodbye and stop reconnecting (idempotent, bounded)."""
        self._closing.set()
        ws = self._sender.ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(ConnectError):
                await asyncio.wait_for(
                    self.send(m.Goodbye(m.GoodbyeReason.SHUTDOWN, "controller closing")), 1
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
                endpoint = await self._resolve()
                # Read at every attempt: a pairing made since the last one counts.
                self._token = (
                    self._credentials.token_for(self.device_id) if self._credentials else ""
                )
                async with self._http.ws_connect(
                    endpoint.url,
                    ssl=endpoint.ssl,
                    max_msg_size=4 * m.MAX_FRAME_BYTES,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
                    autoping=True,
                ) as ws:
                    self._sender.attach(ws)
                    await self._handshake(ws)
                    self._schedule.connected()
                    await self._session(ws)
            except VersionMismatchError as exc:
                self._lost(str(exc))
                return  # a newer major version will not change by retrying
            except (AccessError, CredentialStoreError) as exc:
                self._give_up(exc)  # the device (or the user's file) must change first
                return
            except aiohttp.ServerFingerprintMismatch as exc:
                # Someone else answers at the device's address: keep trying, the device may return.
                self._lost(
                    f"the device at {exc.host}:{exc.port} is not {self.device_id}: "
                    f"its certificate is {exc.got.hex()}"
                )
            except aiohttp.ClientSSLError as exc:
                # Likely a plain-HTTP server where TLS is due (pin mode, or paired): no downgrade.
                self._lost(f"device {self.device_id} did not complete a TLS handshake: {exc}")
            except (TimeoutError, aiohttp.ClientError, OSError, ConnectError) as exc:
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

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        hello = m.Hello(m.PROTOCOL_V1, self._identity, self._role, self._token)
        # The session's connect span: Hello to Welcome, an arrow to the device's "handle Hello".
        span = telemetry.start_send(hello, self.device_id, kind=SpanKind.CLIENT, name="connect")
        with telemetry.current(span):
            await self._sender.send_frame(hello, span=span)
            await self._welcome(ws)
        self.session_span = span.get_span_context() if span is not None else None

    async def _welcome(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        message = await ws.receive(timeout=_CONNECT_TIMEOUT_S)
        if message.type is not aiohttp.WSMsgType.BINARY:
            raise ConnectionLostError(f"device {self.device_id} closed before Welcome")
        body = welcome_from(codec.decode(message.data).body, self.device_id)
        self.welcome = body
        self._estimator.reset()  # the device may be a new process with a new clock
        self.last_error = ""
        self._connected.set()
        _LOG.info("%s: connected (%s, protocol %s)", self.device_id, body.device.name, body.version)
        self._emit(Connected(self.device_id, body))

    async def _session(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        assert self.welcome is not None
        interval = max(self.welcome.heartbeat_interval_ms, 100) / 1000
        keepalive = asyncio.create_task(self._keepalive(interval), name="baton-keepalive")
        clock_sync = asyncio.create_task(self.sync_clock(), name="baton-clock-sync")
        try:
            while True:
                message = await ws.receive(timeout=DEAD_AFTER_BEATS * interval)
                received_at = self._clock()
                if message.type is not aiohttp.WSMsgType.BINARY:
                    reason = "closed by the device" if ws.closed else f"{message.type.name} frame"
                    raise ConnectionLostError(f"device {self.device_id}: {reason}")
                self._handle(message.data, received_at)
        finally:
            for task in (keepalive, clock_sync):
                task.cancel()
            for task in (keepalive, clock_sync):
                with contextlib.suppress(asyncio.CancelledError, ConnectError):
                    await task

    async def _keepalive(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        while True:
            idle = loop.time() - self._sender.last_sent
            if idle >= interval:
                await self.send(m.TimeRequest(self._clock()))
                idle = 0
            await asyncio.sleep(interval - idle)

    def _handle(self, data: bytes, received_at: int) -> None:
        try:
            envelope = codec.decode(data)
        except FrameError as exc:
            _LOG.warning("%s: ignoring a frame we cannot read: %s", self.device_id, exc)
            return
        span = None
        if telemetry.is_traced(envelope.body):  # a reply from a traced device: "handle KIND"
            span = telemetry.start_handle(
                envelope, session_id=self._session_id(), only_if_traced=True
            )
        with telemetry.current(span):
            self._dispatch(envelope, received_at)

    def _dispatch(self, envelope: m.Envelope, received_at: int) -> None:
        body = envelope.body
        if isinstance(body, m.StateSnapshot):
            self.state = body.state
            self._emit(StateChanged(self.device_id, body))
        elif isinstance(body, m.CommandResult):
            self._sender.command_answered(body)
        elif isinstance(body, m.TimeResponse):
            self._estimator.add(ClockSample.from_exchange(body, received_at))
            self._sender.time_answered()
        elif isinstance(
            body, m.TransferReady | m.TransferRejected | m.TransferDone | m.TransferAborted
        ):
            self._emit(TransferReply(self.device_id, body, envelope.traceparent))
        elif isinstance(body, m.Goodbye):
            raise_if_access_denied(body, self.device_id)
            raise ConnectionLostError(
                f"device {self.device_id} said goodbye ({body.reason.name.lower()}): {body.message}"
            )
        elif isinstance(body, m.Error):
            _LOG.warning("%s: device reports %s: %s", self.device_id, body.code.name, body.message)
            telemetry.emit_event(
                a.EVENT_ERROR, {a.ERROR_TYPE: body.code.name, a.PEER_DEVICE_ID: self.device_id}
            )

    def _give_up(self, error: ConnectError) -> None:
        """Stop for good: record why, forget a revoked token, tell the listeners."""
        self._stopped_by = error
        if isinstance(error, AccessRevokedError) and self._credentials and self._token:
            try:
                self._credentials.forget_token(self.device_id, self._token)
            except CredentialStoreError as exc:  # the error the user sees says it all already
                _LOG.warning("%s: could not forget the revoked credential: %s", self.device_id, exc)
        self._lost(str(error))
        _LOG.info("%s: %s", self.device_id, error)  # the caller shows it: not a log warning
        if isinstance(error, AccessError):
            revoked = isinstance(error, AccessRevokedError)
            self._emit(AccessDenied(self.device_id, revoked, str(error)))

    def _lost(self, reason: str) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        self.last_error = reason
        self._sender.fail_waiting(reason)
        # Closing our own session says nothing about the device: no Disconnected then.
        if was_connected and not self._closing.is_set():
            _LOG.info("%s: disconnected: %s", self.device_id, reason)
            self._emit(Disconnected(self.device_id, reason))

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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
