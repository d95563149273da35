"""The app's "move to" with a group, on real receivers through the group keeper: music moved
onto a group's follower plays on the whole group (the app then follows its leader), and the
group's music moved to another device ends the group there (client/group_moves.py)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from client.app import views as v
from client.app.core import AppCore
from connect.controller import default_identity
from connect.wire import messages as m
from tests.e2e.app.test_groups_live import Watch, keeper_dir  # noqa: F401  (a fixture, by name)
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow


def _moved(watch: Watch, target_id: str) -> v.TransferView | None:
    """Return the outcome of the move to *target_id* once shown."""
    done = [
        e
        for e in watch.events
        if isinstance(e, v.TransferView)
        and e.target_id == target_id
        and e.phase is not v.TransferPhase.RUNNING
    ]
    return done[-1] if done else None


async def test_the_app_moves_music_onto_a_group_and_the_group_s_music_off_it(
    tmp_path: Path,
    library_dir: Path,
    keeper_dir: Path,  # noqa: F811
) -> None:
    receivers: list[RunningReceiver] = []
    for name in ("Kitchen", "Terrace", "Porch"):
        receivers.append(await start_receiver(tmp_path, name, interface="lo"))
    settings = v.AppSettings(
        library_dir, "This computer", tmp_path / "state", ("127.0.0.1",), local_audio="none"
    )
    core: AppCore
    watch = Watch(lambda: core._views)
    core = AppCore(settings, watch.emit, default_identity("test"))
    try:
        await core.async_start()
        kitchen, terrace, porch = (r.device_id for r in receivers)
        await watch.until(
            "the receivers connected, able to group",
            lambda: all(
                (view := core._views.get(d)) is not None and view.can_group
                for d in (kitchen, terrace, porch)
            ),
        )
        assert core.library is not None
        tracks = core.library.albums[0].tracks
        await core.async_play(tracks, device_id=kitchen)
        await watch.until("Kitchen playing", lambda: core._views[kitchen].active)
        await core.groups.async_group([kitchen, terrace])
        await watch.until("the group shown", lambda: watch.group() is not None)
        await core.async_play(tracks[1:], device_id=porch)
        await watch.until("Porch playing", lambda: core._views[porch].active)

        core._follow(porch)  # the listener chose the Porch's music
        await core.async_transfer(terrace)  # "move to" Terrace, a follower of Kitchen
        moved = await watch.until("the move onto the group", lambda: _moved(watch, terrace))
        assert isinstance(moved, v.TransferView)
        assert moved.phase is v.TransferPhase.DONE, moved.message
        assert core._followed == kitchen  # its leader holds the music now
        await watch.until(
            "the group playing the Porch's music",
            lambda: (
                core._views[kitchen].active
                and not core._views[porch].active
                and (g := watch.group()) is not None
                and len(g.members) == 2
            ),
        )

        await core.async_transfer(porch)  # the group's music back to the Porch
        moved = await watch.until("the move off the group", lambda: _moved(watch, porch))
        assert isinstance(moved, v.TransferView)
        assert moved.phase is v.TransferPhase.DONE, moved.message
        await watch.until(
            "the group ended, the Porch playing",
            lambda: (
                watch.group() is None
                and core._views[porch].status is m.PlaybackStatus.PLAYING
                and not core._views[kitchen].active
            ),
        )
        errors = [e for e in watch.events if isinstance(e, v.Notice) and e.error]
        assert errors == []
    finally:
        with contextlib.suppress(Exception):
            await core.async_close()
        for receiver in receivers:
            await receiver.stop()
