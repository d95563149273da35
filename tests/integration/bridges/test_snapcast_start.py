"""A bridge named a Snapcast server that is not there yet (it boots after the bridge) keeps
trying, and bridges the server's group once it answers."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tests.mpd_peer import free_port
from tests.snapcast_peer import READY, start_snapcast

pytestmark = pytest.mark.slow


async def test_a_bridge_started_before_its_server_waits_for_it(tmp_path: Path) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "bridges", "--snapcast", f"127.0.0.1:{port}",
            "--interface", "lo"]  # fmt: skip
    bridge = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    assert bridge.stdout is not None
    said: list[str] = []
    try:
        async with asyncio.timeout(10):
            while "trying again until it answers" not in "".join(said):
                said.append((await bridge.stdout.readline()).decode(errors="replace"))
        snapcast = await start_snapcast(tmp_path / "snapcast", "Late Garden", control_port=port)
        try:
            async with asyncio.timeout(15):
                while not READY.search(said[-1]):
                    said.append((await bridge.stdout.readline()).decode(errors="replace"))
        finally:
            await snapcast.stop()
        assert "'Late Garden' (snapcast" in said[-1], said
    finally:
        bridge.terminate()
        assert await bridge.wait() == 0, "".join(said)
    assert "Traceback" not in "".join(said), "".join(said)
