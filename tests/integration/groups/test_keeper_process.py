"""The group keeper as `baton group` runs it: a process of its own, started detached by the
first command that needs it, found again by the next, started afresh when it was killed (its
socket left behind is stale), gone by itself once idle."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from pathlib import Path

import pytest

from client.cli import main
from client.group_client import GroupClient
from connect.errors import ConnectError
from tests.integration.cli.conftest import baton
from tests.integration.groups.conftest import KEEPER_IDLE_S
from tests.waiting import until

pytestmark = pytest.mark.slow


async def keeper_pid() -> int:
    answer = await GroupClient()._exchange({"op": "ping"})
    assert answer is not None
    return int(answer["pid"])


def layout(directory: Path) -> tuple[int, bool, bool]:
    """Return the directory's mode, whether a socket is in it, whether a log is."""
    sock = directory / "groups.sock"
    is_socket = sock.exists() and stat.S_ISSOCK(sock.stat().st_mode)
    return directory.stat().st_mode & 0o777, is_socket, (directory / "groups.log").exists()


def proc_argv(pid: int) -> list[bytes]:
    """Return the command line of process *pid*, as anyone on this machine may read it."""
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_started_when_needed_found_again_restarted_when_killed_and_gone_when_idle(
    keeper_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = ("--connect", "127.0.0.1:9", "--timeout", "0.5")  # nothing listens there
    code, out, err = await baton(capsys, "group", "A", "B", *nowhere)
    assert (code, out) == (1, "")
    assert err.startswith("baton group: ")
    first = await keeper_pid()  # the command started one, detached: it runs on
    assert first != os.getpid()
    assert layout(keeper_dir) == (0o700, True, True)  # its socket and log, in a 0700 directory
    await baton(capsys, "group", "A", "B", *nowhere)
    assert await keeper_pid() == first  # found again, not another

    os.kill(first, signal.SIGKILL)  # its socket stays behind, stale
    await until(lambda: not alive(first), 5, "the keeper killed")
    assert layout(keeper_dir)[1]
    assert await GroupClient().async_groups() == []  # asking who keeps what starts nothing
    code, _, err = await baton(capsys, "ungroup", "A", *nowhere)
    assert code == 1
    second = await keeper_pid()
    assert second != first

    # Idle (no group kept) for KEEPER_IDLE_S: it exits by itself and takes its socket along.
    await until(lambda: not alive(second), KEEPER_IDLE_S + 10, "the idle keeper exits")
    assert not layout(keeper_dir)[1]


async def test_two_commands_at_once_share_one_keeper(
    keeper_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nowhere = ("--connect", "127.0.0.1:9", "--timeout", "0.5")
    words = ("group", "A", "B", *nowhere)
    codes = await asyncio.gather(*(asyncio.to_thread(main, list(words)) for _ in range(2)))
    err = capsys.readouterr().err
    assert codes == [1, 1]
    assert "keeper" not in err  # each failed for its devices, none for the keeper
    pid = await keeper_pid()
    log = (keeper_dir / "groups.log").read_text()
    assert log.count("keeping groups at") == 1, log  # one keeper listened
    assert await GroupClient().async_stop()
    await until(lambda: not alive(pid), 10, "the keeper stops")


async def test_a_keeper_started_with_a_collector_traces_to_it_and_keeps_the_token_off_its_argv(
    keeper_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # its trace spool
    client = GroupClient(
        connect=["127.0.0.1:9"],
        timeout=0.5,
        trace_endpoint="http://127.0.0.1:9",  # no collector listens: it spools
        trace_user="ann",
        trace_token="secret-token",
    )
    with pytest.raises(ConnectError):
        await client.async_group(["A", "B"])  # nothing listens at 127.0.0.1:9
    pid = await keeper_pid()
    argv = proc_argv(pid)
    assert b"--trace-endpoint" in argv
    assert b"http://127.0.0.1:9" in argv
    assert not any(b"secret-token" in word for word in argv)
    assert await client.async_stop()
    await until(lambda: not alive(pid), 10, "the keeper stops")
