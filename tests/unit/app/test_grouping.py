"""The app's groups without devices: the shown groups from rosters, "Play here too", and the core's
group actions through a fake adapter (the calls, the progress, the toast on failure)."""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Sequence

import pytest

from client.app import views as v
from client.app._grouping import GroupingError, KeeperGrouping
from client.app.group_desk import GroupDesk
from client.app.groups import arranged, groups_shown, together, where_playing
from connect.wire import messages as m

P = m.GroupMemberPhase
CAN = m.DeviceInfo(
    "x", "x", m.DeviceType.SPEAKER, m.VersionRange(m.QUEUE_PAGES, m.GROUPS),
    m.Capabilities(group_member=True),
)  # fmt: skip


def view(n: int, name: str, group: m.Group | None = None, **kw: object) -> v.DeviceView:
    values: dict[str, object] = {"info": CAN, "group": group, "online": True}
    values.update(kw)
    return v.DeviceView(f"d{n}", name, m.DeviceType.SPEAKER, address="", last_seen=0.0, **values)  # type: ignore[arg-type]


def roster(epoch: int, leader: str, *members: tuple[str, int, P, int]) -> m.Group:
    return m.Group(
        "g1", epoch, leader, tuple(m.GroupMember(d, r, p, vol) for d, r, p, vol in members)
    )


OLD = roster(1, "d2", ("d2", 0, P.PLAYING, 40), ("d1", 1, P.JOINING, 60))
NEW = roster(2, "d2", ("d1", 1, P.PLAYING, 70), ("d2", 0, P.PLAYING, 40))


def test_a_group_is_its_newest_roster_with_the_leader_first():
    views = [view(0, "Car"), view(1, "Kitchen", OLD), view(2, "Living Room", NEW)]
    (group,) = groups_shown(views)
    assert group.name == "Living Room + Kitchen"
    assert group.ids == ("d2", "d1")
    kitchen = group.member("d1")
    assert kitchen is not None
    assert (kitchen.phase, kitchen.volume) == (P.PLAYING, 70)
    assert [mb.words for mb in group.members] == ["leads the group", "in sync"]
    # The list keeps the group together, the leader first, where its first member was.
    assert [(r.name, g is not None) for r, g in arranged(views, (group,))] == [
        ("Car", False), ("Living Room", True), ("Kitchen", True),
    ]  # fmt: skip


def test_a_roster_of_one_is_a_device_alone():
    alone = roster(3, "d2", ("d2", 0, P.PLAYING, 40))
    assert groups_shown([view(2, "Living Room", alone)]) == ()
    assert where_playing([view(2, "Living Room", alone)], "d2", "Living Room") == "Living Room"


def test_a_group_s_session_plays_on_the_group_whichever_member_is_followed():
    views = [view(1, "Kitchen", OLD), view(2, "Living Room", NEW)]
    assert where_playing(views, "d1", "Kitchen") == "Living Room + Kitchen"
    assert where_playing(views, "d2", "Living Room") == "Living Room + Kitchen"
    assert where_playing(views, "d9", "Car") == "Car"


def test_play_here_too_is_offered_only_where_a_group_can_form():
    playing, kitchen = view(0, "Car"), view(1, "Kitchen")
    offer = together(kitchen, playing, ())
    assert offer is not None
    assert (offer.device_ids, offer.text) == (("d0", "d1"), "Play here too")
    assert offer.accessible == "Play on Kitchen too, with Car"
    assert together(playing, playing, ()) is None
    assert together(kitchen, None, ()) is None  # nothing plays
    assert together(view(1, "Kitchen", info=None), playing, ()) is None  # cannot group
    assert together(view(1, "Kitchen", online=False), playing, ()) is None
    # The playing device leads a group: the new one joins it, named by the group.
    views = [view(1, "Kitchen", NEW), view(2, "Living Room", NEW), view(3, "Bedroom")]
    groups = groups_shown(views)
    offer = together(views[2], views[1], groups)
    assert offer is not None
    assert offer.device_ids == ("d2", "d3")
    assert offer.accessible == "Add Bedroom to the group Living Room + Kitchen"
    assert together(views[0], views[1], groups) is None  # already in it


class FakeGrouping:
    """Records the calls; fails with *error* when set; holds a call until *gate* is set."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.error = ""
        self.gate: asyncio.Event | None = None

    async def async_group(self, device_ids: Sequence[str]) -> None:
        self.calls.append(("group", tuple(device_ids)))
        self._maybe_fail()

    async def async_ungroup(self, device_id: str) -> None:
        self.calls.append(("ungroup", device_id))
        self._maybe_fail()

    async def async_member_volume(self, device_id: str, volume: int) -> None:
        self.calls.append(("volume", device_id, volume))
        if self.gate is not None:
            await self.gate.wait()
        self._maybe_fail()

    async def async_transfer(self, source_id: str, target_id: str) -> tuple[str, object]:
        self.calls.append(("transfer", source_id, target_id))
        self._maybe_fail()
        return "", None

    def _maybe_fail(self) -> None:
        if self.error:
            raise GroupingError(self.error)


def desk(*views: v.DeviceView) -> tuple[GroupDesk, FakeGrouping, list[object], list[str]]:
    fake, said, followed = FakeGrouping(), list[object](), list[str]()
    return (
        GroupDesk({x.id: x for x in views}, said.append, followed.append, fake),
        fake, said, followed,
    )  # fmt: skip


async def test_grouping_reports_progress_then_the_outcome_in_names():
    groups, fake, said, _ = desk(view(0, "Car"), view(1, "Kitchen"), view(2, "Bedroom"))
    await groups.async_group(["d0", "d1", "d2"])
    assert fake.calls == [("group", ("d0", "d1", "d2"))]
    ids, phase = ("d0", "d1", "d2"), v.TransferPhase
    assert said == [
        v.GroupingView(ids, phase.RUNNING, "Adding Kitchen and Bedroom to Car…"),
        v.GroupingView(ids, phase.DONE, "Kitchen and Bedroom play with Car now"),
    ]


async def test_a_refused_group_says_why_in_a_toast_with_names_not_ids():
    groups, fake, said, _ = desk(view(0, "Car"), view(1, "Kitchen"))
    fake.error = "d1 speaks protocol 1.1; groups need 1.2"
    await groups.async_group(["d0", "d1"])
    why = "Could not add Kitchen to Car: Kitchen speaks protocol 1.1; groups need 1.2"
    assert said[-2:] == [
        v.GroupingView(("d0", "d1"), v.TransferPhase.FAILED, why),
        v.Notice(why, error=True),
    ]


async def test_the_leader_leaving_moves_the_app_to_the_next_member():
    groups, fake, said, followed = desk(view(1, "Kitchen", NEW), view(2, "Living Room", NEW))
    await groups.async_ungroup("d2")
    assert fake.calls == [("ungroup", "d2")]
    assert followed == ["d1"]
    assert said[-1] == v.GroupingView(("d2",), v.TransferPhase.DONE, "Living Room left the group")
    await groups.async_ungroup("d1")  # a follower: the app stays where it is
    assert followed == ["d1"]


async def test_a_slider_s_many_moves_send_the_latest_volume_once_the_last_is_answered():
    groups, fake, said, _ = desk(view(1, "Kitchen", NEW))
    fake.gate = asyncio.Event()
    first = asyncio.ensure_future(groups.async_member_volume("d1", 10))
    await asyncio.sleep(0)  # the first call is on its way, held by the gate
    for volume in (20, 30, 40):
        await groups.async_member_volume("d1", volume)  # returns at once: one is on its way
    fake.gate.set()
    await asyncio.wait_for(first, 5)
    assert fake.calls == [("volume", "d1", 10), ("volume", "d1", 40)]
    fake.error = "the group keeper is not running"
    await groups.async_member_volume("d1", 50)
    why = "Could not set Kitchen's volume: the group keeper is not running"
    assert said == [v.Notice(why, error=True)]


async def test_the_adapter_without_a_keeper_says_so_and_passes_the_keeper_s_sentences(monkeypatch):
    missing = KeeperGrouping(module="client.no_such_group_client")
    with pytest.raises(GroupingError, match="no group keeper"):
        await missing.async_group(["a", "b"])

    class KeeperError(Exception):
        pass

    KeeperError.__module__ = "fake_keeper"
    made: list[dict[str, object]] = []
    asked: list[tuple[object, ...]] = []

    class GroupClient:  # the keeper's client, as client.group_client has it
        def __init__(self, **options: object) -> None:
            made.append(options)

        async def async_group(self, refs: list[str]) -> object:
            asked.append(("group", refs))
            if refs[-1] == "d2":
                raise KeeperError("the group keeper did not start; see keeper.log")
            refusal = types.SimpleNamespace(name="Kitchen", message="it plays no 1.2 session")
            return types.SimpleNamespace(group=object(), refused=(refusal,))

        async def async_ungroup(self, ref: str) -> None:
            raise RuntimeError("a bug")

        async def async_member_volume(self, ref: str, volume: int) -> None:
            asked.append(("volume", ref, volume))

    fake = types.ModuleType("fake_keeper")
    fake.GroupClient = GroupClient  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_keeper", fake)
    addresses = {"d0": "127.0.0.1:4100", "d1": "127.0.0.1:4101"}
    keeper = KeeperGrouping(
        ("lo",), lambda d: addresses.get(d, ""), "fake_keeper", errors_from=("fake_keeper",)
    )
    # A device that did not join is a failure, said with its name and why.
    with pytest.raises(GroupingError, match=r"^Kitchen: it plays no 1\.2 session$"):
        await keeper.async_group(("d0", "d1"))
    assert made[-1] == {"interfaces": ("lo",), "connect": ["127.0.0.1:4100", "127.0.0.1:4101"]}
    with pytest.raises(GroupingError, match=r"^the group keeper did not start; see keeper\.log$"):
        await keeper.async_group(("d0", "d2"))
    await keeper.async_member_volume("d1", 40)
    assert asked[-1] == ("volume", "d1", 40)
    assert made[-1]["connect"] == ["127.0.0.1:4101"]
    with pytest.raises(RuntimeError):  # a fault of ours is no toast
        await keeper.async_ungroup("d0")
