"""The coordinating controller names the target in the source's Commit: where it reached the
target itself, https pinned to its id in pin mode, plain http when open."""

from __future__ import annotations

from pathlib import Path

from connect import messages as m
from connect._transfer_steps import TransferRun
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.credentials import CredentialStore
from tests.unit.client_security.fake_device import started


def run_to(controller: Controller, target_id: str) -> TransferRun:
    return TransferRun(
        controller, monotonic_us, "tid", "source-id", target_id, m.TransferOptions(), 1.0
    )


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
        assert run_to(ctl, pinned.id)._target_address() == (
            pin.fingerprint,
            f"https://127.0.0.1:{pin.port}",
        )
        assert run_to(ctl, plain.id)._target_address() == (
            plain.id,
            f"http://127.0.0.1:{open_.port}",
        )
        # Nowhere to ask: the Commit names no target and the source falls back to its hold.
        assert run_to(ctl, "never-seen")._target_address() == ("", "")
    finally:
        await pin.close()
        await open_.close()
        await ctl.async_close()
