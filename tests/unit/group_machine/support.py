"""Helpers for the group machine's tests: a plan, clocks, and reading the actions."""

from __future__ import annotations

from connect.clock import ClockEstimate
from connect.group.events import Action, Answered, GroupPlan, Outcome, Send
from connect.group.membership import Membership
from connect.wire import messages as m

GROUP = "grp-1"
ITEM = m.QueueItem("q1", "http://127.0.0.1:8000/a.flac")
# Each device's clock reads the controller's plus its offset (µs); round trips of 400 µs.
OFFSETS = {"a": 1_000_000, "b": -2_000_000, "c": 5_000, "d": 70_000_000}
CLOCKS = {name: ClockEstimate(offset, 400, 8) for name, offset in OFFSETS.items()}
STATE = m.PlaybackState(
    "sess-1",
    7,
    device_id="a",
    queue=(ITEM,),
    current_uid="q1",
    clock=m.PlaybackClock(12_000, 1_000_000 + OFFSETS["a"], 1.0, True),
    status=m.PlaybackStatus.PLAYING,
    active=True,
    epoch=3,
)


def plan(**changes: object) -> GroupPlan:
    fields: dict[str, object] = {
        "group_id": GROUP,
        "leader_id": "a",
        "leader_clock": CLOCKS["a"],
        "state": STATE,
        "leader_volume": 40,
    }
    fields.update(changes)
    return GroupPlan(**fields)  # type: ignore[arg-type]


def leader_timeline(leader: str = "a", position_us: int = 12_000_000) -> m.GroupTimeline:
    """The leader's own timeline: its position at an instant of its clock."""
    return m.GroupTimeline(
        GROUP, 1, "sess-1", 7, ITEM, 1_000_000 + OFFSETS[leader], position_us, 1.0, True
    )


def sends(actions: list[Action], to: str | None = None, kind: type | None = None) -> list[m.Body]:
    return [
        a.body
        for a in actions
        if isinstance(a, Send)
        and (to is None or a.device_id == to)
        and (kind is None or isinstance(a.body, kind))
    ]


def outcomes(actions: list[Action]) -> list[Outcome]:
    return [a for a in actions if isinstance(a, Outcome)]


def done(step: m.GroupStep, epoch: int, edge: int = 0) -> m.GroupDone:
    return m.GroupDone(GROUP, step, epoch, edge)


def refused(
    step: m.GroupStep, epoch: int, code: m.ErrorCode = m.ErrorCode.TIMEOUT
) -> m.GroupRefused:
    return m.GroupRefused(GROUP, step, m.Failure(code, "not ready"), epoch)


def answer(
    group: Membership, device: str, ok: bool = True, now: int = 0, **kw: object
) -> list[Action]:
    """Feed *device*'s answer to the step it was sent, with the epoch it was sent with."""
    awaited = group.awaited(device)
    assert awaited is not None, f"{device} was sent nothing to answer"
    step, epoch = awaited
    body = done(step, epoch, **kw) if ok else refused(step, epoch, **kw)  # type: ignore[arg-type]
    return group.step(Answered(device, body), now)
