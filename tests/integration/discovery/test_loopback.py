"""Advertiser subprocesses found by a DeviceRegistry in this process, over 127.0.0.1 only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from connect.discovery import DeviceEvent, DeviceUpdated, ServiceRecord
from connect.discovery.advertise import ServiceAdvertiser
from connect.discovery.registry import DeviceSource
from connect.discovery.txt import InvalidServiceRecordError
from connect.wire.messages import DeviceType, PairingMode
from tests.integration.discovery.peers import STEP_TIMEOUT_S, AdvertiserProcess, wait_until


@pytest.fixture
async def peers() -> AsyncIterator[list[AdvertiserProcess]]:
    """Advertiser processes started by a test; killed at the end if still running."""
    started: list[AdvertiserProcess] = []
    try:
        yield started
    finally:
        for peer in started:
            await peer.kill()


async def test_advertiser_is_listed_with_its_txt_fields(registry, peers):
    extra = ["--type", "tv", "--model", "Pi TV 4", "--pair", "pin", "--rev", "3", "--port", "9123"]
    peers.append(await AdvertiserProcess.start("Living Room", "dev-living", ("127.0.0.1",), *extra))
    entry = await registry.async_wait_for(lambda e: e.id == "dev-living", STEP_TIMEOUT_S)
    assert entry.name == "Living Room"
    assert entry.type is DeviceType.TV
    assert entry.model == "Pi TV 4"
    assert entry.addresses == ("127.0.0.1",)
    assert entry.port == 9123
    assert entry.source is DeviceSource.MDNS
    assert entry.mdns_present
    assert not entry.online  # only a session heartbeat makes a device online
    assert entry.listed
    assert entry.record == ServiceRecord(
        name="Living Room",
        id="dev-living",
        type=DeviceType.TV,
        model="Pi TV 4",
        version="1",
        ws_path="/connect/v1/ws",
        revision=3,
        caps_hash="",
        pairing=PairingMode.PIN,
        addresses=("127.0.0.1",),
        port=9123,
    )


async def test_revision_update_is_seen_and_bursts_are_coalesced(registry, peers):
    # The revision's own interval shrunk to the minimum one: this is about the coalescing.
    peer = await AdvertiserProcess.start(
        "Kitchen", "dev-kitchen", ("127.0.0.1",), "--revision-interval", "1"
    )
    peers.append(peer)
    await registry.async_wait_for(lambda e: e.id == "dev-kitchen", STEP_TIMEOUT_S)
    revisions: list[int] = []

    def collect(event: DeviceEvent) -> None:
        if event.entry.id == "dev-kitchen" and event.entry.record is not None:
            revisions.append(event.entry.record.revision)

    registry.subscribe(collect)
    for rev in range(1, 21):  # a burst, like a volume drag
        await peer.send(f"rev {rev}")
    entry = await registry.async_wait_for(
        lambda e: e.id == "dev-kitchen" and e.record is not None and e.record.revision == 20,
        STEP_TIMEOUT_S,
    )
    assert entry.name == "Kitchen"
    # The burst reached the network as at most a couple of announcements, never 20.
    assert 1 <= len(set(revisions)) < 5
    assert revisions[-1] == 20


@pytest.mark.warning_logs(r"offline: heartbeat timeout")
async def test_goodbye_clears_mdns_presence_but_not_liveness(registry, peers):
    peer = await AdvertiserProcess.start("Car", "dev-car", ("127.0.0.1",), "--type", "car")
    peers.append(peer)
    await registry.async_wait_for(lambda e: e.id == "dev-car", STEP_TIMEOUT_S)
    registry.async_mark_online("dev-car")  # as the session layer would
    await peer.close()
    gone = await registry.async_wait_for(
        lambda e: e.id == "dev-car" and not e.mdns_present, STEP_TIMEOUT_S
    )
    assert gone.online  # a goodbye is not a heartbeat failure
    assert gone.listed
    assert gone.addresses == ("127.0.0.1",)  # kept for a reconnect attempt
    registry.async_mark_offline("dev-car", "heartbeat timeout")
    entry = registry.get("dev-car")
    assert entry is not None
    assert not entry.listed
    assert entry.offline_reason == "heartbeat timeout"


async def test_same_name_gets_a_distinct_instance_and_stays_distinct_by_id(registry, peers):
    first = await AdvertiserProcess.start("Speaker", "dev-a")
    peers.append(first)
    await registry.async_wait_for(lambda e: e.id == "dev-a", STEP_TIMEOUT_S)
    second = await AdvertiserProcess.start("Speaker", "dev-b")
    peers.append(second)
    assert first.instance_name == "Speaker"
    # The newcomer asks "is this name taken?" for 250 ms; on a busy machine the holder's answer
    # can come later, and then conflict detection renames the greater id afterwards. Either
    # way the names settle the same: dev-b yields.
    b = await registry.async_wait_for(
        lambda e: e.id == "dev-b" and e.name == "Speaker (2)", STEP_TIMEOUT_S
    )
    assert b.name == "Speaker (2)"
    # After a late rename the loser's goodbye withdrew the PTR the two shared, and the keeper
    # announces again (rate-limited to once a second): wait for that, not for a fixed moment.
    a = await registry.async_wait_for(lambda e: e.id == "dev-a" and e.mdns_present, STEP_TIMEOUT_S)
    assert a.name == "Speaker"


async def test_two_processes_started_together_end_with_distinct_names(registry, peers):
    peers.extend(
        await asyncio.gather(
            AdvertiserProcess.start("Twin", "dev-twin-1"),
            AdvertiserProcess.start("Twin", "dev-twin-2"),
        )
    )

    def distinct(entries):
        names = {e.id: e.name for e in entries if e.id.startswith("dev-twin") and e.mdns_present}
        return len(names) == 2 and set(names.values()) == {"Twin", "Twin (2)"}

    await wait_until(registry, distinct)


@pytest.mark.warning_logs(r"also claimed by .*; renaming")
async def test_simultaneous_claim_makes_the_greater_id_yield(registry):
    # No name check at all: both register "Twin" blind, so only conflict detection can help.
    twins = [
        ServiceAdvertiser(
            ServiceRecord(name="Twin", id=device_id, port=7000),
            interfaces=["127.0.0.1"],
            name_check_s=0,
        )
        for device_id in ("dev-twin-1", "dev-twin-2")
    ]
    try:
        await asyncio.gather(*(t.async_start() for t in twins))
        assert [t.instance_name for t in twins] == ["Twin", "Twin"]

        def settled(entries):
            names = {e.id: e.name for e in entries if e.mdns_present}
            return names == {"dev-twin-1": "Twin", "dev-twin-2": "Twin (2)"}

        await wait_until(registry, settled)
        assert [t.instance_name for t in twins] == ["Twin", "Twin (2)"]
    finally:
        await asyncio.gather(*(t.async_close() for t in twins))


async def test_manual_entry_appears_and_takes_its_real_id_when_polled(registry):
    events: list[DeviceEvent] = []
    registry.subscribe(events.append)
    entry = registry.async_add_manual("192.0.2.10", 8765)
    assert entry.source is DeviceSource.MANUAL
    assert entry.listed
    assert not entry.online
    assert registry.manual_hosts() == (("192.0.2.10", 8765),)
    assert registry.async_add_manual("192.0.2.10", 8765) == entry  # idempotent
    polled = registry.async_report_manual(
        "192.0.2.10", 8765, ServiceRecord(name="Garage", id="dev-garage", type=DeviceType.AVR)
    )
    assert polled.id == "dev-garage"
    assert polled.name == "Garage"
    assert polled.addresses == ("192.0.2.10",)
    assert polled.manual_address == "192.0.2.10:8765"
    assert [type(e).__name__ for e in events] == ["DeviceAdded", "DeviceRemoved", "DeviceAdded"]
    assert registry.get(entry.id) is None


async def test_resolve_by_id_returns_current_addresses(registry, peers):
    peers.append(await AdvertiserProcess.start("Den", "dev-den"))
    await registry.async_wait_for(lambda e: e.id == "dev-den", STEP_TIMEOUT_S)
    resolved = await registry.async_resolve("dev-den")
    assert resolved.addresses == ("127.0.0.1",)
    assert resolved.port == 8765


async def test_in_process_advertiser_update_and_close(registry):
    advertiser = ServiceAdvertiser(
        ServiceRecord(name="Study", id="dev-study", port=7000),
        interfaces=["127.0.0.1"],
        min_announce_interval_s=0.05,  # shrink the rate limit instead of waiting for it
    )
    await advertiser.async_start()
    try:
        assert advertiser.instance_name == "Study"
        assert advertiser.record.addresses == ("127.0.0.1",)
        await registry.async_wait_for(lambda e: e.id == "dev-study", STEP_TIMEOUT_S)
        await advertiser.async_update(revision=9, caps_hash="0badcafe")
        entry = await registry.async_wait_for(
            lambda e: e.id == "dev-study" and e.record is not None and e.record.revision == 9,
            STEP_TIMEOUT_S,
        )
        assert entry.record is not None
        assert entry.record.caps_hash == "0badcafe"
        with pytest.raises(InvalidServiceRecordError):
            await advertiser.async_update(revision=-1)
    finally:
        await advertiser.async_close()
    await advertiser.async_close()  # idempotent
    assert not advertiser.registered
    await registry.async_wait_for(
        lambda e: e.id == "dev-study" and not e.mdns_present, STEP_TIMEOUT_S
    )


async def test_a_new_revision_alone_waits_and_rides_with_the_next_real_change(registry):
    """A burst of revisions is not announced at the 1 s rate; a caps change is, with them.

    Before: every revision change was re-announced at the minimum interval (here 50 ms), so
    the registry saw most revisions of the burst. Now the revision alone waits for its own
    interval (60 s here), and the caps change carries the last revision.
    """
    advertiser = ServiceAdvertiser(
        ServiceRecord(name="Pantry", id="dev-pantry", port=7001),
        interfaces=["127.0.0.1"],
        min_announce_interval_s=0.05,
        revision_interval_s=60.0,
    )
    seen: list[tuple[int, str]] = []

    def collect(event: DeviceEvent) -> None:
        record = event.entry.record
        if event.entry.id == "dev-pantry" and record is not None:
            seen.append((record.revision, record.caps_hash))

    registry.subscribe(collect)
    await advertiser.async_start()
    try:
        await registry.async_wait_for(lambda e: e.id == "dev-pantry", STEP_TIMEOUT_S)
        for rev in range(1, 11):  # 10 state changes over ~1 s, 20 minimum intervals
            await advertiser.async_update(revision=rev)
            await asyncio.sleep(0.1)  # paces the burst; nothing waits on it
        await advertiser.async_update(caps_hash="c0ffee00")
        await registry.async_wait_for(
            lambda e: e.id == "dev-pantry" and e.record is not None and e.record.caps_hash,
            STEP_TIMEOUT_S,
        )
    finally:
        await advertiser.async_close()
    assert seen[0] == (0, "")
    assert seen[-1] == (10, "c0ffee00")
    assert {rev for rev, _ in seen} == {0, 10}  # nothing of the burst in between


async def test_updated_events_carry_the_previous_snapshot(registry, peers):
    # Shrink the rate limit instead of waiting a second for it.
    peer = await AdvertiserProcess.start(
        "Hall", "dev-hall", ("127.0.0.1",), "--announce-interval", "0.05",
        "--revision-interval", "0.05",
    )  # fmt: skip
    peers.append(peer)
    await registry.async_wait_for(lambda e: e.id == "dev-hall", STEP_TIMEOUT_S)
    updates: list[DeviceUpdated] = []
    registry.subscribe(lambda ev: updates.append(ev) if isinstance(ev, DeviceUpdated) else None)
    await peer.send("rev 4")
    await registry.async_wait_for(
        lambda e: e.id == "dev-hall" and e.record is not None and e.record.revision == 4,
        STEP_TIMEOUT_S,
    )
    last = updates[-1]
    assert last.previous.record is not None
    assert last.previous.record.revision == 0
    assert last.entry.record is not None
    assert last.entry.record.revision == 4
