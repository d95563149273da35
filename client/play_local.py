"""`baton play DEVICE FILE_OR_FOLDER...`: play local music on a device, serving it from here.

The files are served by the app's media server (client/library_server.py: capability URLs,
our names only) on the one address that faces the device (client/media_addresses.py), for as
long as the command runs. By default it runs until the device is done with the queue: played
to the end, replaced by other music, moved away by a transfer, or stopped by a failure. With
`--serve` it keeps serving until Ctrl-C whatever the device does (pauses, transfers to another
device that reaches this address). Either way the music stops when serving stops, and the
command says so. http(s) URLs given among the paths are queued as they are, in their place.
Files that cannot play on the device (damaged, empty, a format Baton does not play, a codec
the device does not decode: client/app/playability.py) are never sent; one line names them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from client.app.library import Track
from client.app.playability import TargetDevice, reason_of
from client.library_server import LibraryServer
from client.local_tracks import select_tracks
from client.media_addresses import local_address_towards
from client.media_catalogue import FileCatalogue
from client.play_options import is_url
from client.play_sources import upload_refused
from client.targets import COMMAND_TIMEOUT_S, async_device_target
from connect.controller import Controller
from connect.media_urls import describe_url, is_media_url
from connect.session import ConnectionEvent, StateChanged
from connect.session.queue_upload import QueueUploadError
from connect.wire import messages as m

SKIPPED_NAMED = 5  # files the line about unplayable ones names; the rest are counted


class LocalPlayFailed(Exception):  # noqa: N818 - an outcome shown to the user, not a bug
    """The device refused the files, or stopped on a failure; the message says why."""


@dataclass(frozen=True)
class _Entry:
    """One queue entry to be: a URL as given, or a local track to serve."""

    url: str = ""
    track: Track | None = None


async def async_play_local(controller: Controller, args: argparse.Namespace) -> None:
    """Run `baton play` with local files (see the module docstring).

    Raise LocalPlayFailed, ValueError (a path missing, a URL refused) or ConnectError.
    """
    entries, skipped = await asyncio.to_thread(_entries, args.urls)
    if not entries:
        raise LocalPlayFailed(f"nothing to play: {_files(skipped)} skipped (not audio)")
    device_id = await async_device_target(controller, args)
    if any(e.track is not None for e in entries):
        entries = await _playable(controller, device_id, entries)
    tracks = [e.track for e in entries if e.track is not None]
    server: LibraryServer | None = None
    try:
        if tracks:
            entry = controller.registry.get(device_id)
            peer = controller.endpoint(entry).host if entry is not None else "127.0.0.1"
            # Resolving a library's paths touches the disk: off the loop.
            catalogue = await asyncio.to_thread(FileCatalogue, [t.path for t in tracks])
            server = LibraryServer(catalogue, [_facing(peer)])
            await server.async_start()
        items = await asyncio.to_thread(_queue, entries, server)  # a library: off the loop
        try:  # however many: in commands of a frame each (connect.session.queue_upload)
            uploaded = await controller.async_play_items(
                device_id, items, shuffle=True if args.shuffle else None, timeout=COMMAND_TIMEOUT_S
            )
        except QueueUploadError as exc:
            raise LocalPlayFailed(upload_refused(args.device, exc, len(items))) from None
        urls = {i.url for i in items}
        watch = _Watch(args.device, device_id, urls, uploaded.result.revision)
        # Ctrl-C from here on ends the serving, said in words (not a traceback); the handlers
        # are in place before any line a user (or a test) could react to is printed.
        with _signals(watch.interrupted):
            print(_summary(args.device, len(items), skipped), flush=True)
            if server is None:  # only URLs (--serve): the device fetches them by itself
                if args.serve:
                    print("nothing to serve: every item is a URL", flush=True)
                return
            where = f"{server.addresses[0]}:{server.port}"
            until = "until Ctrl-C" if args.serve else "while this command runs (Ctrl-C stops it)"
            print(
                f"serving them from this computer ({where}) {until}: "
                "the music stops when serving stops",
                flush=True,
            )
            await _serve_while_needed(controller, watch, forever=args.serve)
    finally:
        if server is not None:
            await server.async_close()


def _entries(words: list[str]) -> tuple[list[_Entry], int]:
    """Return the queue entries for the command's arguments, in order, and the files skipped."""
    entries: list[_Entry] = []
    skipped = 0
    for word in words:
        if is_url(word):
            if not is_media_url(word):
                raise ValueError(f"{word!r}: {describe_url(word)}; a device plays http(s) URLs")
            entries.append(_Entry(url=word))
            continue
        selection = select_tracks([Path(word)])  # LocalPathError (a ValueError) if missing
        entries += [_Entry(track=track) for track in selection.tracks]
        skipped += selection.skipped
    return entries, skipped


async def _playable(controller: Controller, device_id: str, entries: list[_Entry]) -> list[_Entry]:
    """Return *entries* without the files that cannot play on the device, naming them in one
    line; raise LocalPlayFailed when nothing is left."""
    conn = await controller.async_connect(device_id, COMMAND_TIMEOUT_S)
    info = conn.welcome.device if conn.welcome is not None else None
    device = TargetDevice.of(info)
    kept: list[_Entry] = []
    left_out: list[str] = []
    for entry in entries:
        why = reason_of(entry.track, device) if entry.track is not None else ""
        if why and entry.track is not None:
            left_out.append(f"{entry.track.path.name} ({why})")
        else:
            kept.append(entry)
    if not left_out:
        return entries
    shown = left_out[:SKIPPED_NAMED] + (
        [f"and {len(left_out) - SKIPPED_NAMED} more"] if len(left_out) > SKIPPED_NAMED else []
    )
    line = f"{_files(len(left_out))} cannot be played, skipped: {', '.join(shown)}"
    if not kept:
        raise LocalPlayFailed(f"nothing to play: {line}")
    print(line, flush=True)
    return kept


def _facing(peer: str) -> str:
    """Return our address towards *peer*, refusing to hand a remote device a loopback URL."""
    address = local_address_towards(peer)
    if address == "127.0.0.1" and not peer.startswith("127.") and peer not in ("::1", "localhost"):
        raise LocalPlayFailed(f"no route from this computer to {peer}: cannot serve it the files")
    return address


def _queue(entries: list[_Entry], server: LibraryServer | None) -> tuple[m.QueueItem, ...]:
    """Return the queue items: a URL as given, a track as the server's URL for it."""
    items: list[m.QueueItem] = []
    for entry in entries:
        if entry.track is None:
            title = PurePosixPath(unquote(urlsplit(entry.url).path)).stem or entry.url
            item = m.QueueItem(uid=uuid.uuid4().hex[:16], url=entry.url, title=title)
        else:
            assert server is not None
            track = entry.track
            item = m.QueueItem(
                uid=uuid.uuid4().hex[:16], url=server.url_for(track.path), title=track.title,
                artist=track.artist, album=track.album, duration_ms=track.duration_ms,
                content_type=track.content_type,
            )  # fmt: skip
        items.append(item)
    return tuple(items)


def _summary(device: str, queued: int, skipped: int) -> str:
    line = f"{device}: playing {queued} track{'s' if queued != 1 else ''}"
    if skipped:
        line += f"; {_files(skipped)} skipped (not audio)"
    return line


def _files(count: int) -> str:
    return f"{count} file{'s' if count != 1 else ''}"


class _Watch:
    """Follows the device's state: says what plays, and when the device is done with ours."""

    def __init__(self, device: str, device_id: str, urls: set[str], revision: int) -> None:
        self.device = device
        self.device_id = device_id
        self.urls = urls
        self.revision = revision  # states older than our SetQueue are not about it
        self.done = asyncio.Event()  # the device is done with our queue, or Ctrl-C
        self.stopped = asyncio.Event()  # Ctrl-C (or SIGTERM)
        self.outcome = ""
        self.failed = False
        self._announced = ""

    def on_state(self, state: m.PlaybackState) -> None:
        """Take one pushed state."""
        if state.revision < self.revision or self.done.is_set():
            return  # older than our queue, or the device is done with it
        item = state.current_item
        playing = state.status in (m.PlaybackStatus.PLAYING, m.PlaybackStatus.BUFFERING)
        if item is not None and playing and item.url in self.urls and item.uid != self._announced:
            self._announced = item.uid
            # The snapshot holds a window of the queue, from queue_offset on.
            at = next((n for n, i in enumerate(state.queue) if i.uid == item.uid), -1)
            number = state.queue_offset + at + 1
            print(f"{self.device}: {number}/{state.queue_total} {item.title}", flush=True)
        if not state.active:
            self._finish(f"the music moved from {self.device} to another device")
        elif not any(i.url in self.urls for i in state.queue):
            self._finish(f"{self.device} plays other music now")
        elif state.status is m.PlaybackStatus.STOPPED:
            if state.error is not None:
                self.failed = True
                self._finish(f"{self.device} stopped: {state.error.message}")
            else:
                self._finish(f"{self.device} played the queue to the end (or was stopped)")

    def interrupted(self) -> None:
        """Take Ctrl-C (or SIGTERM): serving ends."""
        self.stopped.set()
        self._finish("interrupted")

    def _finish(self, why: str) -> None:
        if not self.done.is_set():
            self.outcome = why
            self.done.set()


async def _serve_while_needed(controller: Controller, watch: _Watch, *, forever: bool) -> None:
    """Serve until Ctrl-C, or (unless *forever*) until the device is done with our queue."""

    def on_event(event: ConnectionEvent) -> None:
        if isinstance(event, StateChanged) and event.device_id == watch.device_id:
            watch.on_state(event.snapshot.state)

    unsubscribe = controller.subscribe(on_event)
    try:
        state = controller.connection(watch.device_id).state
        if state is not None:
            watch.on_state(state)  # it may be done already
        await watch.done.wait()
        if forever and not watch.stopped.is_set():
            print(f"{watch.outcome}; still serving until Ctrl-C", flush=True)
            await watch.stopped.wait()
    finally:
        unsubscribe()
    if watch.stopped.is_set():
        print(
            "stopped serving: wherever these files play, they stop once what was buffered "
            "has played",
            file=sys.stderr,
        )
        return
    if watch.failed:
        raise LocalPlayFailed(watch.outcome)
    print(f"{watch.outcome}; stopped serving", flush=True)


@contextlib.contextmanager
def _signals(handler: Callable[[], None]) -> Iterator[None]:
    """Call *handler* on SIGINT and SIGTERM instead of stopping the process, while inside."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, handler)
    try:
        yield
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
