"""The demo's private network (client/demo_netns.py): its links exist only inside it, a port
inside is out of this namespace's reach, and the viewer's socket, made here before the move,
still reaches the server inside through the relay."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from client.demo_netns import LINK, PEER

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="a network namespace needs root and iproute2's `ip`",
)


async def _ask(port: int, line: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(line)
    await writer.drain()
    try:
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()


async def test_the_demo_network_is_its_own_and_its_viewer_is_reached_from_here() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.cli.demo_network_child",
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    try:
        async with asyncio.timeout(20):
            told = json.loads(await child.stdout.readline())
        assert "why_not" not in told, told
        inside = told["links"]
        assert f"{LINK}@{PEER}" in inside and f"{PEER}@{LINK}" in inside, inside
        assert "LOOPBACK,UP" in inside, inside
        here = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
        assert LINK not in here.stdout and PEER not in here.stdout

        assert await _ask(told["viewer"], b"hello\n") == b"inside: hello\n"
        with pytest.raises(ConnectionRefusedError):  # that port is in the demo's namespace
            await _ask(told["inside"], b"hello\n")
    finally:
        child.stdin.close()
        async with asyncio.timeout(20):
            code = await child.wait()
    assert code == 0
