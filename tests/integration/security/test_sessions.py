"""Sessions of a real pin-mode receiver: tokens in Hello, roles, and revocation."""

from __future__ import annotations

import asyncio

import pytest

from connect.wire import codec
from connect.wire import messages as m
from devices import cli
from tests.integration.security.conftest import PinDevice, client, next_body

pytestmark = pytest.mark.slow


async def test_a_hello_without_a_valid_token_is_told_unauthenticated(device: PinDevice) -> None:
    for token in ("", "0a1b2c3d." + "A" * 43, "not a token"):
        ws, answer = await device.open_session(token, client("mallory"))
        assert isinstance(answer, m.Goodbye)
        assert answer.reason is m.GoodbyeReason.UNAUTHENTICATED
        await ws.close()


async def test_a_revoked_token_is_told_revoked_whenever_it_comes_back(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    ben = await device.paired_token(client("ben"))
    response = await device.http.delete(
        f"{device.base}/connect/v1/tokens/{ben.split('.')[0]}",
        headers={"Authorization": f"Bearer {owner}"},
        ssl=device.pinned,
    )
    assert response.status == 204
    # Ben was not connected: he learns it at his next Hello, not as "needs pairing".
    ws, answer = await device.open_session(ben, client("ben"))
    await ws.close()
    assert isinstance(answer, m.Goodbye)
    assert answer.reason is m.GoodbyeReason.REVOKED
    # The owner endpoints say so too, before any question of role.
    listing = await device.http.get(
        f"{device.base}/connect/v1/tokens",
        headers={"Authorization": f"Bearer {ben}"},
        ssl=device.pinned,
    )
    assert listing.status == 401
    assert codec.decode_failure(await listing.read()).code is m.ErrorCode.REVOKED
    # Someone who knows only the token's public id is not told anything about it.
    ws, answer = await device.open_session(ben.split(".")[0] + "." + "A" * 43, client("eve"))
    await ws.close()
    assert isinstance(answer, m.Goodbye)
    assert answer.reason is m.GoodbyeReason.UNAUTHENTICATED


async def test_the_session_gets_the_weaker_of_token_and_requested_role(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    ws, welcome = await device.open_session(owner, client("anna"), m.Role.GUEST)
    assert isinstance(welcome, m.Welcome)
    assert welcome.role is m.Role.GUEST
    await ws.close()


async def test_an_observer_command_is_forbidden_and_changes_nothing(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    observer = await device.paired_token(client("olive"), bearer=owner, role=m.Role.OBSERVER)
    ws, welcome = await device.open_session(observer, client("olive"))
    assert isinstance(welcome, m.Welcome)
    assert welcome.role is m.Role.OBSERVER
    before = device.receiver.state
    command = m.Command("c1", m.SetVolume(5))
    await ws.send_bytes(_frame(2, command))
    result = await next_body(ws, skip=(m.StateSnapshot,))
    assert isinstance(result, m.CommandResult)
    assert result.failure is not None
    assert result.failure.code is m.ErrorCode.FORBIDDEN
    assert result.revision == before.revision
    assert device.receiver.state == before
    await ws.close()


async def test_a_guest_may_not_transfer_playback_away(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    guest = await device.paired_token(client("gus"), bearer=owner, role=m.Role.GUEST)
    ws, welcome = await device.open_session(guest, client("gus"))
    assert isinstance(welcome, m.Welcome)
    assert welcome.role is m.Role.GUEST
    before = device.receiver.state
    await ws.send_bytes(_frame(2, m.TransferCommit("t1", m.TransferRole.SOURCE, 0)))
    answer = await next_body(ws, skip=(m.StateSnapshot,))
    assert isinstance(answer, m.TransferRejected)
    assert answer.failure.code is m.ErrorCode.FORBIDDEN
    assert device.receiver.state == before
    # A command is fine for a guest.
    await ws.send_bytes(_frame(3, m.Command("c2", m.SetVolume(20))))
    result = await next_body(ws, skip=(m.StateSnapshot,))
    assert isinstance(result, m.CommandResult)
    assert result.ok, result.failure
    await ws.close()


async def test_revoking_over_https_ends_the_live_session(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    ben = await device.paired_token(client("ben"))
    ws, welcome = await device.open_session(ben, client("ben"))
    assert isinstance(welcome, m.Welcome)
    response = await device.http.delete(
        f"{device.base}/connect/v1/tokens/{ben.split('.')[0]}",
        headers={"Authorization": f"Bearer {owner}"},
        ssl=device.pinned,
    )
    assert response.status == 204
    goodbye = await next_body(ws, skip=(m.StateSnapshot,))
    assert isinstance(goodbye, m.Goodbye)
    assert goodbye.reason is m.GoodbyeReason.REVOKED
    await ws.close()
    again, answer = await device.open_session(ben, client("ben"))
    assert isinstance(answer, m.Goodbye)
    assert answer.reason is m.GoodbyeReason.REVOKED  # never valid again, and told why
    await again.close()


async def test_revoking_with_the_cli_ends_the_live_session(
    device: PinDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    await device.paired_token(client("anna"))
    ben = await device.paired_token(client("ben"))
    ws, welcome = await device.open_session(ben, client("ben"))
    assert isinstance(welcome, m.Welcome)
    state_dir = str(device.state_dir)
    assert await asyncio.to_thread(cli.main, ["tokens", "list", "--state-dir", state_dir]) == 0
    listing = capsys.readouterr().out
    assert ben.split(".")[0] in listing
    assert "ben (ben-id)" in listing
    assert ben.split(".")[1] not in listing
    revoke = ["tokens", "revoke", ben.split(".")[0], "--state-dir", state_dir]
    assert await asyncio.to_thread(cli.main, revoke) == 0
    goodbye = await next_body(ws, skip=(m.StateSnapshot,))
    assert isinstance(goodbye, m.Goodbye)
    assert goodbye.reason is m.GoodbyeReason.REVOKED
    await ws.close()
    assert await asyncio.to_thread(cli.main, revoke) == 1  # gone for good
    again, answer = await device.open_session(ben, client("ben"))
    await again.close()
    assert isinstance(answer, m.Goodbye)
    assert answer.reason is m.GoodbyeReason.REVOKED


async def test_the_cli_prints_the_current_code(
    device: PinDevice, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["pairing-code", "--state-dir", str(device.state_dir)]
    assert await asyncio.to_thread(cli.main, argv) == 0
    assert capsys.readouterr().out.strip() == device.receiver.pairing_code


def _frame(seq: int, body: m.Body) -> bytes:
    from connect.wire import codec

    return codec.encode(m.Envelope(seq, f"msg-{seq}", body))
