"""GroupCoordinator (connect/group/coordinator.py) over fake sessions whose devices run
connect/group/member.py: what it checks before sending anything, how a group forms and grows,
what it relays, how a member leaves or is lost, and the volume of one member."""

from __future__ import annotations

import pytest

from connect.errors import GroupRefusedError
from connect.group.coordinator import GROUP_CLOCK_SAMPLES, GroupCoordinator
from connect.group.member import Role
from connect.group.rules import SLOW_JOIN_LEAD_US
from connect.wire import messages as m
from tests.unit.group_driver.fakes import Devices
from tests.waiting import until

LEAD_US = 80_000  # the join instant's lead: short, the fake devices pre-roll in 10 ms


def world(**leader: object) -> tuple[Devices, GroupCoordinator]:
    devices = Devices()
    devices.add("a", 1_000_000, plays=True, **leader)
    devices.add("b", -2_000_000)
    devices.add("c", 5_000)
    return devices, GroupCoordinator(devices, join_lead_us=LEAD_US)  # type: ignore[arg-type]


async def test_the_first_leads_and_the_others_start_at_one_instant() -> None:
    devices, groups = world()
    report = await groups.async_group(["a", "b", "c"])
    assert report.ok, report
    assert report.formed
    group = report.group
    assert group is not None
    assert group.leader_id == "a"
    assert group.leader_name == "A"
    assert [(x.device_id, x.phase, x.leads) for x in group.members] == [
        ("a", "playing", True), ("b", "playing", False), ("c", "playing", False),
    ]  # fmt: skip
    assert group.member("a").volume == 40  # type: ignore[union-attr]
    roles = {n: d.member.role for n, d in devices.devices.items()}
    assert roles == {"a": Role.LEADING, "b": Role.FOLLOWING, "c": Role.FOLLOWING}
    b, c = devices.devices["b"], devices.devices["c"]
    assert b.started_at is not None
    assert c.started_at is not None
    # One instant of the controller's clock, each in its own device's clock.
    assert b.started_at - b.offset_us == c.started_at - c.offset_us
    # Each follows the leader's timeline with its own offset to the leader.
    assert b.followed[-1].clock_offset_us == -3_000_000
    assert c.followed[-1].clock_offset_us == 5_000 - 1_000_000
    assert groups.groups() == [group]
    assert groups.group_of("c") == group
    await groups.async_close()


async def test_every_device_grouped_has_its_clock_sampled_afresh_first() -> None:
    devices, groups = world()
    assert all(c.clock is not None and c.clock.samples >= 3 for c in devices.conns.values())
    await groups.async_group(["a", "b"])
    await groups.async_group(["a", "c"])  # c joins the group a leads
    n = GROUP_CLOCK_SAMPLES
    # The leader's link is sampled again before c's join reads it.
    assert {d: c.synced for d, c in devices.conns.items()} == {"a": [n, n], "b": [n], "c": [n]}
    await groups.async_close()


async def test_the_leader_publishes_the_roster() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b"])
    a = devices.devices["a"]
    await until(lambda: a.state is not None and a.state.group is not None, 2, "roster published")
    assert a.state is not None
    assert a.state.group is not None
    assert {x.device_id for x in a.state.group.members} == {"a", "b"}
    await groups.async_close()


@pytest.mark.parametrize(
    ("change", "words", "code"),
    [
        ({"version": m.ProtocolVersion(1, 1)}, "speaks protocol 1.1; playing in a group needs 1.2",
         "unsupported"),
        ({"caps": m.Capabilities()}, "cannot play in a group", "unsupported"),
        ({"caps": m.Capabilities(group_member=True, no_timed_start=True)},
         "cannot start at a given instant", "unsupported"),
    ],
)  # fmt: skip
async def test_a_device_that_cannot_play_in_a_group_is_refused_before_anything_is_sent(
    change: dict[str, object], words: str, code: str
) -> None:
    devices = Devices()
    devices.add("a", 0, plays=True)
    devices.add("d", 0, **change)
    groups = GroupCoordinator(devices)  # type: ignore[arg-type]
    with pytest.raises(GroupRefusedError, match=words) as refused:
        await groups.async_group(["a", "d"])
    assert refused.value.device == "d"
    assert refused.value.code == code
    assert "D" in str(refused.value)  # named as the listener knows it
    assert devices.devices["a"].received == []
    assert devices.devices["d"].received == []
    assert groups.groups() == []


async def test_nothing_playing_unknown_and_unreachable_devices_are_refused() -> None:
    devices = Devices()
    devices.add("a", 0)  # holds no session
    devices.add("b", 0)
    groups = GroupCoordinator(devices)  # type: ignore[arg-type]
    with pytest.raises(GroupRefusedError, match="A plays nothing") as refused:
        await groups.async_group(["a", "b"])
    assert refused.value.code == "not_active"
    devices.add("c", 0, plays=True)
    with pytest.raises(
        GroupRefusedError, match=r"A plays nothing; C does: put it first \(`baton group C A`\)"
    ):
        await groups.async_group(["a", "c"])
    with pytest.raises(GroupRefusedError, match="no device ghost is known"):
        await groups.async_group(["b", "ghost"])
    devices.conns["b"].reachable = False
    with pytest.raises(GroupRefusedError, match="cannot reach B") as refused:
        await groups.async_group(["a", "b"])
    assert refused.value.code == "timeout"
    with pytest.raises(GroupRefusedError, match="two devices or more"):
        await groups.async_group(["a", "a"])
    assert all(d.received == [] for d in devices.devices.values())


async def test_naming_a_member_of_a_playing_group_joins_the_others_to_it() -> None:
    _devices, groups = world()
    await groups.async_group(["a", "b"])
    report = await groups.async_group(["c", "b"])
    assert report.ok
    assert not report.formed
    assert report.group is not None
    assert report.group.leader_id == "a"
    assert {x.device_id for x in report.group.members} == {"a", "b", "c"}
    assert len(groups.groups()) == 1
    await groups.async_close()


async def test_a_device_in_a_group_kept_elsewhere_is_refused() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b"])
    other = GroupCoordinator(devices, join_lead_us=LEAD_US)  # type: ignore[arg-type]
    with pytest.raises(
        GroupRefusedError, match="plays in a group led by A that another controller keeps"
    ):
        await other.async_group(["c", "b"])
    await groups.async_close()
    await other.async_close()


@pytest.mark.warning_logs(r"C: 404")
async def test_a_join_that_fails_on_the_device_is_in_the_report() -> None:
    devices, groups = world()
    devices.devices["c"].preroll_fails = True
    report = await groups.async_group(["a", "b", "c"])
    assert not report.ok
    assert [(x.device_id, x.name, x.message, x.code) for x in report.refused] == [
        ("c", "C", "404", "media_not_found")
    ]
    assert report.group is not None
    assert report.group.member("c") is None
    assert devices.devices["c"].member.role is Role.ALONE
    await groups.async_close()


@pytest.mark.warning_logs(r"C: not ready by the instant")
async def test_a_join_not_ready_by_its_instant_is_asked_once_more_with_time_to_spare() -> None:
    devices, groups = world()
    devices.devices["c"].slow_prerolls = 1
    report = await groups.async_group(["a", "b", "c"])
    assert report.ok, report.refused
    assert report.group is not None
    assert report.group.member("c") is not None
    joins = [x for x in devices.devices["c"].received if isinstance(x, m.GroupJoin)]
    assert len(joins) == 2
    # The second instant is SLOW_JOIN_LEAD_US after it was sent, the first LEAD_US: the gap
    # between the two instants is the second lead, less the first, plus the time between.
    assert joins[1].start_at_us - joins[0].start_at_us > SLOW_JOIN_LEAD_US - LEAD_US
    await groups.async_close()


async def test_the_leaders_timeline_is_relayed_to_each_follower_with_its_offset() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b", "c"])
    a, b, c = (devices.devices[n] for n in "abc")
    a.tell(a.timeline(revision=8, playing=False))  # paused on the leader
    await until(lambda: b.followed[-1].revision == 8 and c.followed[-1].revision == 8, 2)
    assert not b.followed[-1].playing
    assert b.followed[-1].clock_offset_us == -3_000_000
    assert c.followed[-1].clock_offset_us == -995_000
    await groups.async_close()


async def test_a_newer_clock_estimate_reaches_the_next_relay() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b"])
    a, b = devices.devices["a"], devices.devices["b"]
    devices.conns["b"].clock = type(devices.conns["b"].clock)(-2_000_250, 300, 9)  # type: ignore[misc]
    a.tell(a.timeline(revision=9))
    await until(lambda: b.followed[-1].revision == 9, 2)
    assert b.followed[-1].clock_offset_us == -3_000_250
    await groups.async_close()


async def test_ungroup_a_follower_fades_it_out_alone() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b", "c"])
    await groups.async_ungroup("c")
    c = devices.devices["c"]
    assert c.member.role is Role.ALONE
    assert c.stopped_at is not None
    group = groups.group_of("a")
    assert group is not None
    assert {x.device_id for x in group.members} == {"a", "b"}
    assert devices.devices["b"].member.role is Role.FOLLOWING
    with pytest.raises(GroupRefusedError, match="C plays in no group"):
        await groups.async_ungroup("c")
    await groups.async_close()


async def test_ungroup_the_leader_hands_the_session_on_first() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b", "c"])
    await groups.async_ungroup("a")
    group = groups.group_of("b")
    assert group is not None
    assert group.leader_id == "b"
    a, b = devices.devices["a"], devices.devices["b"]
    assert b.member.role is Role.LEADING
    assert b.holds_session
    assert a.member.role is Role.ALONE
    assert a.stopped_at is not None
    await groups.async_close()


async def test_down_to_one_member_the_group_ends_and_it_plays_on_alone() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b"])
    await groups.async_ungroup("b")
    await until(lambda: groups.groups() == [], 2, "the group ends")
    assert devices.devices["a"].member.role is Role.ALONE


@pytest.mark.warning_logs(r"lost A: connection reset")
async def test_a_lost_leader_is_replaced_by_the_next_member() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b", "c"])
    devices.drop("a")
    await until(lambda: (g := groups.group_of("b")) is not None and g.leader_id == "b", 2)
    assert devices.devices["b"].member.role is Role.LEADING
    group = groups.group_of("b")
    assert group is not None
    assert group.member("a") is None
    await groups.async_close()


async def test_one_members_volume_touches_no_other() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b", "c"])
    await groups.async_member_volume("b", 17)
    assert devices.devices["b"].volume == (17, False)
    assert devices.devices["c"].volume is None
    assert devices.devices["a"].volume is None
    group = groups.group_of("b")
    assert group is not None
    assert group.member("b").volume == 17
    with pytest.raises(GroupRefusedError, match="0-100"):
        await groups.async_member_volume("b", 101)
    await groups.async_close()


async def test_a_silent_member_is_refused_in_time_and_never_half_joined() -> None:
    devices, groups = world()
    devices.devices["c"].silent = True
    report = await groups.async_group(["a", "b", "c"])
    assert [x.device_id for x in report.refused] == ["c"]
    assert "did not answer in time" in report.refused[0].message
    assert report.group is not None
    assert report.group.member("c") is None
    # It was told to stop, in case it started after all.
    assert isinstance(devices.devices["c"].received[-1], m.GroupLeave)
    await groups.async_close()


@pytest.mark.warning_logs(r"lost B: connection reset")
async def test_a_member_whose_link_comes_back_leaves_what_it_played_and_joins_again() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b", "c"])
    b = devices.devices["b"]
    devices.drop("b")
    await until(lambda: groups.group_of("a").member("b") is None, 2, "b out of the roster")  # type: ignore[union-attr]
    assert b.member.role is Role.FOLLOWING  # it played on, on its last timeline
    joins = len([x for x in b.received if isinstance(x, m.GroupJoin)])
    devices.back("b")
    await until(
        lambda: (g := groups.group_of("b")) is not None and g.member("b").phase == "playing",  # type: ignore[union-attr]
        3,
        "b back in the group",
    )
    assert b.member.role is Role.FOLLOWING
    kinds = [type(x).__name__ for x in b.received]
    last_leave = len(kinds) - 1 - kinds[::-1].index("GroupLeave")
    assert kinds.index("GroupJoin", last_leave) > last_leave, kinds  # it left, then joined
    assert len([x for x in b.received if isinstance(x, m.GroupJoin)]) == joins + 1
    # Its link and the leader's were sampled afresh before the join read them.
    n = GROUP_CLOCK_SAMPLES
    assert (devices.conns["b"].synced, devices.conns["a"].synced) == ([n, n], [n, n])
    await groups.async_close()


@pytest.mark.warning_logs(r"lost B: connection reset")
async def test_grouping_a_member_the_roster_lost_takes_it_back() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b", "c"])
    devices.drop("b")
    await until(lambda: groups.group_of("a").member("b") is None, 2, "b out of the roster")  # type: ignore[union-attr]
    devices.conns["b"].connected = True  # back, but before the coordinator heard so
    report = await groups.async_group(["a", "b"])
    assert report.ok, report
    assert devices.devices["b"].member.role is Role.FOLLOWING
    await groups.async_close()


@pytest.mark.warning_logs(r"lost B: connection reset")
async def test_a_group_of_two_that_lost_one_forms_again_when_it_is_back() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b"])
    devices.drop("b")
    await until(lambda: groups.groups() == [], 2, "the group of one ends")
    assert devices.devices["a"].member.role is Role.ALONE  # it plays on alone
    devices.back("b")
    await until(
        lambda: (g := groups.group_of("b")) is not None and g.member("b").phase == "playing",  # type: ignore[union-attr]
        3,
        "a group of a and b again",
    )
    group = groups.group_of("b")
    assert group is not None
    assert group.leader_id == "a"
    assert devices.devices["b"].member.role is Role.FOLLOWING
    await groups.async_close()


@pytest.mark.warning_logs(r"lost A: connection reset")
async def test_a_lost_leader_of_two_comes_back_as_the_follower() -> None:
    devices, groups = world()
    await groups.async_group(["a", "b"])
    devices.drop("a")
    await until(lambda: groups.groups() == [], 2, "b took the session; the group of one ends")
    assert devices.devices["b"].holds_session
    devices.back("a")  # it still leads the group it knew, on its own
    await until(
        lambda: (g := groups.group_of("a")) is not None and g.member("a").phase == "playing",  # type: ignore[union-attr]
        3,
        "a back, following b",
    )
    group = groups.group_of("a")
    assert group is not None
    assert group.leader_id == "b"
    assert devices.devices["a"].member.role is Role.FOLLOWING
    await groups.async_close()


async def test_a_group_formed_before_a_restart_is_grouped_again_when_named() -> None:
    devices, groups = world()
    report = await groups.async_group(["a", "b", "c"])
    assert report.group is not None
    await groups.async_close()  # the keeper dies: the devices play on in the group
    restarted = GroupCoordinator(devices, join_lead_us=LEAD_US)  # type: ignore[arg-type]
    with pytest.raises(GroupRefusedError, match="another controller keeps"):
        await restarted.async_group(["a", "b", "c"])
    restarted.remember_groups([report.group.group_id])
    again = await restarted.async_group(["a", "b", "c"])
    assert again.ok, again
    assert again.group is not None
    assert again.group.group_id != report.group.group_id
    roles = {n: d.member.role for n, d in devices.devices.items()}
    assert roles == {"a": Role.LEADING, "b": Role.FOLLOWING, "c": Role.FOLLOWING}
    assert devices.devices["a"].holds_session
    await restarted.async_close()
