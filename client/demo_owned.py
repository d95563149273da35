"""The devices people already own in the demo: an MPD (client/demo_bridges.py) and a UPnP
renderer (client/demo_upnp.py), each bridged, and the network they live in."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from client.demo_bridges import DemoBridge
from client.demo_netns import PrivateNetwork
from client.demo_traces import DemoCollector
from client.demo_upnp import DemoRenderer


class OwnedDevices:
    """The demo's network and the devices people already own in it: an MPD, a UPnP renderer."""

    def __init__(self, network: PrivateNetwork | None, why_not: str, audio: str) -> None:
        self.network = network
        self.devices = (DemoBridge(), DemoRenderer(network, why_not, audio))
        self.started: list[tuple[str, str]] = []  # (id, name) of those that started

    def collector(self) -> DemoCollector:
        """Return the demo's collector, its viewer on this machine's loopback."""
        return DemoCollector(self.network.viewer_socket if self.network else None)

    def say_where(self, say: Callable[[str], None]) -> None:
        """Say in which network the demo runs, if it has one of its own."""
        if self.network is not None:
            say(
                "the demo runs in a network of its own (a namespace with loopback and the "
                f"link {self.network.link} for the UPnP renderer): nothing it sends leaves it"
            )

    async def async_start(self, work: Path, say: Callable[[str], None]) -> None:
        """Start each device that can start here; say why not for the others."""
        for device in self.devices:
            if await device.async_start(work, say):
                self.started.append((device.device_id, device.name))

    async def async_close(self) -> None:
        """Stop them all."""
        for device in self.devices:
            await device.async_close()
