"""The app's core groups two real receivers through the group keeper (client.group_client), as
the picker's "Play here too" does, and shows the group from the rosters the receivers publish:
formed, a member's volume set in the group, the member taken out again."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from client import group_client
from client.app import views as v
from client.app.core import AppCore
from client.app.groups import GroupShown, groups_shown
from connect.controller import default_identity
from connect.wire import messages as m
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow

STEP_TIMEOUT_S = 20.0  # finding, connecting, a keeper started, a join at its instant


class Watch:
    """What the core emits, kept, with a wait for a condition on it."""

    def __init__(self, core_views: Callable[[], dict[str, v.DeviceView]]) -> None:
        self.events: list[object] = []
        self._views = core_views
        self._changed = asyncio.Event()

    def emit(self, event: object) -> None:
        self.events.append(event)
        self._changed.set()

    async def until(self, what: str, condition: Callable[[], object]) -> object:
        """Wait until *condition* returns something true; return it (fail naming *what*)."""
        try:
            async with asyncio.timeout(STEP_TIMEOUT_S):
                while not (found := condition()):
                    self._changed.clear()
                    await self._changed.wait()  # the next thing the core emits
        except TimeoutError:
            pytest.fail(f"timed out waiting for {what}")
        return found

    def group(self) -> GroupShown | None:
        shown = groups_shown(self._views().values())
        return shown[0] if shown else None


@pytest.fixture
async def keeper_dir(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Path]:
    """A keeper of this test's own (a short path: a unix socket's is at most 108 bytes)."""
    runtime = Path(tempfile.mkdtemp(prefix="bk-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    try:
        yield runtime
    finally:
        await group_client.GroupClient().async_stop()
        shutil.rmtree(runtime, ignore_errors=True)


async def test_the_core_groups_two_receivers_sets_a_member_volume_and_ungroups(
    tmp_path: Path, library_dir: Path, keeper_dir: Path
) -> None:
    receivers: list[RunningReceiver] = []
    for name in ("Kitchen", "Terrace"):
        receivers.append(await start_receiver(tmp_path, name, interface="lo"))
    settings = v.AppSettings(
        library_dir, "This computer", tmp_path / "state", ("127.0.0.1",), local_audio="none"
    )
    core: AppCore
    watch = Watch(lambda: core._views)
    core = AppCore(settings, watch.emit, default_identity("test"))
    try:
        await core.async_start()
        kitchen, terrace = (r.device_id for r in receivers)
        await watch.until(
            "both receivers connected, able to group",
            lambda: all(
                (view := core._views.get(d)) is not None and view.can_group
                for d in (kitchen, terrace)
            ),
        )
        assert core.library is not None
        await core.async_play(core.library.albums[0].tracks, device_id=kitchen)
        await watch.until(
            "Kitchen playing",
            lambda: core._views[kitchen].status is m.PlaybackStatus.PLAYING,
        )

        await core.groups.async_group([kitchen, terrace])  # "Play here too" on Terrace
        grouping = [e for e in watch.events if isinstance(e, v.GroupingView)]
        assert grouping[-1].phase is v.TransferPhase.DONE, grouping[-1].message
        assert grouping[-1].message == "Terrace plays with Kitchen now"
        group = await watch.until(
            "the group shown, both in sync",
            lambda: (
                (g := watch.group()) is not None
                and all(x.phase is m.GroupMemberPhase.PLAYING for x in g.members)
                and g
            ),
        )
        assert isinstance(group, GroupShown)
        assert group.name == "Kitchen + Terrace"  # the leader first
        await watch.until(  # every screen says where the music plays: on the group
            "the followed session named by its group",
            lambda: any(
                isinstance(e, v.SessionView) and e.device_name == "Kitchen + Terrace"
                for e in watch.events
            ),
        )

        await core.groups.async_member_volume(terrace, 30)
        await watch.until(
            "Terrace's volume in the group",
            lambda: (
                (g := watch.group()) is not None
                and (x := g.member(terrace)) is not None
                and x.volume == 30
            ),
        )

        await core.groups.async_ungroup(terrace)
        await watch.until("the group gone", lambda: watch.group() is None)
        assert core._views[kitchen].status is m.PlaybackStatus.PLAYING  # Kitchen plays on
        errors = [e for e in watch.events if isinstance(e, v.Notice) and e.error]
        assert errors == []
    finally:
        with contextlib.suppress(Exception):
            await core.async_close()
        for receiver in receivers:
            await receiver.stop()
