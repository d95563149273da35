"""The headless controller commands of `baton`: devices, play, pause, resume, next, previous,
seek, volume, status, transfer (and pair, access, forget: client.access_commands; queue:
client.queue_commands; group, ungroup: client.group_commands). Each finds its device where it
was last reached, else over mDNS (or at --connect HOST:PORT), presents the stored credential,
does one thing, prints the outcome, and exits non-zero with one clear line when it cannot."""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from client.access_commands import add_access_commands
from client.group_commands import add_group_commands
from client.group_keeper import add_keeper_command
from client.queue_commands import add_queue_commands
from client.targets import (
    COMMAND_TIMEOUT_S,
    DISCOVERY_WAIT_S,
    CommandFailed,
    async_device_target,
    async_find_device,
    controller_identity,
    discovery_wait,
)
from connect.access import CredentialStore
from connect.cli_common import baton_command
from connect.clock import monotonic_us
from connect.controller import Controller, parse_host_port
from connect.discovery import DeviceEntry
from connect.discovery.last_reached import LastReached
from connect.errors import AccessRevokedError, ConnectError, NotPairedError
from connect.session import async_lean_dial
from connect.session.queue_upload import QueueUploadError, items_for_urls
from connect.wire import messages as m

if TYPE_CHECKING:
    from connect.transfer.coordinator import TransferOutcome


def add_commands(sub: Any) -> None:
    """Add the controller subcommands to a `baton` subparsers object."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--interface",
        action="append",
        default=[],
        metavar="IFACE",
        help="interface name or address to look for devices on (repeatable; default: all "
        "suitable interfaces)",
    )
    common.add_argument(
        "--connect",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="reach a device at this address instead of looking for it (repeatable)",
    )
    common.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="S",
        help=f"how long to look for devices on the network (default: {DISCOVERY_WAIT_S:g} s "
        f"to list them, up to {COMMAND_TIMEOUT_S:g} s to find the one named)",
    )
    devices = sub.add_parser("devices", parents=[common], help="list the devices on the network")
    devices.add_argument("--json", action="store_true", help="print a JSON list")
    devices.set_defaults(run=_devices)

    def device_command(name: str, help_text: str, run: Callable[..., Awaitable[None]]) -> Any:
        parser = sub.add_parser(name, parents=[common], help=help_text)
        parser.add_argument("device", metavar="DEVICE", help="device name or id")
        parser.set_defaults(run=run)
        return parser

    play = device_command(
        "play", "play URLs, or local files and folders, on a device (replaces its queue)", _play
    )
    play.add_argument(
        "urls", nargs="*", metavar="URL|PATH",
        help="http(s) URLs, or local files and folders (a folder plays in album and track "
        "order): this command serves them to the device while it runs",
    )  # fmt: skip
    from client.play_options import add_play_options

    add_play_options(play)
    device_command("pause", "pause a device", _simple(m.Pause()))
    device_command("resume", "resume a device", _simple(m.Resume()))
    device_command("next", "skip to the next track", _simple(m.SkipNext()))
    device_command("previous", "go back a track (or restart this one)", _simple(m.SkipPrevious()))
    seek = device_command("seek", "jump to a position in the current track", _seek)
    seek.add_argument("seconds", type=float, metavar="SECONDS")
    volume = device_command("volume", "set a device's volume", _volume)
    volume.add_argument("level", type=int, metavar="0-100")
    status = device_command("status", "show what a device is playing", _status)
    status.add_argument("--json", action="store_true", help="print a JSON object")
    transfer = sub.add_parser(
        "transfer", parents=[common], help="move what plays on one device to another"
    )
    transfer.add_argument("source", metavar="FROM", help="device playing now (name or id)")
    transfer.add_argument(
        "target", metavar="TO", nargs="?", help="device to move it to (name or id)"
    )
    transfer.add_argument(
        "--prepare", action="store_true",
        help="do not move yet: have TO (or every other device) open FROM's stream and hold it "
        "for ~15 s, as a device picker does, so a transfer within that time starts faster",
    )  # fmt: skip
    transfer.add_argument(
        "--mode", choices=("handoff", "stop-first"), default="handoff",
        help="handoff: start the target, then fade the source out at the same instant "
        "(default); stop-first: stop the source, then start the target (for comparison)",
    )  # fmt: skip
    transfer.add_argument(
        "--volume", choices=("keep-target", "carry-source", "lower"), default="keep-target",
        help="which volume the target ends up with (default keep-target)",
    )  # fmt: skip
    transfer.add_argument(
        "--source-after", choices=("stop", "pause"), default="stop",
        help="what the source does once the target plays (default stop)",
    )  # fmt: skip
    transfer.add_argument("--fade-ms", type=int, default=30, metavar="MS", help="ramp length")
    transfer.add_argument("--json", action="store_true", help="print the outcome as JSON")
    transfer.set_defaults(run=_transfer)
    add_access_commands(sub, common)
    add_queue_commands(sub, common)
    add_group_commands(sub, common)
    add_keeper_command(sub, common)


def run_command(args: argparse.Namespace) -> int:
    """Run a controller subcommand; return the exit code."""
    args.named = {}  # device id -> what suggested commands call it (_handle)
    try:
        if hasattr(args, "offline"):
            args.offline(args, CredentialStore())
        else:
            asyncio.run(_with_controller(args))
    except NotPairedError as exc:
        name = args.named.get(exc.device, exc.device) or "DEVICE"
        print(
            f"baton {args.command}: {name} needs pairing: run {baton_command('pair', name)}",
            file=sys.stderr,
        )
        return 1
    except AccessRevokedError as exc:
        name = args.named.get(exc.device, exc.device) or "DEVICE"
        print(
            f"baton {args.command}: {name} revoked this controller's access; "
            f"run {baton_command('pair', name)} to pair again",
            file=sys.stderr,
        )
        return 1
    except (ConnectError, CommandFailed, ValueError) as exc:
        print(f"baton {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _with_controller(args: argparse.Namespace) -> None:
    addresses = [parse_host_port(text) for text in args.connect]
    store = CredentialStore()
    identity = getattr(args, "identity", None) or controller_identity(
        store, create=args.command == "pair"
    )
    controller = Controller(
        identity,
        interfaces=args.interface,
        browse=not addresses,
        credentials=store,
        last_reached=LastReached(store.directory),
        dial=async_lean_dial,  # aiohttp's import would cost every command ~120 ms (_socket.py)
    )
    try:
        # Only a listing browses from the start; a device named is first tried where it was
        # last reached, and browsing starts if it is not there (Controller.async_find).
        await controller.async_start(browse_now=args.command == "devices")
        for host, port in addresses:
            await controller.async_add_address(host, port)
        await args.run(controller, args)
    finally:
        await controller.async_close()


# ------------------------------------------------------------------------------ devices


async def _devices(controller: Controller, args: argparse.Namespace) -> None:
    if not args.connect:
        await asyncio.sleep(discovery_wait(args))  # listing means waiting: answers arrive over time
    entries = sorted(controller.registry.entries(), key=lambda e: e.name.casefold())
    reachable = await asyncio.gather(*(_answers(controller, e) for e in entries))
    from client.group_commands import async_kept_groups, device_group, device_group_words

    groups = await async_kept_groups(args)  # the keeper's, if one runs (none is started)
    rows = [
        _device_row(entry, online)
        | {"needs_pairing": controller.needs_pairing(entry.id)}
        | {"group": device_group(groups, entry.id)}
        for entry, online in zip(entries, reachable, strict=True)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no Baton devices found (try --interface, or --connect HOST:PORT)")
    for row in rows:
        state = "online" if row["online"] else "offline"
        pair = baton_command("pair", row["name"] or row["id"])
        lock = f"  (needs pairing: {pair})" if row["needs_pairing"] else ""
        print(
            f"{row['name']:<24} {row['type']:<9} {row['host']}:{row['port']:<6} {state:<8} "
            f"{row['id']}{lock}{device_group_words(row['group'])}"
        )


async def _answers(controller: Controller, entry: DeviceEntry) -> bool:
    if not entry.addresses:
        return False
    try:
        await controller.async_fetch_info(entry.addresses[0], entry.port, device_id=entry.id)
    except ConnectError:
        return False
    return True


def _device_row(entry: DeviceEntry, online: bool) -> dict[str, Any]:
    ipv4 = [a for a in entry.addresses if ":" not in a]
    host = (ipv4 or list(entry.addresses) or [""])[0]
    return {
        "id": entry.id,
        "name": entry.name,
        "type": entry.type.name.lower(),
        "model": entry.model,
        "host": host,
        "addresses": list(entry.addresses),
        "port": entry.port,
        "online": online,
        "source": entry.source.value,
        # an unknown mode reads as pin: never assume a device is open (docs/security.md)
        "pairing": entry.record.pairing.name.lower() if entry.record else "pin",
    }


# ------------------------------------------------------------------------------ commands


async def _send(controller: Controller, args: argparse.Namespace, action: m.Action) -> None:
    device_id = await async_device_target(controller, args)
    result = await controller.async_command(device_id, action, timeout=COMMAND_TIMEOUT_S)
    if result.failure is not None:
        code = result.failure.code.name.lower()
        raise CommandFailed(f"{args.device} refused ({code}): {result.failure.message}")
    print(f"{args.device}: ok (revision {result.revision})")


def _simple(action: m.Action) -> Callable[[Controller, argparse.Namespace], Awaitable[None]]:
    async def run(controller: Controller, args: argparse.Namespace) -> None:
        await _send(controller, args, action)

    return run


async def _play(controller: Controller, args: argparse.Namespace) -> None:
    from client.play_options import wants_local_play
    from client.play_sources import entries_from_file, upload_refused

    if args.from_file:  # URLs and local paths, after those given; off the loop (megabytes)
        args.urls = [*args.urls, *(await asyncio.to_thread(entries_from_file, args.from_file))]
    if not args.urls:
        raise ValueError("nothing to play: give URLs, files, folders or --from FILE")
    if wants_local_play(args):  # files to serve from here
        from client.play_local import LocalPlayFailed, async_play_local

        try:
            await async_play_local(controller, args)
        except LocalPlayFailed as exc:
            raise CommandFailed(str(exc)) from exc
        return
    items = await asyncio.to_thread(_url_items, args.urls)
    device_id = await async_device_target(controller, args)
    try:
        uploaded = await controller.async_play_items(
            device_id, items, shuffle=True if args.shuffle else None, timeout=COMMAND_TIMEOUT_S
        )
    except QueueUploadError as exc:
        raise CommandFailed(upload_refused(args.device, exc, len(items))) from None
    many = f"{uploaded.items} items in {uploaded.commands} commands, " if len(items) > 1 else ""
    print(f"{args.device}: ok ({many}revision {uploaded.result.revision})")


def _url_items(urls: list[str]) -> tuple[m.QueueItem, ...]:
    """Return queue items for *urls* (raise ValueError for one a device would not play)."""
    from client.play_sources import check_url, title_of

    return items_for_urls([check_url(url) for url in urls], [title_of(url) for url in urls])


async def _seek(controller: Controller, args: argparse.Namespace) -> None:
    if args.seconds < 0:
        raise ValueError("SECONDS must be >= 0")
    await _send(controller, args, m.Seek(round(args.seconds * 1000)))


async def _volume(controller: Controller, args: argparse.Namespace) -> None:
    if not 0 <= args.level <= 100:
        raise ValueError("volume must be 0-100")
    await _send(controller, args, m.SetVolume(args.level))


async def _status(controller: Controller, args: argparse.Namespace) -> None:
    device_id = await async_device_target(controller, args)
    conn = await controller.async_connect(device_id, COMMAND_TIMEOUT_S)
    await conn.async_sync_clock(samples=3)
    state, estimate = conn.state, conn.clock
    if state is None or estimate is None:
        raise CommandFailed(f"{args.device} sent no state")
    position = state.clock.position_at(estimate.to_device(monotonic_us()))
    item = state.current_item
    report = {
        "device": args.device,
        "device_id": device_id,
        "state": _state_word(state.status),
        "position_ms": position,
        "duration_ms": item.duration_ms if item else 0,
        "volume": state.volume,
        "muted": state.muted,
        "track_url": item.url if item else "",
        "title": item.title if item else "",
        "queue_length": state.queue_total,
        "active": state.active,
        "revision": state.revision,
        "error": state.error.message if state.error else "",
        "live": state.live,
        "now_playing": asdict(state.now_playing) if state.now_playing else None,
        "group": None,
    }
    roster = ""
    if state.group is not None:  # the roster the device publishes: its leader, each member
        from client.group_commands import async_status_group

        names = {e.id: e.name for e in controller.registry.entries() if e.name}
        report["group"], roster = await async_status_group(args, state, names)
    if args.json:
        print(json.dumps(report, indent=2))
        return
    where = f"{position / 1000:.1f} s" + (
        f" of {item.duration_ms / 1000:.1f} s" if item and item.duration_ms else ""
    )
    if state.live:
        # A live stream has no place to be at: say what is on instead.
        on = state.now_playing or m.NowPlaying()
        where = "live" + "".join(f", {part}" for part in (on.station, on.title) if part)
    print(
        f"{args.device}: {report['state']} {report['title'] or '-'} at {where}, "
        f"volume {state.volume}" + (f", error: {report['error']}" if report["error"] else "")
    )
    if roster:
        print(roster)


async def _prepare(controller: Controller, args: argparse.Namespace) -> None:
    """`baton transfer --prepare FROM [TO]`: what a device picker does when it shows."""
    from connect.transfer.coordinator import TransferCoordinator

    source = await async_find_device(controller, args, args.source)
    if args.target is not None:
        targets = [await async_find_device(controller, args, args.target)]
    else:
        targets = [e.id for e in controller.registry.entries() if e.id != source]
    await controller.async_connect(source, COMMAND_TIMEOUT_S)
    answers = await TransferCoordinator(controller).async_prepare(source, targets)
    for answer in answers:
        entry = controller.registry.get(answer.target_id)
        name = args.named.get(answer.target_id) or (entry.name if entry else answer.target_id)
        why = "" if answer.failure is None else f": {answer.failure.message}"
        print(f"{name}: {'prepared' if answer.ok else 'not prepared'}{why}")
    if not any(answer.ok for answer in answers):
        raise CommandFailed(f"no device prepared {args.source}'s stream")


def _state_word(status: m.PlaybackStatus) -> str:
    # The CLI's three words; buffering counts as playing (it wants to play).
    return {
        m.PlaybackStatus.PLAYING: "playing",
        m.PlaybackStatus.BUFFERING: "playing",
        m.PlaybackStatus.PAUSED: "paused",
    }.get(status, "stopped")


# ------------------------------------------------------------------------------ transfer


async def _transfer(controller: Controller, args: argparse.Namespace) -> None:
    from client.group_moves import async_group_transfer
    from connect.transfer.coordinator import TransferCoordinator

    if args.prepare:
        await _prepare(controller, args)
        return
    if args.target is None:
        raise CommandFailed("transfer needs a device to move to (TO), or --prepare")
    source = await async_find_device(controller, args, args.source)
    target = await async_find_device(controller, args, args.target)
    options = m.TransferOptions(
        mode=m.TransferMode[args.mode.upper().replace("-", "_")],
        volume_policy=m.VolumePolicy[args.volume.upper().replace("-", "_")],
        source_after=m.SourceAfter[args.source_after.upper()],
        fade_ms=args.fade_ms,
    )
    outcome = await async_group_transfer(args, source, target, options)  # a group's, if any
    if outcome is None:
        outcome = await TransferCoordinator(controller).async_transfer(source, target, options)
    timings = outcome.timings
    report = {
        "ok": outcome.ok,
        "transfer_id": outcome.transfer_id,
        "mode": outcome.mode.name.lower().replace("_", "-"),  # the mode it ran in
        "mode_reason": outcome.mode_reason,
        "from": args.source,
        "to": args.target,
        "error": outcome.failure.message if outcome.failure else "",
        "error_code": outcome.failure.code.name.lower() if outcome.failure else "",
        "state": "paused" if outcome.paused else "playing",
        "source_reachable": outcome.source_reachable,
        "rolled_back": outcome.rolled_back,
        "owner": outcome.owner_id,  # refused because this device holds the music now
        "revision": outcome.revision,
        "latency_ms": timings.request_to_audible_ms if timings else None,
        "request_to_ready_ms": timings.request_to_ready_ms if timings else None,
        "ready_to_audible_ms": timings.ready_to_audible_ms if timings else None,
        "gap_ms": timings.gap_us / 1000 if timings else None,
        "position_error_ms": timings.position_error_ms if timings else None,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    elif outcome.ok and timings is not None:
        note = "" if outcome.source_reachable else " (source unreachable: from its last state)"
        print(f"{args.source} -> {args.target}: {_transfer_summary(args.target, outcome)}{note}")
        if outcome.mode is not options.mode:  # a device made it stop-first: say why
            print(f"  ({outcome.mode_reason})")
    if not outcome.ok:
        entry = controller.registry.get(outcome.owner_id) if outcome.owner_id else None
        owner_name = entry.name if entry is not None and entry.name else outcome.owner_id
        raise CommandFailed(transfer_failure(outcome, owner_name, args.target))


def transfer_failure(outcome: TransferOutcome, owner_name: str, target_words: str) -> str:
    """Return the one line a failed transfer ends with: why, and what to do about it."""
    assert outcome.failure is not None
    kept = "; the music went back to the source" if outcome.rolled_back else ""
    owner = outcome.owner_id
    if owner and owner not in (outcome.source_id, outcome.target_id):
        # Another controller moved it first: say where it is, and how to move it from there.
        again = f"baton transfer {shlex.quote(owner_name)} {shlex.quote(target_words)}"
        kept = f"; move it from there: {again}"
    return f"transfer failed: {outcome.failure.message}{kept}"


def _transfer_summary(target: str, outcome: TransferOutcome) -> str:
    """Say how a transfer went: how fast the target played, or that it holds the session paused."""
    timings = outcome.timings
    assert timings is not None
    ready = f"ready in {timings.request_to_ready_ms} ms"
    if outcome.paused:  # nothing became audible: no gap, no position error to speak of
        return f"paused on {target} after {timings.request_to_audible_ms} ms ({ready})"
    gap = timings.gap_us / 1000
    edge = f"gap {gap:.1f} ms" if gap >= 0 else f"overlap {-gap:.1f} ms"
    return (
        f"playing after {timings.request_to_audible_ms} ms ({ready}), {edge}, "
        f"position error {timings.position_error_ms} ms"
    )
