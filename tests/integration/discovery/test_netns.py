"""An advertiser in one network namespace found by a registry in another, over a veth pair."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from typing import Any

import pytest

from tests.integration.discovery.peers import STEP_TIMEOUT_S, AdvertiserProcess, parse_event
from tests.netns import NetnsPair, netns_pair, netns_skip_reason

pytestmark = pytest.mark.netns


class BrowserProcess:
    """`peers.py` run as a controller stand-in inside a namespace: reads its JSON events."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, pair: NetnsPair, side, interface: str | None) -> BrowserProcess:
        argv = [sys.executable, "-m", "tests.integration.discovery.peers"]
        argv += [interface] if interface else []  # none: the registry's default choice
        proc = await pair.async_start(
            side, argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        browser = cls(proc)
        assert (await browser.next_event())["event"] == "started"
        return browser

    async def next_event(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        async with asyncio.timeout(STEP_TIMEOUT_S):
            line = await self.proc.stdout.readline()
        assert line, "the browsing process ended early"
        return parse_event(line.decode())

    async def wait_for(self, predicate) -> dict[str, Any]:
        while True:
            event = await self.next_event()
            if event["event"] != "started" and predicate(event):
                return event

    async def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        async with asyncio.timeout(STEP_TIMEOUT_S):
            assert await self.proc.wait() == 0


async def test_found_across_the_veth_and_follows_a_new_address(netns: NetnsPair):
    browser = await BrowserProcess.start(netns, "b", netns.address("b"))
    advertiser = await AdvertiserProcess.start(
        "Pi in A", "dev-ns-a", (netns.links["a"],), "--poll-interval", "0.2",
        wrap=lambda argv: netns.exec_argv("a", argv),
    )  # fmt: skip
    try:
        found = await browser.wait_for(lambda e: e["id"] == "dev-ns-a")
        assert found["name"] == "Pi in A"
        assert found["addresses"] == [netns.address("a")]
        assert found["mdns_present"]

        # A second address on the advertised interface (DHCP renumbering, a new subnet) is
        # picked up by the interface watcher and re-announced.
        netns.add_address("a", "10.213.0.11/24")
        moved = await browser.wait_for(
            lambda e: e["id"] == "dev-ns-a" and "10.213.0.11" in e["addresses"]
        )
        assert set(moved["addresses"]) == {netns.address("a"), "10.213.0.11"}

        await advertiser.close()
        gone = await browser.wait_for(lambda e: e["id"] == "dev-ns-a" and not e["mdns_present"])
        assert gone["event"] == "DeviceUpdated"  # goodbye: not present, still known
    finally:
        await advertiser.kill()
        with contextlib.suppress(AssertionError, TimeoutError):
            await browser.close()


async def test_controller_follows_a_new_interface_and_asks_who_is_there(netns: NetnsPair):
    # A second link whose controller end has no address yet: the receiver announces there
    # while nobody listens, so only a query from the controller can find it later.
    second = netns.add_link()
    netns.add_address("a", "10.214.0.1/24", link=second["a"])
    advertiser = await AdvertiserProcess.start(
        "Quiet", "dev-quiet", (second["a"],), wrap=lambda argv: netns.exec_argv("a", argv)
    )
    browser = await BrowserProcess.start(netns, "b", None)  # the default interface choice
    try:
        # The controller's machine joins the second network (Wi-Fi associates, DHCP answers).
        netns.add_address("b", "10.214.0.2/24", link=second["b"])
        found = await browser.wait_for(lambda e: e["id"] == "dev-quiet")
        assert found["addresses"] == ["10.214.0.1"]
    finally:
        await advertiser.kill()
        with contextlib.suppress(AssertionError, TimeoutError):
            await browser.close()


def test_netns_helper_flips_the_link_and_cleans_up():
    if reason := netns_skip_reason():
        pytest.skip(reason)
    with netns_pair() as pair:
        names = dict(pair.names)
        link = pair.links["a"]
        assert "UP" in pair.run("a", ["ip", "-br", "link", "show", link]).split()[1]
        pair.set_link("a", up=False)
        assert pair.run("a", ["ip", "-br", "link", "show", link]).split()[1] == "DOWN"
        pair.set_link("a", up=True)
        assert pair.address("b") in pair.run("b", ["ip", "-br", "addr"])
        sleeper = pair.popen("b", ["sleep", "60"])
    assert sleeper.returncode is not None  # processes started in a namespace are ended
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert not set(names.values()) & {line.split()[0] for line in listed.stdout.splitlines()}
