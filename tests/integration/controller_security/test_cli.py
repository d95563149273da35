"""`baton pair`, `access`, `rename`, `forget` and a paired `status`, end to end against a real
receiver in pin mode, run in-process with a temporary BATON_CONFIG_DIR."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.cli import main
from connect.access import CredentialStore
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow


@pytest.fixture
async def kitchen(tmp_path: Path) -> AsyncIterator[RunningReceiver]:
    running = await start_receiver(tmp_path, "Kitchen", pairing="pin")
    yield running
    if running.process.returncode is None:
        assert await running.stop() == 0, "".join(running.output)


async def baton(capsys: pytest.CaptureFixture[str], *words: str) -> tuple[int, str, str]:
    """Run `baton WORDS...` (its own event loop, on a worker thread); return code, out, err."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(words))
    out, err = capsys.readouterr()
    return code, out, err


async def test_pair_status_access_forget(
    tmp_path: Path,
    kitchen: RunningReceiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "config"
    monkeypatch.setenv("BATON_CONFIG_DIR", str(config))
    address = f"{kitchen.host}:{kitchen.port}"

    code, _, err = await baton(capsys, "status", "Kitchen", "--connect", address)
    assert code == 1
    assert "Kitchen needs pairing: run `baton pair Kitchen`" in err
    code, out, _ = await baton(capsys, "devices", "--json", "--connect", address)
    assert code == 0
    [row] = json.loads(out)
    assert (row["online"], row["pairing"], row["needs_pairing"]) == (True, "pin", True)

    pin = (kitchen.state_dir / "pairing-code").read_text().strip()
    monkeypatch.setattr("sys.stdin", io.StringIO(pin + "\n"))  # not a tty: one line is read
    code, out, err = await baton(capsys, "pair", "Kitchen", "--connect", address)
    assert (code, err) == (0, "")
    assert out == "paired with Kitchen as owner\n"
    assert stat.S_IMODE((config / "credentials.json").stat().st_mode) == 0o600
    assert pin not in (config / "credentials.json").read_text()

    code, out, err = await baton(capsys, "status", "Kitchen", "--connect", address)
    assert (code, err) == (0, "")
    assert out.startswith("Kitchen: stopped")
    code, out, _ = await baton(capsys, "devices", "--json", "--connect", address)
    assert json.loads(out)[0]["needs_pairing"] is False

    code, out, _ = await baton(capsys, "access", "Kitchen", "--connect", address)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1
    assert "owner" in lines[0]
    assert "(this controller)" in lines[0]
    # Paired under this machine's name, so the owner can tell one laptop from another.
    assert f" baton on {socket.gethostname().split('.')[0]} " in lines[0]

    code, out, _ = await baton(capsys, "access", "Kitchen", "code", "--connect", address)
    assert code == 0
    assert out.strip() == (kitchen.state_dir / "pairing-code").read_text().strip()

    code, out, err = await baton(capsys, "rename", "Kitchen", "Kitchen Radio", "--connect", address)
    assert (code, out, err) == (0, "Kitchen is now 'Kitchen Radio'\n", "")
    code, out, _ = await baton(capsys, "status", "Kitchen Radio", "--connect", address)
    assert (code, out.startswith("Kitchen Radio: stopped")) == (0, True)

    code, out, _ = await baton(capsys, "forget", "Kitchen Radio")
    assert code == 0
    assert out.startswith("forgot Kitchen")
    code, _, err = await baton(capsys, "status", "Kitchen Radio", "--connect", address)
    assert code == 1
    assert "needs pairing" in err


async def test_a_revoked_controller_is_told_so_forgets_its_token_and_stops(
    tmp_path: Path,
    kitchen: RunningReceiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    address = f"{kitchen.host}:{kitchen.port}"

    async def pair_in(config: Path) -> None:
        monkeypatch.setenv("BATON_CONFIG_DIR", str(config))
        pin = (kitchen.state_dir / "pairing-code").read_text().strip()
        code, _, err = await baton(capsys, "pair", "Kitchen", "--pin", pin, "--connect", address)
        assert (code, err) == (0, "")

    await pair_in(tmp_path / "owner")
    await pair_in(tmp_path / "laptop")
    laptop = CredentialStore(tmp_path / "laptop")
    held = laptop.get(kitchen.device_id)
    assert held is not None
    # The owner revokes the laptop while the laptop is not connected.
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path / "owner"))
    code, _, err = await baton(
        capsys, "access", "Kitchen", "revoke", held.token_id, "--connect", address
    )
    assert (code, err) == (0, "")
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path / "laptop"))
    code, _, err = await baton(capsys, "status", "Kitchen", "--connect", address)
    assert code == 1
    assert err == (
        "baton status: Kitchen revoked this controller's access; "
        "run `baton pair Kitchen` to pair again\n"
    )
    assert laptop.get(kitchen.device_id) is None  # the revoked token is dropped
    code, _, err = await baton(capsys, "status", "Kitchen", "--connect", address)
    assert code == 1
    assert "Kitchen needs pairing" in err


async def test_wrong_code_and_bad_input_are_one_clear_line(
    tmp_path: Path,
    kitchen: RunningReceiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path / "config"))
    address = f"{kitchen.host}:{kitchen.port}"
    pin = (kitchen.state_dir / "pairing-code").read_text().strip()
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"
    code, _, err = await baton(capsys, "pair", "Kitchen", "--pin", wrong, "--connect", address)
    assert code == 1
    assert err.startswith(
        "baton pair: Kitchen did not accept that code; 4 more wrong codes before it pauses pairing"
    )
    code, _, err = await baton(capsys, "pair", "Kitchen", "--pin", "12ab", "--connect", address)
    assert (code, err) == (
        1,
        "baton pair: a pairing code is 6 digits (the device shows or logs it)\n",
    )
    code, _, err = await baton(capsys, "access", "Kitchen", "revoke", "--connect", address)
    assert code == 1
    assert "which token?" in err
    code, _, err = await baton(capsys, "forget", "Nowhere")
    assert (code, err) == (1, "baton forget: no stored credential for 'Nowhere'\n")


async def test_a_damaged_credentials_file_is_named_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "credentials.json").write_text("{ half a file")
    monkeypatch.setenv("BATON_CONFIG_DIR", str(config))
    code, _, err = await baton(capsys, "forget", "Kitchen")
    assert code == 1
    assert str(config / "credentials.json") in err
    assert "move it away" in err
    assert (config / "credentials.json").read_text() == "{ half a file"


def test_help_names_every_access_command(capsys: pytest.CaptureFixture[str]) -> None:
    for words in (
        ["pair", "--help"],
        ["access", "--help"],
        ["rename", "--help"],
        ["forget", "--help"],
    ):
        with pytest.raises(SystemExit) as done:
            main(words)
        assert done.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps lines where it likes
    for words in ("--pin CODE", "{owner,controller,guest,observer}", "revoke ID", "DEVICE code"):
        assert words in out
