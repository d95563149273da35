"""Pairing and the owner endpoints of a real pin-mode receiver, over TLS pinned to its id."""

from __future__ import annotations

import asyncio
import logging
import ssl
import stat
from pathlib import Path

import aiohttp
import pytest

from connect.access.tls import fingerprint_of_der
from connect.discovery import DeviceRegistry
from connect.wire import codec
from connect.wire import messages as m
from devices.config import ReceiverConfig
from devices.receiver import Receiver
from devices.tokens import TokenStore
from tests.integration.security.conftest import PinDevice, client

pytestmark = pytest.mark.slow

EVENT_TIMEOUT_S = 10.0


async def test_pairing_with_the_code_makes_the_first_controller_owner(device: PinDevice) -> None:
    code = device.receiver.pairing_code
    assert code is not None
    assert (device.state_dir / "pairing-code").read_text().strip() == code
    assert stat.S_IMODE((device.state_dir / "pairing-code").stat().st_mode) == 0o600
    response = await device.pair(client("anna"))
    assert response.status == 200
    paired = codec.decode_pairing_response(await response.read())
    assert paired.role is m.Role.OWNER
    assert paired.device_id == paired.certificate_sha256 == device.device_id
    # The code changes after a success, and the file follows.
    assert device.receiver.pairing_code != code
    assert (device.state_dir / "pairing-code").read_text().strip() == device.receiver.pairing_code
    # A later PIN pairing gets at most controller.
    response = await device.pair(client("ben"), role=m.Role.OWNER)
    assert codec.decode_pairing_response(await response.read()).role is m.Role.CONTROLLER


@pytest.mark.warning_logs(r"^Error on transport creation for incoming connection")
async def test_the_certificate_presented_is_the_device_id(device: PinDevice) -> None:
    # Without the pin, the self-signed certificate is refused by normal verification.
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await device.http.get(f"{device.base}/connect/v1/info")
    # Pinned to another fingerprint: refused too.
    wrong = aiohttp.Fingerprint(bytes(32))
    with pytest.raises(aiohttp.ServerFingerprintMismatch):
        await device.http.get(f"{device.base}/connect/v1/info", ssl=wrong)
    response = await device.http.get(f"{device.base}/connect/v1/info", ssl=device.pinned)
    info = codec.decode_device_info(await response.read())
    assert info.id == device.device_id
    assert info.pairing is m.PairingMode.PIN
    # And read by hand: the DER certificate's SHA-256 is the id.
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    port = int(device.base.rsplit(":", 1)[1])
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    writer.close()
    await writer.wait_closed()
    assert fingerprint_of_der(der) == device.device_id


@pytest.mark.warning_logs(r"^Error on transport creation for incoming connection")
async def test_plain_http_gets_no_answer_from_a_pin_device(device: PinDevice) -> None:
    with pytest.raises(aiohttp.ClientError):
        await device.http.get(f"{device.base.replace('https', 'http')}/connect/v1/info")


@pytest.mark.warning_logs(r"pairing refused: wrong code")
async def test_a_wrong_code_is_401_and_the_sixth_failure_is_429_even_when_right(
    device: PinDevice,
) -> None:
    code = device.receiver.pairing_code
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):  # the device says how many wrong codes it still takes
        response = await device.pair(client("mallory"), pin=wrong)
        assert response.status == 401
        failure = codec.decode_failure(await response.read())
        assert failure.code is m.ErrorCode.UNAUTHENTICATED
        assert failure.pairing_tries_left == left
    response = await device.pair(client("anna"))  # the right code, but the window is full
    assert response.status == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert codec.decode_failure(await response.read()).code is m.ErrorCode.RATE_LIMITED
    assert device.receiver.pairing_code == code  # 5 failures: the code has not moved yet
    on_disk = TokenStore(device.state_dir)
    on_disk.load()
    assert on_disk.records() == ()  # nothing changed on a refusal


async def test_owner_endpoints_refuse_others(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    controller = await device.paired_token(client("ben"))
    for method, path in (
        ("GET", "/connect/v1/tokens"),
        ("GET", "/connect/v1/pairing-code"),
        ("DELETE", f"/connect/v1/tokens/{owner.split('.')[0]}"),
    ):
        url = f"{device.base}{path}"
        anonymous = await device.http.request(method, url, ssl=device.pinned)
        assert anonymous.status == 401, path
        as_controller = await device.http.request(
            method, url, headers={"Authorization": f"Bearer {controller}"}, ssl=device.pinned
        )
        assert as_controller.status == 403, path
        failure = codec.decode_failure(await as_controller.read())
        assert failure.code is m.ErrorCode.FORBIDDEN
    # A controller cannot pair others either.
    response = await device.pair(client("eve"), bearer=controller, role=m.Role.OWNER)
    assert response.status == 403
    # The owner token survived the refused revocation.
    listing = await device.http.get(
        f"{device.base}/connect/v1/tokens",
        headers={"Authorization": f"Bearer {owner}"},
        ssl=device.pinned,
    )
    tokens = codec.decode_token_list(await listing.read()).tokens
    assert {(t.client.name, t.role) for t in tokens} == {
        ("anna", m.Role.OWNER), ("ben", m.Role.CONTROLLER),
    }  # fmt: skip
    assert all(t.last_used_unix_ms > 0 for t in tokens if t.client.name == "anna")


async def test_an_owner_reads_the_code_and_pairs_others_with_any_role(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    headers = {"Authorization": f"Bearer {owner}"}
    response = await device.http.get(
        f"{device.base}/connect/v1/pairing-code", headers=headers, ssl=device.pinned
    )
    code = codec.decode_pairing_code(await response.read()).code
    assert code == device.receiver.pairing_code
    response = await device.pair(client("carol"), bearer=owner, role=m.Role.OWNER)
    assert response.status == 200
    assert codec.decode_pairing_response(await response.read()).role is m.Role.OWNER
    assert device.receiver.pairing_code == code  # no code was used up


async def test_revoking_an_unknown_token_is_404(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    response = await device.http.delete(
        f"{device.base}/connect/v1/tokens/deadbeef",
        headers={"Authorization": f"Bearer {owner}"},
        ssl=device.pinned,
    )
    assert response.status == 404
    assert codec.decode_failure(await response.read()).code is m.ErrorCode.NOT_FOUND


async def test_oversized_requests_are_refused(device: PinDevice) -> None:
    big_header = {"X-Padding": "a" * 9000}
    response = await device.http.get(
        f"{device.base}/connect/v1/info", headers=big_header, ssl=device.pinned
    )
    assert response.status in (400, 431)
    body = b"\x0a" + b"\xff" * (70 * 1024)
    response = await device.http.post(
        f"{device.base}/connect/v1/pair", data=body, ssl=device.pinned
    )
    assert response.status == 413
    assert codec.decode_failure(await response.read()).code is m.ErrorCode.TOO_LARGE
    response = await device.http.post(
        f"{device.base}/connect/v1/pair", data=b"\xff\xff", ssl=device.pinned
    )
    assert response.status == 400
    assert codec.decode_failure(await response.read()).code is m.ErrorCode.MALFORMED


async def test_no_token_reaches_the_logs_and_the_code_only_its_announcement(
    device: PinDevice, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = device.receiver.pairing_code
    assert code is not None
    owner = await device.paired_token(client("anna"))
    await device.paired_token(client("ben"), bearer=owner)
    await device.pair(client("mallory"), pin="12345x")
    ws, _ = await device.open_session(owner, client("anna"))
    await ws.close()
    await device.http.get(
        f"{device.base}/connect/v1/tokens",
        headers={"Authorization": f"Bearer {owner}"},
        ssl=device.pinned,
    )
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert owner not in text
    assert owner.split(".")[1] not in text
    new_code = device.receiver.pairing_code
    assert new_code is not None
    announcing = [r.getMessage() for r in caplog.records if new_code in r.getMessage()]
    assert announcing == [f"pairing code: {new_code}"]


async def test_an_open_device_is_plain_http_has_no_owner_endpoints_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = ReceiverConfig(
        name="Open Speaker",
        interfaces=("127.0.0.1",),
        audio_output=f"afile:{tmp_path / 'played.wav'}",
        state_dir=tmp_path / "state",
        pairing="open",
        resume_window=0.0,
    )
    receiver = Receiver(config, advertise=False)
    listening = await receiver.async_start()
    try:
        assert "anyone on the network may control" in caplog.text
        assert receiver.pairing_code is None
        assert len(listening.device_id) == 64  # still the certificate's fingerprint
        base = f"http://127.0.0.1:{listening.port}"
        async with aiohttp.ClientSession() as http:
            info = await http.get(f"{base}/connect/v1/info")
            assert codec.decode_device_info(await info.read()).pairing is m.PairingMode.OPEN
            for method, path in (("POST", "/connect/v1/pair"), ("GET", "/connect/v1/tokens")):
                response = await http.request(method, f"{base}{path}")
                assert response.status == 404
                failure = codec.decode_failure(await response.read())
                assert failure.code is m.ErrorCode.NOT_FOUND
    finally:
        await receiver.async_close()


async def test_an_owner_renames_the_device_and_the_name_is_kept(device: PinDevice) -> None:
    owner = await device.paired_token(client("anna"))
    controller = await device.paired_token(client("ben"))
    url = f"{device.base}/connect/v1/name"

    async def rename(token: str, name: str) -> aiohttp.ClientResponse:
        body = codec.encode_rename_request(m.RenameRequest(name))
        headers = {"Authorization": f"Bearer {token}"}
        return await device.http.put(url, data=body, headers=headers, ssl=device.pinned)

    refused = await rename(controller, "Hijacked")
    assert refused.status == 403
    blank = await rename(owner, "   ")
    assert blank.status == 400
    assert codec.decode_failure(await blank.read()).code is m.ErrorCode.INVALID_ARGUMENT
    too_long = await rename(owner, "x" * 64)
    assert too_long.status == 400
    assert device.receiver.device_info().name == "Secure Speaker"  # nothing changed
    response = await rename(owner, "Kitchen")
    assert response.status == 200
    assert codec.decode_device_info(await response.read()).name == "Kitchen"
    info = await device.http.get(f"{device.base}/connect/v1/info", ssl=device.pinned)
    assert codec.decode_device_info(await info.read()).name == "Kitchen"
    assert (device.state_dir / "name").read_text() == "Kitchen"


async def test_a_renamed_device_is_announced_under_its_new_name(tmp_path: Path) -> None:
    config = ReceiverConfig(
        name="Before",
        interfaces=("127.0.0.1",),
        audio_output=f"afile:{tmp_path / 'played.wav'}",
        state_dir=tmp_path / "state",
        resume_window=0.0,
    )
    receiver = Receiver(config)
    registry = DeviceRegistry(interfaces=["127.0.0.1"])
    await registry.async_start()
    try:
        listening = await receiver.async_start()
        await registry.async_wait_for(
            lambda e: e.id == listening.device_id and e.name == "Before", EVENT_TIMEOUT_S
        )
        info = await receiver.async_rename("After")
        assert info.name == "After"
        await registry.async_wait_for(
            lambda e: e.id == listening.device_id and e.name == "After", EVENT_TIMEOUT_S
        )
    finally:
        await receiver.async_close()
        await registry.async_close()
    # A restart keeps the new name over the configured one.
    again = Receiver(config, advertise=False)
    await again.async_start()
    try:
        assert again.device_info().name == "After"
    finally:
        await again.async_close()
