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
from bridges.mpd.browse import FoundMpd, MpdBrowser
from connect.cli_common import add_version_flag
from connect.endpoint import Endpoint
from connect.errors import ConnectError
from taskowner import TaskOwner

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
    parser.add_argument(
        "--browse-mpd", action="store_true",
        help="also bridge every MPD announced on mDNS (_mpd._tcp) on the --interface given",
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
    if not args.mpd and not args.browse_mpd:
        parser.error("name at least one device to bridge (--mpd HOST[:PORT]), or --browse-mpd")
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
        return asyncio.run(_serve(devices, tuple(args.interfaces), browse=args.browse_mpd))
    except (BridgeError, ConnectError, OSError) as exc:
        print(f"baton-bridge: cannot start: {exc}", file=sys.stderr)
        return 1


def _mpd_device(
    address: str, name: str, interfaces: tuple[str, ...], *, id_host: str = ""
) -> BridgedDevice:
    host, port = parse_address(address)
    player = MpdPlayer(host, port, name=name)
    device_id = mpd_device_id(id_host or host, port)
    return BridgedDevice(player, device_id, interfaces=interfaces, name=name)


class _Bridge:
    """The devices of one bridge process: started, announced, closed."""

    def __init__(self) -> None:
        self.started: dict[str, BridgedDevice] = {}
        self.tasks = TaskOwner("bridge", _LOG)

    async def async_start(self, device: BridgedDevice) -> None:
        where = await device.async_start()
        self.started[where.device_id] = device
        info = device.device_info()
        hosts = ", ".join(Endpoint(a, where.port).authority for a in where.addresses)
        print(
            f"baton-bridge: {info.name!r} (mpd, id {where.device_id}) listening on {hosts}",
            flush=True,
        )

    def found(self, mpd: FoundMpd, interfaces: tuple[str, ...]) -> None:
        """An MPD announced itself: bridge it, unless it is already."""
        device = _mpd_device(f"[{mpd.address}]:{mpd.port}", mpd.name, interfaces, id_host=mpd.host)
        if device.device_id in self.started:
            return
        self.tasks.async_spawn(self._start_found(device, mpd), f"start {mpd.name}")

    async def _start_found(self, device: BridgedDevice, mpd: FoundMpd) -> None:
        try:
            await self.async_start(device)
        except (BridgeError, ConnectError, OSError) as exc:
            _LOG.warning("%s at %s:%s: cannot bridge it: %s", mpd.name, mpd.address, mpd.port, exc)
            await device.async_close()

    async def async_close(self) -> None:
        await self.tasks.async_close(CLOSE_TIMEOUT_S)
        for device in reversed(self.started.values()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(device.async_close(), CLOSE_TIMEOUT_S)


async def _serve(devices: list[BridgedDevice], interfaces: tuple[str, ...], *, browse: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    _LOG.warning(
        "bridged devices are open: anyone on the network may control them (plain HTTP, no "
        "tokens), as the devices themselves are"
    )
    bridge = _Bridge()
    browser = MpdBrowser(interfaces, lambda mpd: bridge.found(mpd, interfaces)) if browse else None
    try:
        for device in devices:
            try:
                await bridge.async_start(device)
            except BaseException:
                await device.async_close()
                raise
        if browser is not None:
            await browser.async_start()
        await stop.wait()
    finally:
        if browser is not None:
            await browser.async_close()
        await bridge.async_close()
    return 0
