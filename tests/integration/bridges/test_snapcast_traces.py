"""The Snapcast adapter traces what it asked the server and what the server answered (a span
per request, and one for each feed it starts), and the server's own changes as events, so a
bridged group's lifeline shows both sides; a media URL, which holds its capability, is never
written (the server is never sent one)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bridges.player import PlayerState
from bridges.snapcast import SnapcastPlayer
from tests.audio import write_position_track
from tests.media_server import MediaServer
from tests.snapcast_peer import CLIENT_ID, start_snapcast
from tests.unit.tracing.test_setup import memory_sdk  # noqa: F401  (a fixture, used by name)
from tests.waiting import until
from tracing import attributes as a

pytestmark = pytest.mark.slow


async def test_requests_and_feeds_are_spans_and_the_servers_changes_events(
    tmp_path: Path,
    media_server: MediaServer,
    memory_sdk: tuple[InMemorySpanExporter, InMemoryLogRecordExporter],  # noqa: F811
) -> None:
    spans, logs = memory_sdk
    write_position_track(media_server.root / "position.wav", 5_000)
    url = media_server.url("position.wav")
    snapcast = await start_snapcast(tmp_path / "snapcast", "Garden")
    # The group plays another stream: the bridge moves it to Baton's source.
    snapcast.rpc("Group.SetStream", {"id": snapcast.group_id, "stream_id": "Other"})
    player = SnapcastPlayer("127.0.0.1", snapcast.control_port, snapcast.group_id)
    changed = asyncio.Event()
    try:
        await player.async_start(changed.set)
        assert player.describe().name == "Garden"
        playing = await player.async_load(url, 1_500, play=True)
        assert (playing.state, playing.position_ms) == (PlayerState.PLAYING, 1_500)
        paused = await player.async_pause()
        assert paused.state is PlayerState.PAUSED
        await player.async_set_volume(60)
        # Another control client turns the client down: the server says so, an event says it.
        volume = {"id": CLIENT_ID, "volume": {"muted": False, "percent": 30}}
        changed.clear()
        await asyncio.to_thread(snapcast.rpc, "Client.SetVolume", volume)
        await until(lambda: changed.is_set(), 5, "the device woken")
        assert "a client of the group changed" in _changes(logs)
        assert (await player.async_status()).volume == 30
    finally:
        await player.async_close()
        await snapcast.stop()
    sent = {s.name: s.attributes for s in spans.get_finished_spans() if s.name.startswith("snap")}
    assert sent["snapcast Group.SetStream"][a.BRIDGE_SENT] == "Group.SetStream Baton"
    assert sent["snapcast Group.SetMute"][a.BRIDGE_SENT].startswith("Group.SetMute ")
    assert sent["snapcast feed"][a.BRIDGE_SENT] == "feed Baton from 1.500 s"
    assert str(sent["snapcast feed"][a.BRIDGE_ANSWER]).startswith("heard in ")
    assert sent["snapcast Group volume"][a.BRIDGE_SENT] == "Group volume 60"
    assert all(v[a.BRIDGE_KIND] == "snapcast" and a.BRIDGE_ANSWER in v for v in sent.values())
    every = [str(v) for s in spans.get_finished_spans() for v in (s.attributes or {}).values()]
    assert not any(url in value or "/media/" in value for value in every)


def _changes(logs: InMemoryLogRecordExporter) -> list[str]:
    """The answers of every "changed" event so far."""
    return [
        str((r.log_record.attributes or {}).get(a.BRIDGE_ANSWER))
        for r in logs.get_finished_logs()
        if r.log_record.event_name == a.EVENT_BRIDGE_CHANGED
    ]
