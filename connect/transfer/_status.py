"""A source's question to its target: how far did a transfer get there?

A source left without a verdict (its controller gone between the two commits) asks the
target named in its Commit, `GET /connect/v1/transfers/{id}` (connect/session/server.py
answers it), and takes the music back unless the target started.
"""

from __future__ import annotations

import aiohttp

from connect.endpoint import pinned
from connect.errors import ConnectError, ConnectionLostError, ConnectTimeoutError
from connect.paths import TRANSFERS_PATH
from connect.wire import codec
from connect.wire import messages as m

ASK_TIMEOUT_S = 2.0  # a source asking its target: loopback or LAN, or not reachable at all


async def async_ask_transfer_phase(
    target_device_id: str, target_url: str, transfer_id: str, timeout_s: float = ASK_TIMEOUT_S
) -> m.TransferPhase:
    """Ask the target named in a source's Commit how far *transfer_id* got there.

    TLS (https) is pinned to *target_device_id*. Raises ConnectTimeoutError or
    ConnectionLostError when the target cannot be reached, ConnectError for any other answer
    than a TransferStatus of that transfer.
    """
    url = target_url + TRANSFERS_PATH.format(transfer_id=transfer_id)
    ssl = pinned(target_device_id) if target_url.startswith("https://") else True
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http,
            http.get(url, ssl=ssl) as response,
        ):
            body = await response.read()
            if response.status != 200:
                raise ConnectError(f"{target_url} answered {response.status} about {transfer_id}")
    except TimeoutError as exc:
        raise ConnectTimeoutError(f"{target_url} did not answer within {timeout_s} s") from exc
    except aiohttp.ClientError as exc:
        raise ConnectionLostError(f"cannot reach {target_url}: {exc}") from exc
    status = codec.decode_transfer_status(body)
    if status.transfer_id != transfer_id:
        raise ConnectError(f"{target_url} answered about {status.transfer_id}, not {transfer_id}")
    return status.phase
