"""What a device's two transfer machines (target.py, source.py) share: the actions they return
that are not about the player, and the events that concern both.

A *link* is whatever the adapter uses for one controller's session (the receiver's
`ControllerLink`): the machines keep it only to say where a Reply goes, and never call it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from connect.wire import messages as m

__all__ = ["ArmTimer", "CancelTimer", "LinkClosed", "Log", "Reply", "TimerKey"]

TimerKey = tuple[str, str]
"""(what, transfer id): e.g. ("hold", tid), ("prepared", url)."""


@dataclass(frozen=True)
class Reply:
    """Send *body* to the controller on *link* (a link that closed drops it)."""

    link: Hashable
    body: m.Body


@dataclass(frozen=True)
class ArmTimer:
    """Feed the timer's event at *at_us* (device clock), replacing an earlier one of that key."""

    key: TimerKey
    at_us: int


@dataclass(frozen=True)
class CancelTimer:
    """Forget the timer of *key*, if armed."""

    key: TimerKey


@dataclass(frozen=True)
class Log:
    """A line for the device's log ("info" or "warning"), about the transfer it names."""

    level: str
    message: str


@dataclass(frozen=True)
class LinkClosed:
    """A controller's session ended: no commit or verdict can come on *link* any more."""

    link: Hashable
