"""A collector, two real receivers and a controller, all tracing: one transfer is one trace in
the collector, with every device's half of every message paired into arrows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry._logs import _internal as logs_internal
from opentelemetry.util._once import Once

from connect.controller import Controller, default_identity
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.audio import write_tone
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver
from tests.unit.tracing.support import Running, running_collector
from tracing import attributes as a
from tracing.setup import TraceSettings, Tracing, setup

pytestmark = pytest.mark.slow

TIMEOUT = 10.0


def _reset_otel_globals() -> None:
    """Forget the installed SDK, as OpenTelemetry's own test helpers do (private names)."""
    trace._TRACER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    logs_internal._LOGGER_PROVIDER = None
    logs_internal._LOGGER_PROVIDER_SET_ONCE = Once()


@pytest.fixture
def controller_tracing(tmp_path: Path) -> Iterator[list[Tracing]]:
    """Somewhere to keep this process's SDK (the controller's), shut down and removed after."""
    _reset_otel_globals()
    handles: list[Tracing] = []
    try:
        yield handles
    finally:
        for handle in handles:
            handle.shutdown(TIMEOUT)
        _reset_otel_globals()


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[Running]:
    # Closed ingest: every device sends with an ingest token, as a shared collector asks.
    async with running_collector(tmp_path / "traces.db", open_ingest=False) as running:
        yield running


async def _wait_playing(controller: Controller, device_id: str) -> None:
    conn = controller.connection(device_id)
    changed = asyncio.Event()
    unsubscribe = conn.subscribe(lambda _event: changed.set())
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                changed.clear()  # before looking: a change from now on wakes the wait
                if conn.state is not None and conn.state.clock.playing:
                    return
                await changed.wait()
    finally:
        unsubscribe()


async def test_a_transfer_is_one_cross_device_trace_in_the_collector(
    tmp_path: Path, collector: Running, controller_tracing: list[Tracing]
) -> None:
    media_root = tmp_path / "media"
    media_root.mkdir()
    write_tone(media_root / "tone.wav", 440.0, 8000)
    token = collector.ingest_tokens["alice"]
    traced = ["--trace-endpoint", collector.base, "--user", "alice", f"--trace-token={token}"]
    receivers: list[RunningReceiver] = []
    async with MediaServer(media_root) as media:
        try:
            receivers.append(await start_receiver(tmp_path, "Living Room", extra=traced))
            receivers.append(
                await start_receiver(tmp_path, "Car", extra=[*traced, "--type", "car"])
            )
            source, target = receivers
            identity = default_identity("test controller")
            # Traced as its own lifeline, as the app and the CLI are (client/lifeline.py):
            # the devices learn it from the Hello's tracestate, not from the client id.
            lifeline = "ctl-cli-test-lifeline"
            handle = setup(
                TraceSettings(
                    collector.base,
                    device_id=lifeline,
                    device_name="Test controller",
                    device_type="controller",
                    user="alice",
                    token=token,
                    spool=tmp_path / "spool.sqlite3",
                )
            )
            controller_tracing.append(handle)
            controller = Controller(identity, browse=False)
            await controller.async_start()
            try:
                for receiver in receivers:
                    await controller.async_add_address(receiver.host, receiver.port)
                item = m.QueueItem("uid-1", media.url("tone.wav"), duration_ms=8000)
                result = await controller.async_command(
                    source.device_id, m.SetQueue((item,)), timeout=TIMEOUT
                )
                assert result.ok, result.failure
                await _wait_playing(controller, source.device_id)
                outcome = await TransferCoordinator(controller).async_transfer(
                    source.device_id, target.device_id
                )
                assert outcome.ok, outcome.failure
            finally:
                await controller.async_close()
            assert await asyncio.to_thread(handle.force_flush, TIMEOUT)
        finally:
            for receiver in receivers:  # SIGTERM: each flushes its traces as it stops
                await receiver.stop()
    assert all("Traceback" not in "".join(r.output) for r in receivers)

    (transfer,) = [
        row
        for row in await collector.get_json(f"/api/search?transfer={outcome.transfer_id}", "alice")
        if row["name"] == "transfer"
    ]
    links = {
        link["attributes"][a.PEER_DEVICE_ID]: link["attributes"][a.TRANSFER_ROLE]
        for link in transfer["data"]["links"]
    }
    assert links == {source.device_id: "source", target.device_id: "target"}
    body = await collector.get_json(f"/api/traces/{transfer['trace_id']}", "alice")
    devices = {row["device_id"] for row in body["records"]}
    assert devices == {lifeline, source.device_id, target.device_id}
    peers = {row["peer_device_id"] for row in body["records"]} - {""}
    assert identity.id not in peers  # every reply went to the lifeline, none to the client id
    arrows = {(arrow["from"], arrow["to"], arrow["label"]) for arrow in body["arrows"]}
    here, src, tgt = lifeline, source.device_id, target.device_id
    assert {
        (here, tgt, "TransferOffer"),
        (tgt, here, "TransferReady"),
        (here, src, "TransferCommit"),
        (src, here, "TransferReady"),
        (here, tgt, "TransferCommit"),
        (tgt, here, "TransferDone"),
        (src, here, "TransferDone"),
        (here, src, "TransferDone"),
    } <= arrows
    assert all(arrow["latency_ms"] is not None for arrow in body["arrows"])  # both halves in
    # Each receiver noted its state changes as events, within the transfer's trace.
    notes = {(row["device_id"], row["name"]) for row in body["records"] if row["kind"] == "log"}
    assert (tgt, a.EVENT_STATE_CHANGED) in notes
    assert (src, a.EVENT_STATE_CHANGED) in notes
    # The discovery of both receivers, from the controller's side.
    found = await collector.get_json(f"/api/search?device={here}&limit=200", "alice")
    discovered = {
        row["data"]["attributes"].get(a.PEER_DEVICE_ID)
        for row in found
        if row["name"] == a.EVENT_DEVICE_DISCOVERED
    }
    assert {src, tgt} <= discovered

    # The transfers list and the transfer's timeline, by name, from what the devices sent.
    (listed,) = await collector.get_json("/api/transfers", "alice")
    assert listed["id"] == outcome.transfer_id
    assert (listed["from"]["name"], listed["to"]["name"]) == ("Living Room", "Car")
    assert listed["controller"]["name"] == "Test controller"
    assert outcome.timings is not None
    assert listed["outcome"] == "ok"
    assert listed["latency_ms"] == outcome.timings.request_to_audible_ms
    assert listed["gap_ms"] == outcome.timings.gap_us / 1000
    view = await collector.get_json(f"/api/transfers/{outcome.transfer_id}", "alice")
    phases = [p["name"] for p in view["timeline"]["phases"]]
    assert phases == ["offer", "pre-roll", "lead", "start", "fade"]
    labels = {(m["label"], m["direction"]) for m in view["timeline"]["messages"]}
    assert {("TransferOffer", "to"), ("TransferDone", "from")} <= labels
