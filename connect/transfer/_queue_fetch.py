"""A transfer's target fetching the queue items its offer did not carry, from the source.

A long queue is offered as a window (connect/queues.py, `offerable`); after the switch
the target asks the source, `GET {source_url}/connect/v1/transfers/{id}/queue?offset=&count=`
(connect/session/server.py answers it from the queue the source had at its commit), a page at
a time, over TLS pinned to the source's id in pin mode.
"""

from __future__ import annotations

import aiohttp

from connect.endpoint import pinned
from connect.errors import ConnectError, ConnectionLostError, ConnectTimeoutError, FrameError
from connect.paths import TRANSFER_QUEUE_PATH
from connect.wire import codec
from connect.wire import messages as m

FETCH_TIMEOUT_S = 5.0


async def async_fetch_queue_page(
    http: aiohttp.ClientSession,
    source_device_id: str,
    source_url: str,
    transfer_id: str,
    offset: int,
    count: int,
    timeout_s: float = FETCH_TIMEOUT_S,
) -> m.QueuePage:
    """Return *count* items of the queue the source had at *transfer_id*'s commit, from *offset*.

    Raises ConnectTimeoutError or ConnectionLostError when the source cannot be reached,
    ConnectError for any other answer than a page of that queue (404: it does not serve it).
    """
    url = source_url + TRANSFER_QUEUE_PATH.format(transfer_id=transfer_id)
    ssl = pinned(source_device_id) if source_url.startswith("https://") else True
    query = {"offset": str(offset), "count": str(count)}
    try:
        async with http.get(
            url, params=query, ssl=ssl, timeout=aiohttp.ClientTimeout(total=timeout_s)
        ) as response:
            body = await response.read()
            if response.status != 200:
                raise ConnectError(f"{source_url} answered {response.status} for {transfer_id}")
    except TimeoutError as exc:
        raise ConnectTimeoutError(f"{source_url} did not answer within {timeout_s} s") from exc
    except aiohttp.ClientError as exc:
        raise ConnectionLostError(f"cannot reach {source_url}: {exc}") from exc
    try:
        page = codec.decode_queue_page(body)
    except FrameError as exc:
        raise ConnectError(f"{source_url} sent a queue page we cannot read: {exc}") from exc
    if page.offset != min(offset, page.queue_length):
        raise ConnectError(f"{source_url} answered items from {page.offset}, not {offset}")
    return page
