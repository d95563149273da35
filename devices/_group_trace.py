"""A group member's measured skew, traced: how far its output is from the group's timeline.

The group's timeline (connect.wire GroupTimeline) says which content position is due at each
instant of this device's clock. Two things can put the output elsewhere:

* the player's clock (its anchor: the position heard at an instant, exact where an output
  edge set it) may sit off the timeline: a join's or a seek's start rounded, a leader whose
  own anchor moved;
* the output may be off the player's clock: a converter whose crystal drifts, which the drift
  stage (devices/_converter.py) measures block by block against the true clock and corrects.

The skew is their sum, in µs, positive when the output is late on the timeline. A leader
reports too: its timeline is its own anchor, so its skew is its output's error alone. The
receiver's group side calls `report` every few seconds (its timeline loop); each call emits
one `baton.group.skew` event (connect.telemetry.group_skew) while the member plays in a group,
nothing otherwise, and nothing at all while tracing is off.
"""

from __future__ import annotations

from typing import Protocol

from connect import telemetry
from connect.group import member as g
from connect.wire import messages as m
from devices.player_types import PlayerClock

__all__ = ["report", "skew_us"]


class Output(Protocol):
    """What the report reads of the player (devices.player.Player is one)."""

    @property
    def anchor(self) -> PlayerClock: ...

    @property
    def url(self) -> str: ...

    @property
    def output_error_us(self) -> float | None: ...


def skew_us(timeline: m.GroupTimeline, anchor: PlayerClock, output_error_us: float | None) -> int:
    """Return how late (µs) the output is on *timeline*: the player's clock against it at the
    anchor's instant, plus the output's own error on the player's clock (None: not measured)."""
    wanted_us = timeline.position_for_member(anchor.as_of_us)
    ahead_us = anchor.position_ms * 1000 - wanted_us  # content ahead is heard early
    return round((output_error_us or 0.0) - ahead_us)


def report(member: g.Member | None, timeline: m.GroupTimeline | None, player: Output) -> None:
    """Emit this member's skew while it leads or follows a playing group (else nothing)."""
    if member is None or member.group is None or timeline is None or timeline.item is None:
        return
    if member.role not in (g.Role.LEADING, g.Role.FOLLOWING) or telemetry.tracer() is None:
        return
    anchor = player.anchor
    if not (anchor.playing and timeline.playing) or timeline.item.url != player.url:
        return  # paused, or between items: no position to compare
    error = player.output_error_us
    telemetry.group_skew(
        member.group.group_id,
        skew_us(timeline, anchor, error),
        role="leader" if member.role is g.Role.LEADING else "follower",
        measured="player" if error is None else "output",
    )
