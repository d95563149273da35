"""Transfer benchmark: transfers back and forth between two real receivers, measured from the
audio they presented: request → target audible, gap or overlap, position error, per mode.

Two `baton-receiver` processes on `lo` play into capture outputs (`--audio-output
capture:PATH`): each writes a WAV of what it presented and a timeline stamping every sample with
its presentation instant on CLOCK_MONOTONIC, the clock this process reads too. A Controller
(mDNS off, both added by address) starts a long position-encoding track on A, then a
TransferCoordinator moves it A→B, B→A, ... with a pause between transfers; modes go in pairs,
handoff there and back, stop-first there and back, so both meet the same conditions side by side
in one run (20 transfers of each, quick: 2). Afterwards both receivers are stopped and each
transfer is read from the recordings (tests/integration/transfer/proof_audio.py):
* request → audible: the target's first audible sample minus the instant read just before
  calling `TransferCoordinator.transfer` (which reads its own request instant microseconds later);
* gap: the target's first audible sample minus the instant after the source's last one
  (negative: an overlap, the crossfade);
* position error: the content the target plays minus the content the source would have been
  playing at the same instant had it played on, each side's content read to the sample from the
  segment boundaries heard in the 400 ms of steady play next to its edge;
* content jump: content at the target's first sound minus content at the source's last
  (reported: what a listener hears skipped, or repeated if negative);
* source clock error: the position the source's published session clock gave, minus the
  content it was presenting then (reported: the coordinator's position figures rest on it).
The coordinator's own figures (from the receivers' reported output edges) are printed next to
them. bench/README.md discusses the accuracy. The targets judge handoff only; stop-first is
shown for comparison. Latency is judged on p95; gap and position error, whose targets have no
percentile, on the largest transfer.

The track: tests/audio.py's position code stops at 19 s (190 segments; the next would pass
Nyquist), so here the code repeats every 150 segments (15 s, top tone 15.4 kHz) in a track as
long as the run needs. Content is then known modulo 15 s, which is no ambiguity: every reading
is taken within a second of the last one, and differences are wrapped to ±7.5 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from bench._runner import Measurement
from bench.session import receiver_argv, running_receiver
from connect import messages as m
from connect.clock import monotonic_us
from connect.connection import DeviceConnection
from connect.controller import Controller
from connect.transfer import TransferCoordinator
from tests.audio import read_capture
from tests.integration.transfer.proof_audio import (
    HeardTransfer,
    PositionCode,
    hear_transfer,
    write_cyclic_position_track,
)
from tests.media_server import MediaServer

LATENCY_TARGET_MS = 400.0
GAP_TARGET_MS = 50.0
POSITION_TARGET_MS = 50.0
FADE_MS = 30  # the coordinator's default crossfade
SETTLE_S = 0.8  # play between transfers: room for the 400 ms steady stretches on both sides
STATE_TIMEOUT_S = 10.0
CODE = PositionCode(cycle=150)
MODES = (m.TransferMode.HANDOFF, m.TransferMode.STOP_FIRST)
_NAMES = {m.TransferMode.HANDOFF: "handoff", m.TransferMode.STOP_FIRST: "stop_first"}


@dataclass(frozen=True)
class _Run:
    """One transfer as the coordinator saw it."""

    mode: m.TransferMode
    source: int  # index of the receiver
    target: int
    requested_us: int
    returned_us: int
    timings: m.TransferTimings
    source_clock: m.PlaybackClock  # the session clock the source published before the request


def run(quick: bool) -> Iterable[Measurement]:
    """Run 20 transfers of each mode (quick: 2) and yield the audio's figures per mode."""
    per_mode = 2 if quick else 20
    runs, heard = asyncio.run(_measure(per_mode))
    for mode in MODES:
        pairs = [(r, h) for r, h in zip(runs, heard, strict=True) if r.mode is mode]
        yield from _figures(mode, pairs)


async def _measure(per_mode: int) -> tuple[list[_Run], list[HeardTransfer]]:
    count = per_mode * len(MODES)
    # The track outlasts the run: the first play, then each transfer and the pause after it.
    track_ms = round((3 + count * (SETTLE_S + 1.5)) * 1000)
    with tempfile.TemporaryDirectory(prefix="baton-bench-transfer-") as tmp:
        workdir = Path(tmp)
        (workdir / "media").mkdir()
        write_cyclic_position_track(workdir / "media" / "pos.wav", track_ms, CODE)
        recordings = [workdir / f"{name}.wav" for name in ("a", "b")]
        async with contextlib.AsyncExitStack() as stack:
            server = await stack.enter_async_context(MediaServer(workdir / "media"))
            receivers = []
            for name, recording in zip(("a", "b"), recordings, strict=True):
                (workdir / name).mkdir()
                argv = receiver_argv(
                    f"capture:{recording}", workdir / name / "state", f"Bench {name.upper()}"
                )
                receivers.append(running_receiver(argv, workdir / name))
            started = await asyncio.gather(*(stack.enter_async_context(r) for r in receivers))
            ids = [r.device_id for r in started]
            controller = Controller(m.ClientIdentity("bench-transfer", "Bench"), browse=False)
            await controller.async_start()
            stack.push_async_callback(controller.async_close)
            for receiver in started:
                await controller.async_add_address("127.0.0.1", receiver.port)
            runs = await _transfers(controller, ids, server.url("pos.wav"), track_ms, count)
        # Leaving the stack stopped both receivers: their recordings are complete.
        captures = [read_capture(path) for path in recordings]
        heard = [
            hear_transfer(
                captures[r.source],
                captures[r.target],
                r.requested_us,
                r.returned_us + 200_000,
                CODE,
                fade_us=FADE_MS * 1000 if r.mode is m.TransferMode.HANDOFF else 0,
            )
            for r in runs
        ]
    return runs, heard


async def _transfers(
    controller: Controller, ids: Sequence[str], url: str, track_ms: int, count: int
) -> list[_Run]:
    item = m.QueueItem("bench-1", url, title="position track", duration_ms=track_ms)
    played = await controller.async_command(ids[0], m.SetQueue((item,), play=True))
    if not played.ok:
        raise RuntimeError(f"cannot play the track: {played.failure}")
    await _wait_state(controller.connection(ids[0]), m.PlaybackStatus.PLAYING)
    for device_id in ids:
        await controller.async_connect(device_id, timeout=STATE_TIMEOUT_S)
    await asyncio.sleep(SETTLE_S)
    coordinator = TransferCoordinator(controller)
    runs = []
    for i in range(count):
        mode = MODES[(i // 2) % len(MODES)]
        source, target = i % 2, 1 - i % 2
        options = m.TransferOptions(mode=mode, fade_ms=FADE_MS)
        state = controller.connection(ids[source]).state
        if state is None:
            raise RuntimeError(f"transfer {i}: no state from the source")
        requested = monotonic_us()
        outcome = await coordinator.transfer(ids[source], ids[target], options)
        returned = monotonic_us()
        if outcome.failure is not None or outcome.timings is None:
            raise RuntimeError(f"transfer {i} ({_NAMES[mode]}) failed: {outcome.failure}")
        runs.append(_Run(mode, source, target, requested, returned, outcome.timings, state.clock))
        # The next transfer starts from the target: wait until the source has let go.
        await _wait_state(controller.connection(ids[source]), m.PlaybackStatus.STOPPED)
        await asyncio.sleep(SETTLE_S)
    return runs


async def _wait_state(conn: DeviceConnection, status: m.PlaybackStatus) -> None:
    """Return once the device's state has *status* (bounded by STATE_TIMEOUT_S)."""
    changed = asyncio.Event()
    unsubscribe = conn.subscribe(lambda _event: changed.set())
    try:
        async with asyncio.timeout(STATE_TIMEOUT_S):
            while conn.state is None or conn.state.status is not status:
                changed.clear()
                await changed.wait()
    except TimeoutError:
        raise RuntimeError(f"{conn.device_id} never reached {status.name}") from None
    finally:
        unsubscribe()


def _figures(mode: m.TransferMode, pairs: list[tuple[_Run, HeardTransfer]]) -> list[Measurement]:
    name = f"transfer.{_NAMES[mode]}"
    latency = [(h.target.edge_us - r.requested_us) / 1000 for r, h in pairs]
    gap = [h.gap_us / 1000 for _r, h in pairs]
    position = [_ms(h.position_error_us) for _r, h in pairs]
    jump = [_jump_ms(h) for _r, h in pairs]
    figures = [
        _measurement(
            f"{name}.request_to_audible",
            latency,
            [float(r.timings.request_to_audible_ms) for r, _h in pairs],
            f"≤ {LATENCY_TARGET_MS:g} ms p95 (request → target audible)",
        ),
        _measurement(
            f"{name}.gap_or_overlap",
            gap,
            [r.timings.gap_us / 1000 for r, _h in pairs],
            f"≤ {GAP_TARGET_MS:g} ms gap (silence) or overlap, every transfer",
        ),
        _measurement(
            f"{name}.position_error",
            position,
            [float(r.timings.position_error_ms) for r, _h in pairs],
            f"≤ {POSITION_TARGET_MS:g} ms position error, every transfer",
        ),
        _measurement(f"{name}.content_jump", jump),
        _measurement(f"{name}.source_clock_error", [_clock_error_ms(r, h) for r, h in pairs]),
    ]
    if mode is not m.TransferMode.HANDOFF:
        return figures  # reported for comparison, not judged
    latency_f, gap_f, position_f, *rest = figures
    return [
        replace(latency_f, met=latency_f.percentile(95) <= LATENCY_TARGET_MS),
        replace(gap_f, met=max(gap_f.samples) <= GAP_TARGET_MS),
        replace(position_f, met=max(position_f.samples) <= POSITION_TARGET_MS),
        *rest,
    ]


def _measurement(
    name: str, signed: list[float], reported: list[float] | None = None, target: str = ""
) -> Measurement:
    """Return a figure whose samples are magnitudes (a gap and an overlap count alike); the
    signed values and the coordinator's own figures go in the extras."""
    extra = {
        "signed_median": statistics.median(signed),
        "signed_min": min(signed),
        "signed_max": max(signed),
    }
    if reported is not None:
        extra["reported_median"] = statistics.median(reported)
        extra["reported_max_off"] = max(abs(r - a) for r, a in zip(reported, signed, strict=True))
    return Measurement(name, "ms", [abs(x) for x in signed], target, extra)


def _ms(us: int | None) -> float:
    if us is None:
        raise RuntimeError("no segment boundary heard next to a transfer's edge")
    return us / 1000


def _jump_ms(heard: HeardTransfer) -> float:
    stop, start = heard.source_stop_us, heard.target_start_us
    if stop is None or start is None:
        raise RuntimeError("no segment boundary heard next to a transfer's edge")
    return CODE.wrap(start - stop) / 1000


def _clock_error_ms(run: _Run, heard: HeardTransfer) -> float:
    """Return how far the source's published clock led the content it presented (ms)."""
    offset = heard.source.offset
    if offset is None:
        raise RuntimeError("no segment boundary heard next to a transfer's edge")
    clock = run.source_clock
    return CODE.wrap(clock.position_ms * 1000 - (clock.as_of_us + offset.offset_us)) / 1000
