"""Controller against a scripted device on loopback: TLS pinning, no downgrade, pairing,
tokens in Hello, and refusals that stop retrying with typed errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connect.access import Credential, CredentialStore, paired_now
from connect.controller import Controller
from connect.errors import (
    AccessRevokedError,
    ConnectTimeoutError,
    ForbiddenError,
    NotPairedError,
    RateLimitedError,
    TokenNotFoundError,
    UntrustedDeviceError,
    WrongPinError,
)
from connect.session import AccessDenied, ConnectionEvent, async_lean_dial
from connect.session.connection import Backoff
from connect.wire import messages as m
from tests.unit.client_security.fake_device import FakeDevice, started
from tests.waiting import until

ME = m.ClientIdentity("ctl-test", "Test controller")


@pytest.fixture
async def device(tmp_path: Path) -> AsyncIterator[FakeDevice]:
    fake = await started(tmp_path / "device")
    yield fake
    await fake.close()


@pytest.fixture(params=["aiohttp", "lean"])
async def controller(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Controller]:
    # Every rule holds whichever WebSocket client the sessions use (connect.session._socket).
    dial = async_lean_dial if request.param == "lean" else None
    ctl = Controller(ME, browse=False, credentials=CredentialStore(tmp_path / "config"), dial=dial)
    await ctl.async_start()
    yield ctl
    await ctl.async_close()


async def test_add_by_address_pins_the_certificate_the_device_claims(device, controller) -> None:
    entry = await controller.async_add_address("127.0.0.1", device.port)
    assert entry.id == device.fingerprint
    assert controller.endpoint(entry).url.startswith("wss://")
    assert controller.needs_pairing(entry.id)


async def test_a_device_claiming_another_id_than_its_certificate_is_refused(
    tmp_path, controller
) -> None:
    liar = await started(tmp_path / "liar", claimed_id="c" * 64)
    try:
        with pytest.raises(UntrustedDeviceError, match="claims to be"):
            await controller.async_add_address("127.0.0.1", liar.port)
        # asked as a known id, the certificate itself does not match
        with pytest.raises(UntrustedDeviceError, match="certificate"):
            await controller.async_fetch_info("127.0.0.1", liar.port, device_id="c" * 64)
    finally:
        await liar.close()


@pytest.mark.warning_logs(r"offline: .*closed by the device")
async def test_an_open_device_is_reached_in_plain_http(tmp_path, controller) -> None:
    fake = await started(tmp_path / "open", pairing=m.PairingMode.OPEN)
    try:
        entry = await controller.async_add_address("127.0.0.1", fake.port)
        assert controller.endpoint(entry).url.startswith("ws://")
        assert not controller.needs_pairing(entry.id)
        conn = await controller.async_connect(entry.id, timeout=5)
        assert conn.welcome is not None
    finally:
        await fake.close()


async def test_no_downgrade_for_a_paired_device_that_turns_open(tmp_path, controller) -> None:
    fake = await started(tmp_path / "dev")
    entry = await controller.async_add_address("127.0.0.1", fake.port)
    await controller.async_pair(entry.id, fake.pin)
    port = fake.port
    await fake.close()
    # the same identity, same address, now answering in plain HTTP as "open"
    turned = await started(tmp_path / "dev", pairing=m.PairingMode.OPEN, port=port)
    try:
        with pytest.raises(UntrustedDeviceError, match="refusing"):
            await controller.async_fetch_info("127.0.0.1", port)
        record = controller.registry.get(entry.id)
        assert record is not None
        assert controller.endpoint(record).url.startswith("wss://")
    finally:
        await turned.close()


async def test_pair_stores_the_token_and_the_session_presents_it(device, controller) -> None:
    entry = await controller.async_add_address("127.0.0.1", device.port)
    with pytest.raises(NotPairedError):
        await controller.async_connect(entry.id, timeout=5)
    credential = await controller.async_pair(entry.id, device.pin)
    assert credential.role is m.Role.OWNER
    assert credential.device_name == device.name
    assert controller.credential(entry.id) == credential
    conn = await controller.async_connect(entry.id, timeout=5)  # a fresh try, with the token
    assert conn.welcome is not None
    assert device.hellos[-1].token == credential.token
    assert not controller.needs_pairing(entry.id)


async def test_not_paired_stops_at_once_instead_of_retrying(device, controller) -> None:
    entry = await controller.async_add_address("127.0.0.1", device.port)
    events: list[ConnectionEvent] = []
    controller.subscribe(events.append)
    conn = controller.connection(entry.id)
    with pytest.raises(NotPairedError, match="needs pairing"):
        await conn.async_wait_connected(30)  # raised by the refusal, long before the timeout
    assert isinstance(conn.stopped_by, NotPairedError)
    assert [e for e in events if isinstance(e, AccessDenied)] == [
        AccessDenied(entry.id, False, str(conn.stopped_by))
    ]
    assert len(device.hellos) == 1  # one Hello, no retry


async def test_revoked_ends_the_session_and_forgets_the_credential(device, controller) -> None:
    entry = await controller.async_add_address("127.0.0.1", device.port)
    await controller.async_pair(entry.id, device.pin)
    conn = await controller.async_connect(entry.id, timeout=5)
    await device.revoke_all()
    await until(lambda: conn.stopped_by is not None, what="the session stopped")
    assert isinstance(conn.stopped_by, AccessRevokedError)
    assert controller.credential(entry.id) is None
    with pytest.raises(NotPairedError):
        await controller.async_connect(entry.id, timeout=5)


async def test_wrong_pin_and_rate_limit_are_typed(device, controller) -> None:
    entry = await controller.async_add_address("127.0.0.1", device.port)
    with pytest.raises(WrongPinError, match="did not accept that code"):
        await controller.async_pair(entry.id, "000000")
    device.rate_limited_for_s = 42
    with pytest.raises(RateLimitedError, match="in 42 s") as caught:
        await controller.async_pair(entry.id, device.pin)
    assert caught.value.retry_after_s == 42
    assert controller.credential(entry.id) is None


async def test_owner_lists_revokes_and_reads_the_code(device, controller) -> None:
    entry = await controller.async_add_address("127.0.0.1", device.port)
    mine = await controller.async_pair(entry.id, device.pin)
    device.tokens["0000abcd.other"] = m.Role.GUEST
    listed = await controller.async_list_tokens(entry.id)
    assert {(t.id, t.role) for t in listed} == {
        (mine.token.partition(".")[0], m.Role.OWNER),
        ("0000abcd", m.Role.GUEST),
    }
    assert await controller.async_pairing_code(entry.id) == device.pin
    await controller.async_revoke_token(entry.id, "0000abcd")
    assert "0000abcd.other" not in device.tokens
    with pytest.raises(TokenNotFoundError, match="no token"):
        await controller.async_revoke_token(entry.id, "0000abcd")
    # revoking our own token forgets it here too
    await controller.async_revoke_token(entry.id, mine.token.partition(".")[0])
    assert controller.credential(entry.id) is None


async def test_a_guest_is_told_only_the_owner_may_manage_access(device, controller) -> None:
    entry = await controller.async_add_address("127.0.0.1", device.port)
    device.tokens["00000001.owner"] = m.Role.OWNER  # someone else owns it
    await controller.async_pair(entry.id, device.pin, m.Role.GUEST)
    with pytest.raises(ForbiddenError, match="owner"):
        await controller.async_list_tokens(entry.id)


async def test_owner_requests_without_a_credential_say_pair_first(device, controller) -> None:
    entry = await controller.async_add_address("127.0.0.1", device.port)
    with pytest.raises(NotPairedError, match="baton pair"):
        await controller.async_pairing_code(entry.id)


async def test_a_pin_device_without_tls_is_not_trusted(tmp_path, controller) -> None:
    fake = await started(tmp_path / "odd", pairing=m.PairingMode.OPEN)
    fake.pairing = m.PairingMode.PIN  # now claims pin mode, but serves plain HTTP
    try:
        with pytest.raises(UntrustedDeviceError, match="no TLS"):
            await controller.async_fetch_info("127.0.0.1", fake.port)
    finally:
        await fake.close()


async def test_a_different_certificate_under_a_paired_id_is_refused(tmp_path, controller) -> None:
    first = await started(tmp_path / "first")
    entry = await controller.async_add_address("127.0.0.1", first.port)
    await controller.async_pair(entry.id, first.pin)
    port = first.port
    await first.close()
    impostor = await started(tmp_path / "impostor", port=port, claimed_id=entry.id)
    impostor.tokens = dict(first.tokens)  # even a stolen token does not help it
    try:
        conn = controller.connection(entry.id)
        conn._backoff = Backoff(first_s=0.05, ceiling_s=0.1)
        with pytest.raises(ConnectTimeoutError, match="certificate"):
            await conn.async_wait_connected(1)
        assert impostor.hellos == []  # the token never went to it
    finally:
        await impostor.close()


@pytest.mark.warning_logs(r"offline: .*closed by the device")
async def test_each_attempt_presents_the_token_stored_by_then(
    tmp_path, controller: Controller
) -> None:
    first = await started(tmp_path / "dev")
    entry = await controller.async_add_address("127.0.0.1", first.port)
    port = first.port
    await first.close()  # down: the connection keeps retrying
    conn = controller.connection(entry.id)
    conn._backoff = Backoff(first_s=0.05, ceiling_s=0.1)
    await until(lambda: bool(conn.last_error), what="a failed attempt")
    assert controller.credentials is not None
    # Paired meanwhile (by another process, say): the next attempt must carry it.
    controller.credentials.save(
        Credential(entry.id, "0000beef.later", m.Role.CONTROLLER, "Fake", paired_now())
    )
    back = await started(tmp_path / "dev", port=port, tokens={"0000beef.later": m.Role.CONTROLLER})
    try:
        await conn.async_wait_connected(10)
        assert back.hellos[-1].token == "0000beef.later"
    finally:
        await back.close()


async def test_a_paired_device_answering_in_plain_http_is_not_talked_to(
    tmp_path, controller: Controller
) -> None:
    first = await started(tmp_path / "dev")
    entry = await controller.async_add_address("127.0.0.1", first.port)
    credential = await controller.async_pair(entry.id, first.pin)
    port = first.port
    await first.close()
    stolen = {credential.token: m.Role.OWNER}
    plain = await started(tmp_path / "dev", port=port, pairing=m.PairingMode.OPEN, tokens=stolen)
    try:
        conn = controller.connection(entry.id)
        with pytest.raises(ConnectTimeoutError, match="TLS handshake"):
            await conn.async_wait_connected(1)
        assert plain.hellos == []  # neither the token nor anything else went out in the clear
    finally:
        await plain.close()
