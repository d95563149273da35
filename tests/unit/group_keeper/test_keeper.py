"""The group keeper's socket (client/group_keeper.py) and its client (client/group_client.py):
requests and answers, refusals carried as typed errors, bad requests, a stale socket, a keeper
gone, the idle exit, and the directory's safety. The keeper's Controller is a fake here: the
real one is in tests/integration/groups/."""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from client.group_client import GroupClient
from client.group_keeper import Keeper
from client.keeper_protocol import KeeperDirError, keeper_dir, socket_path
from connect.errors import DeviceNotFoundError, GroupRefusedError, NotPairedError
from connect.group.reports import GroupReport, GroupView, MemberView, Refusal
from tests.waiting import until

VIEW = GroupView(
    "grp-1",
    "k",
    (
        MemberView("k", "Kitchen", "playing", 40, leads=True),
        MemberView("t", "Terrace", "playing", 30),
    ),
)


@dataclass
class Entry:
    id: str


class FakeController:
    """What the keeper asks of its Controller, with answers a test sets."""

    def __init__(self) -> None:
        self.kept: list[GroupView] = []
        self.asked: list[tuple[str, object]] = []
        self.addresses: list[tuple[str, int]] = []
        self.refuse: Exception | None = None
        self.names = {"Kitchen": "k", "Terrace": "t"}
        self.remembered: list[str] = []

    async def async_start(self, browse_now: bool = True) -> None:
        return None

    def remember_groups(self, group_ids: Sequence[str]) -> None:
        self.remembered = list(group_ids)

    async def async_close(self) -> None:
        return None

    def groups(self) -> list[GroupView]:
        return list(self.kept)

    async def async_find(self, ref: str, timeout: float) -> Entry:
        if ref not in self.names:
            raise DeviceNotFoundError(f"no device named {ref!r} found within {timeout:g} s")
        return Entry(self.names[ref])

    async def async_add_address(self, host: str, port: int) -> None:
        self.addresses.append((host, port))

    async def async_group(self, ids: Sequence[str], timeout: float = 5.0) -> GroupReport:
        self.asked.append(("group", list(ids)))
        if self.refuse is not None:
            raise self.refuse
        self.kept = [VIEW]
        return GroupReport(VIEW, True, (Refusal("x", "Garage", "not ready", "timeout"),))

    async def async_ungroup(self, device_id: str) -> None:
        self.asked.append(("ungroup", device_id))
        self.kept = []

    async def async_member_volume(self, device_id: str, volume: int) -> None:
        self.asked.append(("volume", (device_id, volume)))


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


@pytest.fixture
async def keeper(runtime: Path) -> AsyncIterator[tuple[Keeper, FakeController]]:
    controller = FakeController()
    kept = Keeper([], idle_s=3600, controller=controller)
    ready_r, ready_w = os.pipe()
    task = asyncio.get_running_loop().create_task(
        kept.async_serve(socket_path(keeper_dir()), ready_w)
    )
    await asyncio.to_thread(os.read, ready_r, 16)  # it listens
    os.close(ready_r)
    yield kept, controller
    kept.stopped.set()
    await task


async def exchange(lines: list[bytes]) -> list[dict[str, object]]:
    """Send raw request *lines* on one connection; return the answers."""
    reader, writer = await asyncio.open_unix_connection(str(socket_path(keeper_dir())))
    answers = []
    for line in lines:
        writer.write(line)
        answers.append(json.loads(await reader.readline()))
    writer.close()
    return answers


async def test_group_is_carried_out_and_its_report_comes_back(
    keeper: tuple[Keeper, FakeController],
) -> None:
    _, controller = keeper
    client = GroupClient(connect=["127.0.0.1:9"], timeout=2.0)
    report = await client.async_group(["Kitchen", "Terrace"])
    assert report.group == VIEW
    assert report.formed
    assert report.refused == (Refusal("x", "Garage", "not ready", "timeout"),)
    assert controller.asked == [("group", ["k", "t"])]
    assert controller.addresses == [("127.0.0.1", 9)]
    assert await client.async_groups() == [VIEW]
    assert await client.async_member_volume("Terrace", 30) == VIEW
    assert controller.asked[-1] == ("volume", ("t", 30))
    assert await client.async_ungroup("Terrace") is None  # the fake's group ended
    assert await client.async_groups() == []


async def test_refusals_come_back_typed(keeper: tuple[Keeper, FakeController]) -> None:
    _, controller = keeper
    client = GroupClient()
    controller.refuse = GroupRefusedError(
        "Terrace speaks protocol 1.1; playing in a group needs 1.2", device="t"
    )
    with pytest.raises(GroupRefusedError, match=r"Terrace speaks protocol 1\.1") as refused:
        await client.async_group(["Kitchen", "Terrace"])
    assert refused.value.device == "t"
    assert refused.value.code == "unsupported"
    controller.refuse = NotPairedError("device k needs pairing", device="k")
    with pytest.raises(NotPairedError) as unpaired:
        await client.async_group(["Kitchen", "Terrace"])
    assert unpaired.value.device == "k"
    with pytest.raises(DeviceNotFoundError, match="no device named 'Garage'"):
        await client.async_group(["Kitchen", "Garage"])


async def test_bad_requests_are_answered_and_the_connection_goes_on(
    keeper: tuple[Keeper, FakeController],
) -> None:
    answers = await exchange(
        [
            b"not json\n",
            b"[1, 2]\n",
            b'{"op": "dance"}\n',
            b'{"op": "group"}\n',
            b'{"op": "volume", "device": "Terrace", "volume": "loud"}\n',
            b'{"op": "ping"}\n',
        ]
    )
    assert [a["code"] for a in answers[:5]] == ["bad_request"] * 5
    assert "one JSON object a line" in str(answers[0]["error"])
    assert "unknown op 'dance'" in str(answers[2]["error"])
    assert "'devices' is missing" in str(answers[3]["error"])
    assert "whole number" in str(answers[4]["error"])
    assert answers[5]["ok"] is True
    assert answers[5]["pid"] == os.getpid()


async def test_a_request_too_long_is_refused(keeper: tuple[Keeper, FakeController]) -> None:
    reader, writer = await asyncio.open_unix_connection(str(socket_path(keeper_dir())))
    writer.write(b"x" * (128 * 1024) + b"\n")
    answer = json.loads(await reader.readline())
    assert answer["code"] == "bad_request"
    assert await reader.read() == b""  # and that connection ends
    writer.close()


async def test_other_interfaces_restart_an_idle_keeper(
    keeper: tuple[Keeper, FakeController],
) -> None:
    kept, controller = keeper
    controller.kept = [VIEW]
    answer = (
        await exchange([b'{"op": "ungroup", "device": "Kitchen", "interfaces": ["eth9"]}\n'])
    )[0]
    assert answer["code"] == "bad_request"
    assert "ungroup them first" in str(answer["error"])
    controller.kept = []
    answer = (
        await exchange(
            [
                b'{"op": "groups"}\n',
                b'{"op": "ungroup", "device": "Kitchen", "interfaces": ["eth9"]}\n',
            ]
        )
    )[1]
    assert answer["code"] == "restart"
    await asyncio.wait_for(kept.stopped.wait(), 5)


async def test_no_keeper_and_a_stale_socket_mean_no_groups(runtime: Path) -> None:
    client = GroupClient()
    assert await client.async_groups() == []  # nothing there: none is started to ask
    assert not (runtime / "baton").exists()  # and asking made nothing
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(socket_path(keeper_dir())))  # a keeper that died and left its socket
    stale.close()
    assert await client.async_groups() == []
    assert not await client.async_stop()
    # A keeper starting there removes it and listens.
    kept = Keeper([], idle_s=3600, controller=FakeController())
    ready_r, ready_w = os.pipe()
    task = asyncio.get_running_loop().create_task(
        kept.async_serve(socket_path(keeper_dir()), ready_w)
    )
    await asyncio.to_thread(os.read, ready_r, 16)
    os.close(ready_r)
    assert await client.async_groups() == []
    assert await client.async_stop()
    await asyncio.wait_for(task, 5)
    assert not socket_path(keeper_dir()).exists()


async def test_a_keeper_gone_mid_request_is_said(runtime: Path) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()

    server = await asyncio.start_unix_server(hang_up, path=str(socket_path(keeper_dir())))
    from client.group_client import KeeperError

    with pytest.raises(KeeperError, match=r"went away mid-request; see .*groups\.log"):
        await GroupClient().async_groups()
    server.close()


async def test_an_idle_keeper_exits_by_itself(runtime: Path) -> None:
    controller = FakeController()
    kept = Keeper([], idle_s=0.2, controller=controller)
    await asyncio.wait_for(kept.async_serve(socket_path(keeper_dir())), 10)
    assert not socket_path(keeper_dir()).exists()


def test_the_directory_is_this_users_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    made = keeper_dir()
    assert made == tmp_path / "baton"
    assert made.stat().st_mode & 0o777 == 0o700
    made.chmod(0o755)
    with pytest.raises(KeeperDirError, match="open to other users"):
        keeper_dir()
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    assert keeper_dir() == tmp_path / "tmp" / f"baton-{os.getuid()}"


def test_the_keeper_traces_when_the_environment_names_a_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from client.group_keeper import _trace_from_environment
    from connect import telemetry
    from tests.unit.tracing.support import reset_otel_globals

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert _trace_from_environment() is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")  # nobody listens
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # its spool
    reset_otel_globals()
    monkeypatch.setenv("BATON_KEEPER_INGEST", "tok-1")  # a token handed by the command
    tracing = _trace_from_environment(user="ann")
    try:
        assert tracing is not None
        assert telemetry.tracer() is not None
        assert "BATON_KEEPER_INGEST" not in os.environ  # read once, not passed on
    finally:
        if tracing is not None:
            tracing.shutdown()
        reset_otel_globals()


async def test_the_groups_a_keeper_formed_are_noted_for_the_next(runtime: Path) -> None:
    directory = keeper_dir()
    (directory / "groups.kept").write_text('["grp-0", 7]')  # one noted before, one damaged
    first = FakeController()
    kept = Keeper([], idle_s=3600, controller=first)
    ready_r, ready_w = os.pipe()
    task = asyncio.get_running_loop().create_task(kept.async_serve(socket_path(directory), ready_w))
    await asyncio.to_thread(os.read, ready_r, 16)
    os.close(ready_r)
    assert first.remembered == ["grp-0"]
    await GroupClient().async_group(["Kitchen", "Terrace"])  # the fake keeps VIEW (grp-1) now
    await until(
        lambda: json.loads((directory / "groups.kept").read_text()) == ["grp-0", "grp-1"], 5
    )
    kept.stopped.set()
    await task
    second = FakeController()
    again = Keeper([], idle_s=3600, controller=second)
    ready_r, ready_w = os.pipe()
    task = asyncio.get_running_loop().create_task(
        again.async_serve(socket_path(directory), ready_w)
    )
    await asyncio.to_thread(os.read, ready_r, 16)
    os.close(ready_r)
    assert second.remembered == ["grp-0", "grp-1"]
    again.stopped.set()
    await task
