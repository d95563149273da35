"""`baton-bridge --browse-mpd` bridges an MPD announced on mDNS (`_mpd._tcp`, as MPD does
through Avahi; here the test announces the real mpd it started, on loopback only)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import sys
from pathlib import Path

import pytest
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from bridges.mpd import mpd_device_id
from tests.mpd_peer import READY, start_mpd

pytestmark = pytest.mark.slow

HOST = "hifi-pi.local."


async def test_an_mpd_announced_on_mdns_is_bridged(tmp_path: Path) -> None:
    mpd = await start_mpd(tmp_path / "mpd")
    zc = AsyncZeroconf(interfaces=["127.0.0.1"])
    info = AsyncServiceInfo(
        "_mpd._tcp.local.", "Music Player @ hifi._mpd._tcp.local.",
        addresses=[socket.inet_aton("127.0.0.1")], port=mpd.port, server=HOST,
    )  # fmt: skip
    bridge = None
    try:
        await zc.async_register_service(info)
        bridge = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridges", "--browse-mpd", "--interface", "lo",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        assert bridge.stdout is not None
        lines = []
        async with asyncio.timeout(10):
            while not (found := READY.search(line := (await bridge.stdout.readline()).decode())):
                assert line, "".join(lines)
                lines.append(line)
        assert re.search(r"'Music Player @ hifi' \(mpd, id ", line), line
        # Its id is made of the host name MPD announced, not of the address.
        assert found["id"] == mpd_device_id("hifi-pi.local", mpd.port)
    finally:
        if bridge is not None:
            with contextlib.suppress(ProcessLookupError):
                bridge.terminate()
            assert await asyncio.wait_for(bridge.wait(), 10) == 0
        await zc.async_close()
        await mpd.stop()
