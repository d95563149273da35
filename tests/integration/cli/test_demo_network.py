"""The demo's private network (client/demo_netns.py): its links exist only inside it, a port
inside is out of this namespace's reach, and the viewer's socket, made here before the move,
still reaches the server inside through the relay. When its links cannot be made, the demo is
back in the namespace it started in, and says why."""

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


def _namespace_here() -> int:
    return Path("/proc/self/ns/net").stat().st_ino


def _links_here() -> str:
    return subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout


async def _ask(port: int, line: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(line)
    writer.write_eof()  # a half close: the answer must still come back through the relay
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
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        async with asyncio.timeout(20):
            told = json.loads(await child.stdout.readline())
        assert "why_not" not in told, told
        inside = told["links"]
        for link in (f"{LINK}@{PEER}", f"{PEER}@{LINK}", "LOOPBACK,UP"):
            assert link in inside, inside
        here = await asyncio.to_thread(_links_here)
        assert LINK not in here
        assert PEER not in here

        assert await _ask(told["viewer"], b"hello\n") == b"inside: hello\n"
        with pytest.raises(ConnectionRefusedError):  # that port is in the demo's namespace
            await _ask(told["inside"], b"hello\n")
    finally:
        child.stdin.close()
        async with asyncio.timeout(20):
            code = await child.wait()
    assert code == 0


async def test_links_that_cannot_be_made_leave_the_demo_where_it_was(tmp_path: Path) -> None:
    # An `ip` that cannot add a veth, as in a container without the veth driver.
    real_ip = shutil.which("ip")
    fake = tmp_path / "ip"
    fake.write_text(
        '#!/bin/sh\ncase "$*" in *veth*) echo "no veth here" >&2; exit 2;; esac\n'
        f'exec {real_ip} "$@"\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.cli.demo_network_child",
        cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(20):
        out, _ = await child.communicate()
    told = json.loads(out)
    assert told["why_not"] == f"ip link add {LINK} type veth peer name {PEER}: no veth here"
    assert told["netns"] == _namespace_here()
    assert child.returncode == 1
