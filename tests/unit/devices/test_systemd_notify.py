"""sd_notify over a real AF_UNIX datagram socket: path and abstract addresses, the watchdog."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from devices.systemd import SystemdNotifier
from tests.waiting import until


@pytest.fixture
def manager(tmp_path: Path):
    """A socket standing in for systemd's notification socket (a filesystem path)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, str(path)
    sock.close()


def test_ready_status_and_stopping_reach_the_manager(manager) -> None:
    sock, path = manager
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path})
    notifier.ready("advertising 'Car'")
    assert sock.recv(4096) == b"READY=1\nSTATUS=advertising 'Car'"
    notifier.extend_start_timeout(30)
    assert sock.recv(4096) == b"EXTEND_TIMEOUT_USEC=30000000"
    notifier.stopping()
    assert sock.recv(4096) == b"STOPPING=1\nSTATUS=stopping"
    notifier.close()
    notifier.close()  # idempotent


def test_abstract_namespace_address() -> None:
    name = f"baton-test-notify-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        notifier = SystemdNotifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.notify("STATUS=hello")
        assert sock.recv(4096) == b"STATUS=hello"
        notifier.close()
    finally:
        sock.close()


def test_without_a_manager_nothing_is_sent_and_nothing_fails() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert notifier.notify("READY=1") is False
    assert notifier.watchdog_interval_s is None


def test_a_vanished_socket_is_reported_not_raised(tmp_path: Path, caplog) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.notify("READY=1") is False
    assert notifier.notify("READY=1") is False
    assert len([r for r in caplog.records if "notification failed" in r.message]) == 1
    notifier.close()


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({"WATCHDOG_USEC": "20000000"}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}, None),  # meant for another process
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval_is_half_of_watchdog_usec(env, interval) -> None:
    assert SystemdNotifier(env).watchdog_interval_s == interval


@pytest.mark.warning_logs(r"^Executing <Task .* took [\d.]+ seconds")  # blocks on purpose
async def test_watchdog_pings_from_the_loop_and_stop_when_it_is_blocked(manager) -> None:
    sock, path = manager
    sock.setblocking(False)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "40000"})  # 20 ms
    task = asyncio.get_running_loop().create_task(notifier.async_watchdog())
    pings: list[bytes] = []

    def three_came() -> bool:
        pings.extend(_drain(sock))
        return len(pings) >= 3

    await until(three_came, what="three watchdog pings")
    assert set(pings) == {b"WATCHDOG=1"}
    # A blocked loop sends nothing: exactly what lets systemd notice a hang.
    time.sleep(0.1)  # noqa: ASYNC251  (blocking the loop on purpose: a hang)
    assert _drain(sock) == []
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    notifier.close()


def _drain(sock: socket.socket) -> list[bytes]:
    got = []
    while True:
        try:
            got.append(sock.recv(4096))
        except BlockingIOError:
            return got
