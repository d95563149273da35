"""The transfer benchmark's session: two receivers, a track, transfers back and forth, and
what each receiver's output presented, read back as tests.audio Captures.

Two outputs are measured the same way:
* `capture`: each receiver writes its own capture (WAV and timeline: every sample's
  presentation instant, stamped by Baton's sink);
* a sound server (`pulse` on PulseAudio, `pipewire` on PipeWire's pulse layer): each receiver
  plays to its own null sink through Baton's pulse output (`--audio-output pulse:SINK`, what
  `default` picks when a server answers), and parecord records each sink's monitor: nothing of
  Baton's in the measuring path. Each recording is placed on CLOCK_MONOTONIC by its own clock
  fit (tests/pulse_server.py); a third recorder on the first sink checks that placement: it
  records the same samples, so their offset is known exactly, and the two fits' disagreement
  on it is the alignment error between two recordings.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench._queue_sizes import UPLOAD_TIMEOUT_S, library_urls, rss_mb
from bench.session import receiver_argv, start_receivers
from connect import queues as q
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.session import DeviceConnection
from connect.session.queue_upload import items_for_urls
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.audio import Capture, read_capture
from tests.corpus import FFMPEG, encode
from tests.integration.devices.continuity import decoded
from tests.integration.transfer.proof_audio import PositionCode, write_cyclic_position_track
from tests.integration.transfer.proof_levels import monitor_capture
from tests.media_server import MediaServer
from tests.pulse_server import AudioServer, MonitorRecorder, MonitorRecording

FADE_MS = 30  # the coordinator's default crossfade
SETTLE_S = 0.8  # play between transfers: room for the 400 ms steady stretches on both sides
PICKER_S = 0.4  # a prepared transfer: the device picker shows this long before the choice
STATE_TIMEOUT_S = 10.0
WHOLE_TIMEOUT_S = 120.0  # 50 000 items fetched in pure-Python protobuf on a busy machine
CODE = PositionCode(cycle=150)
HANDOFF, STOP_FIRST, PREPARED = "handoff", "stop_first", "prepared"
MODES = (HANDOFF, STOP_FIRST, PREPARED)  # prepared: a handoff to a target that prepared
WARM_UP, WARM_UPS = "warm-up", 2  # handoffs, not counted
WIRE_MODE = {
    WARM_UP: m.TransferMode.HANDOFF,
    HANDOFF: m.TransferMode.HANDOFF,
    STOP_FIRST: m.TransferMode.STOP_FIRST,
    PREPARED: m.TransferMode.HANDOFF,
}
SERVERS = {"pulse": "pulseaudio", "pipewire": "pipewire"}  # --output -> tests.pulse_server kind
_SINKS = ("bench_a", "bench_b")


@dataclass(frozen=True)
class Run:
    """One transfer as the coordinator saw it."""

    mode: str  # one of MODES, or WARM_UP
    source: int  # index of the receiver
    target: int
    requested_us: int
    returned_us: int
    timings: m.TransferTimings
    source_clock: m.PlaybackClock  # the session clock the source published before the request


@dataclass
class Session:
    """A measured session: the transfers, each receiver's capture, and alignment figures."""

    output: str
    runs: list[Run] = field(default_factory=list)
    captures: list[Capture] = field(default_factory=list)
    alignment_check_us: int | None = None  # sound servers: two fits' error on the same samples
    alignment_spread_us: list[int] = field(default_factory=list)
    clock_ppm: list[float] = field(default_factory=list)
    # A queue longer than a window: request → the target holds the whole queue, per transfer.
    whole_after_ms: list[float] = field(default_factory=list)
    # The track as the receivers decode it (mono), to find recordings in it sample by sample.
    track: array.array[int] = field(default_factory=lambda: array.array("h"))


async def measure(
    per_mode: int,
    output: str,
    modes: Sequence[str] = MODES,
    queue_size: int = 1,
    rss: list[float] | None = None,
    warm_ups: int = WARM_UPS,
    media_format: str = "wav",
    one_sink: bool = False,
) -> Session:
    """Play, run *warm_ups* handoffs then `per_mode` transfers of each of *modes* on *output*
    ("capture" or a SERVERS key), with a queue of *queue_size* items; with *rss*, append both
    receivers' VmRSS (MB) once the last target holds the whole queue; the track encoded as
    *media_format* (a name of tests/corpus.py, by Debian's ffmpeg); *one_sink*: both receivers
    play into one sink of the sound server, read from one recording of its monitor."""
    count = warm_ups + per_mode * len(modes)
    # The track outlasts the run: the first play, then each transfer and the pause after it;
    # with a long queue also its upload and each target's fetch (pure-Python protobuf: slow).
    track_ms = round((3 + count * (SETTLE_S + 1.5)) * 1000)
    if queue_size > q.WINDOW_ITEMS:
        track_ms += 60_000 + count * 10_000
    session = Session(output)
    with tempfile.TemporaryDirectory(prefix="baton-bench-transfer-") as tmp:
        workdir = Path(tmp)
        (workdir / "media").mkdir()
        source = write_cyclic_position_track(workdir / "media" / "pos.wav", track_ms, CODE)
        track = encode(source, media_format, workdir / "media").filename
        if FFMPEG is not None:  # else the offsets are read from the tones only
            session.track = decoded(workdir / "media" / track)
        recordings: dict[int, MonitorRecording] = {}
        async with contextlib.AsyncExitStack() as stack:
            media = await stack.enter_async_context(MediaServer(workdir / "media"))
            env = None
            if output == "capture":
                outputs = [f"capture:{workdir / name}.wav" for name in ("a", "b")]
            else:
                server = AudioServer(workdir / "server", _SINKS, SERVERS[output])
                await stack.enter_async_context(server)
                sinks = (_SINKS[0], _SINKS[0]) if one_sink else _SINKS
                # One per sink, and a second on the first sink: the alignment check.
                for key, sink in enumerate((*sinks, _SINKS[0])):
                    recorder = server.recorder(sink)
                    await recorder.start()
                    # Closed once the receivers have stopped (the stack unwinds in reverse).
                    stack.push_async_callback(_collect, recorder, recordings, key)
                outputs, env = [f"pulse:{sink}" for sink in sinks], server.env
            receivers = []
            for name, audio in zip(("a", "b"), outputs, strict=True):
                (workdir / name).mkdir()
                argv = receiver_argv(audio, workdir / name / "state", f"Bench {name.upper()}")
                receivers.append((argv, workdir / name))
            started = await start_receivers(stack, receivers, env)
            controller = Controller(m.ClientIdentity("bench-transfer", "Bench"), browse=False)
            await controller.async_start()
            stack.push_async_callback(controller.async_close)
            for each in started:
                await controller.async_add_address("127.0.0.1", each.port)
            ids = [r.device_id for r in started]
            # Modes in pairs (there and back) when each has an even count, else one by one.
            run_length = 2 if per_mode % 2 == 0 else 1
            # Each step has its own deadline; this one turns a hang none of them caught (seen
            # once through PulseAudio, not reproduced) into an error that says so.
            limit_s = (
                60
                + count * (STATE_TIMEOUT_S + SETTLE_S + 10)
                + (WHOLE_TIMEOUT_S * count if queue_size > q.WINDOW_ITEMS else 0)
            )
            try:
                async with asyncio.timeout(limit_s):
                    session.runs = await _transfers(
                        controller, ids, media.url(track), track_ms, count, modes, queue_size,
                        session.whole_after_ms, run_length, warm_ups,
                    )  # fmt: skip
            except TimeoutError:
                raise RuntimeError(
                    f"the transfers on {output} did not finish in {limit_s:.0f} s"
                ) from None
            if rss is not None:
                # Each target fetched the rest of the queue after its switch: both receivers
                # now hold a library's queue each.
                rss.extend(rss_mb(each.pid) for each in started)
        # Leaving the stack stopped both receivers: their recordings are complete.
        if output == "capture":
            session.captures = [read_capture(workdir / f"{name}.wav") for name in ("a", "b")]
        else:
            first, second, check = recordings[0], recordings[1], recordings[2]
            # One sink: both sides read from the same recording, on the same fit.
            session.captures = [
                monitor_capture(first),
                monitor_capture(first if one_sink else second),
            ]
            session.alignment_check_us = _alignment_error_us(first, check)
            session.alignment_spread_us = [r.alignment_spread_us for r in (first, second)]
            session.clock_ppm = [r.clock_ppm for r in (first, second)]
    return session


async def _collect(recorder: MonitorRecorder, into: dict[int, MonitorRecording], key: int) -> None:
    into[key] = await recorder.close()


def _alignment_error_us(first: MonitorRecording, check: MonitorRecording) -> int | None:
    """Return how far two recordings of the same monitor place the same sample apart (µs)."""
    # Both hold the same sound (the check started a little later): find 10 ms of the check's,
    # 0.2 s into the music (the first transfer, which silences this sink, comes later), in the
    # first's. PulseAudio hands both the very same samples;
    # PipeWire resamples each recorder on its own, so the best match (least absolute
    # difference) stands, good to a sample.
    loud = next((i for i, x in enumerate(check.samples) if abs(x) > 1000), None)
    if loud is None:
        return None
    at = loud + 8_820
    probe = check.samples[at : at + 441]
    if min(max(probe, default=0), -min(probe, default=0)) < 1000:
        return None  # silence matches any silence: no check
    haystack = first.samples
    best: tuple[int, int] | None = None  # (difference, index)
    for start in range(len(haystack) - len(probe)):
        if abs(haystack[start] - probe[0]) > 200 or abs(haystack[start + 1] - probe[1]) > 200:
            continue
        window = haystack[start : start + len(probe)]
        diff = sum(abs(a - b) for a, b in zip(window, probe, strict=True))
        if best is None or diff < best[0]:
            best = (diff, start)
    if best is None or best[0] > 100 * len(probe):  # nothing like it: not the same sound
        return None
    return first.instant_of(best[1]) - check.instant_of(at)


async def _transfers(
    controller: Controller,
    ids: Sequence[str],
    url: str,
    track_ms: int,
    count: int,
    modes: Sequence[str] = MODES,
    queue_size: int = 1,
    whole_after_ms: list[float] | None = None,
    run_length: int = 2,
    warm_ups: int = WARM_UPS,
) -> list[Run]:
    item = m.QueueItem("bench-1", url, title="position track", duration_ms=track_ms)
    # The track first, then a library's worth of others that never play (bench/_queue_sizes).
    queue = (item, *items_for_urls(library_urls(queue_size - 1)))
    uploaded = await controller.async_play_items(ids[0], queue, timeout=UPLOAD_TIMEOUT_S)
    if not uploaded.result.ok:
        raise RuntimeError(f"cannot play the track: {uploaded.result.failure}")
    await _wait_state(controller.connection(ids[0]), m.PlaybackStatus.PLAYING)
    for device_id in ids:
        await controller.async_connect(device_id, timeout=STATE_TIMEOUT_S)
    await asyncio.sleep(SETTLE_S)
    coordinator = TransferCoordinator(controller)
    runs = []
    for i in range(count):
        # Two warm-up transfers first: each receiver's first timed start (its player has not
        # learnt its output's start latency yet) is shown in the breakdown, not in the figures.
        mode = WARM_UP if i < warm_ups else modes[((i - warm_ups) // run_length) % len(modes)]
        source, target = i % 2, 1 - i % 2
        options = m.TransferOptions(mode=WIRE_MODE[mode], fade_ms=FADE_MS)
        if mode == PREPARED:
            [prepared] = await coordinator.async_prepare(ids[source], [ids[target]])
            if not prepared.ok:
                raise RuntimeError(f"transfer {i}: the target did not prepare: {prepared.failure}")
            await asyncio.sleep(PICKER_S)
        state = controller.connection(ids[source]).state
        if state is None:
            raise RuntimeError(f"transfer {i}: no state from the source")
        requested = monotonic_us()
        outcome = await coordinator.async_transfer(ids[source], ids[target], options)
        returned = monotonic_us()
        if outcome.failure is not None or outcome.timings is None:
            raise RuntimeError(f"transfer {i} ({mode}) failed: {outcome.failure}")
        runs.append(Run(mode, source, target, requested, returned, outcome.timings, state.clock))
        if queue_size > q.WINDOW_ITEMS:
            # The target fetches the rest after the switch. Each transfer is measured on its
            # own: the next one starts once this target holds the whole queue (a transfer back
            # while the fetch runs meets both devices busy with pages; bench/README.md).
            await _until_whole(controller.connection(ids[target]), queue_size)
            if whole_after_ms is not None and mode != WARM_UP:
                whole_after_ms.append((monotonic_us() - requested) / 1000)
        # The next transfer starts from the target: wait until the source has let go.
        await _wait_state(controller.connection(ids[source]), m.PlaybackStatus.STOPPED)
        await asyncio.sleep(SETTLE_S)
    return runs


async def _until_whole(conn: DeviceConnection, size: int) -> None:
    """Return once the device serves its queue's last item (a target answers BUSY before)."""
    async with asyncio.timeout(WHOLE_TIMEOUT_S):
        # The target tells of no "queue whole" moment to await: ask again.
        while (await conn.async_queue_page(size - 1, 1)).failure is not None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


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
