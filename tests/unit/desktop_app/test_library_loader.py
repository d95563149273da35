"""The core's library loading: the cached library first, the rescan in the background with its
progress, the library shown again only when the rescan found a change."""

from __future__ import annotations

import asyncio
from pathlib import Path

from client.app.library_loader import LibraryLoader
from client.app.views import LibraryLoaded, LibraryProgress
from client.demo_library import write_large_library


async def _load(state: Path, music: Path) -> tuple[list[LibraryLoaded], list[object]]:
    shown: list[LibraryLoaded] = []
    events: list[object] = []
    loader = LibraryLoader(state, shown.append, events.append)
    await loader.async_open(music)
    scan = loader._scan
    assert scan is not None
    await asyncio.wait_for(scan, 30)
    await loader.async_close()
    return shown, events


async def test_first_start_scans_second_start_shows_the_cache_at_once(tmp_path):
    music = tmp_path / "music"
    await asyncio.to_thread(write_large_library, music, 30, 6, 2)
    shown, events = await _load(tmp_path / "state", music)
    assert len(shown) == 1
    assert len(shown[0].library.tracks) == 30
    assert events[-1] == LibraryProgress(30, 30)  # the bar ends full
    shown, _ = await _load(tmp_path / "state", music)
    assert len(shown) == 1  # the cached one; the rescan found nothing new to show
    (music / "0000" / "00000" / "01.wav").unlink()
    shown, _ = await _load(tmp_path / "state", music)
    assert [len(s.library.tracks) for s in shown] == [30, 29]  # cached, then rescanned


async def test_a_folder_that_cannot_be_read_says_so(tmp_path):
    shown, _ = await _load(tmp_path / "state", tmp_path / "missing")
    assert shown[-1].error.startswith("cannot read")
    assert shown[-1].library.albums == ()
