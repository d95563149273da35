"""What the two ends' session machines share (sans-IO): their actions, numbering and timing.

A session machine (connect/session/device_end.py, connect/session/controller_end.py) is told
what happened, with `now`, the current instant in microseconds of its adapter's monotonic
clock: a frame arrived, time passed (`tick`), the program wants a body sent. It answers with a
list of actions that its adapter carries out in order: `Send` a frame, call a handler, `Close`.
Nothing in a machine awaits, sleeps, or touches a socket or a timer; its adapter asks it for
its `deadline` and calls `tick` then, and a test drives it with a fake clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from connect.paths import DEAD_AFTER_BEATS
from connect.wire import messages as m

__all__ = [
    "Close",
    "IdSource",
    "Liveness",
    "Numbering",
    "Send",
    "random_id",
]

IdSource = Callable[[], str]
"""Makes a frame's `msg_id`: unique per sender (proto: Identifiers)."""


def random_id() -> str:
    """Return a fresh random id (a UUID's hex, as the proto suggests)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Send:
    """Write this envelope to the peer; frames go out in the order the machine returned them."""

    envelope: m.Envelope

    @property
    def body(self) -> m.Body:
        """Return the envelope's body."""
        return self.envelope.body


@dataclass(frozen=True, slots=True)
class Close:
    """The session is over: close the transport once every Send returned before it is written."""

    reason: str


class Numbering:
    """Wraps bodies in envelopes: sequence numbers from 1, one per frame, per direction."""

    def __init__(self, ids: IdSource = random_id) -> None:
        self._ids = ids
        self._next = 1
        self.last_sent_us: int | None = None  # when the latest frame was handed out to send

    @property
    def sent(self) -> int:
        """Return how many frames were numbered so far."""
        return self._next - 1

    def wrap(self, body: m.Body, now: int, traceparent: str = "", tracestate: str = "") -> Send:
        """Return the Send of *body* in the next envelope, sent at *now*."""
        envelope = m.Envelope(self._next, self._ids(), body, traceparent, tracestate)
        self._next += 1
        self.last_sent_us = now
        return Send(envelope)


@dataclass(frozen=True, slots=True)
class Liveness:
    """A session's heartbeat and dead-peer timing, in microseconds (proto: Session duties).

    Each side sends a heartbeat once it has sent nothing for `interval_us`, and takes a peer
    it has heard nothing from for `dead_after_us` for dead.
    """

    interval_us: int
    dead_after_us: int

    @classmethod
    def of_interval_ms(cls, interval_ms: int, beats: int = DEAD_AFTER_BEATS) -> Liveness:
        """Return the timing for a heartbeat every *interval_ms*, dead after *beats* of them."""
        interval_us = interval_ms * 1000
        return cls(interval_us, beats * interval_us)

    def heartbeat_at(self, last_sent_us: int) -> int:
        """Return when a heartbeat is due after a frame sent at *last_sent_us*."""
        return last_sent_us + self.interval_us

    def dead_at(self, last_received_us: int) -> int:
        """Return when a peer last heard at *last_received_us* is dead."""
        return last_received_us + self.dead_after_us
