"""ServiceAdvertiser on loopback: interface loss and return, unknown interfaces, manual merge."""

from __future__ import annotations

import pytest

from connect.discovery import DeviceEvent, DeviceRemoved, ServiceRecord
from connect.discovery.advertise import ServiceAdvertiser, candidate_names
from connect.discovery.interfaces import NetworkInterface, UnknownInterfaceError
from connect.discovery.registry import DeviceSource
from tests.integration.discovery.peers import STEP_TIMEOUT_S

# What these tests provoke on purpose, and what a passing run therefore logs.
pytestmark = pytest.mark.warning_logs(
    r"cannot open mDNS sockets on",
    r"Interface '[^']*' not added",
    r"no interface or address",
)

LO = NetworkInterface("lo", 1, ("127.0.0.1",), ("::1",))


class FakeInterfaces:
    """An interface source the test switches between lists (Wi-Fi dropping and returning)."""

    def __init__(self, *interfaces: NetworkInterface) -> None:
        self.now = interfaces

    def __call__(self) -> tuple[NetworkInterface, ...]:
        return self.now


async def test_unknown_explicit_interface_fails_start_with_a_typed_error():
    advertiser = ServiceAdvertiser(
        ServiceRecord(name="X", id="dev-x"),
        interfaces=["wlan9"],
        interface_source=FakeInterfaces(LO),
    )
    with pytest.raises(UnknownInterfaceError, match="wlan9"):
        await advertiser.async_start()
    await advertiser.async_close()


@pytest.mark.warning_logs(r"unknown interface or address 'lo'")
async def test_interface_loss_withdraws_and_return_re_registers(registry):
    source = FakeInterfaces(LO)
    advertiser = ServiceAdvertiser(
        ServiceRecord(name="Flaky", id="dev-flaky", port=7001),
        interfaces=["lo"],
        poll_interval_s=0.05,  # shrink the polling timer instead of waiting 5 s
        interface_source=source,
    )
    await advertiser.async_start()
    try:
        await registry.async_wait_for(lambda e: e.id == "dev-flaky", STEP_TIMEOUT_S)
        source.now = ()  # the named interface vanished
        await registry.async_wait_for(
            lambda e: e.id == "dev-flaky" and not e.mdns_present, STEP_TIMEOUT_S
        )
        assert not advertiser.registered
        source.now = (LO,)
        back = await registry.async_wait_for(
            lambda e: e.id == "dev-flaky" and e.mdns_present, STEP_TIMEOUT_S
        )
        assert back.addresses == ("127.0.0.1", "::1")  # `lo` named: both its addresses
        assert advertiser.registered
    finally:
        await advertiser.async_close()


async def test_manual_entry_merges_with_the_same_device_found_by_mdns(registry):
    advertiser = ServiceAdvertiser(
        ServiceRecord(name="Both Ways", id="dev-both", port=7002), interfaces=["127.0.0.1"]
    )
    await advertiser.async_start()
    try:
        await registry.async_wait_for(lambda e: e.id == "dev-both", STEP_TIMEOUT_S)
        events: list[DeviceEvent] = []
        registry.subscribe(events.append)
        provisional = registry.async_add_manual("127.0.0.1", 7002)
        merged = registry.async_report_manual("127.0.0.1", 7002, advertiser.record)
        assert merged.id == "dev-both"
        assert merged.source is DeviceSource.MDNS  # how it was first known
        assert merged.manual_address == "127.0.0.1:7002"
        assert merged.mdns_present
        assert [e.entry.id for e in events if isinstance(e, DeviceRemoved)] == [provisional.id]
        assert [e.id for e in registry.entries()] == ["dev-both"]
    finally:
        await advertiser.async_close()


def test_candidate_names_append_a_counter_and_fit_one_dns_label():
    assert candidate_names("Kitchen", limit=3) == ["Kitchen", "Kitchen (2)", "Kitchen (3)"]
    long = candidate_names("é" * 40, limit=12)
    assert all(len(n.encode()) <= 63 for n in long)
    assert long[11].endswith(" (12)")


async def test_prepare_settles_the_name_before_the_port_is_known(registry):
    holder = ServiceAdvertiser(
        ServiceRecord(name="Early", id="dev-early-1", port=7003), interfaces=["127.0.0.1"]
    )
    late = ServiceAdvertiser(
        ServiceRecord(name="Early", id="dev-early-2"), interfaces=["127.0.0.1"]
    )
    await holder.async_start()
    try:
        await late.async_prepare()  # what a receiver overlaps with its player and server start
        await late.async_prepare()  # idempotent
        assert late.instance_name == "Early (2)"
        assert not late.registered
        await late.async_start(port=7004)
        entry = await registry.async_wait_for(lambda e: e.id == "dev-early-2", STEP_TIMEOUT_S)
        assert (entry.name, entry.port) == ("Early (2)", 7004)
    finally:
        await late.async_close()
        await holder.async_close()


async def test_refused_mdns_sockets_leave_the_advertiser_up_and_it_retries(registry, monkeypatch):
    """The system refusing the mDNS sockets is logged and retried, not raised.

    Before: `async_start` raised the OSError, so a receiver on such a system (QEMU user
    emulation has no IP_MULTICAST_IF; another program may hold port 5353) could not start at
    all. Now it starts unadvertised and registers once the sockets open.
    """
    import connect.discovery.advertise as advertise_module

    real = advertise_module.AsyncZeroconf
    refusals = [OSError(92, "Protocol not available")] * 2

    def flaky(*args, **kwargs):
        if refusals:
            raise refusals.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(advertise_module, "AsyncZeroconf", flaky)
    advertiser = ServiceAdvertiser(
        ServiceRecord(name="Emulated", id="dev-emulated", port=7002),
        interfaces=["lo"],
        poll_interval_s=0.05,  # shrink the retry timer instead of waiting 5 s
        interface_source=FakeInterfaces(LO),
    )
    await advertiser.async_start()  # raised OSError before
    try:
        assert not advertiser.registered
        await registry.async_wait_for(lambda e: e.id == "dev-emulated", STEP_TIMEOUT_S)
        assert advertiser.registered
        assert not refusals
    finally:
        await advertiser.async_close()
