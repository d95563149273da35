"""The device side of Connect over aiohttp: `GET /connect/v1/info`, the session WebSocket, and
`GET /connect/v1/transfers/{id}` (a transfer's phase here, which a source left without a verdict
asks its target; the phases come from the host's transfer logic).

`SessionServer` is an adapter: each session's protocol (Hello/Welcome negotiation, heartbeats,
time sync, typed errors for bad frames) is the sans-IO machine of connect/session/device_end.py,
run on its WebSocket by connect/session/_device_socket.py. What a device *does* is up to a
`SessionHost` (connect/session/host.py): its description, its state, and how it handles
commands and transfers. The host calls `broadcast()` after each change and the server pushes
the snapshot to every connected controller, each through its `ControllerLink`.

Access (docs/security.md): with an `AccessControl` the device is in `pin` mode: it serves
HTTPS/WSS only, every Hello needs a token (connect/session/admission.py), the pairing and
owner endpoints exist (connect/access/_endpoints.py), and each link's role limits what it may
do (connect/access/pairing.py). Without one it is `open`: plain HTTP, anyone gets the role it
asks for, the owner endpoints answer 404.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence

from aiohttp import web

import httpguard
from connect.access._endpoints import (
    PROTOBUF,
    Renamer,
    add_access_routes,
    add_open_device_routes,
    failure_response,
)
from connect.access.pairing import AccessControl
from connect.clock import Clock, monotonic_us
from connect.paths import (
    HEARTBEAT_INTERVAL_MS,
    INFO_PATH,
    TRANSFER_QUEUE_PATH,
    TRANSFERS_PATH,
    WS_PATH,
)
from connect.queues import MAX_PAGE_ITEMS
from connect.session._device_socket import DeviceSocket
from connect.session.admission import REVOKED_MESSAGE
from connect.session.device_end import HELLO_TIMEOUT_US, error_code_for
from connect.session.host import SessionHost, TransferPhases, TransferQueues
from connect.session.link import ControllerLink
from connect.wire import codec
from connect.wire import messages as m
from connect.wire._checks import check_path_id
from httpguard import ConnectionLimits, GuardedSite, guarded_runner
from taskowner import TaskOwner

_LOG = logging.getLogger(__name__)

__all__ = [
    "ControllerLink",
    "Renamer",
    "SessionHost",
    "SessionServer",
    "TransferPhases",
    "TransferQueues",
    "error_code_for",
]

HELLO_TIMEOUT_S = HELLO_TIMEOUT_US / 1e6
# aiohttp closes the socket (code 1009) above this; between 1 MiB and this, frames get a typed
# Error(TOO_LARGE) and the session stays up. Bounds what one frame can make us buffer.
_HARD_FRAME_LIMIT = 4 * m.MAX_FRAME_BYTES
_CLOSE_HANDSHAKE_S = 2.0  # how long a closing session waits for the controller's close frame
_CLOSE_TIMEOUT_S = 2.0  # for the transfer tasks to end once cancelled
MAX_HTTP_BODY = 64 * 1024
"""Bodies outside the session WebSocket (whose frames the protocol bounds) over this get 413."""


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
        limits: ConnectionLimits | None = None,
        transfer_queue: TransferQueues | None = None,
    ) -> None:
        if access is not None and ssl_context is None:
            raise ValueError("a device with access control serves TLS only: give ssl_context")
        self._host = host
        self._heartbeat_ms = heartbeat_interval_ms
        self._clock = clock
        self._access = access
        self._ssl_context = ssl_context
        self._transfer_phase = transfer_phase
        self._transfer_queue = transfer_queue
        self._limits = limits
        self._links: dict[str, ControllerLink] = {}
        self._tasks = TaskOwner("session server", _LOG)
        self._runner: web.AppRunner | None = None
        self.app = web.Application(client_max_size=MAX_HTTP_BODY)
        self.app.router.add_get(INFO_PATH, self._info)
        self.app.router.add_get(WS_PATH, self._session)
        # No token, in pin mode too: the transfer id is the capability (docs/security.md).
        self.app.router.add_get(TRANSFERS_PATH, self._transfer_status)
        self.app.router.add_get(TRANSFER_QUEUE_PATH, self._transfer_queue_page)
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
        # No access log: a request line or header could hold a credential. The guard bounds
        # how long a client may take over its TLS handshake and head, and how many
        # connections one address and everyone may hold (docs/security.md, "Limits").
        self._runner = guarded_runner(self.app, "connect.http", limits=self._limits)
        await self._runner.setup()
        bound = port
        for address in hosts:
            site = GuardedSite(
                self._runner, address, bound, reuse_address=True, ssl_context=self._ssl_context
            )
            await site.start()
            bound = site.port
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
                link.close(m.Goodbye(m.GoodbyeReason.REVOKED, REVOKED_MESSAGE))

    async def async_close(self) -> None:
        """Say goodbye to every controller and stop listening (idempotent, bounded in time)."""
        await self._tasks.async_close(_CLOSE_TIMEOUT_S)
        for link in list(self._links.values()):
            link.close(m.Goodbye(m.GoodbyeReason.SHUTDOWN, "device is shutting down"))
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

    async def _transfer_queue_page(self, request: web.Request) -> web.Response:
        """A page of the queue this device had at a transfer it was the source of."""
        transfer_id = request.match_info["transfer_id"]
        try:
            check_path_id("transfer id", transfer_id)
            offset = _count(request.query.get("offset", "0"), "offset")
            count = _count(request.query.get("count", str(MAX_PAGE_ITEMS)), "count")
        except ValueError as exc:
            return failure_response(m.ErrorCode.MALFORMED, str(exc))
        page = None
        if self._transfer_queue is not None:
            page = self._transfer_queue(transfer_id, m.QueueRequest("", offset, count))
        if page is None:
            message = f"this device serves no queue for transfer {transfer_id}"
            return failure_response(m.ErrorCode.NOT_FOUND, message, status=404)
        return web.Response(body=codec.encode_queue_page(page), content_type=PROTOBUF)

    async def _session(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(
            max_msg_size=_HARD_FRAME_LIMIT, heartbeat=None, timeout=_CLOSE_HANDSHAKE_S
        )
        try:
            await ws.prepare(request)
        except (UnicodeError, ValueError):
            # aiohttp quotes handshake headers in its own refusal and fails on non-ASCII bytes.
            return web.Response(status=400, text="malformed WebSocket handshake")
        except ConnectionError:
            _LOG.debug("%s left before the upgrade was answered", request.remote)
            return web.Response(status=400)  # written to nobody; aiohttp drops it quietly
        socket = DeviceSocket(
            ws,
            request.remote or "?",
            self._host,
            access=self._access,
            clock=self._clock,
            heartbeat_interval_ms=self._heartbeat_ms,
            links=self._links,
            spawn=self._tasks.async_spawn,
            # A controller admitted (with a valid token, in pin mode) is never shed to make
            # room for other connections, and has no head or idle deadline (docs/security.md).
            on_opened=lambda: httpguard.trust(request),
        )
        await socket.async_run()
        return ws


def _count(text: str, name: str) -> int:
    """Read a non-negative decimal query parameter; raise ValueError naming it."""
    if not text.isdigit() or len(text) > 9:
        raise ValueError(f"{name} must be a decimal number of at most 9 digits")
    return int(text)
