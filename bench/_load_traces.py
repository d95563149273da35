"""Trace load for bench/load.py: many devices sending OTLP/HTTP batches to one collector.

The collector is a real `baton-traces serve` process (`python -m tracing.cli serve --port 0`)
with a fresh SQLite database, ingest closed (each device has its own ingest token, as on a
shared collector), pinned to one CPU core when the machine has more than one (this process,
the devices, runs on the others). Each emulated device is one task in this process with its
own aiohttp session (its own keep-alive connection, as each device's shipper thread has) that
posts what `tracing.setup` posts: a gzip-compressed OTLP protobuf `ExportTraceServiceRequest`
every SCHEDULE_DELAY_MS, one resource (the device's own id, name, type and user) holding its
sender spans and its receiver spans, with its token. One request at a time per device, in
order, as the shipper sends; a device whose previous request is still open sends the next one
when it returns (its lateness is counted). Every span is new: nothing is saved by
de-duplication.

The SDK itself is not used: it is process-global, so 200 devices would need 200 processes on
a two-core machine. Bodies are built before the timed phase, so the generator's own CPU goes
to sending. At the end the database is counted per device against what each device sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import re
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from bench._load_receivers import cpu_seconds
from tracing import samples
from tracing._store import Store
from tracing.setup import SCHEDULE_DELAY_MS

POST_TIMEOUT_S = 30.0
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"}


@dataclass
class TraceLoadResult:
    """What the trace scenario measured."""

    request_ms: list[float] = field(default_factory=list)  # POST sent → response read
    errors: list[str] = field(default_factory=list)
    sent: int = 0  # spans in requests answered 200
    stored: int = 0  # rows in the collector's database afterwards
    lost_devices: int = 0  # devices whose stored count differs from what they sent
    late: int = 0  # requests sent after their slot because the previous one was still open
    load_s: float = 0.0
    collector_cpu_s: float = 0.0
    sender_cpu_s: float = 0.0  # this process: all emulated devices together
    offered_per_s: float = 0.0  # spans a second the schedule asks for


def device(index: int) -> samples.Device:
    """Return emulated device *index*: its own id and name, ten users among the 200."""
    kind = ("speaker", "car", "tv", "controller")[index % 4]
    return samples.Device(
        f"load-dev-{index:03d}", f"Load {kind} {index}", kind, f"user{index % 10}"
    )


def batch(me: samples.Device, peer: samples.Device, spans: int, seq0: int) -> bytes:
    """Return one gzip OTLP body: *spans* spans of *me* (alternately sent and handled)."""
    own = []
    for n in range(spans):
        outgoing = n % 2 == 0
        message = samples.Message(me if outgoing else peer, peer if outgoing else me, seq=seq0 + n)
        send, handle = message.spans()
        own.append(send if outgoing else handle)
    request = trace_service_pb2.ExportTraceServiceRequest(
        resource_spans=[
            trace_pb2.ResourceSpans(
                resource=me.resource(),
                scope_spans=[
                    trace_pb2.ScopeSpans(
                        scope=common_pb2.InstrumentationScope(name="baton.connect"), spans=own
                    )
                ],
            )
        ]
    )
    return gzip.compress(request.SerializeToString(), compresslevel=5, mtime=0)


async def many_devices(
    devices: int, spans: int, duration_s: float, workdir: Path
) -> TraceLoadResult:
    """Run *devices* emitters of *spans* spans per batch for *duration_s* against a collector."""
    period = SCHEDULE_DELAY_MS / 1000
    rounds = max(1, round(duration_s / period))
    who = [device(i) for i in range(devices)]
    bodies = [
        [batch(me, who[(i + 1) % devices], spans, r * spans) for r in range(rounds)]
        for i, me in enumerate(who)
    ]
    result = TraceLoadResult(offered_per_s=devices * spans / period)
    sent_by: dict[str, int] = {}
    db = workdir / "traces.db"
    tokens = _ingest_tokens(db, who)
    async with _collector(db, workdir / "collector.log") as (base, pid):
        cpu_before, own_before = cpu_seconds([pid]), time.process_time()
        started = time.perf_counter()

        async def emit(index: int) -> None:
            me = who[index]
            slot0 = started + period * index / devices  # staggered, as devices are in life
            async with aiohttp.ClientSession(base_url=base) as http:
                for r, body in enumerate(bodies[index]):
                    wait = slot0 + r * period - time.perf_counter()
                    result.late += r > 0 and wait < 0  # the previous one outlived its slot
                    await asyncio.sleep(max(0.0, wait))
                    if await _post(http, body, me.device_id, tokens[me.device_id], result):
                        sent_by[me.device_id] = sent_by.get(me.device_id, 0) + spans

        await asyncio.gather(*(emit(i) for i in range(devices)))
        result.load_s = time.perf_counter() - started
        result.collector_cpu_s = cpu_seconds([pid]) - cpu_before
        result.sender_cpu_s = time.process_time() - own_before
    stored_by = _count_by_device(db)
    result.sent, result.stored = sum(sent_by.values()), sum(stored_by.values())
    result.lost_devices = sum(
        stored_by.get(d.device_id, 0) != sent_by.get(d.device_id, 0) for d in who
    )
    return result


def _ingest_tokens(db: Path, who: list[samples.Device]) -> dict[str, str]:
    """Give every device its own ingest token (its user's, labelled with its id)."""
    store = Store(db)
    try:
        for user in sorted({d.user for d in who}):
            store.add_user(user)
        return {d.device_id: store.add_ingest_token(d.user, d.device_id) for d in who}
    finally:
        store.close()


async def _post(
    http: aiohttp.ClientSession, body: bytes, who: str, token: str, result: TraceLoadResult
) -> bool:
    sent = time.perf_counter()
    try:
        async with http.post(
            "/v1/traces",
            data=body,
            headers={**HEADERS, "Authorization": f"Bearer {token}"},
            timeout=aiohttp.ClientTimeout(total=POST_TIMEOUT_S),
        ) as response:
            await response.read()
            status = response.status
    except (TimeoutError, aiohttp.ClientError) as exc:
        result.errors.append(f"{who}: {type(exc).__name__}: {exc}")
        return False
    result.request_ms.append((time.perf_counter() - sent) * 1000)
    if status != 200:
        result.errors.append(f"{who}: HTTP {status}")
        return False
    return True


def _count_by_device(db: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows: list[Any] = conn.execute(
            "SELECT device_id, COUNT(*) FROM records WHERE kind = 'span' GROUP BY device_id"
        ).fetchall()
    return {str(device_id): int(count) for device_id, count in rows}


@contextlib.asynccontextmanager
async def _collector(db: Path, log: Path) -> AsyncIterator[tuple[str, int]]:
    """Run `baton-traces serve` on a free port; yield its base URL and pid; stop it after."""
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tracing.cli",
            "serve",
            "--port",
            "0",
            "--db",
            str(db),
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    pinned = (os.cpu_count() or 1) > 1
    try:
        if pinned:  # one core for the collector, the others for the devices
            os.sched_setaffinity(process.pid, {0})
            os.sched_setaffinity(0, set(range(1, os.cpu_count() or 2)))
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)).decode()
        found = re.search(r"http://[\d.]+:(\d+)/", line)
        if found is None:
            raise RuntimeError(f"collector did not start: {line!r}; see {log}")
        yield f"http://127.0.0.1:{found[1]}", process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
        if pinned:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))


def main() -> None:
    """Run the trace scenario alone and print what `load.trace_devices_N` would judge."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench._load_traces", description=main.__doc__)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--spans", type=int, default=8, help="spans per batch (default 8)")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="baton-bench-load-") as tmp:
        r = asyncio.run(many_devices(args.devices, args.spans, args.seconds, Path(tmp)))
    ms = sorted(r.request_ms)

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(p / 100 * len(ms)))] if ms else float("nan")

    print(
        f"loadavg_1m {load:.2f}; request p50 {pct(50):.1f} ms, p99 {pct(99):.1f} ms; "
        f"{r.stored / r.load_s:.0f} of {r.offered_per_s:.0f} spans/s stored; sent {r.sent}, "
        f"stored {r.stored}, devices mismatched {r.lost_devices}, errors {len(r.errors)}, "
        f"late sends {r.late}; collector {r.collector_cpu_s / r.load_s:.2f} cores, "
        f"{r.collector_cpu_s / max(1, len(ms)) * 1000:.2f} ms CPU a request"
    )


if __name__ == "__main__":
    main()
