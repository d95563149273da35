"""Every Command gets a CommandResult (Baton issue 13, item 8).

A controller waits on its `command_id`: a device that answered a refused command with only an
`Error` frame left it waiting until its own timeout. These send, over a real session, the
commands a controller written from the .proto could send and our encoder would not: values
out of range, bad uids, a broken envelope around a readable command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import WSMsgType, web

from connect.paths import WS_PATH
from connect.session import DeviceConnection, Endpoint
from connect.session.connection import Backoff
from connect.wire import codec
from connect.wire import messages as m
from connect.wire._pb import connect_pb2 as pb
from tests.fakes import MemoryHost

ME = m.ClientIdentity("ctl-1", "Test controller")


@pytest.fixture
async def host() -> AsyncIterator[MemoryHost]:
    host = MemoryHost()
    host.port = await host.server.async_start(["127.0.0.1"], 0)  # type: ignore[attr-defined]
    yield host
    await host.server.async_close()


@pytest.fixture
async def ws(host: MemoryHost) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as http:
        url = f"ws://127.0.0.1:{host.port}{WS_PATH}"  # type: ignore[attr-defined]
        socket = await http.ws_connect(url)
        await socket.send_bytes(codec.encode(m.Envelope(1, "h", m.Hello(m.PROTOCOL_V1, ME))))
        assert isinstance(codec.decode((await socket.receive(timeout=5)).data).body, m.Welcome)
        yield socket
        await socket.close()


async def answer_to(ws: aiohttp.ClientWebSocketResponse, wire: pb.Envelope) -> m.Body:
    """Send *wire* and return the first CommandResult or Error that comes back."""
    await ws.send_bytes(wire.SerializeToString())
    while True:
        body = codec.decode((await ws.receive(timeout=5)).data).body
        if isinstance(body, m.CommandResult | m.Error):
            return body


def command(command_id: str = "cmd-1", seq: int = 2, msg_id: str = "m2") -> pb.Envelope:
    wire = pb.Envelope(seq=seq, msg_id=msg_id)
    wire.command.command_id = command_id
    return wire


def queue_of(wire: pb.Envelope, *uids: str) -> pb.Envelope:
    for uid in uids:
        wire.command.set_queue.items.add(uid=uid, url=f"http://127.0.0.1:9/{uid}.wav")
    return wire


async def test_volume_above_100_is_clamped_as_the_proto_says(ws, host) -> None:
    wire = command()
    wire.command.set_volume.volume = 150
    result = await answer_to(ws, wire)
    assert isinstance(result, m.CommandResult)
    assert (result.command_id, result.failure) == ("cmd-1", None)
    assert host.state.volume == 100


async def test_set_queue_with_an_unknown_start_uid_is_not_found(ws, host) -> None:
    wire = queue_of(command(), "a", "b")
    wire.command.set_queue.start_uid = "zzz"
    before = host.state
    result = await answer_to(ws, wire)
    assert isinstance(result, m.CommandResult)
    assert result.command_id == "cmd-1"
    assert result.failure is not None
    assert result.failure.code is m.ErrorCode.NOT_FOUND
    assert "zzz" in result.failure.message
    assert (result.revision, host.state) == (before.revision, before)


@pytest.mark.parametrize(
    ("uids", "says"),
    [(("a", "a"), "twice"), (("a", ""), "without uid"), (("a", "u" * 129), "128 bytes")],
)
async def test_bad_uids_get_invalid_argument_by_command_id(ws, host, uids, says) -> None:
    before = host.state
    result = await answer_to(ws, queue_of(command("cmd-uids"), *uids))
    assert isinstance(result, m.CommandResult)
    assert result.command_id == "cmd-uids"
    assert result.failure is not None
    assert result.failure.code is m.ErrorCode.INVALID_ARGUMENT
    assert says in result.failure.message
    assert (result.revision, host.state) == (before.revision, before)
    assert host.commands_seen == []  # refused before the host saw it


async def test_a_readable_command_in_a_broken_envelope_is_answered_malformed(ws, host) -> None:
    wire = command("cmd-seq", seq=0)  # no sequence number
    wire.command.pause.SetInParent()
    result = await answer_to(ws, wire)
    assert isinstance(result, m.CommandResult)
    assert result.command_id == "cmd-seq"
    assert result.failure is not None
    assert result.failure.code is m.ErrorCode.MALFORMED


async def test_a_command_id_that_cannot_be_echoed_gets_an_error_frame(ws, host) -> None:
    wire = command("c" * 129)  # over the 128-byte identifier limit: no id to answer
    wire.command.pause.SetInParent()
    error = await answer_to(ws, wire)
    assert isinstance(error, m.Error)
    assert error.code is m.ErrorCode.MALFORMED
    assert error.ref_seq == 2


@pytest.mark.warning_logs(r"device reports MALFORMED")
async def test_a_controller_facing_an_error_frame_does_not_wait_for_its_timeout() -> None:
    # An older or foreign device may still answer a refused command with Error(ref_seq) only:
    # the controller ends the command there, with that typed failure, not after its timeout.
    async def session(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        welcome = m.Welcome(
            m.ProtocolVersion(1, 0), m.Role.CONTROLLER, MemoryHost().info, "c1", 1000
        )
        seq = 0
        async for message in socket:
            if message.type is not WSMsgType.BINARY:
                break
            envelope = codec.decode(message.data)
            seq += 1
            if isinstance(envelope.body, m.Hello):
                await socket.send_bytes(codec.encode(m.Envelope(seq, f"w{seq}", welcome)))
                state = m.PlaybackState("s", 7, device_id="dev-test")
                seq += 1
                snapshot = m.StateSnapshot(state, m.StateChangeReason.INITIAL)
                await socket.send_bytes(codec.encode(m.Envelope(seq, f"s{seq}", snapshot)))
            elif isinstance(envelope.body, m.Command):
                refusal = m.Error(m.ErrorCode.MALFORMED, "no", envelope.seq, envelope.msg_id)
                await socket.send_bytes(codec.encode(m.Envelope(seq, f"e{seq}", refusal)))
        return socket

    app = web.Application()
    app.router.add_get(WS_PATH, session)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]

    async def resolve() -> Endpoint:
        return Endpoint("127.0.0.1", port)

    async with aiohttp.ClientSession() as http:
        conn = DeviceConnection("dev-test", resolve, ME, http, backoff=Backoff(0.05, 0.2))
        conn.async_start()
        try:
            await conn.async_wait_connected(5)
            result = await conn.async_command(
                m.Pause(), timeout=10
            )  # its timeout would fail the test
            assert result.failure == m.Failure(m.ErrorCode.MALFORMED, "no")
            assert result.revision == 7
        finally:
            await conn.async_close()
            await runner.cleanup()
