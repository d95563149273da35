"""The AirPlay adapter traces what it sent to the speaker (a span per stream and per volume
request, with how the stream ended) and the end of a stream it did not stop as an event, so a
bridged speaker's lifeline shows both sides; a media URL, which holds its capability, is never
written."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from pathlib import Path

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bridges.airplay import player as airplay_player
from bridges.airplay.player import AirPlayPlayer
from tests.airplay_peer import start_speaker
from tests.audio import write_position_track
from tests.media_server import MediaServer
from tests.unit.tracing.test_setup import memory_sdk  # noqa: F401  (a fixture, used by name)
from tests.waiting import until
from tracing import attributes as a

pytestmark = [pytest.mark.slow, pytest.mark.netns]


async def test_streams_and_requests_are_spans_and_an_end_is_an_event(
    tmp_path: Path,
    media_server: MediaServer,
    memory_sdk: tuple[InMemorySpanExporter, InMemoryLogRecordExporter],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans, logs = memory_sdk
    decoders: list[subprocess.Popen[bytes]] = []
    start_decoder = airplay_player._start_decoder

    def noted(command: list[str]) -> subprocess.Popen[bytes]:
        decoders.append(start_decoder(command))
        return decoders[-1]

    monkeypatch.setattr(airplay_player, "_start_decoder", noted)
    write_position_track(media_server.root / "position.wav", 2_500)
    url = media_server.url("position.wav")
    speaker = await start_speaker(tmp_path / "speaker", "Traced Speaker")
    player = AirPlayPlayer("127.0.0.1", speaker.port)
    changed = asyncio.Event()
    loop, gate = asyncio.get_running_loop(), threading.Event()
    busy: list[asyncio.Future[bool]] = []

    def ended() -> None:
        changed.set()
        # As on a loaded machine, whose executor threads are busy or not yet scheduled: what
        # the player queues on the loop's executor now waits until after its close.
        busy.extend(loop.run_in_executor(None, gate.wait) for _ in range(64))

    try:
        await player.async_start(ended)
        await player.async_load(url, 1_500, play=True, title="Traced")
        await player.async_set_volume(30)
        await asyncio.wait_for(changed.wait(), 10)  # the stream's end: 1 s of it left to play
    finally:
        await player.async_close()  # at once after the stream's end, which reaps its ffmpeg
        gate.set()
        await asyncio.gather(*busy)
        await speaker.stop()
    # Reaped and its pipe closed, whatever the close did to the player's tasks: an open pipe
    # is a ResourceWarning in whichever later test the garbage collector runs.
    [decoder] = decoders
    assert decoder.stdout is not None
    pipe = decoder.stdout
    await until(lambda: decoder.returncode is not None and pipe.closed, 5, "ffmpeg reaped")
    sent = {s.name: s.attributes for s in spans.get_finished_spans()
            if s.name.startswith("airplay ")}  # fmt: skip
    assert sent["airplay stream"][a.BRIDGE_SENT] == "stream from 1500 ms"
    assert sent["airplay stream"][a.BRIDGE_ANSWER] == "ended"
    assert sent["airplay volume"][a.BRIDGE_SENT] == "volume 30"
    assert all(v[a.BRIDGE_KIND] == "airplay" and a.BRIDGE_ANSWER in v for v in sent.values())
    every = [str(v) for s in spans.get_finished_spans() for v in (s.attributes or {}).values()]
    assert not any(url in value or "/media/" in value for value in every)
    ended = [r for r in logs.get_finished_logs()
             if r.log_record.event_name == a.EVENT_BRIDGE_CHANGED]  # fmt: skip
    assert [(r.log_record.attributes or {}).get(a.BRIDGE_ANSWER) for r in ended] == ["stream ended"]
