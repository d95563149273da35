"""`baton-bridge`: present the devices people already own as Baton devices.

Each `--mpd HOST[:PORT]` is one MPD, each `--upnp URL` one UPnP/DLNA renderer (the URL of
its device description), each `--airplay HOST[:PORT]` one AirPlay speaker, each
`--snapcast HOST[:PORT]` every group of a Snapcast server; `--browse-mpd`, `--browse-upnp`
and `--browse-airplay` add those found on the network (mDNS `_mpd._tcp`, SSDP, mDNS
`_raop._tcp`) on the interfaces given. Each becomes a Baton device with its own
session server, advertised on mDNS, until SIGINT or SIGTERM. Prints one line per device once
it listens: `baton-bridge: 'NAME' (KIND, id ID) listening on HOST:PORT`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bridges.airplay import parse_address as parse_airplay_address
from bridges.device import BridgedDevice
from bridges.errors import BridgeError, DeviceUnreachableError
from bridges.mpd import MpdPlayer, mpd_device_id, parse_address
from bridges.mpd.browse import FoundMpd, MpdBrowser
from bridges.snapcast import (
    DEFAULT_BUFFER_MS,
    GroupWatch,
    SnapcastPlayer,
    SourceClaims,
    snapcast_device_id,
)
from bridges.snapcast import parse_address as parse_snapcast
from bridges.upnp import UpnpPlayer
from bridges.upnp.search import RendererSearch
from connect.cli_common import add_version_flag
from connect.endpoint import Endpoint
from connect.errors import ConnectError
from taskowner import TaskOwner

if TYPE_CHECKING:
    from bridges.airplay.browse import FoundSpeaker

__all__ = ["build_parser", "main"]

_LOG = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 5.0
RETRY_FIRST_S = 1.0  # a named device not reachable at start: tried again after this, doubling
RETRY_CAP_S = 30.0
Maker = Callable[[], BridgedDevice]

EXAMPLES = """\
examples:
  baton-bridge --mpd localhost --interface eth0
  baton-bridge --mpd kitchen.local:6600 --name Kitchen --mpd 192.168.1.20 --interface eth0
  baton-bridge --browse-upnp --browse-mpd --interface eth0
  baton-bridge --airplay 192.168.1.30 --browse-airplay --interface eth0
  baton-bridge --snapcast localhost --interface eth0
"""


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of `baton-bridge`."""
    parser = argparse.ArgumentParser(
        prog="baton-bridge",
        description="Show devices you already own (MPD, UPnP/DLNA renderers, AirPlay "
        "speakers, Snapcast groups) as Baton devices "
        "on the local network.",
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
        "--upnp", action="append", default=[], metavar="URL",
        help="a UPnP/DLNA renderer to bridge: the URL of its device description (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--airplay", action="append", default=[], metavar="HOST[:PORT]",
        help="an AirPlay (RAOP) speaker to bridge (repeatable; port 5000 unless given)",
    )  # fmt: skip
    parser.add_argument(
        "--snapcast", action="append", default=[], metavar="HOST[:PORT]",
        help="a Snapcast server whose groups to bridge, each a device (repeatable; its "
        "JSON-RPC port, 1705 unless given; it needs a source named Baton: see the README)",
    )  # fmt: skip
    parser.add_argument(
        "--snapcast-buffer", type=int, default=DEFAULT_BUFFER_MS, metavar="MS",
        help="the Snapcast servers' `buffer` (ms, default %(default)s): fed -> heard",
    )  # fmt: skip
    parser.add_argument(
        "--browse-mpd", action="store_true",
        help="also bridge every MPD announced on mDNS (_mpd._tcp) on the --interface given",
    )  # fmt: skip
    parser.add_argument(
        "--browse-upnp", action="store_true",
        help="also bridge every UPnP/DLNA renderer answering SSDP on the --interface given",
    )  # fmt: skip
    parser.add_argument(
        "--browse-airplay", action="store_true",
        help="also bridge every AirPlay speaker announced on mDNS (_raop._tcp) on the "
        "--interface given",
    )  # fmt: skip
    parser.add_argument(
        "--interface", action="append", default=[], dest="interfaces", metavar="IF",
        help="interface name or address to listen, advertise and look on (repeatable); "
        "default: every interface except loopback, container bridges and link-local addresses",
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
    # The renderers' event notifications (UPnP GENA) arrive as HTTP requests: not news.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    if not (args.mpd or args.upnp or args.airplay or args.snapcast or args.browse_mpd
            or args.browse_upnp or args.browse_airplay):  # fmt: skip
        parser.error(
            "name a device to bridge (--mpd HOST[:PORT], --upnp URL, --airplay HOST[:PORT], "
            "--snapcast HOST[:PORT]), "
            "or --browse-..."
        )
    if len(args.name) > len(args.mpd):
        parser.error("each --name follows the --mpd it names")
    interfaces = tuple(args.interfaces)
    names = [*args.name, *[""] * len(args.mpd)]
    named: list[tuple[str, Maker]] = []
    for address, name in zip(args.mpd, names, strict=False):
        try:
            parse_address(address)
        except ValueError as exc:
            parser.error(str(exc))
        named.append(
            (f"MPD at {address}", functools.partial(_mpd_device, address, name, interfaces))
        )
    for url in args.upnp:
        named.append((f"the renderer at {url}", functools.partial(_upnp_device, url, interfaces)))
    for address in args.airplay:
        try:
            parse_airplay_address(address)
        except ValueError as exc:
            parser.error(str(exc))
        what = f"the AirPlay speaker at {address}"
        named.append((what, functools.partial(_airplay_device, address, interfaces)))
    servers = []
    for address in args.snapcast:
        try:
            servers.append(parse_snapcast(address))
        except ValueError as exc:
            parser.error(str(exc))
    bridge = _Bridge(interfaces, args.snapcast_buffer, browse_airplay=args.browse_airplay)
    try:
        return asyncio.run(bridge.async_serve(named, args.browse_mpd, args.browse_upnp, servers))
    except (BridgeError, ConnectError, OSError) as exc:
        print(f"baton-bridge: cannot start: {exc}", file=sys.stderr)
        return 1


def _upnp_device(url: str, interfaces: tuple[str, ...]) -> BridgedDevice:
    return BridgedDevice(UpnpPlayer(url), interfaces=interfaces)


def _airplay_device(address: str, interfaces: tuple[str, ...]) -> BridgedDevice:
    from bridges.airplay.player import AirPlayPlayer  # pyatv: 0.4 s to import

    host, port = parse_airplay_address(address)
    player = AirPlayPlayer(host, port, look_up_on=interfaces)
    return BridgedDevice(player, interfaces=interfaces)


def _mpd_device(
    address: str, name: str, interfaces: tuple[str, ...], *, id_host: str = ""
) -> BridgedDevice:
    host, port = parse_address(address)
    player = MpdPlayer(host, port, name=name, id_host=id_host)
    return BridgedDevice(player, interfaces=interfaces, name=name)


class _Bridge:
    """The devices of one bridge process: started, announced, found, closed."""

    def __init__(
        self, interfaces: tuple[str, ...], snapcast_buffer_ms: int, *, browse_airplay: bool = False
    ) -> None:
        self.interfaces = interfaces
        self.snapcast_buffer_ms = snapcast_buffer_ms
        self.browse_airplay = browse_airplay
        self.started: dict[str, BridgedDevice] = {}
        self.starting: set[str] = set()  # renderers' locations, MPDs' ids, being started
        self.tasks = TaskOwner("bridge", _LOG)
        self.watches: list[GroupWatch] = []  # the Snapcast servers' groups

    async def async_serve(
        self,
        named: list[tuple[str, Maker]],
        browse_mpd: bool,
        browse_upnp: bool,
        snapcast: Sequence[tuple[str, int]] = (),
    ) -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        _LOG.warning(
            "bridged devices are open: anyone on the network may control them (plain HTTP, "
            "no tokens), as the devices themselves are"
        )
        mpds = MpdBrowser(self.interfaces, self._found_mpd) if browse_mpd else None
        renderers = RendererSearch(self.interfaces, self._found_renderer) if browse_upnp else None
        speakers = None
        if self.browse_airplay:
            from bridges.airplay.browse import AirPlayBrowser

            speakers = AirPlayBrowser(self.interfaces, self._found_speaker)
        try:
            for what, make in named:
                await self._start_named(what, make)
            for host, port in snapcast:
                await self._start_snapcast(host, port)
            for browser in (mpds, renderers, speakers):
                if browser is not None:
                    await browser.async_start()
            await stop.wait()
        finally:
            for browser in (mpds, renderers, speakers):
                if browser is not None:
                    await browser.async_close()
            for watch in self.watches:
                await watch.async_close()
            await self.tasks.async_close(CLOSE_TIMEOUT_S)
            for device in reversed(self.started.values()):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(device.async_close(), CLOSE_TIMEOUT_S)
        return 0

    async def _start(self, device: BridgedDevice) -> None:
        where = await device.async_start()
        if where.device_id in self.started:  # found twice (named, and browsed)
            await device.async_close()
            return
        self.started[where.device_id] = device
        info = device.device_info()
        kind = device.player.describe().kind
        hosts = ", ".join(Endpoint(a, where.port).authority for a in where.addresses)
        print(
            f"baton-bridge: {info.name!r} ({kind}, id {where.device_id}) listening on {hosts}",
            flush=True,
        )

    async def _start_named(self, what: str, make: Maker) -> None:
        """Start a device named on the command line; one not reachable yet (it starts after
        the bridge, at boot) is tried again in the background, with backoff."""
        device = make()
        try:
            await self._start(device)
        except DeviceUnreachableError as exc:
            await device.async_close()
            _LOG.warning("%s: %s; trying again until it answers", what, exc)
            self.tasks.async_spawn(self._retry(what, make), f"reach {what}")
        except BaseException:
            await device.async_close()
            raise

    async def _retry(self, what: str, make: Maker) -> None:
        delay = RETRY_FIRST_S
        while True:
            await asyncio.sleep(delay)  # the backoff: a timer owned by this task
            device = make()
            try:
                await self._start(device)
            except (BridgeError, ConnectError, OSError) as exc:
                await device.async_close()
                _LOG.debug("%s: %s", what, exc)
                delay = min(RETRY_CAP_S, delay * 2)
                continue
            _LOG.info("%s: reached", what)
            return

    async def _start_snapcast(self, host: str, port: int) -> None:
        """Bridge each group of the Snapcast server with a client connected, now and as they
        come (bridges/snapcast/groups.py)."""
        claims = SourceClaims()  # the server's Baton sources, shared by its groups
        watch = GroupWatch(host, port, functools.partial(self._found_group, host, port, claims))
        self.watches.append(watch)
        await watch.async_start()

    def _found_group(self, host: str, port: int, claims: SourceClaims, group_id: str) -> None:
        key = snapcast_device_id(host, port, group_id)
        if key in self.started or key in self.starting:
            return
        player = SnapcastPlayer(
            host, port, group_id, claims=claims, buffer_ms=self.snapcast_buffer_ms
        )
        device = BridgedDevice(player, interfaces=self.interfaces)
        self._start_found(key, device, f"group {group_id} of the Snapcast server at {host}:{port}")

    def _found_mpd(self, mpd: FoundMpd) -> None:
        key = mpd_device_id(mpd.host, mpd.port)
        if key in self.started or key in self.starting:
            return
        address = f"[{mpd.address}]:{mpd.port}"
        device = _mpd_device(address, mpd.name, self.interfaces, id_host=mpd.host)
        self._start_found(key, device, f"{mpd.name} at {address}")

    def _found_renderer(self, location: str) -> None:
        if location in self.starting:
            return
        device = BridgedDevice(UpnpPlayer(location), interfaces=self.interfaces)
        self._start_found(location, device, f"the renderer at {location}")

    def _found_speaker(self, speaker: FoundSpeaker) -> None:
        from bridges.airplay.player import AirPlayPlayer

        player = AirPlayPlayer(
            speaker.address, speaker.port, name=speaker.name, hardware_id=speaker.hardware_id,
            properties=speaker.properties,
        )  # fmt: skip
        key = player.device_id
        if key in self.started or key in self.starting:
            return
        device = BridgedDevice(player, interfaces=self.interfaces)
        self._start_found(key, device, f"{speaker.name} at {speaker.address}:{speaker.port}")

    def _start_found(self, key: str, device: BridgedDevice, what: str) -> None:
        self.starting.add(key)

        async def start() -> None:
            try:
                await self._start(device)
            except (BridgeError, ConnectError, OSError) as exc:
                _LOG.warning("%s: cannot bridge it: %s", what, exc)
                self.starting.discard(key)  # tried again when it is found again
                await device.async_close()

        self.tasks.async_spawn(start(), f"start {what}")
