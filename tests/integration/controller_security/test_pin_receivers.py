"""The controller against real `baton-receiver` processes in pin mode (docs/security.md):
pair with the code the receiver writes, then play and transfer; refusals are typed and final."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connect.access import CredentialStore
from connect.controller import Controller
from connect.errors import (
    AccessRevokedError,
    ConnectTimeoutError,
    NotPairedError,
    UntrustedDeviceError,
)
from connect.session import AccessDenied, ConnectionEvent, Disconnected
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.audio import write_tone
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver
from tests.waiting import until

pytestmark = pytest.mark.slow

EVENT_TIMEOUT_S = 15.0


def code_of(receiver: RunningReceiver) -> str:
    """Return the receiver's current pairing code, from the file it keeps in its state dir."""
    return (receiver.state_dir / "pairing-code").read_text().strip()


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[RunningReceiver]:
    running = await start_receiver(tmp_path, "Locked Speaker", pairing="pin")
    yield running
    if running.process.returncode is None:
        assert await running.stop() == 0, "".join(running.output)


def controller_named(tmp_path: Path, n: int) -> Controller:
    identity = m.ClientIdentity(f"test-ctl-{n}", f"Test controller {n}")
    return Controller(identity, browse=False, credentials=CredentialStore(tmp_path / f"ctl-{n}"))


@pytest.fixture
async def controller(tmp_path: Path) -> AsyncIterator[Controller]:
    ctl = controller_named(tmp_path, 1)
    await ctl.async_start()
    yield ctl
    await ctl.async_close()


async def play_tone(controller: Controller, device_id: str, media: MediaServer) -> None:
    write_tone(media.root / "tone.wav", 440.0, 10_000)  # outlasts every test using it
    item = m.QueueItem("item-1", media.url("tone.wav"), title="tone")
    result = await controller.async_command(device_id, m.SetQueue((item,), play=True))
    assert result.ok, result.failure


async def test_pair_with_the_code_then_play(
    receiver: RunningReceiver, controller: Controller, media_server: MediaServer
) -> None:
    entry = await controller.async_add_address(receiver.host, receiver.port)
    assert entry.id == receiver.device_id  # the id is the certificate the TLS probe saw
    assert controller.needs_pairing(entry.id)
    assert controller.endpoint(entry).url.startswith("wss://")
    credential = await controller.async_pair(entry.id, code_of(receiver))
    assert credential.role is m.Role.OWNER  # the first to pair owns it
    await play_tone(controller, entry.id, media_server)
    conn = controller.connection(entry.id)
    assert conn.welcome is not None
    assert conn.welcome.role is m.Role.OWNER


async def test_without_pairing_the_refusal_is_typed_and_final(
    receiver: RunningReceiver, controller: Controller
) -> None:
    entry = await controller.async_add_address(receiver.host, receiver.port)
    denied: list[AccessDenied] = []
    controller.subscribe(lambda e: denied.append(e) if isinstance(e, AccessDenied) else None)
    conn = controller.connection(entry.id)
    # Far longer than one refusal takes: the error must come from the refusal, not the clock.
    with pytest.raises(NotPairedError, match="needs pairing"):
        await conn.async_wait_connected(60)
    assert conn.stopped_by is not None
    assert [d.revoked for d in denied] == [False]
    offline = controller.registry.get(entry.id)
    assert offline is not None
    assert not offline.online
    assert "needs pairing" in offline.offline_reason


async def test_revoked_by_the_owner_ends_the_session_and_forgets_the_credential(
    tmp_path: Path, receiver: RunningReceiver, controller: Controller
) -> None:
    owner = controller
    entry = await owner.async_add_address(receiver.host, receiver.port)
    await owner.async_pair(entry.id, code_of(receiver))
    guest = controller_named(tmp_path, 2)
    await guest.async_start()
    try:
        await guest.async_add_address(receiver.host, receiver.port)
        # The code changed when the owner paired: read the new one, as a user would.
        granted = await guest.async_pair(entry.id, code_of(receiver), m.Role.GUEST)
        assert granted.role is m.Role.GUEST
        conn = await guest.async_connect(entry.id, EVENT_TIMEOUT_S)
        assert conn.welcome is not None
        assert conn.welcome.role is m.Role.GUEST

        guest_token_id = granted.token.partition(".")[0]
        listed = {t.id: t.role for t in await owner.async_list_tokens(entry.id)}
        assert listed[guest_token_id] is m.Role.GUEST
        await owner.async_revoke_token(entry.id, guest_token_id)

        await until(lambda: conn.stopped_by is not None, EVENT_TIMEOUT_S, "guest session ended")
        assert isinstance(conn.stopped_by, AccessRevokedError)
        assert guest.credential(entry.id) is None
        assert owner.credential(entry.id) is not None  # only the revoked one is gone
        with pytest.raises(NotPairedError):
            await guest.async_connect(entry.id, EVENT_TIMEOUT_S)
    finally:
        await guest.async_close()


async def test_revoked_while_away_an_access_request_says_so_and_forgets_the_credential(
    tmp_path: Path, receiver: RunningReceiver, controller: Controller
) -> None:
    owner = controller
    entry = await owner.async_add_address(receiver.host, receiver.port)
    await owner.async_pair(entry.id, code_of(receiver))
    laptop = controller_named(tmp_path, 2)
    await laptop.async_start()
    try:
        await laptop.async_add_address(receiver.host, receiver.port)
        granted = await laptop.async_pair(entry.id, code_of(receiver))
        await owner.async_revoke_token(entry.id, granted.token_id)  # the laptop is not connected
        with pytest.raises(AccessRevokedError, match="revoked this controller's access"):
            await laptop.async_list_tokens(entry.id)
        assert laptop.credential(entry.id) is None
        assert owner.credential(entry.id) is not None
    finally:
        await laptop.async_close()


async def test_another_certificate_under_a_paired_id_is_refused(
    tmp_path: Path, receiver: RunningReceiver, controller: Controller
) -> None:
    entry = await controller.async_add_address(receiver.host, receiver.port)
    await controller.async_pair(entry.id, code_of(receiver))
    assert await receiver.stop() == 0
    # Another device (its own key, so its own id) answers at the paired device's address.
    other = await start_receiver(tmp_path, "Impostor", pairing="pin", port=receiver.port)
    try:
        assert other.device_id != entry.id
        with pytest.raises(UntrustedDeviceError):
            await controller.async_fetch_info(other.host, other.port, device_id=entry.id)
        conn = controller.connection(entry.id)
        with pytest.raises(ConnectTimeoutError, match="certificate"):
            await conn.async_wait_connected(3)
        assert not conn.connected
    finally:
        assert await other.stop() == 0


async def test_transfer_between_two_paired_pin_receivers(
    tmp_path: Path, receiver: RunningReceiver, controller: Controller, media_server: MediaServer
) -> None:
    target = await start_receiver(tmp_path, "Locked Car", pairing="pin")
    try:
        for device in (receiver, target):
            entry = await controller.async_add_address(device.host, device.port)
            await controller.async_pair(entry.id, code_of(device))
            conn = await controller.async_connect(entry.id, EVENT_TIMEOUT_S)
            await conn.async_sync_clock(samples=3)
        await play_tone(controller, receiver.device_id, media_server)
        outcome = await TransferCoordinator(controller).async_transfer(
            receiver.device_id, target.device_id, m.TransferOptions()
        )
        assert outcome.ok, outcome.failure
        moved = controller.connection(target.device_id)
        await until(
            lambda: moved.state is not None and moved.state.active,
            EVENT_TIMEOUT_S,
            "the target holds the session",
        )
    finally:
        assert await target.stop() == 0, "".join(target.output)


async def test_pairing_twice_replaces_the_token_instead_of_adding_one(
    receiver: RunningReceiver, controller: Controller
) -> None:
    entry = await controller.async_add_address(receiver.host, receiver.port)
    first = await controller.async_pair(entry.id, code_of(receiver))
    second = await controller.async_pair(entry.id, code_of(receiver))
    assert first.token != second.token
    listed = await controller.async_list_tokens(entry.id)
    assert [t.id for t in listed] == [second.token.partition(".")[0]]
    await asyncio.wait_for(controller.async_connect(entry.id, EVENT_TIMEOUT_S), EVENT_TIMEOUT_S)


async def test_pairing_again_ends_the_old_tokens_session_and_goes_on_with_the_new(
    receiver: RunningReceiver, controller: Controller
) -> None:
    entry = await controller.async_add_address(receiver.host, receiver.port)
    await controller.async_pair(entry.id, code_of(receiver))
    await controller.async_connect(entry.id, EVENT_TIMEOUT_S)
    events: list[ConnectionEvent] = []
    controller.subscribe(events.append)
    again = await controller.async_pair(entry.id, code_of(receiver))
    await until(
        lambda: any(isinstance(e, Disconnected | AccessDenied) for e in events),
        EVENT_TIMEOUT_S,
        "the old token's session ended",
    )
    conn = await controller.async_connect(entry.id, EVENT_TIMEOUT_S)
    assert conn.welcome is not None
    assert conn.welcome.role is m.Role.OWNER
    listed = await controller.async_list_tokens(entry.id)
    assert [t.id for t in listed] == [again.token_id]
    assert controller.credential(entry.id) == again


async def test_a_guest_cannot_move_music_away_and_an_unpaired_target_is_named(
    tmp_path: Path, receiver: RunningReceiver, controller: Controller, media_server: MediaServer
) -> None:
    target = await start_receiver(tmp_path, "Locked Car", pairing="pin")
    owner = controller_named(tmp_path, 2)
    await owner.async_start()
    try:
        entry = await owner.async_add_address(receiver.host, receiver.port)
        await owner.async_pair(entry.id, code_of(receiver))
        await play_tone(owner, entry.id, media_server)
        # This controller: a guest on the source; not paired with the target yet.
        await controller.async_add_address(receiver.host, receiver.port)
        await controller.async_pair(entry.id, code_of(receiver), m.Role.GUEST)
        await controller.async_add_address(target.host, target.port)
        coordinator = TransferCoordinator(controller)

        outcome = await coordinator.async_transfer(entry.id, target.device_id, m.TransferOptions())
        assert not outcome.ok
        assert outcome.failure is not None
        assert outcome.failure.code is m.ErrorCode.UNAUTHENTICATED
        assert "needs pairing" in outcome.failure.message

        await controller.async_pair(target.device_id, code_of(target))
        outcome = await coordinator.async_transfer(entry.id, target.device_id, m.TransferOptions())
        assert not outcome.ok
        assert outcome.failure is not None
        assert outcome.failure.code is m.ErrorCode.FORBIDDEN
        assert "guest" in outcome.failure.message
        source = owner.connection(entry.id)
        assert source.state is not None
        assert source.state.active  # nothing moved: the source still holds the session
        assert source.state.status is m.PlaybackStatus.PLAYING
    finally:
        await owner.async_close()
        assert await target.stop() == 0, "".join(target.output)


async def test_found_over_mdns_a_pin_receiver_is_reached_over_tls(
    tmp_path: Path, receiver: RunningReceiver
) -> None:
    identity = m.ClientIdentity("test-ctl-mdns", "Test controller (mDNS)")
    store = CredentialStore(tmp_path / "ctl-mdns")
    ctl = Controller(identity, interfaces=["127.0.0.1"], credentials=store)
    await ctl.async_start()
    try:
        entry = await ctl.async_find("locked speaker", EVENT_TIMEOUT_S)
        assert entry.id == receiver.device_id
        assert entry.record is not None
        assert entry.record.pairing is m.PairingMode.PIN  # from TXT pair=pin
        assert ctl.endpoint(entry).url.startswith("wss://")
        assert ctl.needs_pairing(entry.id)
        await ctl.async_pair(entry.id, code_of(receiver))
        conn = await ctl.async_connect(entry.id, EVENT_TIMEOUT_S)
        assert conn.welcome is not None
        assert conn.welcome.role is m.Role.OWNER
    finally:
        await ctl.async_close()
