"""Where the connection rules of `_connections` meet the sockets: a listening site whose every
connection passes a gate.

aiohttp has no deadline for a request head (a client may send one header line every few
seconds for as long as it likes) and asyncio's TLS server gives a handshake 60 s, so each slow
client holds a descriptor for a minute or more; a thousand of them exhaust a process's 1 024.
`GuardedSite` accepts plain TCP itself, asks the runner's `ConnectionGuard` whether to keep
each connection (which may shed older ones), does the TLS handshake with `loop.start_tls`
under the head deadline, and only then hands the connection to aiohttp. The gate stays in
between as a transparent protocol, so that a connection can be aborted at any stage and its
descriptor freed at once.

What aiohttp does with a connection is followed through two public hooks set up by
`guarded_runner`: a middleware (a request head arrived: BUSY) and the access-log class, which
aiohttp calls once a response has been sent in full (IDLE again).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from httpguard._connections import Admission, ConnectionLimits, ConnectionTable, Stage
from httpguard._repeats import OncePerWindow

_LOG = logging.getLogger("httpguard")

GUARD_KEY: web.AppKey[ConnectionGuard] = web.AppKey("httpguard.guard")
_EARLY_BYTES = 64 * 1024  # what a gate keeps for aiohttp while the TLS handshake returns


class ConnectionGuard:
    """The connections of one runner's sites: admission, deadlines, shedding, and their log."""

    def __init__(self, limits: ConnectionLimits, name: str) -> None:
        self.name = name  # the server, in log lines ("connect.http", "tracing.http", ...)
        self.table: ConnectionTable[_Gate] = ConnectionTable(limits)
        self.shed = 0  # connections displaced by a newer one
        self.refused = 0  # connections refused outright (only trusted ones were left)
        self.expired = 0  # connections closed at their head or idle deadline
        self._gates: dict[object, _Gate] = {}  # aiohttp's RequestHandler -> its gate
        self._once = OncePerWindow()

    @property
    def limits(self) -> ConnectionLimits:
        """The caps and deadlines this guard applies."""
        return self.table.limits

    def census(self) -> dict[Stage, int]:
        """Return how many connections are in each stage now."""
        return self.table.census()

    def admit(self, gate: _Gate, peer: str, now: float) -> bool:
        """Take a new connection, shedding others if a cap says so; False: refuse it."""
        admission: Admission[_Gate] = self.table.admit(gate, peer, now)
        cause = admission.cause.value if admission.cause else ""
        for victim in admission.shed:
            self.shed += 1
            self._say("shed", "shed a connection from %s to make room: %s", victim.peer, cause)
            victim.abort()
        if not admission.admitted:
            self.refused += 1
            self._say("refused", "refused a connection from %s: %s (all trusted)", peer, cause)
        return admission.admitted

    def expire(self, gate: _Gate, stage: Stage) -> None:
        """Close *gate*, past the deadline of *stage*."""
        self.expired += 1
        if stage is Stage.OPENING:
            what, limit = "no request head", self.limits.head_s
        else:
            what, limit = "no next request", self.limits.idle_s
        self._say(f"expired {stage.name}", "closed a connection from %s: %s within %g s",
                  gate.peer, what, limit)  # fmt: skip
        gate.abort()

    def bind(self, handler: object, gate: _Gate) -> None:
        """Remember which gate carries aiohttp's *handler* (its `request.protocol`)."""
        self._gates[handler] = gate

    def forget(self, gate: _Gate) -> None:
        """The connection of *gate* is gone."""
        self.table.drop(gate)
        if gate.handler is not None:
            self._gates.pop(gate.handler, None)

    def gate_of(self, request: web.BaseRequest) -> _Gate | None:
        """Return the gate carrying *request*, None when it did not come through one."""
        return self._gates.get(request.protocol)

    def _say(self, kind: str, message: str, *args: object) -> None:
        left_out = self._once.note(kind)
        if left_out is None:
            return  # an attack repeats this many times a second: once a minute is enough
        more = f" ({left_out} more like this since the last one logged)" if left_out else ""
        _LOG.warning("%s: " + message + more, self.name, *args)


class GuardedSite(web.BaseSite):
    """A TCP site (plain or TLS) whose connections pass the runner's ConnectionGuard.

    The runner must come from `guarded_runner`. `port` is the bound port once started.
    """

    def __init__(
        self,
        runner: web.AppRunner,
        host: str,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        reuse_address: bool | None = None,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        guard = runner.app.get(GUARD_KEY)
        if guard is None:
            raise TypeError("GuardedSite needs a runner made by httpguard.guarded_runner")
        self._guard = guard
        self._host = host
        self._port = port
        self._reuse_address = reuse_address
        self._gates: set[_Gate] = set()

    @property
    def name(self) -> str:
        """The site's URL, as aiohttp names its sites."""
        scheme = "https" if self._ssl_context else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self.port}"

    @property
    def port(self) -> int:
        """The bound port once started (the requested one before)."""
        sockets = getattr(self._server, "sockets", None) or ()
        return int(sockets[0].getsockname()[1]) if sockets else self._port

    async def start(self) -> None:
        """Listen; raise OSError if the address cannot be bound."""
        await super().start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._new_gate,
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
        )

    async def stop(self) -> None:
        """Stop listening and abort connections aiohttp has not been given yet."""
        await super().stop()
        for gate in list(self._gates):
            if not gate.handler_connected:
                gate.abort()

    def _new_gate(self) -> _Gate:
        server = self._runner.server
        assert server is not None  # a started site has a set-up runner
        return _Gate(self._guard, server, self._ssl_context, self._gates)


class _Gate(asyncio.Protocol):
    """One connection: admitted by the guard, TLS-wrapped, then relayed to aiohttp."""

    def __init__(
        self,
        guard: ConnectionGuard,
        handler_factory: Callable[[], Any],
        ssl_context: ssl.SSLContext | None,
        registry: set[_Gate],
    ) -> None:
        self._guard = guard
        self._factory = handler_factory
        self._ssl_context = ssl_context
        self._registry = registry
        self._raw: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tls: asyncio.Task[None] | None = None
        self.handler: Any = None  # aiohttp's RequestHandler, once admitted
        self.handler_connected = False
        # Bytes the TLS layer decrypted before start_tls returned (a TLS 1.3 client sends its
        # request with its Finished): handed to aiohttp right after it gets the connection.
        self._early: list[bytes] = []
        self.peer = "?"

    # asyncio.Protocol, from the raw transport (then from the TLS layer, once it is set up)
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Admit or refuse the new connection; start TLS or hand it to aiohttp."""
        assert isinstance(transport, asyncio.Transport)
        self._raw = transport
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        loop = asyncio.get_running_loop()
        if not self._guard.admit(self, self.peer, loop.time()):
            transport.abort()
            return
        self._registry.add(self)
        self.handler = self._factory()
        self._guard.bind(self.handler, self)
        self.rearm()
        if self._ssl_context is None:
            self._connect(transport)
        else:
            transport.pause_reading()  # the ClientHello waits for the TLS layer
            self._tls = loop.create_task(self._start_tls(self._ssl_context))

    def data_received(self, data: bytes) -> None:
        """Relay to aiohttp (keep it until aiohttp has the connection)."""
        if self.handler_connected:
            self.handler.data_received(data)
        elif sum(map(len, self._early)) + len(data) <= _EARLY_BYTES:
            self._early.append(data)
        else:  # more than a request head before the handshake even returned: not a client
            self.abort()

    def eof_received(self) -> bool | None:
        """Relay to aiohttp; before it has the connection, let the transport close."""
        if self.handler_connected:
            return bool(self.handler.eof_received())
        return None  # a client that ends right after its handshake (a certificate probe)

    def pause_writing(self) -> None:
        """Relay to aiohttp (flow control)."""
        if self.handler_connected:
            self.handler.pause_writing()

    def resume_writing(self) -> None:
        """Relay to aiohttp (flow control)."""
        if self.handler_connected:
            self.handler.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection; tell aiohttp if it had it."""
        self._closed()
        if self.handler_connected:
            self.handler_connected = False
            self.handler.connection_lost(exc)

    # the guard's side
    def rearm(self) -> None:
        """Set the timer to the deadline of the connection's current stage, if it has one."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self._guard.table.deadline(self)
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_deadline)

    def abort(self) -> None:
        """Close the connection at once, whatever its stage, and free its descriptor."""
        self._closed()
        if self._tls is not None:
            self._tls.cancel()
        if self._raw is not None:
            self._raw.abort()

    def _on_deadline(self) -> None:
        self._timer = None
        stage = self._guard.table.stage(self)
        if stage is None:
            return
        if self._guard.table.overdue(self, asyncio.get_running_loop().time()):
            self._guard.expire(self, stage)
        else:
            self.rearm()

    async def _start_tls(self, context: ssl.SSLContext) -> None:
        assert self._raw is not None
        loop = asyncio.get_running_loop()
        try:
            tls = await loop.start_tls(
                self._raw,
                self,
                context,
                server_side=True,
                ssl_handshake_timeout=self._guard.limits.head_s,
            )
        except (OSError, TimeoutError, RuntimeError) as exc:
            # A client that left or could not agree on TLS: nothing to tell anyone.
            _LOG.debug("%s: TLS handshake with %s failed: %s", self._guard.name, self.peer, exc)
            self.abort()
            return
        finally:
            self._tls = None
        if tls is None or tls.is_closing():
            self.abort()
            return
        self._connect(tls)

    def _connect(self, transport: asyncio.Transport) -> None:
        self.handler_connected = True
        self.handler.connection_made(transport)
        early, self._early = self._early, []
        for data in early:
            self.handler.data_received(data)

    def _closed(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._registry.discard(self)
        self._guard.forget(self)


def tracking_middleware(guard: ConnectionGuard) -> Any:
    """Return a middleware that tells *guard* a request head arrived (the connection is busy)."""

    @web.middleware
    async def track(request: web.Request, handler: Handler) -> web.StreamResponse:
        gate = guard.gate_of(request)
        if gate is not None:
            guard.table.request_started(gate, asyncio.get_running_loop().time())
            gate.rearm()
        return await handler(request)

    return track


def completion_hook(
    guard: ConnectionGuard, access_log_class: type[AbstractAccessLogger] | None
) -> type[AbstractAccessLogger]:
    """Return an access-log class that tells *guard* each response was sent in full.

    aiohttp calls it after the last byte of every response (a file streamed to a receiver
    included); it then hands the entry to *access_log_class*, if the server keeps an access log.
    """

    class CompletionHook(AbstractAccessLogger):
        def __init__(self, logger: logging.Logger, log_format: str) -> None:
            super().__init__(logger, log_format)
            self._inner = access_log_class(logger, log_format) if access_log_class else None

        def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
            gate = guard.gate_of(request)
            if gate is not None:
                guard.table.request_finished(gate, asyncio.get_running_loop().time())
                gate.rearm()
            if self._inner is not None and self._inner.enabled:
                self._inner.log(request, response, time)

    return CompletionHook


def trust(request: web.BaseRequest) -> None:
    """Never shed the connection carrying *request*, and lift its deadlines (a paired session).

    A no-op for a request that did not come through a GuardedSite (a test server).
    """
    app = getattr(request, "app", None)
    guard = app.get(GUARD_KEY) if app is not None else None
    gate = guard.gate_of(request) if guard is not None else None
    if guard is not None and gate is not None:
        guard.table.trust(gate, asyncio.get_running_loop().time())
        gate.rearm()
