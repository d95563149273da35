"""Clock offsets between devices, estimated where their spans meet: in the collector (sans-IO).

Every device stamps its spans with its own wall clock, and none of them knows how far off the
others are. The collector sees both halves of every message, and causality bounds the offset:
the receiver's span starts after the sender's span started (the trace context it carries is
made when the sender span starts). With θ = clock(B) − clock(A):

* a message A → B gives   child start(B) − parent start(A) = θ + delay ≥ θ    (an upper bound)
* a message B → A gives   child start(A) − parent start(B) = −θ + delay ≥ −θ  (a lower bound)

Why this method: it is NTP's (its offset is the midpoint of exactly these two bounds, its error
bound half the round trip), applied over many messages instead of one exchange. Taking the
tightest bound in each direction over a window of recent messages is NTP's minimum-delay
filter; the estimate is the midpoint and the uncertainty half the gap, a hard bound as long as
the clocks did not drift or step inside the window. A one-way stream gives only one bound, and
no estimate: an offset shown is always one that the data bound on both sides. Should the bounds
cross (a clock stepped inside the window), the estimate is flagged inconsistent, not hidden.

Offsets are per link; each device's offset is given against one reference device per group of
linked devices (the device with the most links, a controller on a tie), adding the
uncertainties along the way.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Iterable
from dataclasses import dataclass

WINDOW = 64
"""Recent samples kept per (sender device, receiver device): each is one ingest batch's
tightest bound, so the window covers the last WINDOW batches that carried such a message."""


@dataclass(frozen=True)
class Sample:
    """One bound: a span on `to_device` whose parent is on `from_device`, `delta_ns` apart.

    delta_ns = child start − parent start, each read on its own device's clock.
    """

    from_device: str
    to_device: str
    delta_ns: int


@dataclass(frozen=True)
class LinkBounds:
    """What the samples say about θ = clock(`high`) − clock(`low`) (ids sorted: low < high)."""

    low: str
    high: str
    lower_ns: int | None  # θ ≥ lower_ns (from messages high → low); None: no such message
    upper_ns: int | None  # θ ≤ upper_ns (from messages low → high)

    @property
    def two_sided(self) -> bool:
        """Whether both directions were seen (only then is there an estimate)."""
        return self.lower_ns is not None and self.upper_ns is not None

    def offset_ns(self) -> tuple[float, float, bool]:
        """Return (θ estimate, uncertainty, consistent); only for two-sided bounds."""
        if self.lower_ns is None or self.upper_ns is None:
            raise ValueError(f"one-sided bounds between {self.low} and {self.high}")
        middle = (self.lower_ns + self.upper_ns) / 2
        half = abs(self.upper_ns - self.lower_ns) / 2
        return middle, half, self.lower_ns <= self.upper_ns


@dataclass(frozen=True)
class ClockEstimate:
    """A device's clock minus its reference device's clock, with a bound on the error."""

    device_id: str
    reference: str  # the device whose clock is 0 (itself, for the reference)
    offset_ms: float
    uncertainty_ms: float
    consistent: bool  # False: some bound on the way crossed (a clock stepped or drifted)

    def as_dict(self) -> dict[str, object]:
        """The estimate as the REST API returns it."""
        return {
            "offset_ms": round(self.offset_ms, 3),
            "uncertainty_ms": round(self.uncertainty_ms, 3),
            "reference": self.reference,
            "consistent": self.consistent,
        }


def link_bounds(samples: Iterable[Sample]) -> dict[tuple[str, str], LinkBounds]:
    """Fold samples into the tightest bounds per pair of devices."""
    lower: dict[tuple[str, str], int] = {}
    upper: dict[tuple[str, str], int] = {}
    for s in samples:
        if s.from_device == s.to_device:
            continue
        if s.from_device < s.to_device:  # low → high: θ ≤ delta
            key = (s.from_device, s.to_device)
            upper[key] = min(upper.get(key, s.delta_ns), s.delta_ns)
        else:  # high → low: −θ ≤ delta, θ ≥ −delta
            key = (s.to_device, s.from_device)
            lower[key] = max(lower.get(key, -s.delta_ns), -s.delta_ns)
    return {
        key: LinkBounds(key[0], key[1], lower.get(key), upper.get(key))
        for key in lower.keys() | upper.keys()
    }


def estimate_offsets(
    bounds: Iterable[LinkBounds], preferred: Collection[str] = ()
) -> dict[str, ClockEstimate]:
    """Return each device's offset against its group's reference (two-sided links only).

    The reference is the device with the most links; on a tie, one in *preferred* (the
    controllers: offsets read as "the speaker is 3 ms ahead of the phone"), then the smaller id.
    """
    neighbours: dict[str, dict[str, tuple[float, float, bool]]] = defaultdict(dict)
    for link in bounds:
        if not link.two_sided:
            continue
        theta, half, consistent = link.offset_ns()
        neighbours[link.low][link.high] = (theta, half, consistent)
        neighbours[link.high][link.low] = (-theta, half, consistent)
    estimates: dict[str, ClockEstimate] = {}
    # Each device not reached from an earlier reference is the reference of its group.
    order = sorted(neighbours, key=lambda d: (-len(neighbours[d]), d not in preferred, d))
    for reference in order:
        if reference in estimates:
            continue
        estimates[reference] = ClockEstimate(reference, reference, 0.0, 0.0, True)
        queue = deque([reference])
        while queue:
            here = estimates[queue.popleft()]
            for there, (theta, half, consistent) in sorted(neighbours[here.device_id].items()):
                if there in estimates:
                    continue
                estimates[there] = ClockEstimate(
                    there,
                    reference,
                    here.offset_ms + theta / 1e6,
                    here.uncertainty_ms + half / 1e6,
                    here.consistent and consistent,
                )
                queue.append(there)
    return estimates
