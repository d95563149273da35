"""DeviceRegistry state rules without any network: manual entries, liveness, forgetting."""

from __future__ import annotations

import logging

import pytest

from connect.discovery import DeviceAdded, DeviceEvent, DeviceRegistry, DeviceUpdated, ServiceRecord
from connect.discovery.registry import DeviceSource
from connect.errors import ConnectTimeoutError, DeviceNotFoundError


class Clock:
    """A settable wall clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(clock) -> DeviceRegistry:
    # Never started: these tests exercise the state rules, not zeroconf.
    return DeviceRegistry(interfaces=["127.0.0.1"], clock=clock)


def polled(registry: DeviceRegistry, device_id: str = "dev-1"):
    registry.async_add_manual("192.0.2.5", 8765)
    return registry.async_report_manual("192.0.2.5", 8765, ServiceRecord(name="Pi", id=device_id))


@pytest.mark.warning_logs(r"offline: heartbeat timeout")
def test_online_only_from_the_session_layer(registry, clock):
    entry = polled(registry)
    assert not entry.online
    clock.now = 1005.0
    registry.async_mark_online("dev-1")
    online = registry.get("dev-1")
    assert online is not None
    assert online.online
    assert online.last_seen == 1005.0
    registry.async_mark_offline("dev-1", "heartbeat timeout")
    offline = registry.get("dev-1")
    assert offline is not None
    assert not offline.online
    assert offline.offline_reason == "heartbeat timeout"
    assert offline.listed  # added by hand: stays in the list, shown as offline
    registry.async_mark_online("dev-1")
    again = registry.get("dev-1")
    assert again is not None
    assert again.offline_reason == ""


def test_a_flapping_device_warns_once_then_logs_at_debug(registry, caplog):
    polled(registry)
    caplog.set_level(logging.DEBUG, logger="connect.discovery.registry")
    for _ in range(3):
        registry.async_mark_online("dev-1")
        registry.async_mark_offline("dev-1", "wifi")
    levels = [r.levelno for r in caplog.records if "offline" in r.getMessage()]
    assert levels == [logging.WARNING, logging.DEBUG, logging.DEBUG]


def test_a_device_that_ended_the_session_on_purpose_is_logged_at_info(registry, caplog):
    polled(registry)
    caplog.set_level(logging.DEBUG, logger="connect.discovery.registry")
    registry.async_mark_online("dev-1")
    registry.async_mark_offline("dev-1", "said goodbye (shutdown)", expected=True)
    entry = registry.get("dev-1")
    assert entry is not None
    assert not entry.online
    assert entry.offline_reason == "said goodbye (shutdown)"
    registry.async_mark_online("dev-1")
    registry.async_mark_offline("dev-1", "wifi")  # a lost link after it: still a warning
    levels = [r.levelno for r in caplog.records if "offline" in r.getMessage()]
    assert levels == [logging.INFO, logging.WARNING]


def test_a_drop_after_a_long_stable_spell_warns_again(registry, clock, caplog):
    polled(registry)
    caplog.set_level(logging.DEBUG, logger="connect.discovery.registry")
    registry.async_mark_online("dev-1")
    registry.async_mark_offline("dev-1", "wifi")
    registry.async_mark_online("dev-1")
    clock.now += 600
    registry.async_mark_offline("dev-1", "wifi")
    levels = [r.levelno for r in caplog.records if "offline" in r.getMessage()]
    assert levels == [logging.WARNING, logging.WARNING]


def test_unknown_ids_are_typed_errors(registry):
    with pytest.raises(DeviceNotFoundError):
        registry.async_mark_online("nope")
    with pytest.raises(DeviceNotFoundError):
        registry.async_mark_offline("nope", "x")
    with pytest.raises(DeviceNotFoundError):
        registry.async_forget("nope")
    with pytest.raises(DeviceNotFoundError):
        registry.async_report_manual("192.0.2.99", 1, ServiceRecord(name="x", id="x"))


async def test_resolve_of_unknown_id_is_a_typed_error(registry):
    with pytest.raises(DeviceNotFoundError):
        await registry.async_resolve("nope")


async def test_resolve_of_a_manual_entry_returns_its_host(registry):
    polled(registry)
    entry = await registry.async_resolve("dev-1")
    assert (entry.addresses, entry.port) == (("192.0.2.5",), 8765)


def test_forget_drops_the_entry_and_its_manual_host(registry):
    events: list[DeviceEvent] = []
    polled(registry)
    registry.subscribe(events.append)
    registry.async_forget("dev-1")
    assert registry.entries() == ()
    assert registry.manual_hosts() == ()
    assert [type(e).__name__ for e in events] == ["DeviceRemoved"]


def test_unchanged_reports_emit_nothing_and_unsubscribe_works(registry):
    events: list[DeviceEvent] = []
    unsubscribe = registry.subscribe(events.append)
    registry.async_add_manual("192.0.2.5", 8765)
    registry.async_add_manual("192.0.2.5", 8765)
    assert [type(e) for e in events] == [DeviceAdded]
    unsubscribe()
    unsubscribe()  # idempotent
    registry.async_mark_online("manual:192.0.2.5:8765")
    assert len(events) == 1


def test_ipv6_manual_hosts_are_bracketed(registry):
    entry = registry.async_add_manual("2001:db8::5", 8765)
    assert entry.manual_address == "[2001:db8::5]:8765"


def test_a_failing_subscriber_does_not_starve_the_others(registry, caplog):
    seen: list[DeviceEvent] = []

    def broken(_: DeviceEvent) -> None:
        raise RuntimeError("subscriber bug")

    registry.subscribe(broken)
    registry.subscribe(seen.append)
    with caplog.at_level(logging.CRITICAL, logger="connect.discovery.registry"):
        registry.async_add_manual("192.0.2.5", 8765)
    assert len(seen) == 1


async def test_wait_for_returns_a_present_entry_at_once_or_times_out(registry):
    polled(registry)
    found = await registry.async_wait_for(lambda e: e.id == "dev-1", 0.01)
    assert found.name == "Pi"
    with pytest.raises(ConnectTimeoutError):
        await registry.async_wait_for(lambda e: e.id == "other", 0.01)


@pytest.mark.warning_logs(r"offline: bye")
async def test_wait_for_sees_a_later_update(registry):
    polled(registry)
    registry.subscribe(lambda e: None)

    def became_online(event_entry):
        return event_entry.online

    waiter = registry.async_wait_for(became_online, 5)
    registry.async_mark_online("dev-1")  # happens before the waiter first runs: seen at once
    assert (await waiter).online
    updates: list[DeviceEvent] = []
    registry.subscribe(updates.append)
    registry.async_mark_offline("dev-1", "bye")
    assert isinstance(updates[0], DeviceUpdated)


async def test_close_without_start_is_idempotent(registry):
    await registry.async_close()
    await registry.async_close()


def test_a_manual_host_answering_with_a_new_id_moves_the_entry(registry):
    polled(registry, "dev-old")
    registry.async_mark_online("dev-old")
    events: list[DeviceEvent] = []
    registry.subscribe(events.append)
    moved = registry.async_report_manual("192.0.2.5", 8765, ServiceRecord(name="Pi", id="dev-new"))
    assert moved.id == "dev-new"
    assert moved.online  # the session to that host is still up
    assert [e.id for e in registry.entries()] == ["dev-new"]
    assert [type(e).__name__ for e in events] == ["DeviceRemoved", "DeviceAdded"]


def test_a_remembered_device_is_not_listed_until_online_and_takes_its_new_name(registry):
    record = ServiceRecord(name="Kitchen", id="dev-r", addresses=("192.0.2.9",), port=4000)
    entry = registry.async_add_remembered(record)
    assert (entry.source, entry.listed, entry.addresses) == (
        DeviceSource.REMEMBERED,
        False,
        ("192.0.2.9",),
    )
    registry.async_mark_online("dev-r")
    assert registry.get("dev-r").listed
    renamed = registry.async_add_remembered(ServiceRecord(**{**vars_of(record), "name": "Pantry"}))
    assert renamed.name == "Pantry"
    assert renamed.online


def test_memory_never_overrides_what_the_registry_heard(registry):
    heard = polled(registry, "dev-1")  # answered at its address, by hand
    record = ServiceRecord(name="Old name", id="dev-1", addresses=("198.51.100.1",), port=1)
    assert registry.async_add_remembered(record) == heard


def vars_of(record: ServiceRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}
