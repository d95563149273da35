"""A command suggested by an error names the device as the user knows it, quoted for a shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli.conftest import baton
from tests.receivers import start_receiver

pytestmark = pytest.mark.slow


async def test_needs_pairing_suggests_the_name_quoted_even_when_named_by_id(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = await start_receiver(tmp_path, "Living Room", pairing="pin")
    try:
        address = f"{room.host}:{room.port}"
        for named in ("Living Room", room.device_id):
            code, _, err = await baton(capsys, "status", named, "--connect", address)
            assert (code, err) == (
                1,
                "baton status: Living Room needs pairing: run `baton pair 'Living Room'`\n",
            )
        code, out, _ = await baton(capsys, "devices", "--connect", address)
        assert code == 0
        assert out.rstrip().endswith("(needs pairing: `baton pair 'Living Room'`)")
    finally:
        assert await room.stop() == 0, "".join(room.output)
