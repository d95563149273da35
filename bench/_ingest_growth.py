"""What storing a span costs the collector's writer as its database grows (an in-process probe).

`tracing.ingest_per_cpu_second` ends at ~100 000 spans; a collector near its default
`--retention-mb 1024` holds about twenty times that. This stores the benchmark's own 512-span
batches (bench/tracing.py `_batch`, decoded once) again and again with fresh ids, so every span
is new and each trace keeps its shape (a sender span and its handler), `--group` requests to a
transaction as the writer's group commit does, into a `Store` with the writer's settings, and
prints the writer thread's CPU per span (µs, storing only: decoding is the same at any size)
for each `--window` spans, and the database's size.

    python -m bench._ingest_growth [--spans 1000000] [--window 100000] [--group 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import tempfile
import time
from pathlib import Path

from bench.tracing import _batch
from tracing import _otlp
from tracing._otlp import Record
from tracing._store import Store


def main() -> None:
    """Print storing µs per span window by window (see the module docstring)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench._ingest_growth", description=main.__doc__
    )
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--window", type=int, default=100_000)
    parser.add_argument("--group", type=int, default=3)
    args = parser.parse_args()
    template = _otlp.decode_request("traces", _batch(0), "protobuf", user_id="bench").records
    gc.freeze()  # as `baton-traces serve` does (tracing._server)
    gc.set_threshold(50_000, *gc.get_threshold()[1:])
    print(f"loadavg_1m {os.getloadavg()[0]:.2f}; storing µs a span, window by window:")
    with tempfile.TemporaryDirectory(prefix="bench-ingest-growth-") as tmp:
        db = Store(Path(tmp) / "traces.db", cache_mb=32)  # the collector's writer settings
        try:
            stored, spent, shift, in_window = 0, 0.0, 0, 0
            while stored < args.spans:
                groups = []
                for _ in range(args.group):
                    shift += 10_000_000  # each batch 10 ms after the one before
                    groups.append(_renamed(template, shift))
                started = time.thread_time()
                db.insert_batches(groups)
                spent += time.thread_time() - started
                in_window += sum(map(len, groups))
                stored += sum(map(len, groups))
                if in_window >= args.window or stored >= args.spans:
                    size = (Path(tmp) / "traces.db").stat().st_size >> 20
                    print(f"  {stored:>9} spans: {spent / in_window * 1e6:5.1f} µs ({size} MB)")
                    spent, in_window = 0.0, 0
        finally:
            db.close()


def _renamed(template: list[Record], shift: int) -> list[Record]:
    """The template's records with fresh trace and span ids (links kept), later by *shift*."""
    ids: dict[str, str] = {"": ""}

    def new(old: str, size: int) -> str:
        if old not in ids:
            ids[old] = os.urandom(size).hex()
        return ids[old]

    return [
        r._replace(
            trace_id=new(r.trace_id, 16),
            span_id=new(r.span_id, 8),
            parent_id=new(r.parent_id, 8),
            start_ns=r.start_ns + shift,
            end_ns=r.end_ns + shift,
        )
        for r in template
    ]


if __name__ == "__main__":
    main()
