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
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from opentelemetry.trace import Span, SpanContext, SpanKind

from connect import codec, telemetry
from connect import messages as m
from connect._reconnect import Backoff as Backoff  # re-exported: callers tune it per connection
from connect._reconnect import ReconnectSchedule
from connect.clock import Clock, ClockEstimate, ClockOffsetEstimator, ClockSample, monotonic_us
from connect.errors import (
    AccessError,
    AccessRevokedError,
    ConnectError,
    ConnectionLostError,
    ConnectTimeoutError,
    CredentialStoreError,
    FrameError,
    NotPairedError,
    UntrustedDeviceError,
)
from connect.server import DEAD_AFTER_BEATS, WS_PATH
from tracing import attributes as a

_LOG = logging.getLogger(__name__)

_CONNECT_TIMEOUT_S = 5.0
_INITIAL_CLOCK_SAMPLES = 5
_FINGERPRINT = re.compile(r"[0-9a-f]{64}")
_DEFAULT_BACKOFF = Backoff()


def pinned(device_id: str) -> aiohttp.Fingerprint:
    """Return the TLS check for *device_id* (its certificate's SHA-256); raise if not one."""
    if not _FINGERPRINT.fullmatch(device_id):
        raise UntrustedDeviceError(
            f"device {device_id!r} asks for TLS but its id is not a certificate fingerprint"
        )
    return aiohttp.Fingerprint(bytes.fromhex(device_id))


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a device's session WebSocket is; with a `fingerprint`, over TLS pinned to it."""

    host: str
    port: int
    ws_path: str = WS_PATH
    fingerprint: str = ""  # the device id (SHA-256 of its certificate) in pin mode, else ""

    @property
    def tls(self) -> bool:
        """Return True when the device is reached over TLS (pin mode)."""
        return bool(self.fingerprint)

    @property
    def ssl(self) -> aiohttp.Fingerprint | bool:
        """Return aiohttp's `ssl=` argument: the pinned fingerprint, or the default for plain."""
        return pinned(self.fingerprint) if self.tls else True

    @property
    def authority(self) -> str:
        """Return `host:port`, with an IPv6 host in brackets."""
        host = self.host
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """Return the session's wss:// (pin mode) or ws:// URL."""
        return f"{'wss' if self.tls else 'ws'}://{self.authority}{self.ws_path}"

    def http_url(self, path: str) -> str:
        """Return the https:// (pin mode) or http:// URL of *path* on this device."""
        return f"{'https' if self.tls else 'http'}://{self.authority}{path}"


Resolver = Callable[[], Awaitable[Endpoint]]


# ------------------------------------------------------------------------------ events


@dataclass(frozen=True, slots=True)
class Connected:
    """The session is up."""

    device_id: str
    welcome: m.Welcome


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The device pushed a new state."""

    device_id: str
    snapshot: m.StateSnapshot


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The session ended; `reason` says why in plain words."""

    device_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class TransferReply:
    """A transfer message from the device (Ready, Rejected, Done, Aborted)."""

    device_id: str
    body: m.TransferReady | m.TransferRejected | m.TransferDone | m.TransferAborted
    traceparent: str


@dataclass(frozen=True, slots=True)
class AccessDenied:
    """The device refused us for good (not paired, or our token revoked); no more retries."""

    device_id: str
    revoked: bool  # True: the token was revoked (and forgotten); False: pairing is needed
    message: str


ConnectionEvent = Connected | StateChanged | Disconnected | TransferReply | AccessDenied


class TokenKeeper(Protocol):
    """Where a connection finds the token to present, and forgets one the device revoked."""

    def token_for(self, device_id: str) -> str:
        """Return the token for *device_id*, or "" when there is none."""
        ...

    def forget_token(self, device_id: str, token: str) -> None:
        """Drop *device_id*'s credential if it still holds *token*."""
        ...


class _VersionMismatchError(ConnectError):
    """The device speaks no version we speak: retrying cannot help."""


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
        self._pending: dict[str, asyncio.Future[m.CommandResult]] = {}
        self._time_waiters: list[asyncio.Future[None]] = []
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._send_lock = asyncio.Lock()
        self._seq = itertools.count(1)
        self._last_sent = 0.0
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
        waits = [
            asyncio.ensure_future(self._connected.wait()),
            asyncio.ensure_future(self._stopped.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
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
        command_id = uuid.uuid4().hex
        future: asyncio.Future[m.CommandResult] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        command = m.Command(command_id, action, expected_revision)
        span = None
        if not traceparent:  # the round trip is one span: send Command ... its result
            span = telemetry.start_send(
                command, self.device_id, kind=SpanKind.CLIENT, session_id=self._session_id()
            )
        try:
            with telemetry.current(span):
                await self._send_frame(command, traceparent, span=span)
                result = await asyncio.wait_for(future, timeout)
                telemetry.record_result(span, result.revision, result.failure)
                return result
        except TimeoutError:
            raise ConnectTimeoutError(
                f"device {self.device_id} did not answer command within {timeout:g} s"
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
            span = telemetry.start_send(body, self.device_id, session_id=self._session_id())
        if span is None:
            await self._send_frame(body, traceparent)
            return
        with telemetry.current(span):
            await self._send_frame(body, span=span)

    async def _send_frame(
        self, body: m.Body, traceparent: str = "", *, span: Span | None = None
    ) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            raise ConnectionLostError(f"not connected to device {self.device_id}")
        tracestate = ""
        if span is not None:
            traceparent, tracestate = telemetry.carrier(span)
        async with self._send_lock:
            envelope = m.Envelope(next(self._seq), uuid.uuid4().hex, body, traceparent, tracestate)
            try:
                await ws.send_bytes(codec.encode(envelope))
            except (ConnectionError, RuntimeError) as exc:
                raise ConnectionLostError(f"device {self.device_id}: {exc}") from exc
            self._last_sent = asyncio.get_running_loop().time()

    async def sync_clock(self, samples: int = _INITIAL_CLOCK_SAMPLES, timeout: float = 2.0) -> None:
        """Take *samples* clock samples in turn; raise ConnectionLostError/ConnectTimeoutError."""
        for _ in range(samples):
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._time_waiters.append(waiter)
            await self.send(m.TimeRequest(self._clock()))
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                raise ConnectTimeoutError(f"device {self.device_id}: no TimeResponse") from None

    async def async_close(self) -> None:
        """Say goodbye and stop reconnecting (idempotent, bounded)."""
        self._closing.set()
        ws = self._ws
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
                    self._ws = ws
                    await self._handshake(ws)
                    self._schedule.connected()
                    await self._session(ws)
            except _VersionMismatchError as exc:
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
                self._ws = None
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
            await self._send_frame(hello, span=span)
            await self._welcome(ws)
        self.session_span = span.get_span_context() if span is not None else None

    async def _welcome(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        message = await ws.receive(timeout=_CONNECT_TIMEOUT_S)
        if message.type is not aiohttp.WSMsgType.BINARY:
            raise ConnectionLostError(f"device {self.device_id} closed before Welcome")
        body = codec.decode(message.data).body
        if isinstance(body, m.Goodbye):
            if body.reason is m.GoodbyeReason.VERSION:
                raise _VersionMismatchError(f"device {self.device_id}: {body.message}")
            self._raise_if_access_denied(body)
            raise ConnectionLostError(f"device {self.device_id} refused: {body.message}")
        if not isinstance(body, m.Welcome):
            raise ConnectionLostError(f"device {self.device_id} sent {type(body).__name__}")
        if body.device.id != self.device_id:
            raise ConnectionLostError(
                f"expected device {self.device_id} at this address, found {body.device.id}"
            )
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
            idle = loop.time() - self._last_sent
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
            future = self._pending.get(body.command_id)
            if future is not None and not future.done():
                future.set_result(body)
        elif isinstance(body, m.TimeResponse):
            self._estimator.add(ClockSample.from_exchange(body, received_at))
            while self._time_waiters:
                waiter = self._time_waiters.pop(0)
                if not waiter.done():
                    waiter.set_result(None)
                    break
        elif isinstance(
            body, m.TransferReady | m.TransferRejected | m.TransferDone | m.TransferAborted
        ):
            self._emit(TransferReply(self.device_id, body, envelope.traceparent))
        elif isinstance(body, m.Goodbye):
            self._raise_if_access_denied(body)
            raise ConnectionLostError(
                f"device {self.device_id} said goodbye ({body.reason.name.lower()}): {body.message}"
            )
        elif isinstance(body, m.Error):
            _LOG.warning("%s: device reports %s: %s", self.device_id, body.code.name, body.message)
            telemetry.emit_event(
                a.EVENT_ERROR, {a.ERROR_TYPE: body.code.name, a.PEER_DEVICE_ID: self.device_id}
            )

    def _raise_if_access_denied(self, goodbye: m.Goodbye) -> None:
        if goodbye.reason is m.GoodbyeReason.UNAUTHENTICATED:
            raise NotPairedError(
                f"device {self.device_id} needs pairing: run `baton pair {self.device_id}`",
                device=self.device_id,
            )
        if goodbye.reason is m.GoodbyeReason.REVOKED:
            raise AccessRevokedError(
                f"device {self.device_id} revoked this controller's access; "
                f"pair again to use it (`baton pair {self.device_id}`)",
                device=self.device_id,
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
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLostError(reason))
        for waiter in self._time_waiters:
            # An error, not a cancel: a caller of sync_clock must see ConnectionLostError,
            # not a CancelledError it would take for its own cancellation.
            if not waiter.done():
                waiter.set_exception(ConnectionLostError(reason))
        self._time_waiters.clear()
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
