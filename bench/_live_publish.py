"""What the live stream costs ingest: `LiveHub.publish` of a stored batch to many viewers.

In-process, no sockets: 512-span batches (as `bench/tracing.py` sends, from 8 devices of 8
users) offered to SUBSCRIBERS viewers: most of them users watching their own devices with no
filter, a few admins, a few with a device filter. Each sample is one publish, in µs per record
stored (thread CPU time: publish runs on the event loop, and every µs there is one no request
is served). The viewers' backlogs are emptied between samples, as their streams would.
"""

from __future__ import annotations

import time

from tracing import samples
from tracing._live import LiveHub
from tracing._otlp import decode
from tracing._query import Filters, Scope
from tracing.attributes import pseudonymise_user

SUBSCRIBERS = 100  # 80 users' own views, 10 admins, 10 filtered by device
USERS = 8


def publish_costs(rounds: int) -> list[float]:
    """Return µs per record of publishing a 512-span batch, *rounds* times."""
    hub = LiveHub()
    subs = [hub.subscribe(Scope(pseudonymise_user(f"u{n % USERS}")), Filters()) for n in range(80)]
    subs += [hub.subscribe(Scope(None), Filters()) for _ in range(10)]
    subs += [hub.subscribe(Scope(None), Filters(device=f"d{n % USERS}")) for n in range(10)]
    devices = [samples.Device(f"d{n}", f"D{n}", "speaker", f"u{n}") for n in range(USERS)]
    out = []
    for r in range(rounds):
        messages = [
            samples.Message(devices[i % USERS], devices[i % USERS], seq=r * 256 + i)
            for i in range(256)
        ]
        request = samples.traces_request(messages)
        records = decode("traces", request.SerializeToString(), "application/x-protobuf")
        fresh = [(r * 1000 + i + 1, record) for i, record in enumerate(records)]
        started = time.thread_time()
        hub.publish(fresh)
        out.append((time.thread_time() - started) / len(fresh) * 1e6)
        for sub in subs:
            sub.take()
    return out
