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

from connect import messages as m
from connect.controller import Controller, default_identity
from connect.transfer import TransferCoordinator
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
    async with running_collector(tmp_path / "traces.db") as running:
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
    traced = ["--trace-endpoint", collector.base, "--user", "alice"]
    receivers: list[RunningReceiver] = []
    async with MediaServer(media_root) as media:
        try:
            receivers.append(await start_receiver(tmp_path, "Living Room", extra=traced))
            receivers.append(
                await start_receiver(tmp_path, "Car", extra=[*traced, "--type", "car"])
            )
            source, target = receivers
            identity = default_identity("test controller")
            handle = setup(
                TraceSettings(
                    collector.base,
                    device_id=identity.id,
                    device_name="Test controller",
                    device_type="controller",
                    user="alice",
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
                outcome = await TransferCoordinator(controller).transfer(
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
    assert devices == {identity.id, source.device_id, target.device_id}
    arrows = {(arrow["from"], arrow["to"], arrow["label"]) for arrow in body["arrows"]}
    here, src, tgt = identity.id, source.device_id, target.device_id
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
