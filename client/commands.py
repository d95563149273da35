"""The headless controller commands of `baton`: devices, play, pause, resume, next, previous,
seek, volume, status, transfer (and pair, access, forget: client.access_commands). Each finds
its device over mDNS (or at --connect HOST:PORT), presents the stored credential, does one
thing, prints the outcome, and exits non-zero with one clear line when it cannot."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from connect import messages as m
from connect.clock import monotonic_us
from connect.controller import Controller, default_identity, parse_host_port
from connect.credentials import CredentialStore
from connect.discovery import DeviceEntry
from connect.errors import AccessRevokedError, ConnectError, NotPairedError

DISCOVERY_WAIT_S = 2.0
COMMAND_TIMEOUT_S = 5.0


class CommandFailed(Exception):  # noqa: N818 - an outcome shown to the user, not a bug
    """The device refused or could not carry out a command; the message says why."""


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
        help=f"how long to look for devices (default {DISCOVERY_WAIT_S:g} s)",
    )
    devices = sub.add_parser("devices", parents=[common], help="list the devices on the network")
    devices.add_argument("--json", action="store_true", help="print a JSON list")
    devices.set_defaults(run=_devices)

    def device_command(name: str, help_text: str, run: Callable[..., Awaitable[None]]) -> Any:
        parser = sub.add_parser(name, parents=[common], help=help_text)
        parser.add_argument("device", metavar="DEVICE", help="device name or id")
        parser.set_defaults(run=run)
        return parser

    play = device_command("play", "play URLs on a device (replaces its queue)", _play)
    play.add_argument("urls", nargs="+", metavar="URL", help="http(s) URLs of tracks")
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
    transfer.add_argument("target", metavar="TO", help="device to move it to (name or id)")
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
    from client.access_commands import add_access_commands

    add_access_commands(sub, common)


def run_command(args: argparse.Namespace) -> int:
    """Run a controller subcommand; return the exit code."""
    args.named = {}  # device id -> the words the user named it by, for messages
    try:
        if hasattr(args, "offline"):
            args.offline(args, CredentialStore())
        else:
            asyncio.run(_with_controller(args))
    except NotPairedError as exc:
        name = args.named.get(exc.device, exc.device) or "the device"
        print(
            f"baton {args.command}: {name} needs pairing: run `baton pair {name}`", file=sys.stderr
        )
        return 1
    except AccessRevokedError as exc:
        name = args.named.get(exc.device, exc.device) or "the device"
        print(
            f"baton {args.command}: {name} revoked this controller's access; "
            f"run `baton pair {name}` to pair again",
            file=sys.stderr,
        )
        return 1
    except (ConnectError, CommandFailed, ValueError) as exc:
        print(f"baton {args.command}: {exc}", file=sys.stderr)
        return 1
    return 0


def controller_identity(store: CredentialStore, *, create: bool = False) -> m.ClientIdentity:
    """Return the CLI's identity: the stored client id once this controller has paired.

    A device keys tokens by client id (pairing again replaces the token), so the id must
    outlive the process; until the first pairing a per-process id will do (*create* makes one).
    """
    identity = default_identity()
    stored = store.client_id(create=create)
    return (
        m.ClientIdentity(stored, identity.name, identity.type, identity.software)
        if stored
        else identity
    )


async def _with_controller(args: argparse.Namespace) -> None:
    addresses = [parse_host_port(text) for text in args.connect]
    store = CredentialStore()
    identity = getattr(args, "identity", None) or controller_identity(
        store, create=args.command == "pair"
    )
    controller = Controller(
        identity, interfaces=args.interface, browse=not addresses, credentials=store
    )
    await controller.async_start()
    try:
        for host, port in addresses:
            await controller.async_add_address(host, port)
        await args.run(controller, args)
    finally:
        await controller.async_close()


def _wait(args: argparse.Namespace) -> float:
    return DISCOVERY_WAIT_S if args.timeout is None else args.timeout


# ------------------------------------------------------------------------------ devices


async def _devices(controller: Controller, args: argparse.Namespace) -> None:
    if not args.connect:
        await asyncio.sleep(_wait(args))  # listing means waiting: answers arrive over time
    entries = sorted(controller.registry.entries(), key=lambda e: e.name.casefold())
    reachable = await asyncio.gather(*(_answers(controller, e) for e in entries))
    rows = [
        _device_row(entry, online) | {"needs_pairing": controller.needs_pairing(entry.id)}
        for entry, online in zip(entries, reachable, strict=True)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        print("no Baton devices found (try --interface, or --connect HOST:PORT)")
    for row in rows:
        state = "online" if row["online"] else "offline"
        lock = f"  (needs pairing: baton pair {row['name']!r})" if row["needs_pairing"] else ""
        print(
            f"{row['name']:<24} {row['type']:<9} {row['host']}:{row['port']:<6} {state:<8} "
            f"{row['id']}{lock}"
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


async def device_target(controller: Controller, args: argparse.Namespace) -> str:
    """Return the id of the device the command names (`args.device`), waiting for it a while."""
    return await _find(controller, args, args.device)


async def _find(controller: Controller, args: argparse.Namespace, words: str) -> str:
    timeout = _wait(args) if args.timeout is not None else COMMAND_TIMEOUT_S
    device_id = (await controller.async_find(words, timeout)).id
    args.named[device_id] = words
    return device_id


async def _send(controller: Controller, args: argparse.Namespace, action: m.Action) -> None:
    device_id = await device_target(controller, args)
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
    items = tuple(_queue_item(url) for url in args.urls)
    await _send(controller, args, m.SetQueue(items, play=True))


def _queue_item(url: str) -> m.QueueItem:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    title = PurePosixPath(unquote(parts.path)).stem or url
    return m.QueueItem(uid=uuid.uuid4().hex, url=url, title=title)


async def _seek(controller: Controller, args: argparse.Namespace) -> None:
    if args.seconds < 0:
        raise ValueError("SECONDS must be >= 0")
    await _send(controller, args, m.Seek(round(args.seconds * 1000)))


async def _volume(controller: Controller, args: argparse.Namespace) -> None:
    if not 0 <= args.level <= 100:
        raise ValueError("volume must be 0-100")
    await _send(controller, args, m.SetVolume(args.level))


async def _status(controller: Controller, args: argparse.Namespace) -> None:
    device_id = await device_target(controller, args)
    conn = await controller.async_connect(device_id, COMMAND_TIMEOUT_S)
    await conn.sync_clock(samples=3)
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
        "queue_length": len(state.queue),
        "active": state.active,
        "revision": state.revision,
        "error": state.error.message if state.error else "",
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    where = f"{position / 1000:.1f} s" + (
        f" of {item.duration_ms / 1000:.1f} s" if item and item.duration_ms else ""
    )
    print(
        f"{args.device}: {report['state']} {report['title'] or '-'} at {where}, "
        f"volume {state.volume}" + (f", error: {report['error']}" if report["error"] else "")
    )


def _state_word(status: m.PlaybackStatus) -> str:
    # The CLI's three words; buffering counts as playing (it wants to play).
    return {
        m.PlaybackStatus.PLAYING: "playing",
        m.PlaybackStatus.BUFFERING: "playing",
        m.PlaybackStatus.PAUSED: "paused",
    }.get(status, "stopped")


# ------------------------------------------------------------------------------ transfer


async def _transfer(controller: Controller, args: argparse.Namespace) -> None:
    from connect.transfer import TransferCoordinator

    source = await _find(controller, args, args.source)
    target = await _find(controller, args, args.target)
    options = m.TransferOptions(
        mode=m.TransferMode[args.mode.upper().replace("-", "_")],
        volume_policy=m.VolumePolicy[args.volume.upper().replace("-", "_")],
        source_after=m.SourceAfter[args.source_after.upper()],
        fade_ms=args.fade_ms,
    )
    outcome = await TransferCoordinator(controller).transfer(source, target, options)
    timings = outcome.timings
    report = {
        "ok": outcome.ok,
        "transfer_id": outcome.transfer_id,
        "mode": args.mode,
        "from": args.source,
        "to": args.target,
        "error": outcome.failure.message if outcome.failure else "",
        "error_code": outcome.failure.code.name.lower() if outcome.failure else "",
        "source_reachable": outcome.source_reachable,
        "rolled_back": outcome.rolled_back,
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
        gap = timings.gap_us / 1000
        edge = f"gap {gap:.1f} ms" if gap >= 0 else f"overlap {-gap:.1f} ms"
        note = "" if outcome.source_reachable else " (source unreachable: from its last state)"
        print(
            f"{args.source} -> {args.target}: playing after {timings.request_to_audible_ms} ms "
            f"(ready in {timings.request_to_ready_ms} ms), {edge}, "
            f"position error {timings.position_error_ms} ms{note}"
        )
    if not outcome.ok:
        assert outcome.failure is not None
        kept = "; the music went back to the source" if outcome.rolled_back else ""
        raise CommandFailed(f"transfer failed: {outcome.failure.message}{kept}")
