"""The controller's groups (protocol 1.2, proto "Groups"): the async driver of the pure machine
of connect/group/membership.py, one per group, over a controller's DeviceConnections, as
connect/transfer/coordinator.py drives a transfer's machine.

`async_group(ids)` checks every device before anything is sent: known and reachable, protocol
1.2 and `group_member` (rules.why_not_member), the first holding a session with an item when a
group is formed, none playing in a group this coordinator does not keep. A refusal is a
GroupRefusedError naming the device and why. Then the first device leads a new group and the
others join it; or, when one of them plays in a group this coordinator keeps, the others join
that one. Each group's machine is fed on one task, in order: the members' answers (GroupDone,
GroupRefused), the leader's timeline and state, newer clock estimates of the links (fed before
every event, so each relay carries the follower's offset as measured last), a member's session
dropping (Lost), and its own timers. Its actions are carried out: frames sent (a failed frame
that must arrive is a Lost), timers armed, outcomes handed to whoever asked, notes traced.

A member whose session drops is out of the roster (the machine's Lost); it plays on, on its last
timeline, so when its session is back it is told to leave what it plays and joins again, at an
instant, in sync (`baton group` naming it does the same); a group of two that lost one ended,
and is formed again around the member that led it last. A group lives as long as its
coordinator: its followers are sent the leader's timeline at every change and every
`events.REFRESH_US`. A command that forms one and exits hands it to a process
that stays (the CLI's keeper, client/group_keeper.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace

from connect import telemetry
from connect.cli_common import baton_command
from connect.clock import Clock, monotonic_us
from connect.errors import AccessError, ConnectError, GroupRefusedError
from connect.group import events as ev
from connect.group._group_run import Devices, GroupRun, Waiter, outcome, state_of
from connect.group.membership import Membership
from connect.group.reports import GroupReport, GroupView, Refusal
from connect.group.rules import JOIN_LEAD_US, SLOW_JOIN_LEAD_US, why_not_member
from connect.session.connection import (
    AccessDenied,
    Connected,
    ConnectionEvent,
    DeviceConnection,
    Disconnected,
    GroupMessage,
    StateChanged,
)
from connect.wire import messages as m

__all__ = ["GroupCoordinator", "GroupReport", "GroupView"]

_LOG = logging.getLogger(__name__)

LEAD, JOIN, LEAVE, VOLUME = (
    m.GroupStep.LEAD,
    m.GroupStep.JOIN,
    m.GroupStep.LEAVE,
    m.GroupStep.VOLUME,
)
CONNECT_TIMEOUT_S = 5.0
OUTCOME_TIMEOUT_S = 10.0  # a backstop: the machine ends every step within its own deadlines
LEAVE_TIMEOUT_S = 2.0  # a fade-out of fade_ms and its answer
VOLUME_TIMEOUT_S = 3.0  # a volume is answered by the member alone, with no deadline of the machine
ENDED_KEPT = 16  # rosters of ended groups remembered
# Fresh clock samples on a member's link and the leader's before a join: a session's estimate
# may come from samples taken under load, and its error stays the member's skew (a later change
# within the stated uncertainty is noise to the follower). A window's worth, back to back.
GROUP_CLOCK_SAMPLES = 16


class GroupCoordinator:
    """Forms and keeps a controller's groups (see the module docstring); loop thread only."""

    def __init__(
        self,
        devices: Devices,
        *,
        clock: Clock = monotonic_us,
        fade_ms: int = 30,
        join_lead_us: int = JOIN_LEAD_US,
    ) -> None:
        self._devices, self._clock = devices, clock
        self._fade_ms, self._join_lead_us = fade_ms, join_lead_us
        self._runs: dict[str, GroupRun] = {}
        self._lock = asyncio.Lock()  # one request's checks and first steps at a time
        # Members whose session dropped, by the group they were in: asked to join it again
        # when their session is back (they played on, on their last timeline, meanwhile).
        self._lost: dict[str, str] = {}
        self._rejoins: set[asyncio.Task[None]] = set()
        # The last rosters of groups that ended here (a few): a member they lost is put back
        # with whom it played, and their members are not "in a group kept elsewhere".
        self._ended_rosters: dict[str, m.Group] = {}
        self._former: set[str] = set()  # groups formed here before a restart (remember_groups)
        self._unsubscribe = devices.subscribe(self._on_event)

    # -------------------------------------------------------------------------- queries

    def groups(self) -> list[GroupView]:
        """Return every group this coordinator keeps, as it stands."""
        return [run.view() for run in self._runs.values() if not run.machine.over]

    def group_of(self, device_id: str) -> GroupView | None:
        """Return the group *device_id* is a member of here, or None."""
        run = self._run_of(device_id)
        return run.view() if run is not None else None

    def remember_groups(self, group_ids: Sequence[str]) -> None:
        """Take *group_ids* as groups formed here before a restart (the keeper's, which died):
        their members are grouped again when named, not refused as in a group kept elsewhere
        (its leader plays on alone first, its followers leave it first)."""
        self._former.update(group_ids)

    # -------------------------------------------------------------------------- requests

    async def async_group(
        self, device_ids: Sequence[str], *, timeout_s: float = CONNECT_TIMEOUT_S
    ) -> GroupReport:
        """Group *device_ids*: the first leads a new group, or all join the group one of them
        plays in here. Raise GroupRefusedError (nothing sent) when one cannot take part."""
        ids = list(dict.fromkeys(device_ids))
        if len(ids) < 2:
            raise GroupRefusedError("name two devices or more to group", code="invalid_argument")
        async with self._lock:
            runs = {run for run in map(self._run_of, ids) if run is not None}
            if len(runs) > 1:
                leaders = " and ".join(sorted(r.view().leader_name for r in runs))
                raise GroupRefusedError(f"these devices play in two groups (led by {leaders})")
            run = runs.pop() if runs else None
            newcomers = [d for d in ids if run is None or run.machine.roster.member(d) is None]
            conns = [await self._connect(d, timeout_s) for d in newcomers]
            for conn in conns:
                await self._check_member(conn)
            formed = run is None
            if run is not None:
                await self._sample_clocks(run.machine.roster.leader_device_id)
            waiters: list[tuple[str, Waiter]] = []
            joins: dict[str, ev.JoinAsked] = {}
            if run is None:
                leader = conns.pop(0)
                held = leader.state.group if leader.state is not None else None
                if held is not None:  # ours from before a restart: it plays on alone first
                    await self._leave_first(leader, held, alone=True)
                run = await self._form(leader, others=conns)
                span = telemetry.start_group(LEAD, run.machine.plan.group_id, leader.device_id)
                waiters.append((leader.device_id, run.waiter(leader.device_id, LEAD, span)))
                run.start(span)
            for conn in conns:
                state = conn.state
                if state is not None and state.group is not None:  # ours: the roster lost it
                    await self._leave_first(conn, state.group)
                volume, muted = (state.volume, state.muted) if state else (50, False)
                assert conn.clock is not None  # _connect took samples
                asked = ev.JoinAsked(conn.device_id, conn.clock, volume, muted)
                joins[conn.device_id] = asked
                waiters.append((conn.device_id, run.ask(asked, JOIN)))
        refused = []
        for device_id, waiter in waiters:
            failure = await outcome(waiter, OUTCOME_TIMEOUT_S)
            if failure is not None and failure.code is m.ErrorCode.TIMEOUT and device_id in joins:
                # Not ready by the instant (a slow first open): once more, with time to spare.
                again = replace(joins[device_id], lead_us=SLOW_JOIN_LEAD_US)
                failure = await outcome(run.ask(again, JOIN), OUTCOME_TIMEOUT_S)
            if failure is not None:
                code = failure.code.name.lower()
                refused.append(Refusal(device_id, self._name(device_id), failure.message, code))
        view = None if run.machine.over else run.view()
        return GroupReport(view, formed, tuple(refused))

    async def async_ungroup(self, device_id: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        """Take *device_id* out of its group: it fades out and stops (a leader hands the session
        to the next member first; the last member plays on alone). A device in a group no
        controller here keeps (its controller is gone) is told to leave it all the same."""
        run = self._run_of(device_id)
        if run is None:
            await self._leave_foreign(device_id, timeout_s)
            return
        failure = await outcome(run.ask(ev.LeaveAsked(device_id), LEAVE), OUTCOME_TIMEOUT_S)
        if failure is not None:
            code = failure.code.name.lower()
            raise GroupRefusedError(failure.message, device=device_id, code=code)

    async def async_member_volume(self, device_id: str, volume: int, muted: bool = False) -> None:
        """Set one member's own volume (0-100); the other members are not touched."""
        if not 0 <= volume <= 100:
            raise GroupRefusedError("volume must be 0-100", code="invalid_argument")
        run = self._run_of(device_id)
        if run is None:
            name = self._name(device_id)
            raise GroupRefusedError(f"{name} plays in no group", device=device_id, code="not_found")
        asked = ev.VolumeAsked(device_id, volume, muted)
        failure = await outcome(run.ask(asked, VOLUME), VOLUME_TIMEOUT_S)
        if failure is not None:
            code = failure.code.name.lower()
            raise GroupRefusedError(failure.message, device=device_id, code=code)

    async def async_leave_at(self, device_id: str, at_us: int) -> None:
        """Have follower *device_id* fade out so it is silent from *at_us* (this clock): a
        transfer's switch instant (client/group_moves.py); raise GroupRefusedError if not."""
        run = self._run_of(device_id)
        if run is None:
            why = f"{self._name(device_id)} plays in no group kept here"
            raise GroupRefusedError(why, device=device_id, code="not_found")
        failure = await outcome(run.ask(ev.LeaveAsked(device_id, at_us), LEAVE), OUTCOME_TIMEOUT_S)
        if failure is not None:
            code = failure.code.name.lower()
            raise GroupRefusedError(failure.message, device=device_id, code=code)

    def announce(self, leader_id: str, timeline: m.GroupTimeline) -> None:
        """Relay *timeline* (in *leader_id*'s clock) to its group's followers as the leader's
        own: a transfer onto the group tells them its switch instant ahead (group_moves)."""
        run = self._run_of(leader_id)
        if run is not None:
            group_id = run.machine.plan.group_id
            run.feed(ev.LeaderTimeline(leader_id, replace(timeline, group_id=group_id)))

    async def async_close(self) -> None:
        """Stop keeping every group (the devices play on, on their last timeline); idempotent."""
        self._unsubscribe()
        for task in list(self._rejoins):
            task.cancel()
        await asyncio.gather(*self._rejoins, return_exceptions=True)
        runs, self._runs = list(self._runs.values()), {}
        for run in runs:
            await run.async_stop()

    # -------------------------------------------------------------------------- checks

    async def _connect(self, device_id: str, timeout_s: float) -> DeviceConnection:
        """Return *device_id*'s session with GROUP_CLOCK_SAMPLES clock samples just taken."""
        name = self._name(device_id)
        if self._devices.registry.get(device_id) is None:
            raise GroupRefusedError(
                f"no device {name} is known", device=device_id, code="not_found"
            )
        try:
            conn = await self._devices.async_connect(device_id, timeout_s)
            await conn.async_sync_clock(samples=GROUP_CLOCK_SAMPLES)
        except AccessError:
            raise  # not paired, revoked: the caller says how to pair
        except ConnectError as exc:
            raise GroupRefusedError(
                f"cannot reach {name}: {exc}", device=device_id, code="timeout"
            ) from exc
        if conn.clock is None or conn.welcome is None:
            raise GroupRefusedError(f"cannot reach {name}", device=device_id, code="timeout")
        return conn

    async def _check_member(self, conn: DeviceConnection) -> None:
        device_id, name = conn.device_id, self._name(conn.device_id)
        assert conn.welcome is not None
        welcome = conn.welcome
        refused = why_not_member(name, welcome.version, welcome.device.capabilities)
        if refused is not None:
            raise GroupRefusedError(refused.message, device=device_id, code="unsupported")
        state = await state_of(conn)
        group = state.group if state is not None else None
        if group is not None and group.group_id not in self._here():  # in a group kept elsewhere
            leader = self._name(group.leader_device_id)
            raise GroupRefusedError(
                f"{name} plays in a group led by {leader} that another controller keeps; "
                f"ungroup {name} first",
                device=device_id,
                code="busy",
            )

    async def _form(self, leader: DeviceConnection, others: Sequence[DeviceConnection]) -> GroupRun:
        """Return the new group's machine around *leader*, refusing when it plays nothing
        (naming one of *others* that does, to put first)."""
        name = self._name(leader.device_id)
        state = await state_of(leader)
        if state is None or not _plays(state):
            playing = [c.device_id for c in others if _plays(c.state)]
            if playing:
                words = [self._name(d) for d in (playing[0], leader.device_id)]
                hint = f"; {words[0]} does: put it first ({baton_command('group', *words)})"
            else:
                hint = ": play something there first, then group the others with it"
            raise GroupRefusedError(
                f"{name} plays nothing{hint}", device=leader.device_id, code="not_active"
            )
        assert leader.clock is not None
        plan = ev.GroupPlan(
            group_id=f"grp-{uuid.uuid4().hex[:16]}",
            leader_id=leader.device_id,
            leader_clock=leader.clock,
            state=state,
            leader_volume=state.volume,
            leader_muted=state.muted,
            fade_ms=self._fade_ms,
            join_lead_us=self._join_lead_us,
            names=self._names(),
        )
        run = GroupRun(Membership(plan), self._devices, self._clock, self._names, self._ended)
        self._runs[plan.group_id] = run
        return run

    async def _leave_foreign(self, device_id: str, timeout_s: float) -> None:
        """Tell a device in a group no controller here keeps to leave it (a leader plays on
        alone, a follower fades out); raise GroupRefusedError when it plays in no group."""
        conn = await self._connect(device_id, timeout_s)
        state = await state_of(conn)
        group = state.group if state is not None else None
        if group is None:
            name = self._name(device_id)
            raise GroupRefusedError(f"{name} plays in no group", device=device_id, code="not_found")
        leads = group.leader_device_id == device_id
        leave = m.GroupLeave(group.group_id, group.group_epoch, 0, self._fade_ms, end_group=leads)
        with contextlib.suppress(ConnectError):
            await conn.async_send(leave)

    # -------------------------------------------------------------------------- events

    def _on_event(self, event: ConnectionEvent) -> None:
        """Hand a session event to the groups it concerns (their machines ignore the rest)."""
        if isinstance(event, GroupMessage):
            run = self._runs.get(event.body.group_id)
            if run is None:
                return
            body = event.body
            if isinstance(body, m.GroupTimeline):
                run.feed(ev.LeaderTimeline(event.device_id, body))
            else:
                run.feed(ev.Answered(event.device_id, body))
        elif isinstance(event, StateChanged):
            for run in self._runs.values():
                run.feed(ev.LeaderState(event.device_id, event.snapshot.state))
        elif isinstance(event, Disconnected | AccessDenied):
            why = event.reason if isinstance(event, Disconnected) else event.message
            for run in self._runs.values():
                if isinstance(event, Disconnected) and run.machine.roster.member(event.device_id):
                    self._lost[event.device_id] = run.machine.plan.group_id
                run.feed(ev.Lost(event.device_id, why))
        elif isinstance(event, Connected) and event.device_id in self._lost:
            back = self._rejoin(self._lost.pop(event.device_id), event.device_id)
            task = asyncio.get_running_loop().create_task(back)
            self._rejoins.add(task)
            task.add_done_callback(self._rejoins.discard)

    async def _rejoin(self, group_id: str, device_id: str) -> None:
        """Join a member whose session came back to the group it was lost from: it stops what
        it played on its own first (a member follows one roster), then joins at an instant.
        A group that ended meanwhile (two members, one lost) is formed again around the
        member that led it last."""
        run = self._runs.get(group_id)
        if run is None:
            ended = self._ended_rosters.get(group_id)
            partner = ended.leader_device_id if ended is not None else ""
            if partner and partner != device_id:
                try:
                    await self.async_group([partner, device_id])
                except ConnectError as exc:
                    _LOG.warning("%s could not rejoin %s: %s", device_id, partner, exc)
            return
        async with self._lock:
            conn = self._devices.known_connection(device_id)
            roster = run.machine.roster
            if conn is None or run.machine.over or roster.member(device_id) is not None:
                return
            await self._leave_first(conn, roster)
            await self._sample_clocks(device_id, roster.leader_device_id)
            if conn.clock is None:
                return
            state = conn.state
            volume, muted = (state.volume, state.muted) if state else (50, False)
            waiter = run.ask(ev.JoinAsked(device_id, conn.clock, volume, muted), JOIN)
        failure = await outcome(waiter, OUTCOME_TIMEOUT_S)
        name = self._name(device_id)
        if failure is None:
            _LOG.info("group %s: %s is back in it", roster.group_id, name)
        else:
            _LOG.warning(
                "group %s: %s could not rejoin: %s", roster.group_id, name, failure.message
            )

    async def _sample_clocks(self, *device_ids: str) -> None:
        """Take GROUP_CLOCK_SAMPLES fresh clock samples on each link, before a join reads them."""
        for conn in map(self._devices.known_connection, device_ids):
            with contextlib.suppress(ConnectError):  # gone: the join or the machine says so
                if conn is not None:
                    await conn.async_sync_clock(samples=GROUP_CLOCK_SAMPLES)

    async def _leave_first(
        self, conn: DeviceConnection, group: m.Group, *, alone: bool = False
    ) -> None:
        """Have a device that still plays in *group*, which the roster lost, stop and leave it
        (*alone*: forget it and play on alone, as a leader does); return once it said so (or
        LEAVE_TIMEOUT_S passed: the join says the rest)."""
        left = asyncio.Event()

        def listen(event: ConnectionEvent) -> None:
            body = event.body if isinstance(event, GroupMessage) else None
            if isinstance(body, m.GroupDone | m.GroupRefused) and body.step is LEAVE:
                left.set()

        unsubscribe = conn.subscribe(listen)
        leave = m.GroupLeave(group.group_id, group.group_epoch, 0, self._fade_ms, alone)
        try:
            await conn.async_send(leave)
            await asyncio.wait_for(left.wait(), LEAVE_TIMEOUT_S)
        except (ConnectError, TimeoutError):
            pass  # gone again, or silent: its join answers for it
        finally:
            unsubscribe()

    def _here(self) -> set[str]:
        """Return the ids of the groups formed here: kept, ended a while ago, or before."""
        return {*self._runs, *self._ended_rosters, *self._former}

    def _ended(self, run: GroupRun) -> None:
        group_id = run.machine.plan.group_id
        if self._runs.get(group_id) is run:
            del self._runs[group_id]
        self._ended_rosters[group_id] = run.machine.roster
        while len(self._ended_rosters) > ENDED_KEPT:
            del self._ended_rosters[next(iter(self._ended_rosters))]

    def _run_of(self, device_id: str) -> GroupRun | None:
        return next(
            (r for r in self._runs.values() if r.machine.roster.member(device_id) is not None),
            None,
        )

    def _names(self) -> dict[str, str]:
        return {e.id: e.name for e in self._devices.registry.entries() if e.name}

    def _name(self, device_id: str) -> str:
        entry = self._devices.registry.get(device_id)
        return entry.name if entry is not None and entry.name else device_id


def _plays(state: m.PlaybackState | None) -> bool:
    """Whether *state* is a session a group could be formed around (an item, held)."""
    return state is not None and state.active and state.current_item is not None
