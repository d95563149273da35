"""The service's start: wait for an address (never fail for lack of one), then READY=1.

A fake receiver and fake interface lists stand in for the network; the notifications go to a
real datagram socket, as systemd's would.
"""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from connect.discovery.interfaces import NetworkInterface
from devices import service
from devices.config import ReceiverConfig
from devices.netwait import async_wait_for_address, usable_addresses
from devices.receiver import Listening
from devices.systemd import SystemdNotifier
from taskowner import TaskHealth
from tests.waiting import until

LO = NetworkInterface("lo", 1, ("127.0.0.1",), ())
WLAN_DOWN = NetworkInterface("wlan0", 3, (), ())
WLAN_UP = NetworkInterface("wlan0", 3, ("192.168.1.20",), ())
WLAN_LINK_LOCAL = NetworkInterface("wlan0", 3, ("169.254.7.7",), ("fe80::1",))


def test_usable_addresses_follow_the_default_choice_or_the_named_interfaces() -> None:
    assert usable_addresses([], [LO, WLAN_DOWN]) == ()
    assert usable_addresses([], [LO, WLAN_LINK_LOCAL]) == ()  # link-local: not by default
    assert usable_addresses([], [LO, WLAN_UP]) == ("192.168.1.20",)
    assert usable_addresses(["wlan0"], [LO]) == ()  # named but not there yet: wait, no error
    assert usable_addresses(["wlan0"], [LO, WLAN_LINK_LOCAL]) == ("169.254.7.7",)  # named: yes
    assert usable_addresses(["lo"], [LO]) == ("127.0.0.1",)


async def test_waits_until_an_address_appears(caplog: pytest.LogCaptureFixture) -> None:
    views = iter([(LO,), (LO, WLAN_DOWN), (LO, WLAN_DOWN), (LO, WLAN_UP)])
    waiting = []
    found = await async_wait_for_address(
        ["wlan0"],
        on_waiting=lambda: waiting.append(1),
        list_now=lambda: next(views),
        poll_interval_s=0.001,
    )
    assert found == ("192.168.1.20",)
    assert len(waiting) == 3
    assert [r.getMessage() for r in caplog.records if "waiting" in r.getMessage()] == [
        "waiting for a network address on wlan0 (interfaces now: lo)"
    ]


@dataclass
class FakeReceiver:
    """Just what async_serve uses of a Receiver (it is its own health file: `watch`)."""

    config: ReceiverConfig
    started: bool = False
    closed: bool = False
    tasks: tuple[TaskHealth, ...] = ()
    listeners: list[Callable[[], None]] = field(default_factory=list)

    @property
    def health_file(self) -> FakeReceiver:
        return self

    def watch(self, listener: Callable[[], None]) -> None:
        self.listeners.append(listener)

    def health(self) -> tuple[TaskHealth, ...]:
        return self.tasks

    async def async_start(self) -> Listening:
        self.started = True
        return Listening("abc123", ("127.0.0.1",), 47100)

    async def async_close(self) -> None:
        self.closed = True


@pytest.fixture
def manager(tmp_path: Path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.setblocking(False)
    yield sock, SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "notify")})
    sock.close()


def received(sock: socket.socket) -> list[str]:
    got = []
    while True:
        try:
            got.append(sock.recv(4096).decode())
        except BlockingIOError:
            return got


async def test_ready_once_started_then_stopping(manager, monkeypatch, capsys) -> None:
    sock, notifier = manager
    monkeypatch.setattr(service, "async_wait_for_address", _address_at_once)
    receiver = FakeReceiver(ReceiverConfig(name="Car", interfaces=("lo",)))
    stop = asyncio.Event()
    serving = asyncio.ensure_future(service.async_serve(receiver, stop, notifier))  # type: ignore[arg-type]
    got: list[str] = []

    def ready_came() -> bool:
        got.extend(received(sock))
        return bool(got)

    await until(ready_came, what="a READY datagram")
    assert receiver.started
    assert got == ["READY=1\nSTATUS=advertising 'Car' on 127.0.0.1:47100"]
    assert "listening on 127.0.0.1:47100" in capsys.readouterr().out
    stop.set()
    assert await serving == 0
    assert receiver.closed
    assert received(sock) == ["STOPPING=1\nSTATUS=stopping"]


async def test_a_failing_background_task_shows_in_the_status_line(manager, monkeypatch) -> None:
    sock, notifier = manager
    monkeypatch.setattr(service, "async_wait_for_address", _address_at_once)
    receiver = FakeReceiver(ReceiverConfig(name="Car", interfaces=("lo",)))
    stop = asyncio.Event()
    serving = asyncio.ensure_future(service.async_serve(receiver, stop, notifier))  # type: ignore[arg-type]
    await until(lambda: bool(receiver.listeners), what="the service watching the health")
    received(sock)  # READY
    error = "OSError: [Errno 24] Too many open files"
    receiver.tasks = (TaskHealth("receiver session saving", True, 3, error, 12.0),)
    receiver.listeners[0]()
    assert received(sock) == [
        "STATUS=advertising 'Car' on 127.0.0.1:47100; FAILING: receiver session saving "
        f"({error}; 3 failures, started again each time)"
    ]
    receiver.tasks = (TaskHealth("receiver session saving", False, 3, error, None),)
    receiver.listeners[0]()
    assert received(sock) == [
        "STATUS=advertising 'Car' on 127.0.0.1:47100; background tasks running"
    ]
    stop.set()
    assert await serving == 0


async def test_what_start_up_made_is_frozen_out_of_the_garbage_collector(
    manager, monkeypatch
) -> None:
    """A full collection walked every object start-up made (12-60 ms on the event loop, in the
    middle of transfers); once started, they are frozen and collections skip them."""
    _sock, notifier = manager
    monkeypatch.setattr(service, "async_wait_for_address", _address_at_once)
    receiver = FakeReceiver(ReceiverConfig(name="Car", interfaces=("lo",)))
    stop = asyncio.Event()
    gc.unfreeze()
    try:
        serving = asyncio.ensure_future(service.async_serve(receiver, stop, notifier))  # type: ignore[arg-type]
        await until(lambda: receiver.started, what="the start")
        await until(lambda: gc.get_freeze_count() > 0, what="objects frozen")
        stop.set()
        assert await serving == 0
    finally:
        gc.unfreeze()  # this test process's objects go back to the collector


async def test_waiting_for_the_network_extends_the_start_and_can_be_stopped(
    manager, monkeypatch
) -> None:
    sock, notifier = manager

    async def never(wanted, *, on_waiting):
        while True:
            on_waiting()
            await asyncio.sleep(0.01)

    monkeypatch.setattr(service, "async_wait_for_address", never)
    receiver = FakeReceiver(ReceiverConfig(name="Car", interfaces=("wlan0",)))
    stop = asyncio.Event()
    serving = asyncio.ensure_future(service.async_serve(receiver, stop, notifier))  # type: ignore[arg-type]
    messages: list[str] = []

    def two_came() -> bool:
        messages.extend(received(sock))
        return len(messages) >= 2

    await until(two_came, what="two notifications")
    assert messages[:2] == ["STATUS=waiting for a network address", "EXTEND_TIMEOUT_USEC=30000000"]
    stop.set()  # SIGTERM while still waiting: a clean exit, and nothing was started
    assert await serving == 0
    assert not receiver.started
    # Not closed either: a receiver that never loaded its saved session must not save over it.
    assert not receiver.closed


async def _address_at_once(wanted, *, on_waiting):
    return ("127.0.0.1",)
