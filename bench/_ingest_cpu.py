"""The collector's ingest CPU, in-process, for two source trees side by side (an A/B tool).

`tracing.ingest_per_cpu_second` measures a real collector, and on a shared machine its rounds
move by ±20 % with what else runs. This tool isolates the writer's work, decoding and storing
the benchmark's own 512-span batches (bench/tracing.py `_batch`), and compares two trees
fairly: each run is a fresh interpreter started in the tree (so `tracing` is that tree's),
runs of the two trees alternate, every run gets the same bodies, and each batch's time is the
smallest over the runs (other work only ever adds time). Prints µs a span of decoding and of
storing for each tree.

    python -m bench._ingest_cpu --base /path/to/other/tree [--runs 4] [--batches 200] [--group 3]

`--group` requests share one transaction, as the writer's group commit does with requests that
queued meanwhile. Needs a checkout of the other tree (e.g. `git archive REV | tar -x -C DIR`).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_RUN_THIS_FILE = (
    "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


def main() -> None:
    """Compare this tree with `--base` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bench._ingest_cpu", description=main.__doc__)
    parser.add_argument("--base", required=True, help="the other source tree")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--group", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a bodies file: time them, here
    args = parser.parse_args()
    if args.child:
        _child(Path(args.child), args.group)
        return
    from bench.tracing import BATCH_MESSAGES, _batch

    trees = {"base": Path(args.base).resolve(), "this": Path.cwd()}
    times: dict[str, list[dict[str, list[float]]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-cpu-") as tmp:
        bodies = Path(tmp) / "bodies"
        with bodies.open("wb") as out:
            for n in range(args.batches):
                body = _batch(n * BATCH_MESSAGES)
                out.write(struct.pack("<I", len(body)) + body)
        # This file run with the tree as the first place imports look (`-c` puts the working
        # directory there): the other tree needs no copy of this tool.
        command = [sys.executable, "-c", _RUN_THIS_FILE, str(Path(__file__).resolve())]
        command += ["--base", "-", "--group", str(args.group), "--child", str(bodies)]
        for _ in range(args.runs):
            for name, tree in trees.items():
                done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=True)
                times[name].append(json.loads(done.stdout))
    spans = args.batches * BATCH_MESSAGES * 2
    print(f"loadavg_1m {os.getloadavg()[0]:.2f}; sums of per-batch minima over {args.runs} runs")
    for name, runs in times.items():
        decode, store = (
            sum(map(min, zip(*(run[part] for run in runs), strict=True))) / spans * 1e6
            for part in ("decode", "store")
        )
        total = decode + store
        print(f"{name}: decode {decode:.2f} µs a span, store {store:.2f}, total {total:.2f}")


def _child(bodies_file: Path, group: int) -> None:
    """Decode and store every body, `group` to a transaction; print per-group CPU times."""
    from tracing import _otlp
    from tracing._store import Store

    data, bodies, at = bodies_file.read_bytes(), [], 0
    while at < len(data):
        (size,) = struct.unpack_from("<I", data, at)
        bodies.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    gc.freeze()  # as `baton-traces serve` does (tracing._server)
    gc.set_threshold(50_000, *gc.get_threshold()[1:])
    decode, store = [], []
    with tempfile.TemporaryDirectory(prefix="bench-ingest-cpu-") as tmp:
        db = Store(Path(tmp) / "traces.db", cache_mb=32)  # the collector's writer settings
        try:
            for first in range(0, len(bodies), group):
                started = time.thread_time()
                decoded = [
                    _otlp.decode_request("traces", body, "protobuf", user_id="bench").records
                    for body in bodies[first : first + group]
                ]
                middle = time.thread_time()
                db.insert_batches(decoded)
                decode.append(middle - started)
                store.append(time.thread_time() - middle)
        finally:
            db.close()
    print(json.dumps({"decode": decode, "store": store}))


if __name__ == "__main__":
    main()
