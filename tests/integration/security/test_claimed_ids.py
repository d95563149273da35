"""A client id is a label, never a credential (docs/security.md, "Pairing again").

Issue 13 found that the current code and the owner's client id (logged at INFO, carried in
traces) made a stranger owner and deleted the owner's token, and that the code and any
controller's id locked that controller out. Only holding a token lets a pairing replace it.
"""

from __future__ import annotations

import pytest

from connect.wire import codec
from connect.wire import messages as m
from tests.integration.security.conftest import PinDevice, client, next_body

pytestmark = pytest.mark.slow


async def tokens_of(device: PinDevice, owner: str) -> tuple[m.TokenInfo, ...]:
    """Return the device's token list, read with the owner's token."""
    response = await device.http.get(
        f"{device.base}/connect/v1/tokens",
        headers={"Authorization": f"Bearer {owner}"},
        ssl=device.pinned,
    )
    assert response.status == 200, await response.read()
    return codec.decode_token_list(await response.read()).tokens


async def role_in_session(device: PinDevice, token: str, who: m.ClientIdentity) -> m.Role:
    """Open a session with *token* and return the role of its Welcome (asserting one)."""
    ws, answer = await device.open_session(token, who)
    await ws.close()
    assert isinstance(answer, m.Welcome), answer
    return answer.role


async def test_the_code_and_the_owners_client_id_give_controller_and_keep_the_owner(
    device: PinDevice,
) -> None:
    anna = client("anna")
    owner = await device.paired_token(anna)
    impostor = m.ClientIdentity(anna.id, "mallory")
    for asked in (m.Role.OWNER, None):
        response = await device.pair(impostor, role=asked)
        assert response.status == 200
        assert codec.decode_pairing_response(await response.read()).role is m.Role.CONTROLLER
    assert await role_in_session(device, owner, anna) is m.Role.OWNER
    listed = await tokens_of(device, owner)
    assert sorted(t.role.name for t in listed if t.client.id == anna.id) == [
        "CONTROLLER", "CONTROLLER", "OWNER",
    ]  # fmt: skip


async def test_the_code_and_a_controllers_client_id_lock_nobody_out(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    ben = client("ben")
    bens = await device.paired_token(ben)
    live, welcome = await device.open_session(bens, ben)
    assert isinstance(welcome, m.Welcome)
    stranger = await device.paired_token(m.ClientIdentity(ben.id, "mallory"))
    assert stranger != bens
    # Ben's live session goes on (it still answers), and his token still opens new ones.
    await live.send_bytes(codec.encode(m.Envelope(2, "t1", m.TimeRequest(1))))
    assert isinstance(await next_body(live, skip=(m.StateSnapshot,)), m.TimeResponse)
    await live.close()
    assert await role_in_session(device, bens, ben) is m.Role.CONTROLLER
    assert len([t for t in await tokens_of(device, owner) if t.client.id == ben.id]) == 2


async def test_a_token_presented_under_another_client_id_is_not_replaced(
    device: PinDevice,
) -> None:
    owner = await device.paired_token(client("anna"))
    ben = client("ben")
    bens = await device.paired_token(ben)
    code = device.receiver.pairing_code
    response = await device.pair(client("carl"), pin=code, bearer=bens)
    assert response.status == 200
    assert await role_in_session(device, bens, ben) is m.Role.CONTROLLER
    # An owner pairing someone else keeps its own token too.
    carol = await device.paired_token(client("carol"), bearer=owner)
    assert await role_in_session(device, owner, client("anna")) is m.Role.OWNER
    assert await role_in_session(device, carol, client("carol")) is m.Role.CONTROLLER


async def test_a_controller_pairing_again_with_its_token_replaces_it(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    ben = client("ben")
    old = await device.paired_token(ben)
    # Without the code, a controller's token pairs nothing: only an owner's does.
    refused = await device.pair(ben, bearer=old)
    assert refused.status == 403
    live, welcome = await device.open_session(old, ben)
    assert isinstance(welcome, m.Welcome)
    new = await device.paired_token(ben, pin=device.receiver.pairing_code, bearer=old)
    # The old token's live session ends, and the old token is told it was revoked.
    goodbye = await next_body(live, skip=(m.StateSnapshot,))
    assert isinstance(goodbye, m.Goodbye)
    assert goodbye.reason is m.GoodbyeReason.REVOKED
    await live.close()
    ws, answer = await device.open_session(old, ben)
    await ws.close()
    assert isinstance(answer, m.Goodbye)
    assert answer.reason is m.GoodbyeReason.REVOKED
    assert await role_in_session(device, new, ben) is m.Role.CONTROLLER
    assert [t.id for t in await tokens_of(device, owner) if t.client.id == ben.id] == [
        new.partition(".")[0]
    ]


async def test_an_owner_pairing_again_with_its_token_stays_owner(device: PinDevice) -> None:
    anna = client("anna")
    old = await device.paired_token(anna)
    code = device.receiver.pairing_code
    new = await device.paired_token(anna, bearer=old)  # no code needed: it is the owner
    assert device.receiver.pairing_code == code  # and none was used up
    assert await role_in_session(device, new, anna) is m.Role.OWNER
    assert [t.id for t in await tokens_of(device, new)] == [new.partition(".")[0]]


async def test_a_token_the_device_does_not_know_does_not_spoil_the_code(
    device: PinDevice,
) -> None:
    await device.paired_token(client("anna"))
    unknown = "0a1b2c3d." + "A" * 43  # revoked, or issued before the device was reset
    response = await device.pair(client("ben"), pin=device.receiver.pairing_code, bearer=unknown)
    assert response.status == 200
    without_code = await device.pair(client("ben"), bearer=unknown)
    assert without_code.status == 401


async def test_an_in_process_owner_token_replaces_only_the_token_it_held(
    device: PinDevice,
) -> None:
    # "This computer": the app gives itself an owner token at every start, without a code.
    app = client("app")
    first = device.receiver.issue_token(app, m.Role.OWNER)
    claimed = await device.paired_token(m.ClientIdentity(app.id, "mallory"))
    second = device.receiver.issue_token(app, m.Role.OWNER, replaces=first)
    listed = await tokens_of(device, second)
    assert sorted(t.id for t in listed) == sorted(t.partition(".")[0] for t in (second, claimed))
