"""The WebSocket a controller's session runs on, whichever client opened it.

`DeviceConnection` needs little of its WebSocket: binary messages in and out, and a close.
`SessionSocket` is that much; a `Dial` opens one at an `Endpoint`. Two dials exist: aiohttp's
(`aiohttp_dial`, what the app uses, beside its other HTTP) and the lean client of
connect.session._websocket (`async_lean_dial`, what `baton` commands use: aiohttp's import alone
costs them ~120 ms). Both raise the same errors, so the connection handles one set.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from connect.endpoint import Endpoint
from connect.errors import (
    ConnectionLostError,
    FingerprintMismatchError,
    SocketClosedError,
    TlsHandshakeError,
)

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "Dial",
    "FingerprintMismatchError",
    "SessionSocket",
    "SocketClosedError",
    "TlsHandshakeError",
    "aiohttp_dial",
    "async_lean_dial",
]


class SessionSocket(Protocol):
    """An open WebSocket for one session."""

    @property
    def closed(self) -> bool:
        """Whether it is closing or closed."""
        ...

    async def receive(self, timeout: float | None = None) -> bytes:
        """Return the next binary message; raise SocketClosedError or TimeoutError."""
        ...

    async def send_bytes(self, data: bytes) -> None:
        """Send one binary message; raise ConnectionError once closed."""
        ...

    async def close(self) -> None:
        """Close (bounded in time); idempotent."""
        ...


Dial = Callable[[Endpoint, float, int], Awaitable[SessionSocket]]
"""Open a SessionSocket at an endpoint, within a timeout (s), for messages up to a size."""


async def async_lean_dial(endpoint: Endpoint, timeout: float, max_message: int) -> SessionSocket:
    """Open the session's WebSocket with the lean client (connect.session._websocket)."""
    from connect.session._websocket import async_open_lean_socket

    return await async_open_lean_socket(endpoint, timeout, max_message)


def aiohttp_dial(http: aiohttp.ClientSession) -> Dial:
    """Return a Dial that opens the session's WebSocket with aiohttp, on *http*."""

    async def dial(endpoint: Endpoint, timeout: float, max_message: int) -> SessionSocket:
        import aiohttp

        try:
            ws = await http.ws_connect(
                endpoint.url,
                ssl=endpoint.ssl,
                max_msg_size=max_message,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
                autoping=True,
            )
        except aiohttp.ServerFingerprintMismatch as exc:
            raise FingerprintMismatchError(str(exc.host), exc.port, exc.got.hex()) from exc
        except aiohttp.ClientSSLError as exc:
            raise TlsHandshakeError(f"{endpoint.authority}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise ConnectionLostError(str(exc) or type(exc).__name__) from exc
        return _AiohttpSocket(ws)

    return dial


class _AiohttpSocket:
    """aiohttp's client WebSocket as a SessionSocket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws

    @property
    def closed(self) -> bool:
        return self._ws.closed

    async def receive(self, timeout: float | None = None) -> bytes:
        import aiohttp

        message = await self._ws.receive(timeout=timeout)
        if message.type is aiohttp.WSMsgType.BINARY:
            assert isinstance(message.data, bytes)
            return message.data
        reason = "closed by the device" if self._ws.closed else f"a {message.type.name} frame"
        raise SocketClosedError(reason)

    async def send_bytes(self, data: bytes) -> None:
        await self._ws.send_bytes(data)

    async def close(self) -> None:
        await self._ws.close()
