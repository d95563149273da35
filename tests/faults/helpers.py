"""Pieces shared by the fault suite: open-pairing receivers, a pair of them, the settled check.

Receivers started here are in `open` pairing mode, said explicitly (the default is `pin`):
these tests are about faults, not credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from connect import messages as m
from connect.controller import Controller
from tests.audio import write_position_track
from tests.integration.transfer.fault_bench import TRACK_MS, TrackServer
from tests.receivers import RunningReceiver, start_receiver


async def start_open_receiver(tmp_path: Path, name: str, **kwargs: object) -> RunningReceiver:
    """Start a receiver (tests.receivers.start_receiver) in open pairing mode, said explicitly."""
    return await start_receiver(tmp_path, name, pairing="open", **kwargs)  # type: ignore[arg-type]


@dataclass
class OpenPair:
    source: RunningReceiver
    target: RunningReceiver
    media: TrackServer
    url: str


@asynccontextmanager
async def open_pair(tmp_path: Path) -> AsyncIterator[OpenPair]:
    """Two open receivers on `lo` with the capture output, and a position track for them."""
    media = TrackServer(write_position_track(tmp_path / "track.wav", TRACK_MS).read_bytes())
    await media.start()
    started = await asyncio.gather(
        start_open_receiver(tmp_path, "Source", output="capture"),
        start_open_receiver(tmp_path, "Target", output="capture"),
        return_exceptions=True,
    )
    receivers = [r for r in started if isinstance(r, RunningReceiver)]
    try:
        for result in started:
            if isinstance(result, BaseException):
                raise result
        yield OpenPair(receivers[0], receivers[1], media, media.url("track.wav"))
    finally:
        for receiver in receivers:
            if receiver.process.returncode is None:
                await receiver.stop()
        await media.close()


def players(controller: Controller, *device_ids: str) -> list[str]:
    """Return the devices among *device_ids* whose last known state says they are playing."""
    playing = []
    for device_id in device_ids:
        state = controller.connection(device_id).state
        if state is not None and state.status is m.PlaybackStatus.PLAYING:
            playing.append(device_id)
    return playing


def holder(controller: Controller, *device_ids: str) -> list[str]:
    """Return the devices among *device_ids* that say they hold the session (active)."""
    return [
        device_id
        for device_id in device_ids
        if (state := controller.connection(device_id).state) is not None and state.active
    ]
