"""The collector's groups view (GET /api/groups, tracing/_groups.py): a group's roster at its
newest epoch, its leader, each member's latest skew, a member that left, and user isolation."""

from __future__ import annotations

import time

import pytest

from tests.unit.tracing.support import ALICE_PHONE, ALICE_SPEAKER, BOB_PHONE, Running
from tracing import _export, samples
from tracing import attributes as a
from tracing._groups import groups
from tracing._otlp import decode
from tracing._query import EVERYTHING, Filters
from tracing._store import Store
from tracing.group_samples import GroupSample

pytestmark = pytest.mark.warning_logs(r"ingest is open \(--open-ingest\)")

LOUNGE = samples.Device("alice-lounge", "Lounge", "receiver", "alice")
PORCH = samples.Device("alice-porch", "Porch", "receiver", "alice")
BEDROOM = samples.Device("alice-bedroom", "Bedroom", "speaker", "alice")
GROUP = GroupSample(ALICE_PHONE, ALICE_SPEAKER, (LOUNGE, PORCH))


async def _post(collector: Running, signal: str, request) -> None:
    assert (await collector.post(signal, request.SerializeToString())).status == 200


async def test_a_group_is_its_newest_roster_with_each_member_s_latest_skew(collector):
    await _post(collector, "traces", GROUP.forming())
    await _post(collector, "logs", GROUP.skew(LOUNGE, 40))
    await _post(collector, "logs", GROUP.skew(LOUNGE, -12))  # the newer one is shown
    await _post(collector, "logs", GROUP.skew(ALICE_SPEAKER, 3))

    (group,) = await collector.get_json("/api/groups", "alice")
    assert (group["id"], group["epoch"]) == ("grp-1", 3)
    assert group["leader"] == {"id": "alice-kitchen", "name": "Kitchen speaker"}
    members = [(m["name"], m["phase"], m["leader"], m["skew_us"]) for m in group["members"]]
    assert members == [
        ("Kitchen speaker", "PLAYING", True, 3),
        ("Lounge", "PLAYING", False, -12),
        ("Porch", "PLAYING", False, None),  # the roster said JOINING; its GroupDone, done
    ]
    assert group["members"][1]["skew_measured"] == "output"
    assert await collector.get_json("/api/groups", "bob") == []
    assert await collector.get_json("/api/groups", BOB_PHONE.user) == []


def _row(seq: int, device: str, kind: str, attrs: dict, peer: str = "", log: str = "") -> dict:
    return {
        "seq": seq, "kind": "log" if log else "span", "name": log or f"send {kind}",
        "start_ns": seq * 1_000, "device_id": device, "peer_device_id": peer,
        "message_kind": "" if log else kind, "data": {"attributes": attrs},
    }  # fmt: skip


def test_a_member_whose_leave_is_done_is_shown_left_until_a_newer_roster_has_it():
    roster = GROUP.roster(3, 2)
    leave = {a.GROUP_ID: "grp-1", a.GROUP_EPOCH: 3, a.GROUP_STEP: "LEAVE"}
    rows = [
        _row(1, "alice-phone", "GroupJoin", roster, peer="alice-porch"),
        _row(2, "alice-porch", "GroupDone", leave, peer="alice-phone"),
        # The controller's half names no member: it changes nothing.
        _row(3, "alice-phone", "GroupDone", {**leave, a.GROUP_EPOCH: 3}),
    ]
    (group,) = groups(rows, {})
    assert [(m["id"], m["phase"]) for m in group["members"]] == [
        ("alice-kitchen", "PLAYING"),
        ("alice-lounge", "PLAYING"),
        ("alice-porch", "LEFT"),
    ]
    rejoined = {**GROUP.roster(4, 1), a.GROUP_MEMBERS: ["alice-kitchen", "alice-porch"]}
    rejoined[a.GROUP_PHASES] = ["PLAYING", "JOINING"]
    (group,) = groups([*rows, _row(4, "alice-phone", "GroupJoin", rejoined)], {})
    assert [(m["id"], m["phase"]) for m in group["members"]] == [
        ("alice-kitchen", "PLAYING"),
        ("alice-porch", "JOINING"),
    ]


def test_an_older_epoch_never_replaces_a_newer_roster_nor_is_a_reporter_outside_it_a_member():
    newer, older = GROUP.roster(5, 2), GROUP.roster(2, 0)
    skew = {a.GROUP_ID: "grp-1", a.GROUP_SKEW_US: 7, a.GROUP_SKEW_FROM: "player"}
    rows = [
        _row(1, "alice-phone", "GroupJoin", newer),
        _row(2, "alice-phone", "GroupJoin", older),  # late to arrive, older epoch
        _row(3, "alice-attic", "", skew, log=a.EVENT_GROUP_SKEW),  # a member once, not now
        _row(4, "alice-phone", "Command", {}),  # no group: not a group's row
    ]
    (group,) = groups(rows, {"alice-attic": "Attic"})
    assert group["epoch"] == 5
    assert [m["id"] for m in group["members"]] == ["alice-kitchen", "alice-lounge", "alice-porch"]


def test_with_no_roster_traced_the_members_are_who_reported_a_skew():
    skew = {a.GROUP_ID: "grp-1", a.GROUP_SKEW_US: 7, a.GROUP_SKEW_FROM: "player"}
    (group,) = groups(
        [_row(1, "alice-attic", "", skew, log=a.EVENT_GROUP_SKEW)], {"alice-attic": "Attic"}
    )
    (attic,) = group["members"]
    assert (attic["name"], attic["skew_us"], attic["skew_measured"]) == ("Attic", 7, "player")
    assert (group["epoch"], group["leader"]["id"]) == (None, "")


def test_groups_are_listed_most_recently_active_first():
    now = time.time_ns()
    rows = [
        {**_row(1, "d1", "GroupLead", {a.GROUP_ID: "old"}), "start_ns": now - 10},
        {**_row(2, "d2", "GroupLead", {a.GROUP_ID: "new"}), "start_ns": now},
    ]
    assert [g["id"] for g in groups(rows, {})] == ["new", "old"]


def test_the_mermaid_export_boxes_a_group_s_members_and_says_their_skews(tmp_path):
    store = Store(tmp_path / "db")
    now = time.time_ns()  # the steps before the skew reports, as they happen
    lone = samples.Message(ALICE_PHONE, BEDROOM, start_ns=now - 2_000_000_000)
    for signal, request in (
        ("traces", samples.traces_request([lone])),
        ("traces", GROUP.forming(start_ns=now - 1_000_000_000)),
        ("logs", GROUP.skew(LOUNGE, 12)),
        ("logs", GROUP.skew(PORCH, -7)),
    ):
        store.insert(decode(signal, request.SerializeToString(), "application/x-protobuf"))
    rows = store.latest(EVERYTHING, Filters(), 1000)
    store.close()
    lines = [line.strip() for line in _export.to_mermaid(rows).splitlines()]
    box = lines.index("box group grp-1 led by Kitchen speaker")
    assert [line for line in lines[box:] if line.startswith(("participant", "end"))][:4] == [
        "participant d2 as Kitchen speaker",
        "participant d3 as Lounge",
        "participant d4 as Porch",
        "end",
    ]
    # The phone and the bedroom speaker, in no group, are declared outside the box.
    assert "participant d0 as Alice's phone" in lines[:box]
    assert "participant d1 as Bedroom" in lines[:box]
    assert "Note over d3: group skew +12 µs" in lines
    assert "Note over d4: group skew -7 µs" in lines
