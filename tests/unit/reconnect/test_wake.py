"""A waiting reconnect is woken by a sign the device is back, not left to its backoff.

Each connection here waits a minute between attempts; every test's deadline is far shorter, so
a pass means the wait was cut short by the signal. Real loopback sockets, mDNS on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from connect.controller import Controller
from connect.discovery import DeviceRegistry, ServiceRecord
from connect.discovery.registry import ReachableHint
from connect.errors import ConnectionLostError
from connect.session import DeviceConnection, Endpoint
from connect.session.connection import Backoff
from connect.wire import messages as m
from tests.fakes import MemoryHost
from tests.integration.discovery.peers import STEP_TIMEOUT_S, AdvertiserProcess
from tests.waiting import until

ME = m.ClientIdentity("ctl-wake", "Wake test controller")
A_MINUTE = Backoff(first_s=60, ceiling_s=60, recent_ceiling_s=60, woken_gap_s=0)
DEADLINE_S = 10.0  # well under A_MINUTE's delay


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_retry_now_starts_the_next_attempt_at_once(http) -> None:
    attempts: list[asyncio.Event] = [asyncio.Event(), asyncio.Event()]

    async def resolve() -> Endpoint:
        for seen in attempts:
            if not seen.is_set():
                seen.set()
                break
        raise ConnectionLostError("nobody home")

    conn = DeviceConnection("dev-away", resolve, ME, http, backoff=A_MINUTE)
    conn.async_start()
    try:
        await asyncio.wait_for(attempts[0].wait(), DEADLINE_S)
        await until(lambda: conn.last_error == "nobody home", DEADLINE_S, "the first failure")
        assert not attempts[1].is_set()
        conn.async_retry_now("heard on mDNS")
        await asyncio.wait_for(attempts[1].wait(), DEADLINE_S)
    finally:
        await conn.async_close()


async def test_a_manual_host_answering_again_brings_the_session_back(http) -> None:
    first = MemoryHost("dev-manual")
    port = await first.server.async_start(["127.0.0.1"], 0)
    await first.server.async_close()  # the device is gone while the controller first tries
    controller = Controller(ME, browse=False)
    await controller.async_start()
    back = MemoryHost("dev-manual")
    try:
        controller.registry.async_add_manual("127.0.0.1", port)
        record = ServiceRecord(
            "Manual", "dev-manual", pairing=m.PairingMode.OPEN, addresses=("127.0.0.1",), port=port
        )
        controller.registry.async_report_manual("127.0.0.1", port, record)
        conn = controller.connection("dev-manual")
        conn._backoff = A_MINUTE  # before its task first runs: every wait is a minute
        await until(lambda: bool(conn.last_error), DEADLINE_S, "the first failed attempt")
        await back.server.async_start(["127.0.0.1"], port)
        # What the manual-host poller does when the host answers its GET /info again.
        controller.registry.async_report_manual("127.0.0.1", port, record)
        await conn.async_wait_connected(DEADLINE_S)
    finally:
        await controller.async_close()
        await back.server.async_close()


async def test_the_registry_hints_when_the_browser_hears_a_device() -> None:
    registry = DeviceRegistry(interfaces=["127.0.0.1"])
    heard: asyncio.Future[ReachableHint] = asyncio.get_running_loop().create_future()

    def on_hint(hint: ReachableHint) -> None:
        if hint.device_id == "dev-heard" and not heard.done():
            heard.set_result(hint)

    registry.subscribe_hints(on_hint)
    await registry.async_start()
    peer = await AdvertiserProcess.start("Heard", "dev-heard", ("127.0.0.1",))
    try:
        hint = await asyncio.wait_for(heard, STEP_TIMEOUT_S)
        assert hint.why == "heard on mDNS"
    finally:
        await peer.kill()
        await registry.async_close()


async def test_the_controller_wakes_only_the_connection_a_hint_names(http) -> None:
    controller = Controller(ME, browse=False)
    await controller.async_start()
    try:
        for port, device in ((9, "dev-a"), (10, "dev-b")):
            controller.registry.async_add_manual("127.0.0.1", port)
            controller.registry.async_report_manual(
                "127.0.0.1", port, ServiceRecord(device, device, pairing=m.PairingMode.OPEN)
            )
        woken: list[str] = []
        for device in ("dev-a", "dev-b"):
            conn = controller.connection(device)
            conn.async_retry_now = lambda why, device=device: woken.append(device)  # type: ignore[method-assign]
        controller._on_hint(ReachableHint("dev-b", "heard on mDNS"))
        assert woken == ["dev-b"]
        controller._on_hint(ReachableHint("", "browsing now on 192.0.2.7"))
        assert sorted(woken) == ["dev-a", "dev-b", "dev-b"]
    finally:
        await controller.async_close()
