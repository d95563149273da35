"""A SessionServer and DeviceConnections talking over real loopback sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from connect.errors import ConnectTimeoutError
from connect.paths import WS_PATH
from connect.session import (
    Connected,
    ConnectionEvent,
    DeviceConnection,
    Dial,
    Disconnected,
    Endpoint,
    StateChanged,
    async_lean_dial,
)
from connect.session.connection import Backoff
from connect.wire import codec
from connect.wire import messages as m
from tests.fakes import MemoryHost

ME = m.ClientIdentity("ctl-1", "Test controller")
FAST = Backoff(first_s=0.05, ceiling_s=0.2)


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


@pytest.fixture(params=["aiohttp", "lean"])
def dial(request: pytest.FixtureRequest) -> Dial | None:
    """The WebSocket client of the connections under test: aiohttp's (None), or the lean one."""
    return async_lean_dial if request.param == "lean" else None


def connect_to(
    host: MemoryHost, http: aiohttp.ClientSession, dial: Dial | None = None, **kw
) -> DeviceConnection:
    async def resolve() -> Endpoint:
        return Endpoint("127.0.0.1", host.port)  # type: ignore[attr-defined]

    return DeviceConnection(host.info.id, resolve, ME, http, dial=dial, backoff=FAST, **kw)


async def wait_for_event(
    conn: DeviceConnection, match: Callable[[ConnectionEvent], bool], timeout: float = 5
) -> ConnectionEvent:
    future: asyncio.Future[ConnectionEvent] = asyncio.get_running_loop().create_future()

    def listener(event: ConnectionEvent) -> None:
        if match(event) and not future.done():
            future.set_result(event)

    unsubscribe = conn.subscribe(listener)
    try:
        return await asyncio.wait_for(future, timeout)
    finally:
        unsubscribe()


async def test_connect_receives_welcome_and_initial_state(host, http, dial) -> None:
    conn = connect_to(host, http, dial)
    first_state = asyncio.ensure_future(wait_for_event(conn, lambda e: isinstance(e, StateChanged)))
    conn.async_start()
    await conn.async_wait_connected(5)
    event = await first_state
    assert isinstance(event, StateChanged)
    assert event.snapshot.reason is m.StateChangeReason.INITIAL
    assert conn.welcome is not None
    assert conn.welcome.version == m.PROTOCOL_V1.highest
    assert conn.welcome.role is m.Role.CONTROLLER
    assert conn.welcome.device.name == "Test Speaker"
    await conn.async_close()


async def test_command_result_and_echo_reach_both_controllers(host, http, dial) -> None:
    one, two = connect_to(host, http, dial), connect_to(host, http)
    for conn in (one, two):
        conn.async_start()
        await conn.async_wait_connected(5)
    echo = asyncio.ensure_future(
        wait_for_event(
            two,
            lambda e: isinstance(e, StateChanged) and e.snapshot.state.volume == 77,
        )
    )
    result = await one.async_command(m.SetVolume(77))
    assert result.ok
    event = await echo
    assert isinstance(event, StateChanged)
    assert event.snapshot.state.last_command_id == result.command_id
    assert event.snapshot.state.revision == result.revision
    await one.async_close()
    await two.async_close()


async def test_stale_expected_revision_is_a_typed_conflict(host, http, dial) -> None:
    conn = connect_to(host, http, dial)
    conn.async_start()
    await conn.async_wait_connected(5)
    result = await conn.async_command(m.SetVolume(10), expected_revision=host.state.revision + 5)
    assert result.failure is not None
    assert result.failure.code is m.ErrorCode.CONFLICT
    assert host.state.volume == 50  # unchanged
    await conn.async_close()


async def test_clock_offset_is_estimated(host, http, dial) -> None:
    conn = connect_to(host, http, dial)
    conn.async_start()
    await conn.async_wait_connected(5)
    await conn.async_sync_clock(samples=3)
    estimate = conn.clock
    assert estimate is not None
    # Same host, same monotonic clock: the offset is within the round trip of zero.
    assert abs(estimate.offset_us) <= estimate.delay_us + 1000
    await conn.async_close()


async def test_server_restart_is_followed_by_a_reconnect(http, dial) -> None:
    host = MemoryHost()
    port = await host.server.async_start(["127.0.0.1"], 0)

    async def resolve() -> Endpoint:
        return Endpoint("127.0.0.1", port)

    conn = DeviceConnection(host.info.id, resolve, ME, http, dial=dial, backoff=FAST)
    conn.async_start()
    await conn.async_wait_connected(5)
    lost = asyncio.ensure_future(wait_for_event(conn, lambda e: isinstance(e, Disconnected)))
    await host.server.async_close()
    await lost
    back = asyncio.ensure_future(wait_for_event(conn, lambda e: isinstance(e, Connected)))
    again = MemoryHost()
    await again.server.async_start(["127.0.0.1"], port)
    await back
    assert conn.connected
    await conn.async_close()
    await again.server.async_close()


async def test_unreachable_device_times_out_with_the_reason(http, dial) -> None:
    async def resolve() -> Endpoint:
        return Endpoint("127.0.0.1", 9)  # discard port: nothing listens

    conn = DeviceConnection("nobody", resolve, ME, http, dial=dial, backoff=FAST)
    conn.async_start()
    with pytest.raises(ConnectTimeoutError, match="not reachable"):
        await conn.async_wait_connected(0.5)
    await conn.async_close()


# ---------------------------------------------------------------- raw frames against a server


async def raw_session(
    http: aiohttp.ClientSession, port: int, host: str = "127.0.0.1"
) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"ws://{host}:{port}{WS_PATH}", max_msg_size=0)
    hello = m.Hello(m.PROTOCOL_V1, ME)
    await ws.send_bytes(codec.encode(m.Envelope(1, "h", hello)))
    welcome = codec.decode((await ws.receive(timeout=5)).data).body
    assert isinstance(welcome, m.Welcome)
    return ws


async def next_body(ws: aiohttp.ClientWebSocketResponse, kind: type) -> m.Body:
    while True:
        body = codec.decode((await ws.receive(timeout=5)).data).body
        if isinstance(body, kind):
            return body


async def test_garbage_and_oversized_frames_get_typed_errors_and_others_carry_on(
    host, http, dial
) -> None:
    bystander = connect_to(host, http, dial)
    bystander.async_start()
    await bystander.async_wait_connected(5)
    ws = await raw_session(http, host.port)
    await ws.send_bytes(b"\xff\xfe garbage")
    error = await next_body(ws, m.Error)
    assert error.code is m.ErrorCode.MALFORMED
    await ws.send_bytes(b"\x08\x05" + b"\xfa\x07\x83\x80\x40" + b"x" * (m.MAX_FRAME_BYTES + 3))
    error = await next_body(ws, m.Error)
    assert error.code is m.ErrorCode.TOO_LARGE
    await ws.send_bytes(codec.encode(m.Envelope(2, "x", m.Heartbeat())) + b"\xc2\x02\x00")
    # That frame has a Heartbeat body plus field 40: a known body, unknown field: ignored.
    await ws.send_str("text is not used")
    error = await next_body(ws, m.Error)
    assert error.code is m.ErrorCode.MALFORMED
    # The misbehaving session is still up, and so is the other controller's.
    await ws.send_bytes(codec.encode(m.Envelope(3, "c", m.Command("c-1", m.SetVolume(12)))))
    result = await next_body(ws, m.CommandResult)
    assert result.ok
    assert (await bystander.async_command(m.SetVolume(13))).ok
    await ws.close()
    await bystander.async_close()


async def test_unknown_body_gets_unsupported(host, http) -> None:
    ws = await raw_session(http, host.port)
    await ws.send_bytes(b"\x08\x02\x12\x01u" + b"\xc2\x02\x00")  # seq 2, field 40 only
    error = await next_body(ws, m.Error)
    assert error.code is m.ErrorCode.UNSUPPORTED
    assert error.ref_seq == 2
    await ws.close()


async def test_newer_major_version_gets_goodbye_with_the_supported_range(host, http) -> None:
    ws = await http.ws_connect(f"ws://127.0.0.1:{host.port}{WS_PATH}")
    future = m.VersionRange(m.ProtocolVersion(2, 0), m.ProtocolVersion(3, 1))
    await ws.send_bytes(codec.encode(m.Envelope(1, "h", m.Hello(future, ME))))
    goodbye = codec.decode((await ws.receive(timeout=5)).data).body
    assert isinstance(goodbye, m.Goodbye)
    assert goodbye.reason is m.GoodbyeReason.VERSION
    assert goodbye.supported == m.PROTOCOL_V1
    await ws.close()


async def test_info_endpoint_serves_protobuf_and_json(host, http) -> None:
    url = f"http://127.0.0.1:{host.port}/connect/v1/info"
    async with http.get(url) as response:
        info = codec.decode_device_info(await response.read())
    assert info.id == host.info.id
    async with http.get(url, headers={"Accept": "application/json"}) as response:
        assert response.content_type == "application/json"
        assert codec.device_info_from_json(await response.text()).name == "Test Speaker"


async def test_a_device_that_says_goodbye_ends_the_session_on_purpose(http) -> None:
    host = MemoryHost()
    port = await host.server.async_start(["127.0.0.1"], 0)

    async def resolve() -> Endpoint:
        return Endpoint("127.0.0.1", port)

    conn = DeviceConnection(host.info.id, resolve, ME, http, backoff=FAST)
    conn.async_start()
    await conn.async_wait_connected(5)
    lost = asyncio.ensure_future(wait_for_event(conn, lambda e: isinstance(e, Disconnected)))
    await host.server.async_close()  # Goodbye(SHUTDOWN) to every controller
    event = await lost
    assert isinstance(event, Disconnected)
    assert event.goodbye
    assert "said goodbye (shutdown)" in event.reason
    await conn.async_close()
