"""`baton-bridge`: present the devices people already own as Baton devices.

Each `--mpd HOST[:PORT]` is one MPD; each becomes a Baton device with its own session server,
advertised on mDNS on the interfaces given, until SIGINT or SIGTERM. Prints one line per device
once it listens: `baton-bridge: 'NAME' (mpd, id ID) listening on HOST:PORT`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from bridges.device import BridgedDevice
from bridges.errors import BridgeError
from bridges.mpd import MpdPlayer, mpd_device_id, parse_address
from connect.cli_common import add_version_flag
from connect.endpoint import Endpoint
from connect.errors import ConnectError

__all__ = ["build_parser", "main"]

_LOG = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 5.0

EXAMPLES = """\
examples:
  baton-bridge --mpd localhost --interface eth0
  baton-bridge --mpd kitchen.local:6600 --name Kitchen --mpd 192.168.1.20 --interface eth0
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `baton-bridge`."""
    parser = argparse.ArgumentParser(
        prog="baton-bridge",
        description="Show devices you already own (MPD) as Baton devices on the local network.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_version_flag(parser)
    parser.add_argument(
        "--mpd", action="append", default=[], metavar="HOST[:PORT]",
        help="a Music Player Daemon to bridge (repeatable; port 6600 unless given)",
    )  # fmt: skip
    parser.add_argument(
        "--name", action="append", default=[], metavar="NAME",
        help="the name of the device bridged by the --mpd before it (default: 'MPD on HOST')",
    )  # fmt: skip
    parser.add_argument(
        "--interface", action="append", default=[], dest="interfaces", metavar="IF",
        help="interface name or address to listen and advertise on (repeatable); default: "
        "every interface except loopback, container bridges and link-local addresses",
    )  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `baton-bridge` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.mpd:
        parser.error("name at least one device to bridge: --mpd HOST[:PORT]")
    if len(args.name) > len(args.mpd):
        parser.error("each --name follows the --mpd it names")
    try:
        devices = [
            _mpd_device(address, name, tuple(args.interfaces))
            for address, name in zip(args.mpd, [*args.name, *[""] * len(args.mpd)], strict=False)
        ]
    except ValueError as exc:
        parser.error(str(exc))
    try:
        return asyncio.run(_serve(devices))
    except (BridgeError, ConnectError, OSError) as exc:
        print(f"baton-bridge: cannot start: {exc}", file=sys.stderr)
        return 1


def _mpd_device(address: str, name: str, interfaces: tuple[str, ...]) -> BridgedDevice:
    host, port = parse_address(address)
    player = MpdPlayer(host, port, name=name)
    return BridgedDevice(player, mpd_device_id(host, port), interfaces=interfaces, name=name)


async def _serve(devices: list[BridgedDevice]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    _LOG.warning(
        "bridged devices are open: anyone on the network may control them (plain HTTP, no "
        "tokens), as the devices themselves are"
    )
    started: list[BridgedDevice] = []
    try:
        for device in devices:
            where = await device.async_start()
            started.append(device)
            info = device.device_info()
            hosts = ", ".join(Endpoint(a, where.port).authority for a in where.addresses)
            print(
                f"baton-bridge: {info.name!r} (mpd, id {where.device_id}) listening on {hosts}",
                flush=True,
            )
        await stop.wait()
    finally:
        for device in reversed(started or devices):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(device.async_close(), CLOSE_TIMEOUT_S)
    return 0
