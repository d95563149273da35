"""What a receiver in a group does, as pure arithmetic: its timeline as a leader, its state as
a follower, and what a new timeline asks of a follower's output (proto: "Groups").

devices/_group_member.py carries these out on the player. Instants are the device's own
monotonic µs; the player takes positions in whole milliseconds, so a start is moved later by
less than a millisecond to the instant the timeline reaches a whole millisecond (`on_the_ms`):
the output is then on the timeline to the sample, not to the millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from connect.session import playback
from connect.wire import messages as m

FOLLOW_LEAD_US = 300_000
"""A follower starts a changed timeline this long after it heard it, if the timeline's own
instant is sooner: time to open or move its media (a pre-roll from the decoded copy)."""

CHANGE_SLACK_US = 20_000
"""A new timeline whose position differs from where the follower's output is by less than this
says what it plays already (a leader's clock read again, a start's own rounding): the output,
on the true clock, is left alone. More is a seek."""

LEADER_SLACK_US = 250
"""A leader's timeline read from the same anchor moves by nothing: more than this between two
of its timelines is news (a pause, a seek, its output's edge re-anchoring it): a leader sends it
at once, a follower is put on it."""

SLEW_MIN_US = 45
"""A clock offset that changed by more than two frames (45 µs), and more than the timeline says
it may be off (`offset_uncertainty_us`), is slewed out."""


@dataclass(frozen=True)
class Keep:
    """The output stays as it is: the new timeline says what it plays already."""


@dataclass(frozen=True)
class PauseAt:
    """Pause at *at_us* (the leader paused there), then hold *position_ms*."""

    at_us: int
    position_ms: int


@dataclass(frozen=True)
class StartFrom:
    """Pre-roll *item* at *position_ms* (*load*: another item than the output's), play from
    *at_us*."""

    item: m.QueueItem
    position_ms: int
    at_us: int
    load: bool


@dataclass(frozen=True)
class Slew:
    """Move the content *delta_us* on (-: back) as it plays, a few frames a block: the leader
    did not move, the clock offset between the two did (the controller measured it again, or
    the two clocks drift apart)."""

    delta_us: int


@dataclass(frozen=True)
class Silence:
    """The timeline has nothing to play: stop."""


FollowStep = Keep | PauseAt | StartFrom | Slew | Silence


def on_the_ms(at_us: int, position_us: int) -> tuple[int, int]:
    """Return (position_ms, start_us): the first whole millisecond at or after *position_us*
    and the instant it is due, *at_us* moved later by what that rounding added (< 1 ms)."""
    position_ms = -(-position_us // 1000)
    return position_ms, at_us + (position_ms * 1000 - position_us)


@dataclass(frozen=True)
class Output:
    """Where a follower's output is: item *item_uid* ("": none) at *position_us* at *as_of_us*."""

    item_uid: str
    position_us: int
    as_of_us: int
    playing: bool

    def position_at(self, at_us: int) -> int:
        """Return the content position (µs) the output is at at *at_us*."""
        return self.position_us + (at_us - self.as_of_us if self.playing else 0)


def follow_step(
    output: Output,
    new: m.GroupTimeline,
    now: int,
    *,
    followed: m.GroupTimeline | None = None,
    lead_us: int = FOLLOW_LEAD_US,
    slack_us: int = CHANGE_SLACK_US,
) -> FollowStep:
    """Return what a follower's *output* must do to be on the timeline *new*, having
    *followed* the one before (None: judge by the output alone)."""
    item = new.item
    if item is None:
        return Keep() if not output.item_uid else Silence()
    begin = new.anchor_us + new.clock_offset_us  # the change, in this device's clock
    same_item = output.item_uid == item.uid
    if same_item and output.playing == new.playing and not _moved(followed, new, now):
        at = max(now, begin)
        if abs(new.position_for_member(at) - output.position_at(at)) < slack_us:
            return _slew_or_keep(followed, new, at)
    if not new.playing:
        return PauseAt(max(begin, now), new.position_us // 1000)
    at_us = max(begin, now + lead_us)
    position_ms, start_us = on_the_ms(at_us, new.position_for_member(at_us))
    return StartFrom(item, position_ms, start_us, load=not same_item)


def _slew_or_keep(old: m.GroupTimeline | None, new: m.GroupTimeline, at: int) -> FollowStep:
    """The leader did not move: slew by what the clock offset changed (exact, unlike the
    output's clock, read to the millisecond), if by more than the offset may be off: what
    is within it is the measure's noise (the output stays on the offset it plays by, and a
    drift of the two clocks adds up against it until it is out)."""
    if old is None or not new.playing:
        return Keep()
    if old.item is None or new.item is None or old.item.uid != new.item.uid:
        return Keep()  # the next item, gone on to gaplessly: positions of two items
    delta = new.position_for_member(at) - old.position_for_member(at)
    return Slew(delta) if abs(delta) > max(SLEW_MIN_US, new.offset_uncertainty_us) else Keep()


def now_followed(
    old: m.GroupTimeline | None, new: m.GroupTimeline, step: FollowStep
) -> m.GroupTimeline:
    """Return the timeline the output is on once *step* is done: *new*, and when it was left
    to play on, at the clock offset it plays by (*old*'s)."""
    if isinstance(step, Keep) and old is not None:
        return replace(new, clock_offset_us=old.clock_offset_us)
    return new


def _moved(old: m.GroupTimeline | None, new: m.GroupTimeline, now: int) -> bool:
    """Return whether the leader moved its content between *old* and *new* on one item (a
    pause as short as a few ms, a seek): read in the leader's clock, so a fresh clock offset
    alone is no move. The leader's timelines come from one anchor: any difference is news."""
    if old is None or old.item is None or new.item is None or old.item.uid != new.item.uid:
        return False
    if old.playing != new.playing:
        return True
    if old.group_epoch != new.group_epoch:
        # Another roster, perhaps another leader: its anchor is its own reading of where the
        # music is (to the ms), not the old one's. Only what is beyond the slack is a move;
        # less is slewed (a restart would be a 300 ms silence on every follower).
        return False
    leader_now = now - new.clock_offset_us
    return abs(new.position_at(leader_now) - old.position_at(leader_now)) > LEADER_SLACK_US


def leader_timeline(
    state: m.PlaybackState, group: m.Group, clock: m.PlaybackClock
) -> m.GroupTimeline:
    """Return the leader's own timeline: where *state*'s item is by *clock* (its output's)."""
    item = state.current_item
    following = None
    if item is not None:
        following = playback.neighbour(state, +1, wrap=state.repeat is m.RepeatMode.ALL)
        if state.repeat is m.RepeatMode.ONE:
            following = item
    playing = state.status is m.PlaybackStatus.PLAYING and clock.playing
    return m.GroupTimeline(
        group.group_id,
        group.group_epoch,
        state.session_id,
        state.revision,
        item,
        clock.as_of_us,
        clock.position_ms * 1000,
        clock.rate,
        playing,
        following,
    )


def timeline_changed(old: m.GroupTimeline | None, new: m.GroupTimeline, now: int) -> bool:
    """Return whether a leader's *new* timeline says something *old* did not (send it now)."""
    if old is None or old.group_epoch != new.group_epoch:
        return True
    said = Output(old.item.uid if old.item else "", old.position_us, old.anchor_us, old.playing)
    return not isinstance(follow_step(said, new, now, slack_us=LEADER_SLACK_US), Keep)


def follower_state(
    own: m.PlaybackState, timeline: m.GroupTimeline, group: m.Group
) -> m.PlaybackState:
    """Return what a follower shows: the group's item where the timeline has it, held by the
    leader (not active here), its own volume."""
    item = timeline.item
    at = timeline.anchor_us + timeline.clock_offset_us
    clock = m.PlaybackClock(
        timeline.position_us // 1000, at, timeline.rate, timeline.playing and item is not None
    )
    status = m.PlaybackStatus.STOPPED
    if item is not None:
        status = m.PlaybackStatus.PLAYING if timeline.playing else m.PlaybackStatus.PAUSED
    return replace(
        own,
        revision=own.revision + 1,
        session_id=timeline.session_id,
        queue=(item,) if item is not None else (),
        current_uid=item.uid if item is not None else "",
        clock=clock,
        status=status,
        active=False,
        queue_offset=0,
        queue_length=0,
        group=group,
        error=None,
    )


def alone_after_following(own: m.PlaybackState) -> m.PlaybackState:
    """Return a former follower's state once it left: stopped, holding no session."""
    clock = m.PlaybackClock(own.clock.position_ms, own.clock.as_of_us, own.clock.rate, False)
    return replace(
        own,
        revision=own.revision + 1,
        status=m.PlaybackStatus.STOPPED,
        clock=clock,
        active=False,
        group=None,
    )
