"""The Snapcast server's control connection, as the group watch and a group's player open it."""

from __future__ import annotations

import asyncio

from snapcast.control import create_server
from snapcast.control.server import Snapserver

from bridges.errors import DeviceUnreachableError
from connect.wire import messages as m

CONNECT_TIMEOUT_S = 5.0


async def async_reach_server(host: str, port: int) -> Snapserver:
    """Return the server's control client (it reconnects by itself); raise
    DeviceUnreachableError when it does not answer within CONNECT_TIMEOUT_S."""
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            return await create_server(asyncio.get_running_loop(), host, port, reconnect=True)
    except (OSError, TimeoutError) as exc:
        raise DeviceUnreachableError(
            m.ErrorCode.AUDIO_OUTPUT, f"cannot reach the Snapcast server at {host}:{port}: {exc}"
        ) from exc
