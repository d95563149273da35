"""Playing and queueing the library's tracks on a device, however many: the core's side.

"Play all" and "Shuffle all" on a library of 50 000 tracks make a queue no frame can carry in
one command (1 MiB), so a long list goes in commands of a frame each: SetQueue with the first
thousand, then AddToQueue after the last uid sent. Making an item is the slow part (each
track's URL checks its path on disk: 50 000 take seconds), so "Play all" makes and sends them a
thousand at a time and music starts after the first (`async_play_tracks`); "Shuffle all", whose
first item the device's shared shuffle order picks once all are queued, and a play from a later
track go through `Controller.async_play_items`. A list that fits in one command keeps to one
(an album from its third track: SetQueue with `start_uid`). Loop thread only.
"""

from __future__ import annotations

import asyncio
import gc
import secrets
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from connect.controller import Controller
from connect.errors import ConnectError
from connect.session.queue_upload import CHUNK_ITEMS, QueueUploadError, chunks
from connect.wire import messages as m

if TYPE_CHECKING:
    from client.app.library import Track
    from client.library_server import LibraryServer

__all__ = [
    "CHUNK_ITEMS",
    "async_add_to_queue",
    "async_play_queue",
    "async_play_tracks",
    "queue_items",
]

MakeItems = Callable[["Sequence[Track]"], tuple[m.QueueItem, ...]]

COMMAND_TIMEOUT_S = 5.0


async def async_play_tracks(
    controller: Controller,
    device_id: str,
    tracks: Sequence[Track],
    make_items: MakeItems,
    start: int = 0,
    *,
    shuffle: bool | None = None,
) -> m.CommandResult:
    """Play *tracks* from *start* (or shuffled), making their items with *make_items* on a
    worker thread (it may raise ValueError: a track the music server does not serve).

    Without shuffle, from the first track, a long list starts playing after its first
    command's worth; the rest is made and queued behind it, a command's worth at a time.
    """
    if shuffle or start or len(tracks) <= CHUNK_ITEMS:
        items: list[m.QueueItem] = []
        for begin in range(0, len(tracks), CHUNK_ITEMS):  # the loop goes on between them
            items += await asyncio.to_thread(make_items, tracks[begin : begin + CHUNK_ITEMS])
        _keep(items)
        return await async_play_queue(controller, device_id, items, start, shuffle=shuffle)
    # Made and sent a thousand at a time: the first plays at once, and the list grows as the
    # rest is made (making is the slow part: ~0.3 ms a track) instead of after all of it.
    after = ""
    result: m.CommandResult | None = None
    for begin in range(0, len(tracks), CHUNK_ITEMS):
        made = await asyncio.to_thread(make_items, tracks[begin : begin + CHUNK_ITEMS])
        for part in chunks(made):
            action: m.Action = (
                m.AddToQueue(part, after_uid=after) if after else m.SetQueue(part, part[0].uid)
            )
            result = await controller.async_command(device_id, action, timeout=COMMAND_TIMEOUT_S)
            if result.failure is not None:
                return result
            after = part[-1].uid
    assert result is not None
    _keep(tracks)
    return result


async def async_play_queue(
    controller: Controller,
    device_id: str,
    items: Sequence[m.QueueItem],
    start: int = 0,
    *,
    shuffle: bool | None = None,
) -> m.CommandResult:
    """Replace *device_id*'s queue with *items* and play from *start* (or shuffled).

    Returns the last command's result (a refusal in its `failure`); raises ConnectError when
    the session is lost.
    """
    if len(items) <= CHUNK_ITEMS and len(chunks(items)) == 1 and shuffle is None:
        action = m.SetQueue(tuple(items), start_uid=items[start].uid)
        return await controller.async_command(device_id, action, timeout=COMMAND_TIMEOUT_S)
    try:
        uploaded = await controller.async_play_items(
            device_id, items, play=start == 0 or bool(shuffle), shuffle=shuffle
        )
    except QueueUploadError as exc:
        return exc.result
    if start and not shuffle:
        play = m.Play(items[start].uid)
        return await controller.async_command(device_id, play, timeout=COMMAND_TIMEOUT_S)
    return uploaded.result


async def async_add_to_queue(
    controller: Controller, device_id: str, items: Sequence[m.QueueItem], after_uid: str = ""
) -> m.CommandResult:
    """Add *items* after *after_uid* ("" : at the end), in commands of a frame each.

    Returns the first refusal, else the last result; raises ConnectError when the session is
    lost.
    """
    result: m.CommandResult | None = None
    after = after_uid
    many = len(items) > CHUNK_ITEMS  # weighing 50 000 items takes a while: off the loop
    for part in await asyncio.to_thread(chunks, items) if many else chunks(items):
        action = m.AddToQueue(part, after_uid=after)
        result = await controller.async_command(device_id, action, timeout=COMMAND_TIMEOUT_S)
        if result.failure is not None:
            return result
        # Each part follows the one before; "" (the end) stays the end.
        after = part[-1].uid if after else ""
    if result is None:
        raise ConnectError("nothing to queue")
    return result


def _keep(items: Sequence[object]) -> None:
    """Move a long list of items, which lives on, out of the collector's full passes.

    Those passes walk every object (300 ms holding the interpreter, and so the UI thread,
    with a library and 50 000 items in memory: bench/README.md, app_queue).
    """
    if len(items) > CHUNK_ITEMS:
        gc.freeze()


def queue_items(
    tracks: Sequence[Track], server: LibraryServer, address: str
) -> tuple[m.QueueItem, ...]:
    """Return queue items for *tracks* as *server* serves them on *address* (any thread).

    Uids are a random prefix and a count (as `queue_upload.items_for_urls` makes them): unique
    in the queue, short on every device, and 50 000 of them cost no 50 000 random reads.
    """
    prefix = secrets.token_hex(4)
    return tuple(
        m.QueueItem(
            uid=f"{prefix}{n:x}", url=server.url_for(t.path, address), title=t.title,
            artist=t.artist, album=t.album, duration_ms=t.duration_ms,
            content_type=t.content_type,
        )
        for n, t in enumerate(tracks)
    )  # fmt: skip
