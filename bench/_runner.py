"""The benchmark runner's data model and report: every benchmark yields `Measurement`s."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Measurement:
    """One measured quantity: raw samples in `unit`, a target in words, and derived figures."""

    name: str  # dotted, e.g. "codec.snapshot_roundtrip.warm"
    unit: str  # unit of every sample, e.g. "us", "ms", "MB"
    samples: Sequence[float]
    target: str = ""  # the DESIGN.md target in words, "" when there is none
    extra: dict[str, float] = field(default_factory=dict)  # e.g. {"per_second": 31000}
    met: bool | None = None  # whether the target is met; None when not judged

    def percentile(self, q: float) -> float:
        """Return the q-th percentile (0..100) of the samples, by linear interpolation."""
        data = sorted(self.samples)
        if not data:
            raise ValueError(f"{self.name}: no samples")
        pos = (len(data) - 1) * q / 100
        low = int(pos)
        high = min(low + 1, len(data) - 1)
        return data[low] + (data[high] - data[low]) * (pos - low)

    def summary(self) -> dict[str, object]:
        """Return the machine-readable record printed as one JSON line."""
        return {
            "name": self.name,
            "unit": self.unit,
            "n": len(self.samples),
            "median": round(statistics.median(self.samples), 3),
            "p95": round(self.percentile(95), 3),
            "p99": round(self.percentile(99), 3),
            "target": self.target,
            "met": self.met,
            **{k: round(v, 3) for k, v in self.extra.items()},
        }


def report(measurements: Iterable[Measurement]) -> list[dict[str, object]]:
    """Print each measurement as a human line and a `BENCH {json}` line; return the records."""
    records = []
    for m in measurements:
        rec = m.summary()
        extras = "".join(f"  {k}={rec[k]}" for k in m.extra)
        verdict = {True: "  [target met]", False: "  [TARGET MISSED]", None: ""}[m.met]
        print(
            f"{m.name:<44} median {rec['median']:>10} {m.unit:<3} p95 {rec['p95']:>10}"
            f"  p99 {rec['p99']:>10}  (n={rec['n']}){extras}{verdict}"
        )
        if m.target:
            print(f"{'':<44} target: {m.target}")
        print("BENCH " + json.dumps(rec, sort_keys=True), flush=True)
        records.append(rec)
    return records
