"""The coordinating controller names the target in the source's Commit: where it reached the
target itself, https pinned to its id in pin mode, plain http when open."""

from __future__ import annotations

from pathlib import Path

from connect.access import CredentialStore
from connect.controller import Controller
from connect.transfer._preflight import target_address
from connect.wire import messages as m
from tests.unit.client_security.fake_device import started


async def test_pin_and_open_targets_and_an_unknown_one(tmp_path: Path) -> None:
    ctl = Controller(
        m.ClientIdentity("ctl", "Controller"),
        browse=False,
        credentials=CredentialStore(tmp_path / "config"),
    )
    await ctl.async_start()
    pin = await started(tmp_path / "pin")
    open_ = await started(tmp_path / "open", pairing=m.PairingMode.OPEN)
    try:
        pinned = await ctl.async_add_address("127.0.0.1", pin.port)
        plain = await ctl.async_add_address("127.0.0.1", open_.port)
        assert target_address(ctl, pinned.id) == (
            pin.fingerprint,
            f"https://127.0.0.1:{pin.port}",
        )
        assert target_address(ctl, plain.id) == (
            plain.id,
            f"http://127.0.0.1:{open_.port}",
        )
        # Nowhere to ask: the Commit names no target and the source falls back to its hold.
        assert target_address(ctl, "never-seen") == ("", "")
    finally:
        await pin.close()
        await open_.close()
        await ctl.async_close()
