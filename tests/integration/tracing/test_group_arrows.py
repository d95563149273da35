"""Baton's own controller, traced, groups three traced receivers, sets a member's volume and
takes the leader out (another member takes over): every step is an arrow from the controller's
lifeline to a member and every answer one back, both halves in the collector, and the groups
view shows the followers' skew reports and the new leader (issue 17, traces: "forming, joins,
leaves, leader changes and volume as arrows")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from connect.controller import Controller, default_identity
from connect.wire import messages as m
from tests.audio import write_tone
from tests.integration.tracing.test_cross_device import _reset_otel_globals, _wait_playing
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver
from tests.unit.tracing.support import Running, SseReader, running_collector
from tracing import attributes as a
from tracing._export import pair_arrows
from tracing.setup import TraceSettings, Tracing, setup

pytestmark = pytest.mark.slow

TIMEOUT = 10.0
REPORT_TIMEOUT_S = 15.0  # a follower reports every 4 s once it follows, exported in 250 ms


@pytest.fixture
def controller_tracing() -> Iterator[list[Tracing]]:
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
    async with running_collector(tmp_path / "traces.db", open_ingest=False) as running:
        yield running


async def _a_skew_report(collector: Running, device_id: str) -> None:
    """Wait until *device_id*'s skew report reaches the collector's live stream."""
    assert collector.http is not None
    async with collector.http.get(
        collector.base + "/api/stream?kind=log", headers=collector.auth("alice")
    ) as response:
        stream = SseReader(response)
        async with asyncio.timeout(REPORT_TIMEOUT_S):
            while True:
                event = await stream.next(REPORT_TIMEOUT_S)
                row = event.json() if event.event == "record" else {}
                if row.get("name") == a.EVENT_GROUP_SKEW and row["device_id"] == device_id:
                    return


async def test_a_traced_controller_s_group_steps_are_arrows_to_the_members_and_back(
    tmp_path: Path, collector: Running, controller_tracing: list[Tracing]
) -> None:
    media_root = tmp_path / "media"
    media_root.mkdir()
    write_tone(media_root / "tone.wav", 440.0, 30_000)
    token = collector.ingest_tokens["alice"]
    traced = ["--trace-endpoint", collector.base, "--user", "alice", f"--trace-token={token}"]
    drift = ["--drift-correction", "on", "--simulated-drift"]
    receivers: list[RunningReceiver] = []
    lifeline = "ctl-cli-group-test-lifeline"
    async with MediaServer(media_root) as media:
        try:
            for name, extra in (
                ("Kitchen", traced),
                ("Porch", [*traced, *drift, "+100"]),
                ("Attic", [*traced, *drift, "-100"]),
            ):
                receivers.append(
                    await start_receiver(tmp_path, name, output="capture", extra=extra)
                )
            lead, follower, other = (r.device_id for r in receivers)
            handle = setup(
                TraceSettings(
                    collector.base, device_id=lifeline, device_name="Test controller",
                    device_type="controller", user="alice", token=token,
                    spool=tmp_path / "spool.sqlite3",
                )
            )  # fmt: skip
            controller_tracing.append(handle)
            controller = Controller(default_identity("test controller"), browse=False)
            await controller.async_start()
            try:
                for receiver in receivers:
                    await controller.async_add_address(receiver.host, receiver.port)
                item = m.QueueItem("uid-1", media.url("tone.wav"), duration_ms=30_000)
                result = await controller.async_command(lead, m.SetQueue((item,)), timeout=TIMEOUT)
                assert result.ok, result.failure
                await _wait_playing(controller, lead)
                report = await controller.async_group([lead, follower, other], timeout=TIMEOUT)
                assert report.ok, report
                await _a_skew_report(collector, follower)
                await controller.async_member_volume(follower, 30)
                await controller.async_ungroup(lead)  # the first follower takes over
            finally:
                await controller.async_close()
            assert await asyncio.to_thread(handle.force_flush, TIMEOUT)
        finally:
            for receiver in receivers:  # SIGTERM: each flushes its traces as it stops
                await receiver.stop()

    rows = await collector.get_json("/api/search?limit=5000", "alice")
    arrows = {
        (arrow.from_device, arrow.to_device, arrow.label)
        for arrow in pair_arrows(rows)
        if arrow.receiver is not None  # both halves in
    }
    here = lifeline
    assert {
        (here, lead, "GroupLead"),
        (lead, here, "GroupDone"),
        (here, follower, "GroupJoin"),
        (follower, here, "GroupDone"),
        (here, other, "GroupJoin"),
        (other, here, "GroupDone"),
        (here, follower, "GroupVolume"),
        (here, follower, "GroupLead"),  # the new leader
        (here, lead, "GroupLeave"),
    } <= arrows, arrows
    (group,) = await collector.get_json("/api/groups", "alice")
    assert group["leader"]["id"] == follower
    members = {x["id"]: x for x in group["members"]}
    assert set(members) == {follower, other}  # the old leader left
    assert members[follower]["skew_us"] is not None
    assert members[follower]["skew_measured"] == "output"
