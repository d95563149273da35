"""`baton` tries a device where it was last reached before asking mDNS, never trusting that
address for who answers there, and a command to a known device loads only what it needs.

The devices here are in-process session servers that are not advertised on mDNS: a command
that reaches one by name can only have done so at the address it remembered.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from connect.discovery.last_reached import FILE_NAME
from tests.fakes import MemoryHost
from tests.integration.cli.conftest import baton
from tests.receivers import start_receiver

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
NOT_ADVERTISED = ("--interface", "lo", "--timeout", "0.5")  # mDNS would find none of these


async def serving(device_id: str, name: str) -> MemoryHost:
    host = MemoryHost(device_id, name)
    host.port = await host.server.async_start(["127.0.0.1"], 0)  # type: ignore[attr-defined]
    return host


@pytest.fixture
async def kitchen() -> AsyncIterator[MemoryHost]:
    host = await serving("dev-kitchen", "Kitchen")
    yield host
    await host.server.async_close()


@pytest.fixture
async def den() -> AsyncIterator[MemoryHost]:
    host = await serving("dev-den", "Den")
    yield host
    await host.server.async_close()


def at(host: MemoryHost) -> str:
    return f"--connect=127.0.0.1:{host.port}"  # type: ignore[attr-defined]


async def test_a_device_reached_once_is_reached_by_name_without_looking(
    config: Path, kitchen: MemoryHost, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = await baton(capsys, "status", "Kitchen", at(kitchen))
    assert (code, err) == (0, "")
    code, out, err = await baton(capsys, "volume", "kitchen", "30", *NOT_ADVERTISED)
    assert (code, err) == (0, "")
    assert out.startswith("kitchen: ok")
    assert kitchen.state.volume == 30
    code, out, _ = await baton(capsys, "status", "dev-kitchen", *NOT_ADVERTISED)
    assert (code, out.startswith("dev-kitchen: stopped")) == (0, True)


async def test_a_remembered_address_is_never_trusted_for_who_answers_there(
    config: Path, kitchen: MemoryHost, den: MemoryHost, capsys: pytest.CaptureFixture[str]
) -> None:
    for host in (kitchen, den):
        code, _, _ = await baton(capsys, "status", host.info.name, at(host))
        assert code == 0
    path = config / FILE_NAME
    document = json.loads(path.read_text())
    for entry in document["devices"]:  # Kitchen "moved" to where the Den is
        if entry["device_id"] == "dev-kitchen":
            entry["port"] = den.port  # type: ignore[attr-defined]
    path.write_text(json.dumps(document))
    commands_before = len(den.commands_seen)
    code, out, err = await baton(capsys, "volume", "Kitchen", "30", *NOT_ADVERTISED)
    assert (code, out) == (1, "")
    assert err.startswith("baton volume: no device named 'Kitchen' within 0.5 s")
    assert len(den.commands_seen) == commands_before  # the Den obeyed nothing meant for Kitchen
    kept = {e["device_id"]: e["port"] for e in json.loads(path.read_text())["devices"]}
    assert kept["dev-den"] == den.port  # type: ignore[attr-defined]


async def test_a_renamed_device_is_not_reached_by_its_old_name(
    config: Path, kitchen: MemoryHost, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = await baton(capsys, "status", "Kitchen", at(kitchen))
    assert code == 0
    kitchen.info = replace(kitchen.info, name="Pantry")
    code, _, err = await baton(capsys, "status", "Kitchen", *NOT_ADVERTISED)
    assert code == 1
    assert "no device named 'Kitchen'" in err
    code, _, _ = await baton(capsys, "status", "dev-kitchen", *NOT_ADVERTISED)  # by id
    assert code == 0
    code, out, _ = await baton(capsys, "status", "Pantry", *NOT_ADVERTISED)  # noted anew
    assert (code, out.startswith("Pantry: stopped")) == (0, True)


async def test_a_device_that_moved_is_looked_for_and_noted_where_it_is_now(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = await start_receiver(tmp_path, "Living Room")
    code, _, _ = await baton(capsys, "status", "Living Room", "--interface", "lo")
    assert code == 0
    old_port = room.port
    assert await room.stop() == 0
    room = await start_receiver(tmp_path, "Living Room")  # same state: same id, a new port
    try:
        assert room.port != old_port
        code, _, err = await baton(capsys, "status", "Living Room", "--interface", "lo")
        assert (code, err) == (0, "")
        [entry] = json.loads((config / FILE_NAME).read_text())["devices"]
        assert (entry["device_id"], entry["port"]) == (room.device_id, room.port)
    finally:
        assert await room.stop() == 0, "".join(room.output)


async def test_a_command_to_a_known_device_loads_only_what_it_needs(
    config: Path, kitchen: MemoryHost, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = await baton(capsys, "status", "Kitchen", at(kitchen))
    assert code == 0
    # A process of its own (this one has loaded everything), while this loop serves Kitchen.
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "importtime", "-m", "client.cli", "status", "Kitchen",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "BATON_CONFIG_DIR": str(config)},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert out.decode().startswith("Kitchen: stopped")
    loaded = {line.rsplit("|", 1)[-1].strip() for line in err.decode().splitlines()}
    # aiohttp (~120 ms: it loads the CA bundle twice), zeroconf, the device's server, Qt, VLC
    unwanted = {"aiohttp", "zeroconf", "connect.session.server", "PySide6", "vlc"}
    assert loaded & unwanted == set()
