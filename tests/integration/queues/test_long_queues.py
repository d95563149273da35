"""A queue of 50 000 items over a real session: queued in frames, echoed in windows, paged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from connect.paths import WS_PATH
from connect.session import DeviceConnection, Endpoint, StateChanged
from connect.session.connection import Backoff
from connect.session.queue_upload import async_play_items, items_for_urls
from connect.session.queue_view import QueueView
from connect.wire import codec
from connect.wire import messages as m
from tests.fakes import MemoryHost
from tests.waiting import until

ME = m.ClientIdentity("ctl-1", "Test controller")
URLS = [
    f"http://192.168.1.20:8000/media/Artist {i % 977}/Album/{i:05d} Track.flac"
    for i in range(50_000)
]


@pytest.fixture
async def host() -> AsyncIterator[MemoryHost]:
    host = MemoryHost()
    host.port = await host.server.async_start(["127.0.0.1"], 0)  # type: ignore[attr-defined]
    yield host
    await host.server.async_close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def connected(host: MemoryHost, http: aiohttp.ClientSession) -> DeviceConnection:
    async def resolve() -> Endpoint:
        return Endpoint("127.0.0.1", host.port)  # type: ignore[attr-defined]

    conn = DeviceConnection(host.info.id, resolve, ME, http, backoff=Backoff(0.05, 0.2))
    conn.async_start()
    await conn.async_wait_connected(5)
    return conn


async def test_fifty_thousand_items_are_queued_echoed_in_windows_and_paged(host, http) -> None:
    conn = await connected(host, http)
    watcher = await connected(host, http)
    echoed: list[int] = []
    watcher.subscribe(
        lambda e: (
            echoed.append(len(codec.encode(m.Envelope(1, "x", e.snapshot))))
            if isinstance(e, StateChanged)
            else None
        )
    )
    view = QueueView(watcher)
    items = items_for_urls(URLS)
    uploaded = await async_play_items(conn, items, timeout=30)
    assert uploaded.items == 50_000
    assert uploaded.result.ok
    assert host.state.queue == items
    assert host.state.current_uid == items[0].uid
    # Every echo, to a controller that was not sending, stays far under the frame limit.
    assert max(echoed) < m.MAX_FRAME_BYTES // 3
    volume = await conn.async_command(m.SetVolume(31))
    assert volume.ok
    await until(lambda: watcher.state is not None and watcher.state.volume == 31, 5, "the echo")
    assert echoed[-1] < 8192  # a volume step: a 64-item window, whatever the queue's length
    assert view.length == 50_000
    held = view.mirror.known()
    assert await view.async_fetch(0, 50_000) == 50_000 - held
    assert list(view.mirror) == list(items)
    await conn.async_close()
    await watcher.async_close()


async def test_an_older_controller_gets_what_fits(host, http) -> None:
    conn = await connected(host, http)
    await async_play_items(conn, items_for_urls(URLS), timeout=30)
    await conn.async_close()
    old = m.VersionRange(m.ProtocolVersion(1, 0), m.ProtocolVersion(1, 0))
    ws = await http.ws_connect(f"ws://127.0.0.1:{host.port}{WS_PATH}", max_msg_size=0)
    await ws.send_bytes(codec.encode(m.Envelope(1, "h", m.Hello(old, ME))))
    welcome = codec.decode((await ws.receive(timeout=5)).data).body
    assert isinstance(welcome, m.Welcome)
    assert welcome.version == m.ProtocolVersion(1, 0)
    frame = (await ws.receive(timeout=5)).data
    assert 900_000 < len(frame) <= m.MAX_FRAME_BYTES
    snapshot = codec.decode(frame).body
    assert isinstance(snapshot, m.StateSnapshot)
    assert snapshot.state.current_item is not None
    assert snapshot.state.queue_revision == host.state.queue_revision
    await ws.close()
