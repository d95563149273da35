"""Pieces shared by the fault suite: open-pairing receivers, a pair of them, the settled check.

Receivers started here are in `open` pairing mode, said explicitly (the default is `pin`):
these tests are about faults, not credentials.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from connect.controller import Controller
from connect.wire import messages as m
from tests.integration.transfer.fault_bench import Pair, two_receivers
from tests.receivers import RunningReceiver, start_receiver


async def start_open_receiver(tmp_path: Path, name: str, **kwargs: object) -> RunningReceiver:
    """Start a receiver (tests.receivers.start_receiver) in open pairing mode, said explicitly."""
    return await start_receiver(tmp_path, name, pairing="open", **kwargs)  # type: ignore[arg-type]


OpenPair = Pair  # a source and a target receiver, the track server, the track's URL


def open_pair(tmp_path: Path) -> AbstractAsyncContextManager[Pair]:
    """Two open receivers on `lo` with the capture output, and a position track for them."""
    return two_receivers(tmp_path, pairing="open")


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
