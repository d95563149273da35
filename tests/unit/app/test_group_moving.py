"""The app's "move to" where a group is involved: off a group's member, or onto one, the move
goes through the keeper (client/group_moves.py, by a fake here), the app then follows the
device that holds the music; elsewhere it is the app's own transfer."""

from __future__ import annotations

from typing import Any

from client.app import views as v
from client.app._moving import SessionMoving
from client.app.group_desk import GroupDesk
from connect.transfer.coordination import TransferOutcome
from connect.wire import messages as m
from tests.unit.app.test_grouping import NEW, FakeGrouping, view


class Coordinator:
    """The app's own transfers, recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    async def async_transfer(self, source: str, target: str) -> TransferOutcome:
        self.calls.append((source, target))
        return TransferOutcome("t", m.TransferMode.HANDOFF, source, target)


class KeeperMoves(FakeGrouping):
    async def async_transfer(self, source_id: str, target_id: str) -> tuple[str, Any]:
        await super().async_transfer(source_id, target_id)
        leader = "d2" if target_id == "d1" else target_id  # onto Kitchen: its leader holds it
        return "", TransferOutcome("t", m.TransferMode.HANDOFF, source_id, leader)


class Moving(SessionMoving):
    """Just what the app's transfer uses of its core."""

    def __init__(self, views: list[v.DeviceView], followed: str) -> None:
        self._views = {x.id: x for x in views}
        self._followed = followed
        self.said: list[object] = []
        self.followed: list[str] = []
        self.grouping = KeeperMoves()
        self.groups = GroupDesk(self._views, self.said.append, self.followed.append, self.grouping)
        self.coordinator = Coordinator()  # type: ignore[assignment]
        self._emit = self.said.append

    def _follow(self, device_id: str) -> None:
        self.followed.append(device_id)


VIEWS = [view(1, "Kitchen", NEW), view(2, "Living Room", NEW), view(3, "Terrace")]


async def test_moving_a_group_s_music_goes_through_the_keeper() -> None:
    app = Moving(VIEWS, followed="d1")
    await app.async_transfer("d3")
    assert app.grouping.calls == [("transfer", "d1", "d3")]
    assert app.coordinator.calls == []  # type: ignore[attr-defined]
    assert app.followed == ["d3"]
    assert isinstance(app.said[-1], v.TransferView)
    assert app.said[-1].phase is v.TransferPhase.DONE


async def test_moving_onto_a_member_follows_the_group_s_leader() -> None:
    app = Moving(VIEWS, followed="d3")
    await app.async_transfer("d1")
    assert app.grouping.calls == [("transfer", "d3", "d1")]
    assert app.followed == ["d2"]


async def test_a_refusal_from_the_keeper_is_said_and_nothing_moves() -> None:
    app = Moving(VIEWS, followed="d3")
    app.grouping.error = "Kitchen plays in two groups"
    await app.async_transfer("d1")
    shown = app.said[-1]
    assert isinstance(shown, v.TransferView)
    assert (shown.phase, shown.message) == (v.TransferPhase.FAILED, "Kitchen plays in two groups")
    assert app.followed == []


async def test_devices_in_no_group_move_as_before() -> None:
    app = Moving([view(3, "Terrace"), view(4, "Porch")], followed="d3")
    await app.async_transfer("d4")
    assert app.coordinator.calls == [("d3", "d4")]  # type: ignore[attr-defined]
    assert app.grouping.calls == []
