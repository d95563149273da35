"""client/group_moves.async_move on a fake controller and a fake transfer: when each commit goes
out, who is told what and at which instant, and what is undone when the transfer fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from client.group_moves import ONTO_LEAD_US, async_move
from connect.clock import ClockEstimate
from connect.group.reports import GroupView, MemberView
from connect.transfer import coordinator as transfer_coordinator
from connect.transfer.coordination import TransferOutcome
from connect.wire import messages as m

SOURCE, TARGET = m.TransferRole.SOURCE, m.TransferRole.TARGET
HALL = GroupView(
    "grp-k",
    "hall",
    (
        MemberView("hall", "Hall", "playing", 50, leads=True),
        MemberView("kitchen", "Kitchen", "playing", 40),
        MemberView("bath", "Bath", "playing", 30),
    ),
)
ITEM, NEXT = m.QueueItem("u1", "http://media/a.wav"), m.QueueItem("u2", "http://media/b.wav")
TERRACE_STATE = m.PlaybackState(
    "sess-t", 5, device_id="terrace", queue=(ITEM, NEXT), current_uid="u1",
    clock=m.PlaybackClock(30_000, 1_000, 1.0, True), status=m.PlaybackStatus.PLAYING,
    active=True,
)  # fmt: skip
OFFSET = {"hall": 7_000_000, "terrace": -3_000_000}


@dataclass
class Link:
    clock: ClockEstimate
    state: m.PlaybackState | None = None


@dataclass
class Controller:
    """What async_move uses of a Controller, recorded."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def groups(self) -> list[GroupView]:
        return [HALL]

    def known_connection(self, device_id: str) -> Link:
        state = TERRACE_STATE if device_id == "terrace" else None
        return Link(ClockEstimate(OFFSET.get(device_id, 0), 400, 8), state)

    async def async_ungroup(self, device_id: str) -> None:
        self.calls.append(("ungroup", device_id, 0))

    async def async_leave_at(self, device_id: str, at_us: int) -> None:
        self.calls.append(("ungroup", device_id, at_us))

    async def async_group(self, device_ids: list[str]) -> None:
        self.calls.append(("group", tuple(device_ids)))

    def announce_group_timeline(self, leader_id: str, timeline: m.GroupTimeline) -> None:
        self.calls.append(("announce", leader_id, timeline))


def fake_transfers(failure: m.Failure | None, asked: list[tuple[Any, ...]]) -> type:
    class Transfers:
        """Sends both commits (switch at 2 s in the receiving device's clock) and ends."""

        def __init__(self, controller: object) -> None:
            pass

        async def async_transfer(
            self, source: str, target: str, options: object, *, on_send: Any, min_lead_us: int
        ) -> TransferOutcome:
            asked.append((source, target, min_lead_us))
            for role, device in ((SOURCE, source), (TARGET, target)):
                switch = 2_000_000 + OFFSET.get(device, 0)
                commit = m.TransferCommit("t", role, switch, 42_000, 30, revision=9)
                if on_send is not None:
                    on_send(role, commit)
            return TransferOutcome("t", m.TransferMode.HANDOFF, source, target, failure)

    return Transfers


@pytest.mark.parametrize("failed", [False, True])
async def test_off_a_group_every_follower_is_silent_where_the_leader_is(
    monkeypatch: pytest.MonkeyPatch, failed: bool
) -> None:
    asked: list[tuple[Any, ...]] = []
    failure = m.Failure(m.ErrorCode.TIMEOUT, "lost Porch") if failed else None
    monkeypatch.setattr(transfer_coordinator, "TransferCoordinator", fake_transfers(failure, asked))
    controller = Controller()
    move, outcome = await async_move(controller, "kitchen", "porch")  # type: ignore[arg-type]
    assert asked == [("hall", "porch", 0)]
    assert move.said.startswith("Kitchen follows Hall")
    silent_at = 2_000_000 + 30_000  # the switch in the controller's clock, plus the fade
    leaves = [("ungroup", "kitchen", silent_at), ("ungroup", "bath", silent_at)]
    regroup = [("group", ("hall", "kitchen", "bath"))] if failed else []
    assert controller.calls == leaves + regroup
    assert outcome.ok is not failed


@pytest.mark.parametrize("failed", [False, True])
async def test_onto_a_group_the_followers_hear_the_new_timeline_with_the_target_s_commit(
    monkeypatch: pytest.MonkeyPatch, failed: bool
) -> None:
    asked: list[tuple[Any, ...]] = []
    failure = m.Failure(m.ErrorCode.TIMEOUT, "lost Hall") if failed else None
    monkeypatch.setattr(transfer_coordinator, "TransferCoordinator", fake_transfers(failure, asked))
    controller = Controller()
    await async_move(controller, "terrace", "bath")  # type: ignore[arg-type]
    assert asked == [("terrace", "hall", ONTO_LEAD_US)]
    (_, leader, timeline), *rest = controller.calls
    assert leader == "hall"
    assert timeline == m.GroupTimeline(
        "grp-k", 0, "sess-t", 9, ITEM, 2_000_000 + OFFSET["hall"], 42_000_000, 1.0, True, NEXT
    )
    undone = [("ungroup", "kitchen", 0), ("ungroup", "bath", 0)] if failed else []
    assert rest == undone


def test_the_lead_onto_a_group_covers_a_follower_s_own() -> None:
    from devices._group_plan import FOLLOW_LEAD_US

    # A follower hears the timeline a round trip or two after Ready: 100 ms is room for that.
    assert ONTO_LEAD_US >= FOLLOW_LEAD_US + 100_000
