"""Which connections a server keeps when clients hold too many: the rules, without sockets.

A connection is in one of four stages. It is OPENING from the moment it is accepted until the
head of its first request has arrived (the TLS handshake included); IDLE between requests of a
kept-alive connection; BUSY while a request is being answered (a WebSocket session included);
TRUSTED once the application vouched for it (a paired controller's live session). Each stage
but the last has a deadline or a place in the shedding order:

* an OPENING connection must finish its head within `head_s` of being accepted, an IDLE one
  must start its next request within `idle_s`; past that it is closed (slowloris);
* a peer address holds at most `per_peer` connections and the server at most `total`; a
  connection over a cap displaces the oldest OPENING one (of that peer, or of anyone), then the
  oldest IDLE, then the oldest BUSY. TRUSTED connections are never displaced: when only they
  are left, the newcomer is refused instead.

A hostile host's half-open connections therefore go first, and only its own when it is the one
over its cap; a paired controller's session is never dropped for anyone's sake.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

_RESERVED_DESCRIPTORS = 256  # files, libVLC, mDNS, threads' pipes: what is not a connection


@dataclass(frozen=True)
class ConnectionLimits:
    """How many connections a server keeps, and how long a client may take to say something."""

    per_peer: int = 64
    total: int = 256
    head_s: float = 10.0  # accept -> first request head complete (TLS handshake included)
    idle_s: float = 30.0  # a kept-alive connection's wait for its next request head

    def within(self, descriptor_limit: int) -> ConnectionLimits:
        """Return these limits, lowered so connections leave room under *descriptor_limit*."""
        room = max(16, descriptor_limit - _RESERVED_DESCRIPTORS)
        total = min(self.total, room)
        return replace(self, total=total, per_peer=min(self.per_peer, total))


class Stage(enum.IntEnum):
    """Where a connection is in its life; lower values are shed first."""

    OPENING = 0
    IDLE = 1
    BUSY = 2
    TRUSTED = 3


class Cause(enum.Enum):
    """Why a connection was shed or refused."""

    PEER_CAP = "its address is at its cap"
    TOTAL_CAP = "the server is at its cap"


@dataclass(frozen=True)
class Admission(Generic[K]):
    """The answer to a new connection: kept or refused, and whom it displaced."""

    admitted: bool
    shed: tuple[K, ...] = ()
    cause: Cause | None = None  # why anyone was shed or refused


@dataclass
class _Entry:
    peer: str
    opened_at: float
    stage: Stage
    since: float  # when it entered its stage


class ConnectionTable(Generic[K]):
    """The connections of one server, by key, with the rules of the module docstring."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self._entries: dict[K, _Entry] = {}
        self._per_peer: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def admit(self, key: K, peer: str, now: float) -> Admission[K]:
        """Take *key* (a connection from *peer* accepted at *now*), displacing others if needed.

        A refused key is not in the table; the shed ones are already out of it.
        """
        shed: list[K] = []
        cause: Cause | None = None
        if self._per_peer[peer] >= self.limits.per_peer:
            cause = Cause.PEER_CAP
            victim = self._first_to_shed(peer)
            if victim is None:
                return Admission(False, (), cause)
            shed.append(victim)
            self.drop(victim)
        if len(self._entries) >= self.limits.total:
            cause = cause or Cause.TOTAL_CAP
            victim = self._first_to_shed(None)
            if victim is None:
                return Admission(False, tuple(shed), cause)
            shed.append(victim)
            self.drop(victim)
        self._entries[key] = _Entry(peer, now, Stage.OPENING, now)
        self._per_peer[peer] += 1
        return Admission(True, tuple(shed), cause)

    def request_started(self, key: K, now: float) -> None:
        """A request head arrived on *key*: it is being answered."""
        self._move(key, Stage.BUSY, now)

    def request_finished(self, key: K, now: float) -> None:
        """The answer on *key* was sent; the connection waits for its next request."""
        self._move(key, Stage.IDLE, now)

    def trust(self, key: K, now: float) -> None:
        """The application vouched for *key*: it is never shed and has no deadline."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.stage, entry.since = Stage.TRUSTED, now

    def drop(self, key: K) -> None:
        """Forget *key* (closed, or shed); idempotent."""
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._per_peer[entry.peer] -= 1
            if not self._per_peer[entry.peer]:
                del self._per_peer[entry.peer]

    def stage(self, key: K) -> Stage | None:
        """Return the stage of *key*, None when it is not in the table."""
        entry = self._entries.get(key)
        return None if entry is None else entry.stage

    def deadline(self, key: K) -> float | None:
        """Return when *key* is due to be closed in its current stage (None: no deadline)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.stage is Stage.OPENING:
            return entry.opened_at + self.limits.head_s
        if entry.stage is Stage.IDLE:
            return entry.since + self.limits.idle_s
        return None

    def overdue(self, key: K, now: float) -> bool:
        """Say whether *key* has passed its stage's deadline at *now*."""
        deadline = self.deadline(key)
        return deadline is not None and now >= deadline

    def census(self) -> dict[Stage, int]:
        """Return how many connections are in each stage."""
        counts = Counter(entry.stage for entry in self._entries.values())
        return {stage: counts.get(stage, 0) for stage in Stage}

    def from_peer(self, peer: str) -> int:
        """Return how many connections *peer* holds."""
        return self._per_peer.get(peer, 0)

    def _move(self, key: K, stage: Stage, now: float) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.stage is not Stage.TRUSTED:  # trusted for good
            entry.stage, entry.since = stage, now

    def _first_to_shed(self, peer: str | None) -> K | None:
        """The connection to displace: lowest stage, then oldest; None when all are trusted."""
        best: tuple[Stage, float] | None = None
        found: K | None = None
        for key, entry in self._entries.items():
            if entry.stage is Stage.TRUSTED or (peer is not None and entry.peer != peer):
                continue
            rank = (entry.stage, entry.opened_at)
            if best is None or rank < best:
                best, found = rank, key
        return found
