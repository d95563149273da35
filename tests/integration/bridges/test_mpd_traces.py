"""The MPD adapter traces what it sent to MPD and what MPD answered (a span per command), and
MPD's own changes as events, so a bridged device's lifeline shows both sides; a media URL,
which holds its capability, is never written."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from mpd.asyncio import MPDClient
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bridges.mpd import MpdPlayer
from tests.audio import write_position_track
from tests.media_server import MediaServer
from tests.mpd_peer import start_mpd
from tests.unit.tracing.test_setup import memory_sdk  # noqa: F401  (a fixture, used by name)
from tests.waiting import until
from tracing import attributes as a

pytestmark = pytest.mark.slow


async def test_commands_are_spans_with_what_was_sent_and_answered(
    tmp_path: Path,
    media_server: MediaServer,
    memory_sdk: tuple[InMemorySpanExporter, InMemoryLogRecordExporter],  # noqa: F811
) -> None:
    spans, logs = memory_sdk
    write_position_track(media_server.root / "position.wav", 5_000)
    url = media_server.url("position.wav")
    mpd = await start_mpd(tmp_path / "mpd")
    player = MpdPlayer("127.0.0.1", mpd.port)
    changed = asyncio.Event()
    try:
        await player.async_start(changed.set)
        await player.async_load(url, 1_500, play=True)
        await player.async_pause()
        other = MPDClient()
        await other.connect("127.0.0.1", mpd.port)
        await other.setvol(30)  # another client: MPD's idle says so, an event records it
        other.disconnect()
        await until(lambda: any("mixer" in e for e in _changes(logs)), 5, "a mixer event")
    finally:
        await player.async_close()
        await mpd.stop()
    sent = {s.name: s.attributes for s in spans.get_finished_spans() if s.name.startswith("mpd ")}
    assert sent["mpd addid"][a.BRIDGE_SENT] == "addid <url>"
    assert sent["mpd seekid"][a.BRIDGE_SENT].endswith(" 1.500")
    assert sent["mpd pause"][a.BRIDGE_SENT] == "pause 1"
    assert all(v[a.BRIDGE_KIND] == "mpd" and a.BRIDGE_ANSWER in v for v in sent.values())
    every = [str(v) for s in spans.get_finished_spans() for v in (s.attributes or {}).values()]
    assert not any(url in value or "/media/" in value for value in every)
    assert changed.is_set()  # the device was woken for it


def _changes(logs: InMemoryLogRecordExporter) -> list[str]:
    """The subsystems of every "changed" event so far."""
    return [
        str((r.log_record.attributes or {}).get(a.BRIDGE_ANSWER))
        for r in logs.get_finished_logs()
        if r.log_record.event_name == a.EVENT_BRIDGE_CHANGED
    ]
