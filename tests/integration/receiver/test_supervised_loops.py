"""The loops a receiver lives on survive their failures (Baton issue 13, item 5).

Under an attack that exhausted its descriptors the receiver's session saving failed with EMFILE
and was never tried again, and its interface watcher died; later changes were never saved.
Expected now: a failed save is tried again until it is written, with no further change
needed; a loop that dies of an unexpected error is started again and does its work; the
failure is logged once; `baton-receiver --check` and health.json say a task is failing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from connect.discovery import ServiceRecord
from connect.discovery.advertise import ServiceAdvertiser
from connect.discovery.interfaces import NetworkInterface
from connect.wire import messages as m
from devices import _session_saving
from devices.check import check_running
from devices.config import ReceiverConfig
from devices.health import read_health
from devices.persistence import SessionStore, StateDirError
from devices.receiver import Receiver
from tests.waiting import until

# What these tests provoke on purpose, and what a passing run therefore logs.
pytestmark = pytest.mark.warning_logs(
    r"failed \(\d+ in a row\)",
    r"could not save the session",
    r"pairing is open",
    r"Interface '[^']*' not added",
    r"no interface or address",
)

EMFILE = OSError(24, "Too many open files")
SAVE_TIMEOUT_S = 10.0
_ids = itertools.count()


@pytest.fixture
async def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Receiver]:
    monkeypatch.setattr(_session_saving, "SAVE_INTERVAL_S", 0.05)  # shrink the rate limit
    config = ReceiverConfig(
        name="Supervised",
        interfaces=("127.0.0.1",),
        audio_output=f"afile:{tmp_path / 'played.wav'}",
        state_dir=tmp_path / "state",
        pairing="open",
        resume_window=0.0,
    )
    running = Receiver(config, advertise=False)
    await running.async_start()
    try:
        yield running
    finally:
        await running.async_close()


async def set_volume(receiver: Receiver, volume: int) -> None:
    command = m.Command(f"cmd-{next(_ids)}", m.SetVolume(volume))
    result = await receiver.async_handle_command(command, m.Role.OWNER)
    assert result.ok, result.failure


async def until_saved(receiver: Receiver, volume: int) -> None:
    store = SessionStore(receiver.config.state_dir)

    def saved() -> bool:
        state = store.load_session()
        return state is not None and state.volume == volume

    await until(saved, SAVE_TIMEOUT_S, f"volume {volume} in the saved session")


def failing_saves(receiver: Receiver, monkeypatch: pytest.MonkeyPatch, errors: list[Exception]):
    """Make the receiver's next saves raise *errors*, one each, then save as before."""
    store = receiver._store  # the receiver's own store: the test reaches in to break its disk
    real = store.save_session

    def save_session(state: m.PlaybackState, now_us: int) -> None:
        if errors:
            raise errors.pop(0)
        real(state, now_us)

    monkeypatch.setattr(store, "save_session", save_session)


def out_of_descriptors() -> StateDirError:
    error = StateDirError("cannot save session.bin: [Errno 24] Too many open files")
    error.__cause__ = EMFILE
    return error


async def test_a_save_that_failed_is_tried_again_without_another_change(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="devices.receiver")
    await set_volume(receiver, 20)
    await until_saved(receiver, 20)
    failing_saves(receiver, monkeypatch, [out_of_descriptors() for _ in range(3)])
    await set_volume(receiver, 30)  # the last change for a while: nothing else will ask
    await until_saved(receiver, 30)
    failed = [r for r in caplog.records if "could not save the session" in r.getMessage()]
    assert [r.levelno for r in failed] == [logging.ERROR, logging.DEBUG, logging.DEBUG]
    await until(lambda: "saved the session again, after 3 failed writes" in caplog.text)


async def test_a_save_loop_killed_by_an_unexpected_error_is_started_again(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await set_volume(receiver, 20)
    await until_saved(receiver, 20)
    failing_saves(receiver, monkeypatch, [RuntimeError("a bug in the store")])
    await set_volume(receiver, 40)
    await until_saved(receiver, 40)  # the loop came back and owed this save
    saving = [task for task in receiver.health() if task.name == "receiver session saving"]
    assert saving[0].failures == 1
    assert saving[0].error == "RuntimeError: a bug in the store"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "receiver session saving failed" in errors[0].getMessage()
    await set_volume(receiver, 41)  # and goes on saving later changes
    await until_saved(receiver, 41)


async def test_check_and_the_health_file_say_a_task_is_failing(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_dir = receiver.config.state_dir
    assert check_running(state_dir).ok
    errors: list[Exception] = [RuntimeError("disk controller gone")] * 1000
    failing_saves(receiver, monkeypatch, errors)
    await set_volume(receiver, 50)

    def reported() -> bool:
        running = read_health(state_dir)
        return running is not None and any(task.failing for task in running.tasks)

    await until(reported, SAVE_TIMEOUT_S, "health.json naming a failing task")
    result = check_running(state_dir)
    assert not result.ok
    assert "receiver session saving (RuntimeError: disk controller gone" in result.detail
    errors.clear()  # the disk is back: the receiver's close saves as usual


async def test_the_interface_watcher_outlives_a_moment_without_descriptors() -> None:
    lo = NetworkInterface("lo", 1, ("127.0.0.1",), ())
    moved = NetworkInterface("lo", 1, ("127.0.0.1", "127.0.0.2"), ())
    views: list[Callable[[], tuple[NetworkInterface, ...]]] = [lambda: (lo,)] * 2

    def exhausted() -> tuple[NetworkInterface, ...]:
        raise EMFILE

    views += [exhausted] * 3  # getifaddrs needs a socket: EMFILE while an attack lasts
    source_calls = iter(views)

    def source() -> tuple[NetworkInterface, ...]:
        return next(source_calls, lambda: (moved,))()

    advertiser = ServiceAdvertiser(
        ServiceRecord(name="Watcher", id="dev-watcher", port=7003),
        interfaces=["lo"],
        poll_interval_s=0.02,
        interface_source=source,
    )
    await advertiser.async_start()
    try:
        await until(
            lambda: "127.0.0.2" in advertiser.record.addresses,
            SAVE_TIMEOUT_S,
            "the new address, seen after the EMFILE spell",
        )
        (watcher,) = advertiser.health()
        assert watcher.failures >= 1
        assert watcher.error == "OSError: [Errno 24] Too many open files"
    finally:
        await advertiser.async_close()


async def test_a_receiver_that_stops_leaves_no_health_to_report(tmp_path: Path) -> None:
    config = ReceiverConfig(
        name="Brief",
        interfaces=("127.0.0.1",),
        audio_output=f"afile:{tmp_path / 'played.wav'}",
        state_dir=tmp_path / "state",
        pairing="open",
    )
    receiver = Receiver(config, advertise=False)
    await receiver.async_start()
    running = read_health(config.state_dir)
    assert running is not None
    assert not [task for task in running.tasks if task.failing]
    await receiver.async_close()
    assert read_health(config.state_dir) is None
    assert check_running(config.state_dir).detail == "none on this state directory"
    await asyncio.sleep(0)
