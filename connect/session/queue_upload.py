"""Queue a list as long as a library: SetQueue with the first items, then AddToQueue in frames.

A command is one frame (at most 1 MiB), so a controller queues 50 000 items in commands of
`CHUNK_ITEMS` (about 130 KiB of typical URLs), each after the last uid of the one before
(proto: "Queues as large as a library"). `play` starts the first of them at once, so music
starts before the rest is queued; with shuffle, the device's shared shuffle order decides what
plays first (proto: "Shuffle order"), so it starts once every item is there.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from connect import queues as q
from connect.errors import ConnectError
from connect.session.connection import DeviceConnection
from connect.wire import messages as m

__all__ = ["CHUNK_ITEMS", "QueueUploadError", "Uploaded", "async_play_items", "items_for_urls"]

CHUNK_ITEMS = 1000
CHUNK_BYTES = 128 * 1024
"""A command's items stay under this: a frame is 1 MiB, the echo carries them too, and a
device spends a few tens of milliseconds reading and checking a thousand URLs."""


class QueueUploadError(ConnectError):
    """A command of the upload was refused; `result` says why and `queued` how far it got."""

    def __init__(self, message: str, result: m.CommandResult, queued: int) -> None:
        super().__init__(message)
        self.result = result
        self.queued = queued


@dataclass(frozen=True)
class Uploaded:
    """The queue is on the device: how many items, in how many commands, and the last result."""

    items: int
    commands: int
    result: m.CommandResult


def items_for_urls(urls: Iterable[str], titles: Sequence[str] = ()) -> tuple[m.QueueItem, ...]:
    """Return queue items for *urls*, with short uids unique in this upload (a random prefix)."""
    prefix = secrets.token_hex(3)  # short uids: a 50 000-item queue is smaller on every device
    return tuple(
        m.QueueItem(f"{prefix}{i:x}", url, titles[i] if i < len(titles) else "")
        for i, url in enumerate(urls)
    )


def chunks(items: Sequence[m.QueueItem]) -> list[tuple[m.QueueItem, ...]]:
    """Split *items* into commands' worth: at most CHUNK_ITEMS and CHUNK_BYTES each."""
    out: list[tuple[m.QueueItem, ...]] = []
    start = size = 0
    for index, item in enumerate(items):
        weight = q.item_bytes(item)
        if index > start and (index - start >= CHUNK_ITEMS or size + weight > CHUNK_BYTES):
            out.append(tuple(items[start:index]))
            start, size = index, 0
        size += weight
    if start < len(items):
        out.append(tuple(items[start:]))
    return out


async def async_play_items(
    connection: DeviceConnection,
    items: Sequence[m.QueueItem],
    *,
    play: bool = True,
    shuffle: bool | None = None,
    seed: int | None = None,
    timeout: float = 10.0,
) -> Uploaded:
    """Replace the device's queue with *items* and (with *play*) start it.

    Without shuffle the first item plays as soon as the first command lands; with *shuffle*
    True (a *seed*, or a random one), the device's shuffle order picks the first item once all
    are queued ("shuffle all"); None leaves the device's setting. Raises QueueUploadError if
    the device refuses a command, ConnectError if the session is lost.
    """
    # Weighing 50 000 items takes a few hundred ms: off the loop, whose sessions go on.
    parts = chunks(items) if len(items) <= CHUNK_ITEMS else await asyncio.to_thread(chunks, items)
    if not parts:
        raise ValueError("nothing to queue")
    commands = 0

    async def send(action: m.Action) -> m.CommandResult:
        nonlocal commands
        result = await connection.async_command(action, timeout=timeout)
        commands += 1
        if result.failure is not None:
            queued = sum(len(part) for part in parts[: max(0, commands - 1)])
            raise QueueUploadError(
                f"{connection.device_id} refused {type(action).__name__}: {result.failure.message}",
                result,
                queued,
            )
        return result

    chosen = None
    if shuffle is not None:
        chosen = (secrets.randbits(63) if seed is None else seed) if shuffle else None
        await send(m.SetOptions(shuffle=shuffle, shuffle_seed=chosen))
    start_now = play and not shuffle
    result = await send(m.SetQueue(parts[0], play=start_now))
    for before, part in itertools.pairwise(parts):
        result = await send(m.AddToQueue(part, after_uid=before[-1].uid))
    if play and chosen is not None:
        # The first of the shuffle order over the whole queue, as the device computes it.
        first = q.play_order(len(items), chosen)[0][0]
        result = await send(m.Play(items[first].uid))
    return Uploaded(len(items), commands, result)
