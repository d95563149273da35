"""Load benchmark (issue 9): many controllers, many receivers, many trace emitters; nothing lost.

Three scenarios, each on loopback in the namespace `./dev bench` makes, each judged on p99
latency, errors, and a check that nothing was lost:

1. **Many controllers on one receiver** (`load.controllers_N`): one real `devices.Receiver`
   in its own process (audio output "none": libVLC decodes and paces in real time but plays
   nowhere; pairing "open", set explicitly) plays a long WAV served by this process. N
   controllers, each a `DeviceConnection` with its own aiohttp session (its own TCP
   connection and identity), send a mix of SetVolume, Seek, Pause and Resume at RATE each.
   The controllers share this one process and event loop, not N processes: one clock for
   "echoed at every controller", and the machine's two cores stay for the receiver rather
   than N interpreters; the N copies of each echo are decoded one after another, so the echo
   figure is an upper bound for N separate devices.
2. **One controller, many receivers** (`load.receivers_N`): N real receivers, several per
   process (bench/_load_receivers.py says why), each with its own port, state directory,
   player and mDNS advertiser on `lo`. One `connect.controller.Controller` browses on
   127.0.0.1 from the moment all receivers are up until all N are listed, connects to all N
   (through the registry, as the app does), then sends SetVolume to each in turn.
3. **Many devices tracing to one collector** (`load.trace_devices_N`): a `baton-traces serve`
   process with a fresh database; N emulated devices post gzip OTLP protobuf batches as
   `tracing.setup` does (bench/_load_traces.py). Every span sent must be in the database,
   for every device.

Commands are sent on an open-loop schedule and every link's StateSnapshot revisions are
checked for gaps (bench/_load_sessions.py). Latencies are in ms on one `perf_counter` clock
in this process. The machine is shared: `loadavg_1m` (before the scenario) says how busy it
was, and the tails move with it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from bench._load_links import LoadResult
from bench._load_sessions import many_controllers, many_receivers
from bench._load_traces import TraceLoadResult, many_devices
from bench._runner import Measurement

TARGET_ECHO_P99_MS = 20.0  # DESIGN.md: command → state echo at every controller
TARGET_LISTED_P95_MS = 1000.0  # DESIGN.md: listed in a controller within 1 s p95
TARGET_TRACE_P99_MS = 100.0  # issue 18: 200 devices' traces, one core, request p99
SHOWN_ERRORS = 5

T = TypeVar("T")


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is."""

    controllers: int
    controller_rate_hz: float  # commands a second from each controller
    receivers: int
    receivers_per_process: int
    receivers_rate_hz: float  # commands a second from the one controller, over all receivers
    devices: int
    spans_per_batch: int  # one batch every 250 ms per device (tracing.setup's schedule)
    duration_s: float


FULL = Sizes(20, 2.0, 50, 5, 50.0, 200, 8, 30.0)
QUICK = Sizes(3, 2.0, 5, 5, 10.0, 10, 8, 2.0)


def run(quick: bool) -> Iterable[Measurement]:
    """Yield the scenarios' figures (quick: a few of each for two seconds, no mDNS-off rerun)."""
    z = QUICK if quick else FULL
    yield from _controllers(
        z,
        *_measure(lambda d: many_controllers(z.controllers, z.controller_rate_hz, z.duration_s, d)),
    )
    for mdns in (True,) if quick else (True, False):  # off: what the advertisements cost
        yield from _receivers(
            z,
            *_measure(
                partial(
                    many_receivers,
                    z.receivers,
                    z.receivers_per_process,
                    z.receivers_rate_hz,
                    z.duration_s,
                    mdns=mdns,
                )
            ),
            mdns=mdns,
        )
    yield from _traces(
        z, *_measure(lambda d: many_devices(z.devices, z.spans_per_batch, z.duration_s, d))
    )


def _measure(scenario: Callable[[Path], Coroutine[object, object, T]]) -> tuple[T, float]:
    """Run one scenario in a fresh directory; return its result and the load average before."""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="baton-bench-load-") as tmp:
        return asyncio.run(scenario(Path(tmp))), load


def _controllers(sizes: Sizes, result: LoadResult, load: float) -> Iterable[Measurement]:
    prefix = f"load.controllers_{sizes.controllers}"
    _show_errors(prefix, result.errors)
    kinds = {f"p99_{kind}": _p99(samples) for kind, samples in sorted(result.by_kind.items())}
    yield Measurement(
        name=f"{prefix}.command_result",
        unit="ms",
        samples=result.result_ms,
        target="reported: command → its CommandResult at the sender",
        extra={
            "commands": result.commands,
            "offered_per_s": result.commands / result.load_s,
            **kinds,
        },
    )
    yield _echo(f"{prefix}.echo_all", result, load, "at every controller")


def _receivers(
    sizes: Sizes, result: LoadResult, load: float, *, mdns: bool = True
) -> Iterable[Measurement]:
    prefix = f"load.receivers_{sizes.receivers}{'' if mdns else '_no_mdns'}"
    _show_errors(prefix, result.errors)
    if mdns:
        yield _listed(prefix, sizes, result)
    yield Measurement(
        name=f"{prefix}.command_result",
        unit="ms",
        samples=result.result_ms,
        target="reported: command → its CommandResult at the controller",
        extra={"commands": result.commands, "offered_per_s": result.commands / result.load_s},
    )
    yield _echo(f"{prefix}.echo", result, load, "at the controller")


def _listed(prefix: str, sizes: Sizes, result: LoadResult) -> Measurement:
    listed = Measurement("", "ms", result.listed_ms)
    return Measurement(
        name=f"{prefix}.listed",
        unit="ms",
        samples=result.listed_ms,
        target=f"≤ 1 s p95 (controller start → each of {sizes.receivers} receivers listed)",
        extra={"all_listed_ms": max(result.listed_ms)},
        met=listed.percentile(95) <= TARGET_LISTED_P95_MS,
    )


def _echo(name: str, result: LoadResult, load: float, where: str) -> Measurement:
    if not result.echo_ms:
        raise RuntimeError(f"{name}: no command was echoed; first error: {result.errors[:1]}")
    met = _p99(result.echo_ms) <= TARGET_ECHO_P99_MS and not result.errors and not result.lost
    return Measurement(
        name=name,
        unit="ms",
        samples=result.echo_ms,
        target=f"≤ 20 ms p99 (command → state echo {where}), no errors, no revision lost",
        extra={
            "errors": len(result.errors),
            "lost_revisions": result.lost,
            "loadavg_1m": load,
            **result.extra,
        },
        met=met,
    )


def _traces(sizes: Sizes, result: TraceLoadResult, load: float) -> Iterable[Measurement]:
    prefix = f"load.trace_devices_{sizes.devices}"
    _show_errors(prefix, result.errors)
    if not result.request_ms:
        raise RuntimeError(f"{prefix}: no request was answered; first error: {result.errors[:1]}")
    nothing_lost = result.stored == result.sent and result.lost_devices == 0
    sustained = result.stored / result.load_s >= 0.98 * result.offered_per_s
    yield Measurement(
        name=f"{prefix}.ingest_request",
        unit="ms",
        samples=result.request_ms,
        target="≤ 100 ms p99 on one core, the offered load sustained, no errors, every span "
        "sent stored (per device)",
        extra={
            "errors": len(result.errors),
            "sent": result.sent,
            "stored": result.stored,
            "devices_mismatched": result.lost_devices,
            "spans_per_s": result.stored / result.load_s,
            "offered_spans_per_s": result.offered_per_s,
            "late_sends": result.late,
            "collector_cpu_cores": result.collector_cpu_s / result.load_s,
            "senders_cpu_cores": result.sender_cpu_s / result.load_s,
            "loadavg_1m": load,
        },
        met=not result.errors
        and nothing_lost
        and sustained
        and _p99(result.request_ms) <= TARGET_TRACE_P99_MS,
    )


def _p99(samples: Sequence[float]) -> float:
    return Measurement("", "ms", samples).percentile(99) if samples else float("inf")


def _show_errors(prefix: str, errors: Sequence[str]) -> None:
    """Print the first few errors of a scenario: the figures only count them."""
    for error in errors[:SHOWN_ERRORS]:
        print(f"!! {prefix}: {error}", file=sys.stderr)
    if len(errors) > SHOWN_ERRORS:
        print(f"!! {prefix}: ... and {len(errors) - SHOWN_ERRORS} more", file=sys.stderr)
