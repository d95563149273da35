"""The receiver's part in groups: an adapter between its controllers' links, its player and the
device's pure group machine (connect/group/member.py, whose docstring holds the rules).

`GroupSide` feeds the machine each group step, the pre-roll's end, the output's edges and the
join's instant, and carries out what it returns: a pre-roll and a start at the instant as a
transfer's target does them (devices/_transfer_target.py), a fade-out and stop, the session
taken over from where the output is, the roster published, the leader's own timeline sent to
every controller that speaks 1.2 (when it takes the roster, whenever its timeline changes,
and at least every `TIMELINE_EVERY_S`), and a follower's output kept on the leader's timeline
(devices/_group_plan.py decides what each new timeline asks; between timelines the output
plays on, and the drift correction of devices/_drift.py keeps it on the true clock). Player
actions run under the receiver's lock; the machine is stepped under the side's own lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any, Protocol

from connect.group import member as g
from connect.session import ControllerLink
from connect.wire import messages as m
from devices import _group_plan as plan
from devices import _group_trace
from devices._transfer_host import OutputEdges
from devices.errors import ReceiverError
from devices.failures import failure_from
from devices.player import Player
from devices.player_types import (
    OutputStarted,
    OutputStopped,
    PlayerEvent,
    PlayerState,
    TrackChanged,
    TrackEnded,
)

_LOG = logging.getLogger(__name__)

TIMELINE_EVERY_S = 4.0
"""A leader sends its timeline again this often when nothing changed (the contract: <= 5 s)."""
FOLLOW_FADE_MS = 30  # a follower's start on a changed timeline (after a seek) fades in this long

GroupBody = m.GroupLead | m.GroupJoin | m.GroupLeave | m.GroupTimeline | m.GroupVolume
Spawn = Callable[[Coroutine[Any, Any, None], str], object]


class GroupReceiver(Protocol):
    """What the group logic needs from its receiver."""

    lock: asyncio.Lock

    def clock(self) -> int: ...

    @property
    def player(self) -> Player: ...

    @property
    def state(self) -> m.PlaybackState: ...

    @property
    def device_id(self) -> str: ...

    def controller_links(self) -> tuple[ControllerLink, ...]: ...

    def publish_state(self, state: m.PlaybackState, reason: m.StateChangeReason) -> None: ...


class GroupSide:
    """Plays one receiver's part in a group (see the module docstring)."""

    def __init__(self, host: GroupReceiver, spawn: Spawn) -> None:
        self._host = host
        self._spawn = spawn
        self._member: g.Member | None = None
        self._lock = asyncio.Lock()
        self._edges = OutputEdges()
        self._asked: dict[m.GroupStep, ControllerLink] = {}  # who to answer, by step
        self._followed: m.GroupTimeline | None = None  # the last timeline followed
        self._output_uid = ""  # the item a follower's output plays ("": none)
        self._next_uid = ""  # the item set to follow it gaplessly
        self._sent: m.GroupTimeline | None = None  # a leader's last timeline sent
        self._sent_at = 0
        self._join_at = 0  # the instant of the join under way
        self._end_group = False  # the last leave said: the group ends, play on alone

    # -------------------------------------------------------------------------- queries

    @property
    def leader(self) -> str | None:
        """Return the leader's device id while this device follows one (else None)."""
        member = self._member
        if member is None or member.group is None or member.role is g.Role.LEADING:
            return None
        if member.role is g.Role.ALONE:
            return None
        return member.group.leader_device_id

    @property
    def leading(self) -> bool:
        """Return True while this device leads a group."""
        return self._member is not None and self._member.role is g.Role.LEADING

    # -------------------------------------------------------------------------- events in

    async def async_handle(self, body: GroupBody, link: ControllerLink) -> None:
        """Carry out a group step from the controller of *link*."""
        if isinstance(body, m.GroupJoin):
            self._asked[m.GroupStep.JOIN] = link
            self._join_at = body.start_at_us
        elif isinstance(body, m.GroupLead):
            self._asked[m.GroupStep.LEAD] = link
        elif isinstance(body, m.GroupLeave):
            self._asked[m.GroupStep.LEAVE] = link
            self._end_group = body.end_group
        elif isinstance(body, m.GroupVolume):
            self._asked[m.GroupStep.VOLUME] = link
        holds = self._host.state.active and self._host.state.current_item is not None
        await self._step(g.Received(body, holds_session=holds))

    @property
    def following(self) -> bool:
        """Return True while the output is the group's, not this device's own session's."""
        return self.leader is not None

    def on_player_event(self, event: PlayerEvent) -> None:
        """Feed the player's output edges in; a follower's gapless change moves its item."""
        if isinstance(event, OutputStarted | OutputStopped):
            self._edges.put(event)
            if isinstance(event, OutputStarted) and self.leading:  # the clock is exact now
                self._spawn(self._send_timeline(force=False), "group timeline")
        elif isinstance(event, TrackChanged) and self.following:
            self._output_uid, self._next_uid = self._next_uid, ""
        elif isinstance(event, TrackEnded) and self.following:
            self._output_uid = ""

    def state_changed(self, state: m.PlaybackState) -> None:
        """A leader's state changed (a command, the player): send its timeline if it moved."""
        if self.leading:
            self._spawn(self._send_timeline(force=False), "group timeline")

    async def async_run(self) -> None:
        """Send a leader's timeline at least every TIMELINE_EVERY_S (a supervised loop)."""
        while True:
            await asyncio.sleep(TIMELINE_EVERY_S)  # a timer: cancelled on close
            _group_trace.report(self._member, self._followed or self._sent, self._host.player)
            if self.leading:
                await self._send_timeline(force=True)

    # -------------------------------------------------------------------------- the machine

    async def _step(self, event: g.MemberEvent) -> None:
        async with self._lock:
            if self._member is None:
                self._member = g.Member(self._host.device_id)
            actions = self._member.step(event, self._host.clock())
            for action in actions:
                await self._do(action)

    async def _do(self, action: g.MemberAction) -> None:
        if isinstance(action, g.Reply):
            link = self._asked.get(action.body.step)
            if link is not None:
                link.send(action.body)
        elif isinstance(action, g.Preroll):
            self._spawn(self._preroll(action), "group pre-roll")
        elif isinstance(action, g.ArmInstant):
            self._spawn(self._at_instant(action.at_us), "group join instant")
        elif isinstance(action, g.StartAt):
            self._spawn(self._start(action), "group start")
        elif isinstance(action, g.Abandon):
            self._followed = None
            async with self._host.lock:
                with contextlib.suppress(ReceiverError):
                    await self._host.player.async_stop()
        elif isinstance(action, g.StopAt):
            self._spawn(self._stop(action), "group leave")
        elif isinstance(action, g.Follow):
            self._spawn(self._follow(action.timeline), "group follow")
        elif isinstance(action, g.TakeSession):
            self._take(action.state)
        elif isinstance(action, g.Publish):
            self._publish(action.group)
        elif isinstance(action, g.SendTimeline):
            self._spawn(self._send_timeline(force=True), "group timeline")
        elif isinstance(action, g.SetVolume):
            await self._volume(action)

    # -------------------------------------------------------------------------- joining

    async def _preroll(self, action: g.Preroll) -> None:
        """Open the timeline's item paused where it will be at the instant (whole ms)."""
        start_at, failure = self._join_at, None
        asked = self._host.clock()
        try:
            async with self._host.lock:
                timeout_s = max(0.05, (start_at - self._host.clock()) / 1e6)
                position_ms, _ = plan.on_the_ms(start_at, action.position_us)
                await self._host.player.async_load(
                    action.item.url, position_ms, play=False, timeout_s=timeout_s
                )
        except ReceiverError as exc:
            failure = failure_from(exc)
        done = self._host.clock()
        # How much of the join's lead the pre-roll takes: what a shorter JOIN_LEAD_US must fit.
        _LOG.info(
            "group join: pre-rolled in %.0f ms, %.0f ms before the instant%s",
            (done - asked) / 1000,
            (start_at - done) / 1000,
            f" (failed: {failure.message})" if failure is not None else "",
        )
        await self._step(g.Prerolled(failure))

    async def _at_instant(self, at_us: int) -> None:
        await asyncio.sleep(max(0, at_us - self._host.clock()) / 1e6)  # the join's instant
        await self._step(g.InstantPassed())

    async def _start(self, action: g.StartAt) -> None:
        """Start the pre-roll so the timeline's whole millisecond is heard on time."""
        member = self._member
        timeline = member.timeline if member is not None else None
        if timeline is None or timeline.item is None:
            return
        async with self._host.lock:
            player = self._host.player
            self._edges.drain()
            position_ms, start_us = plan.on_the_ms(
                action.at_us, timeline.position_for_member(action.at_us)
            )
            try:
                if player.clock().position_ms != position_ms:  # the timeline moved meanwhile
                    await player.async_seek(position_ms)
                self._followed, self._output_uid = timeline, timeline.item.uid
                if not timeline.playing:  # a paused group: joined, holding the position
                    await self._step_later(g.OutputEdge(action.at_us, position_ms * 1000))
                    return
                await player.async_play_at(start_us, fade_in_ms=action.fade_ms)
                await self._set_next(timeline)
            except ReceiverError as exc:
                # No edge comes: the controller's GroupLeave, 2 s on, calls the join off.
                _LOG.warning("group start failed: %s", exc)
                return
        at_us, position = await self._edges.async_next(OutputStarted, start_us, position_ms)
        await self._step(g.OutputEdge(at_us, position * 1000))

    async def _step_later(self, event: g.MemberEvent) -> None:
        self._spawn(self._step(event), "group event")

    # -------------------------------------------------------------------------- following

    async def _follow(self, timeline: m.GroupTimeline) -> None:
        """Put the output on a new timeline at its instant, unless it is on it already."""
        async with self._host.lock:
            member = self._member
            if member is None or member.timeline is not timeline:
                return  # a newer one came meanwhile: its own task carries it out
            player = self._host.player
            anchor = player.anchor
            playing = anchor.playing and player.state is PlayerState.PLAYING
            output = plan.Output(
                self._output_uid, anchor.position_ms * 1000, anchor.as_of_us, playing
            )
            now = self._host.clock()
            step = plan.follow_step(output, timeline, now, followed=self._followed)
            old = self._followed
            self._followed = plan.now_followed(old, timeline, step)
            try:
                if isinstance(step, plan.Silence):
                    await player.async_stop()
                    self._output_uid = ""
                elif isinstance(step, plan.PauseAt):
                    await asyncio.sleep(max(0, step.at_us - self._host.clock()) / 1e6)
                    await player.async_pause()
                    await player.async_seek(step.position_ms)
                elif isinstance(step, plan.Slew):
                    player.slew(step.delta_us)
                elif isinstance(step, plan.StartFrom):
                    _LOG.info("following the leader's new timeline from %d ms", step.position_ms)
                    await _start_from(player, step)
                    self._output_uid = step.item.uid
                await self._set_next(timeline)
            except ReceiverError as exc:
                _LOG.warning("could not follow the group's timeline: %s", exc)
        said = (old.item, old.playing) if old is not None else None
        if member.group is not None and said != (timeline.item, timeline.playing):
            self._show_following(member.group)

    async def _set_next(self, timeline: m.GroupTimeline) -> None:
        """Open the timeline's next item early, to go on without a gap (the lock is held)."""
        following = timeline.next_item
        url = following.url if following is not None else None
        player = self._host.player
        if url != player.next_url:
            await player.async_set_next(url)
        self._next_uid = following.uid if following is not None and player.next_url else ""

    # -------------------------------------------------------------------------- leaving

    async def _stop(self, action: g.StopAt) -> None:
        """Fade out so the output is silent from the instant, then stop."""
        now = self._host.clock()
        fade_us = action.fade_ms * 1000
        begin = now if action.at_us == 0 else max(now, action.at_us - fade_us)
        self._edges.drain()
        async with self._host.lock:
            try:
                await self._host.player.async_fade_out_at(begin, action.fade_ms, then="stop")
            except ReceiverError as exc:
                _LOG.warning("group leave: %s", exc)
        self._followed = None
        at_us, position = await self._edges.async_next(OutputStopped, begin + fade_us, 0)
        await self._step(g.OutputEdge(at_us, position * 1000))

    # -------------------------------------------------------------------------- the session

    def _take(self, state: m.PlaybackState) -> None:
        """Leadership moved here: hold the session from where the output is (no seek)."""
        own, player = self._host.state, self._host.player
        clock = player.clock()
        taken = replace(
            state,
            revision=max(state.revision, own.revision + 1),
            device_id=self._host.device_id,
            active=True,
            volume=own.volume,
            muted=own.muted,
            clock=m.PlaybackClock(clock.position_ms, clock.as_of_us, 1.0, clock.playing),
        )
        self._followed = None
        self._host.publish_state(taken, m.StateChangeReason.TRANSFER)

    def _publish(self, group: m.Group | None) -> None:
        member = self._member
        own = self._host.state
        if group is not None and member is not None and member.role is g.Role.FOLLOWING:
            self._show_following(group)
            return
        if group is None and (not own.active or not self._end_group):
            # A follower that left, or a leader whose session moved on to its successor before
            # it left (make-before-break): alone, holding nothing.
            self._host.publish_state(plan.alone_after_following(own), m.StateChangeReason.PLAYBACK)
            self._sent = None
            return
        state = replace(own, revision=own.revision + 1, group=group)
        self._host.publish_state(state, m.StateChangeReason.PLAYBACK)
        if group is None:
            self._sent = None

    def _show_following(self, group: m.Group) -> None:
        timeline = self._followed or (self._member.timeline if self._member else None)
        if timeline is not None:
            state = plan.follower_state(self._host.state, timeline, group)
            self._host.publish_state(state, m.StateChangeReason.PLAYBACK)

    async def _send_timeline(self, *, force: bool) -> None:
        """As the leader, send the timeline to every controller (those below 1.2 get none)."""
        member = self._member
        if member is None or member.group is None or member.role is not g.Role.LEADING:
            return
        if self._host.player.awaiting_start:
            return  # its first sample's edge anchors the clock where it is heard, then sends
        # The anchor, not a reading rounded to the ms now: where the output really was.
        anchor = self._host.player.anchor
        clock = m.PlaybackClock(anchor.position_ms, anchor.as_of_us, 1.0, anchor.playing)
        timeline = plan.leader_timeline(self._host.state, member.group, clock)
        now = self._host.clock()
        if not force and not plan.timeline_changed(self._sent, timeline, now):
            return
        self._sent, self._sent_at = timeline, now
        for link in self._host.controller_links():
            link.send(timeline)

    async def _volume(self, action: g.SetVolume) -> None:
        async with self._host.lock:
            with contextlib.suppress(ReceiverError):
                await self._host.player.async_set_volume(0 if action.muted else action.volume)
            own = self._host.state
            state = replace(
                own, revision=own.revision + 1, volume=action.volume, muted=action.muted
            )
            self._host.publish_state(state, m.StateChangeReason.COMMAND)

    def refusal(self) -> m.Failure | None:
        """Return why a follower refuses a Command that changes what plays (None: it may)."""
        leader = self.leader
        if leader is None:
            return None
        return m.Failure(
            m.ErrorCode.NOT_ACTIVE, f"this device follows {leader} in a group: ask the leader"
        )


async def _start_from(player: Player, step: plan.StartFrom) -> None:
    """Pre-roll the content at the step's position, then start it at its instant, fading in.

    Opened again even for the same item: a pre-roll's start is placed to the sample (the
    decoded copy is scheduled at the instant), a paused output moved by a seek only to within
    a few milliseconds.
    """
    await player.async_load(step.item.url, step.position_ms, play=False)
    await player.async_play_at(step.at_us, fade_in_ms=FOLLOW_FADE_MS)
