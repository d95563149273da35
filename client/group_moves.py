"""Transfers that touch a group (issue 17), carried out by the controller that keeps the
group (the keeper for `baton` and the app, client/group_keeper.py), reusing the transfer.

OFF a group (the source is a member: the leader, or a follower resolved to its leader, which
is said): the ordinary make-before-break transfer from the leader; when the source's commit
goes out, each follower is asked to leave with its fade ending where the source's does, so
every member falls silent with the leader and the target plays on alone: the group ends. If
the transfer fails after that (the music went back to the leader), the followers are grouped
with the leader again.

ONTO a group (the target is a member, resolved likewise): the ordinary transfer to the leader,
its switch no sooner than ONTO_LEAD_US after Ready; when the target's commit goes out, the
followers are sent the group's new timeline (the source's item from the switch instant, at the
commit's position), so each opens the music ahead and starts it at that instant with the
leader. If the transfer fails after that, the followers are taken out of the group.

Two devices of one group, or of two groups, are refused before anything is sent, in words.
`plan_move` is pure (which transfer, which members, what to say, or why not); `async_move` runs
it on a controller.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from client.transfer_json import options_from_json, outcome_json
from connect.errors import ConnectError, GroupRefusedError
from connect.group.reports import GroupView
from connect.session import playback
from connect.transfer.coordination import DEFAULT_OPTIONS, TransferOutcome
from connect.wire import messages as m

if TYPE_CHECKING:
    from connect.controller import Controller

__all__ = ["GroupMove", "async_group_transfer", "async_move", "async_transfer_answer", "plan_move"]

_LOG = logging.getLogger(__name__)

ONTO_LEAD_US = 450_000
"""A transfer onto a group switches no sooner than this after the leader's Ready: a follower
starts a new timeline only if it heard it 300 ms ahead (devices/_group_plan.FOLLOW_LEAD_US),
and the target's commit, which tells them, goes out a round trip or two after Ready."""


@dataclass(frozen=True)
class GroupMove:
    """One transfer touching a group: from *source_id* (a leader) to *target_id*."""

    source_id: str
    target_id: str
    followers: tuple[str, ...] = ()  # members that fall silent at the switch instant
    group_id: str = ""  # "" : no group is touched, an ordinary transfer
    said: str = ""  # what the controller resolved, in words ("" : nothing)
    onto: bool = False  # the music moves onto the group (target_id leads it), not off it


def plan_move(source_id: str, target_id: str, groups: Sequence[GroupView]) -> GroupMove:
    """Return the transfer to run for *source_id* -> *target_id* given the groups kept, or
    raise GroupRefusedError saying why none is (nothing has been sent)."""
    source = next((g for g in groups if g.member(source_id) is not None), None)
    target = next((g for g in groups if g.member(target_id) is not None), None)
    if source is not None and target is not None:
        one = source.group_id == target.group_id
        raise GroupRefusedError(
            f"{_name(source, source_id)} and {_name(target, target_id)} play in one group already"
            if one
            else f"{_name(source, source_id)} and {_name(target, target_id)} play in two groups: "
            f"moving one group onto another is not built; ungroup one of them first",
            device=target_id,
            code="invalid_argument" if one else "busy",
        )
    group = source or target
    if group is None:
        return GroupMove(source_id, target_id)
    leader, member = group.leader_id, source_id if source is not None else target_id
    busy = next((x for x in group.members if x.phase != "playing"), None)
    if busy is not None:  # a join or a leave in flight: its own instant is not the switch's
        raise GroupRefusedError(
            f"{busy.name} is {busy.phase} the group led by {group.leader_name}: "
            "try again once it is done",
            device=busy.device_id,
            code="busy",
        )
    followers = tuple(x.device_id for x in group.members if x.device_id != leader)
    said = ""
    if member != leader:
        moved = "moving the group's music from" if source is not None else "moving the music to"
        said = (
            f"{_name(group, member)} follows {group.leader_name} in a group: "
            f"{moved} {group.leader_name}"
        )
    if source is not None:
        return GroupMove(leader, target_id, followers, group.group_id, said)
    return GroupMove(source_id, leader, followers, group.group_id, said, onto=True)


async def async_move(
    controller: Controller,
    source_id: str,
    target_id: str,
    options: m.TransferOptions = DEFAULT_OPTIONS,
) -> tuple[GroupMove, TransferOutcome]:
    """Run the transfer *source_id* -> *target_id*, a group's members with it (see the module
    docstring); raise GroupRefusedError before anything is sent when it cannot be done."""
    from connect.transfer.coordinator import TransferCoordinator

    move = plan_move(source_id, target_id, controller.groups())
    if move.said:
        _LOG.info("%s", move.said)
    leaves: list[asyncio.Task[None]] = []
    announced: list[m.GroupTimeline] = []

    def on_send(role: m.TransferRole, body: m.Body) -> None:
        """A commit: every follower leaves, or is put on the new timeline, at its instant."""
        if not isinstance(body, m.TransferCommit) or leaves or announced:
            return
        if move.onto and role is m.TransferRole.TARGET:
            timeline = _timeline_onto(controller, move, body)
            if timeline is not None:
                controller.announce_group_timeline(move.target_id, timeline)
                announced.append(timeline)
            return
        conn = controller.known_connection(move.source_id)
        if move.onto or role is not m.TransferRole.SOURCE or conn is None or conn.clock is None:
            return
        silent_at = conn.clock.to_local(body.switch_at_us) + body.fade_ms * 1000
        loop = asyncio.get_running_loop()
        for device_id in move.followers:
            leave = controller.async_leave_at(device_id, silent_at)
            leaves.append(loop.create_task(leave, name=f"baton-group-move {device_id}"))

    coordinator = TransferCoordinator(controller)
    outcome = await coordinator.async_transfer(
        move.source_id,
        move.target_id,
        options,
        on_send=on_send if move.followers else None,
        min_lead_us=ONTO_LEAD_US if move.onto else 0,
    )
    for result in await asyncio.gather(*leaves, return_exceptions=True):
        if isinstance(result, BaseException):
            _LOG.warning("a member did not leave with the transfer: %s", result)
    if leaves and not outcome.ok:  # the music stayed on (or went back to) the leader
        await _regroup(controller, move)
    if announced and not outcome.ok:  # the followers were told of music nobody holds
        for device_id in move.followers:
            with contextlib.suppress(ConnectError):
                await controller.async_ungroup(device_id)
    return move, outcome


def _timeline_onto(
    controller: Controller, move: GroupMove, commit: m.TransferCommit
) -> m.GroupTimeline | None:
    """Return the group's timeline from the target's commit: the source's item, heard from the
    switch instant (the leader's clock) at the commit's position (None: its state is unknown)."""
    conn = controller.known_connection(move.source_id)
    state = conn.state if conn is not None else None
    if state is None or state.current_item is None:
        return None
    following = playback.neighbour(state, +1, wrap=state.repeat is m.RepeatMode.ALL)
    return m.GroupTimeline(
        move.group_id,
        0,  # the roster's epoch, set as it is relayed
        state.session_id,
        commit.revision,
        state.current_item,
        commit.switch_at_us,
        commit.position_ms * 1000,
        state.clock.rate,
        state.clock.playing,
        following,
    )


async def _regroup(controller: Controller, move: GroupMove) -> None:
    """Put the followers that left with a failed transfer back with their leader."""
    try:
        await controller.async_group([move.source_id, *move.followers])
    except ConnectError as exc:
        _LOG.warning("could not group the members again after the failed transfer: %s", exc)


def _name(group: GroupView, device_id: str) -> str:
    member = group.member(device_id)
    return member.name if member is not None else device_id


async def async_transfer_answer(
    controller: Controller,
    request: dict[str, Any],
    find: Callable[[str, float], Awaitable[str]],
    timeout: float,
) -> dict[str, Any]:
    """Return the keeper's answer to a "transfer" request (the devices found by *find*)."""
    options = options_from_json(request["options"])
    source = await find(str(request["source"]), timeout)
    target = await find(str(request["target"]), timeout)
    move, outcome = await async_move(controller, source, target, options)
    return {"ok": True, "said": move.said, "outcome": outcome_json(outcome)}


async def async_group_transfer(
    args: Any, source_id: str, target_id: str, options: m.TransferOptions
) -> TransferOutcome | None:
    """`baton transfer` where the source or the target is in a group this user's keeper keeps:
    run it there, saying what was resolved (on stderr); None: neither is (a plain transfer)."""
    from client.group_client import GroupClient
    from client.group_commands import async_kept_groups

    groups = await async_kept_groups(args)
    if not any(g.member(source_id) or g.member(target_id) for g in groups):
        return None
    client = GroupClient(interfaces=args.interface, connect=args.connect, timeout=args.timeout)
    said, outcome = await client.async_transfer(args.source, args.target, options)
    if said:
        print(said, file=sys.stderr)
    return outcome
