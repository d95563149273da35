"""The transfer benchmark's live row: internet radio moved back and forth at its live edge.

tests/live_station.py's station (an endless MP3 of the position code, cycle 12.8 s, paced at real
time, 500 ms burst on connect, ICY metadata every 16000 bytes) on loopback; two receivers with
capture outputs; after two warm-ups, handoffs A→B, B→A, ... as in the file rows. Read from the
two recordings (tests/integration/transfer/proof_audio.py):
* request → audible and gap/overlap, as for files;
* programme offset: what the target plays minus what the source would have played at the same
  instant, had it played on. A file's pre-roll lands on the sample; a live target cannot seek,
  it joins the stream at the edge its own connection gives (the station's burst, libVLC's
  network caching, when its decoder started), so this is how well two connections agree;
* the coordinator's `position_error_ms` is shown beside it: for a live session it compares the
  session clocks (listening time), which carry on by construction; the audio is the truth.

The HLS row (`transfer.live_hls`) does the same with tests/hls_station.py's station: ffmpeg's
live segmenter, 1 s MPEG-TS segments of the same programme, a window of 4; a listener joins at
a segment boundary of the window it fetched, so its programme offset is up to a segment.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bench._runner import Measurement
from bench._transfer_session import FADE_MS, SETTLE_S, STATE_TIMEOUT_S, WARM_UPS, Run
from bench.session import receiver_argv, start_receivers
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.session import DeviceConnection
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.audio import Capture, read_capture
from tests.hls_station import HlsStation
from tests.integration.transfer.proof_audio import HeardTransfer, hear_transfer
from tests.live_station import CODE, LiveStation, encode_programme

LIVE = "live"
HLS = "live_hls"
LIVE_FOUND_S = 15.0  # the receiver's watch finds a stream live within a few polls


async def measure_live(
    count: int, kind: str = LIVE, warm_ups: int = WARM_UPS
) -> tuple[list[Run], list[Capture]]:
    """Play the station (*kind*: LIVE, Icecast-style, or HLS) on A, run *count* handoffs after
    *warm_ups*; return runs, captures."""
    with tempfile.TemporaryDirectory(prefix="baton-bench-live-") as tmp:
        workdir = Path(tmp)
        frames = await asyncio.to_thread(encode_programme, workdir)
        async with contextlib.AsyncExitStack() as stack:
            station: LiveStation | HlsStation
            if kind == HLS:
                station = HlsStation(frames, workdir / "hls")
            else:
                station = LiveStation(frames, metaint=16_000)
            stack.push_async_callback(station.close)
            await station.start()
            receivers = []
            for name in ("a", "b"):
                (workdir / name).mkdir()
                audio = f"capture:{workdir / name}.wav"
                argv = receiver_argv(audio, workdir / name / "state", f"Bench {name.upper()}")
                receivers.append((argv, workdir / name))
            started = await start_receivers(stack, receivers)
            controller = Controller(m.ClientIdentity("bench-live", "Bench"), browse=False)
            await controller.async_start()
            stack.push_async_callback(controller.async_close)
            for each in started:
                await controller.async_add_address("127.0.0.1", each.port)
            ids = [r.device_id for r in started]
            runs = await _transfers(controller, ids, station.url, count, kind, warm_ups)
        captures = [read_capture(workdir / f"{name}.wav") for name in ("a", "b")]
    return runs, captures


async def _transfers(
    controller: Controller, ids: list[str], url: str, count: int, kind: str, warm_ups: int
) -> list[Run]:
    item = m.QueueItem("bench-radio", url, title="radio")
    played = await controller.async_command(ids[0], m.SetQueue((item,), play=True))
    if not played.ok:
        raise RuntimeError(f"cannot play the station: {played.failure}")
    await _wait(controller.connection(ids[0]), lambda s: s.live, LIVE_FOUND_S)
    for device_id in ids:
        await controller.async_connect(device_id, timeout=STATE_TIMEOUT_S)
    # The source plays a while before the first handoff, as between handoffs and in the file
    # rows: its steady stretch is read before the edge (`--quick` has no warm-up, and the
    # stream is found live before its sound starts: without this, "no segment boundary heard").
    await asyncio.sleep(SETTLE_S)
    coordinator = TransferCoordinator(controller)
    runs = []
    for i in range(warm_ups + count):
        source, target = i % 2, 1 - i % 2
        state = controller.connection(ids[source]).state
        if state is None:
            raise RuntimeError(f"live transfer {i}: no state from the source")
        requested = monotonic_us()
        options = m.TransferOptions(fade_ms=FADE_MS)
        outcome = await coordinator.async_transfer(ids[source], ids[target], options)
        returned = monotonic_us()
        if outcome.failure is not None or outcome.timings is None:
            raise RuntimeError(f"live transfer {i} failed: {outcome.failure}")
        mode = "warm-up" if i < warm_ups else kind
        runs.append(Run(mode, source, target, requested, returned, outcome.timings, state.clock))
        await _wait(
            controller.connection(ids[source]),
            lambda s: s.status is m.PlaybackStatus.STOPPED,
            STATE_TIMEOUT_S,
        )
        await asyncio.sleep(SETTLE_S)  # the target plays on: the steady stretch read after it
    return runs


async def _wait(conn: DeviceConnection, match: object, timeout: float) -> None:
    assert callable(match)
    changed = asyncio.Event()
    unsubscribe = conn.subscribe(lambda _event: changed.set())
    try:
        async with asyncio.timeout(timeout):
            while conn.state is None or not match(conn.state):
                changed.clear()
                await changed.wait()
    except TimeoutError:
        raise RuntimeError(f"{conn.device_id}: the state never got there") from None
    finally:
        unsubscribe()


def live_figures(
    runs: list[Run], captures: list[Capture], kind: str = LIVE
) -> Iterable[Measurement]:
    """Yield the live row's figures, read from the two captures (warm-ups left out)."""
    heard: list[tuple[Run, HeardTransfer]] = []
    for run in runs:
        if run.mode != kind:
            continue
        window = (run.requested_us, run.returned_us + 200_000)
        source, target = captures[run.source], captures[run.target]
        heard.append((run, hear_transfer(source, target, *window, CODE, fade_us=FADE_MS * 1000)))
    offsets = []
    for _run, h in heard:
        if h.position_error_us is None:
            raise RuntimeError("no segment boundary heard next to a live transfer's edge")
        offsets.append(h.position_error_us / 1000)
    latency = [(h.target.edge_us - r.requested_us) / 1000 for r, h in heard]
    gaps = [h.gap_us / 1000 for _r, h in heard]
    reported = [float(r.timings.position_error_ms) for r, _h in heard]
    print(f"transfer.{kind}: request→audible, gap, programme offset [ms] per transfer")
    for i, (lat, gap, off) in enumerate(zip(latency, gaps, offsets, strict=True)):
        print(f"{i:8}  {lat:8.1f}  {gap:+8.1f}  {off:+8.1f}")
    yield _signed(f"transfer.{kind}.request_to_audible", latency)
    yield _signed(f"transfer.{kind}.gap_or_overlap", gaps)
    yield _signed(
        f"transfer.{kind}.programme_offset", offsets, {"reported_median": _median(reported)}
    )


def _signed(name: str, values: list[float], extra: dict[str, float] | None = None) -> Measurement:
    """Return a figure of magnitudes; the signed extremes go in the extras."""
    more = {"signed_min": min(values), "signed_max": max(values), **(extra or {})}
    return Measurement(name, "ms", [abs(v) for v in values], "", more)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
