"""`baton queue ...`: show a device's queue and edit it by item uid (add, play next, remove,
move, clear), each edit optionally applied only at the revision the listener saw."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from client.targets import COMMAND_TIMEOUT_S, CommandFailed, async_device_target
from connect.wire import messages as m

if TYPE_CHECKING:
    from connect.controller import Controller


def add_queue_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add `baton queue show|add|remove|move|clear DEVICE ...` to a subparsers object."""
    queue = sub.add_parser("queue", help="show or edit a device's queue (items named by uid)")
    actions = queue.add_subparsers(dest="queue_action", metavar="ACTION", required=True)
    edit = argparse.ArgumentParser(add_help=False, parents=[common])
    edit.add_argument(
        "--revision",
        type=int,
        default=None,
        metavar="N",
        help="apply only if the queue is still at revision N (`baton queue show` prints it); "
        "otherwise the device refuses with a conflict and nothing changes",
    )

    def action(name: str, help_text: str, parent: argparse.ArgumentParser) -> Any:
        parser = actions.add_parser(name, parents=[parent], help=help_text)
        parser.add_argument("device", metavar="DEVICE", help="device name or id")
        return parser

    show = action("show", "list the queue: uid, title, and the item playing", common)
    show.add_argument("--json", action="store_true", help="print a JSON object")
    show.set_defaults(run=_show)
    add = action("add", "queue http(s) URLs at the end (or next, with --next)", edit)
    add.add_argument("urls", nargs="+", metavar="URL")
    add.add_argument("--next", action="store_true", help="right after the item playing")
    add.set_defaults(run=_add)
    remove = action("remove", "remove items (not the one playing)", edit)
    remove.add_argument("uids", nargs="+", metavar="UID")
    remove.set_defaults(run=_remove)
    move = action("move", "move an item after another (default: to the front)", edit)
    move.add_argument("uid", metavar="UID")
    move.add_argument("--after", default="", metavar="UID", help="the item it goes after")
    move.set_defaults(run=_move)
    clear = action("clear", "remove every item but the one playing", edit)
    clear.set_defaults(run=_clear)


def url_item(url: str) -> m.QueueItem:
    """Return a queue item for an http(s) URL (a fresh uid, the file's name as its title)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    title = PurePosixPath(unquote(parts.path)).stem or url
    return m.QueueItem(uid=uuid.uuid4().hex, url=url, title=title)


async def _state(controller: Controller, args: argparse.Namespace) -> tuple[str, m.PlaybackState]:

    device_id = await async_device_target(controller, args)
    conn = await controller.async_connect(device_id, COMMAND_TIMEOUT_S)
    if conn.state is None:  # connected: the device's first snapshot is on its way
        arrived = asyncio.Event()
        stop = conn.subscribe(lambda _event: arrived.set() if conn.state is not None else None)
        try:
            await asyncio.wait_for(arrived.wait(), COMMAND_TIMEOUT_S)
        except TimeoutError:
            pass
        finally:
            stop()
    if conn.state is None:
        raise CommandFailed(f"{args.device} sent no state")
    return device_id, conn.state


async def _show(controller: Controller, args: argparse.Namespace) -> None:
    device_id, state = await _state(controller, args)
    items: list[m.QueueItem] = list(state.queue)
    if not state.queue_whole:  # protocol 1.1: the snapshot holds a window, the rest by page
        view = controller.queue_view(device_id)
        try:
            await view.async_fetch(0, view.length)
            items = [item for item in view.mirror if item is not None]
        finally:
            view.close()
        if len(items) < state.queue_total:  # a transfer's target still receiving the rest
            print(
                f"{args.device}: {len(items)} of {state.queue_total} items so far "
                "(the device is still receiving the rest)",
                file=sys.stderr,
            )
    rows = [
        {"uid": i.uid, "title": i.title, "artist": i.artist, "current": i.uid == state.current_uid}
        for i in items
    ]
    if args.json:
        print(json.dumps({"device_id": device_id, "revision": state.revision, "items": rows}))
        return
    print(
        f"{args.device}: {len(rows)} item{'s' if len(rows) != 1 else ''}, revision {state.revision}"
    )
    for row in rows:
        mark = "▶" if row["current"] else " "
        who = f" · {row['artist']}" if row["artist"] else ""
        print(f"{mark} {row['uid']}  {row['title']}{who}")


async def _edit(controller: Controller, args: argparse.Namespace, action: m.Action) -> None:

    device_id = await async_device_target(controller, args)
    result = await controller.async_command(
        device_id, action, timeout=COMMAND_TIMEOUT_S, expected_revision=args.revision
    )
    if result.failure is not None:
        code = result.failure.code.name.lower()
        raise CommandFailed(f"{args.device} refused ({code}): {result.failure.message}")
    print(f"{args.device}: ok (revision {result.revision})")


async def _add(controller: Controller, args: argparse.Namespace) -> None:
    items = tuple(url_item(url) for url in args.urls)
    after = ""
    if args.next:
        _, state = await _state(controller, args)
        after = state.current_uid
    await _edit(controller, args, m.AddToQueue(items, after_uid=after))


async def _remove(controller: Controller, args: argparse.Namespace) -> None:
    await _edit(controller, args, m.RemoveFromQueue(tuple(args.uids)))


async def _move(controller: Controller, args: argparse.Namespace) -> None:
    await _edit(controller, args, m.MoveInQueue(args.uid, args.after))


async def _clear(controller: Controller, args: argparse.Namespace) -> None:
    await _edit(controller, args, m.ClearQueue())
