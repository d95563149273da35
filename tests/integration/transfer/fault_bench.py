"""Pieces shared by the transfer fault tests: sessions on real receivers, fakes, audio checks.

Every instant here is the host's monotonic clock in µs: receivers, their capture timelines and
the test process all read the same clock (network namespaces do not change it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from connect.clock import monotonic_us
from connect.controller import Controller
from connect.session import ConnectionEvent, StateChanged
from connect.session.connection import TransferReply
from connect.transfer.coordinator import TransferOutcome
from connect.wire import messages as m
from tests.audio import (
    AUDIBLE_SAMPLE,
    Capture,
    segment_at,
    write_garbage,
    write_position_track,
)
from tests.fakes import MemoryHost
from tests.receivers import RunningReceiver, start_receiver

EVENT_TIMEOUT_S = 10.0
TRACK_MS = 12_000  # long enough to outlast every scenario; a position track holds 19 s
HEARD_GAP_US = 30_000  # a silence longer than this inside a stretch "playing" is a gap
PLAY_OUT_S = 1.0  # after the fault settles, how much audio the checks look at
RECOVERY_US = 1_000_000  # the device that keeps the session is heard again within this


def identity() -> m.ClientIdentity:
    return m.ClientIdentity("fault-test-controller", "Fault test")


@asynccontextmanager
async def controller_for(*receivers: RunningReceiver) -> AsyncIterator[Controller]:
    """A controller (no mDNS) connected to every receiver, closed afterwards."""
    controller = Controller(identity(), browse=False)
    await controller.async_start()
    try:
        for receiver in receivers:
            await controller.async_add_address(receiver.host, receiver.port)
            conn = await controller.async_connect(receiver.device_id, EVENT_TIMEOUT_S)
            await conn.async_sync_clock(samples=3)
        yield controller
    finally:
        await controller.async_close()


def queue_of(url: str) -> tuple[m.QueueItem, ...]:
    """Two entries of the same track: the queue must survive whole, not just the item."""
    return (
        m.QueueItem("uid-first", url, title="position track", duration_ms=TRACK_MS),
        m.QueueItem("uid-second", url, title="position track again", duration_ms=TRACK_MS),
    )


async def start_session(
    controller: Controller, device_id: str, url: str, *, paused: bool = False
) -> m.PlaybackState:
    """Play the queue on *device_id* past its first half second (then pause, if asked)."""
    result = await controller.async_command(device_id, m.SetQueue(queue_of(url), play=True))
    assert result.ok, result.failure
    conn = controller.connection(device_id)
    state = await wait_state(controller, device_id, lambda s: s.clock.playing)
    # The music's own pace: the state says when 600 ms will have been heard.
    wait_us = state.clock.as_of_us + (600 - state.clock.position_ms) * 1000 - device_now(conn)
    await asyncio.sleep(max(0.0, wait_us / 1e6))
    if paused:
        assert (await controller.async_command(device_id, m.Pause())).ok
        return await wait_state(
            controller, device_id, lambda s: s.status is m.PlaybackStatus.PAUSED
        )
    assert conn.state is not None
    return conn.state


def device_now(conn: object) -> int:
    clock = getattr(conn, "clock", None)
    return monotonic_us() + (clock.offset_us if clock is not None else 0)


async def wait_state(
    controller: Controller,
    device_id: str,
    match: Callable[[m.PlaybackState], bool],
    timeout: float = EVENT_TIMEOUT_S,
) -> m.PlaybackState:
    """Return the device's state once it matches (now or at a later snapshot)."""
    conn = controller.connection(device_id)
    changed = asyncio.Event()

    def on_event(event: ConnectionEvent) -> None:
        if isinstance(event, StateChanged):
            changed.set()

    unsubscribe = conn.subscribe(on_event)
    try:
        async with asyncio.timeout(timeout):
            while conn.state is None or not match(conn.state):
                changed.clear()
                await changed.wait()
            return conn.state
    finally:
        unsubscribe()


def on_ready_from(
    controller: Controller, device_id: str, action: Callable[[], None]
) -> Callable[[], None]:
    """Run *action* the moment *device_id* answers an offer with Ready; return an unsubscribe.

    It runs inside the controller's event dispatch, before the coordinator hears the Ready.
    """

    def on_event(event: ConnectionEvent) -> None:
        if (
            isinstance(event, TransferReply)
            and event.device_id == device_id
            and isinstance(event.body, m.TransferReady)
        ):
            action()

    return controller.subscribe(on_event)


# ------------------------------------------------------------------------------ scenarios


@dataclass
class Pair:
    source: RunningReceiver
    target: RunningReceiver
    media: TrackServer
    url: str


@asynccontextmanager
async def two_receivers(
    tmp_path: Path, *, spoilable: bool = False, pairing: str = "open"
) -> AsyncIterator[Pair]:
    """A source and a target receiver on the capture output, and the track they play."""
    good = write_position_track(tmp_path / "track.wav", TRACK_MS).read_bytes()
    bad = write_garbage(tmp_path / "garbage.bin", len(good)).read_bytes() if spoilable else b""
    media = TrackServer(good, bad)
    await media.start()
    started = await asyncio.gather(
        start_receiver(tmp_path, "Source", output="capture", pairing=pairing),
        start_receiver(tmp_path, "Target", output="capture", pairing=pairing),
        return_exceptions=True,
    )
    receivers = [r for r in started if isinstance(r, RunningReceiver)]
    try:
        for result in started:
            if isinstance(result, BaseException):
                raise result
        yield Pair(receivers[0], receivers[1], media, media.url("track.wav"))
    finally:
        # Stopped together: each takes a quarter of a second or so to save and exit.
        running = [r for r in receivers if r.process.returncode is None]
        stopped = await asyncio.gather(*(r.stop() for r in running), return_exceptions=True)
        await media.close()
        for stop in stopped:
            if isinstance(stop, BaseException):
                raise stop


def assert_session_kept(state: m.PlaybackState, before: m.PlaybackState) -> None:
    """The device holds the same session: id, queue, current entry; it is the active one."""
    assert state.session_id == before.session_id
    assert [(i.uid, i.url) for i in state.queue] == [(i.uid, i.url) for i in before.queue]
    assert state.current_uid == before.current_uid
    assert state.active


def report(outcome: TransferOutcome, asked_us: int, settled_us: int) -> None:
    """Print what happened (pytest -s shows it): the measured outcome of the fault."""
    why = outcome.failure.message if outcome.failure else "ok"
    print(
        f"\n  outcome after {(settled_us - asked_us) / 1000:.0f} ms: {why}; "
        f"source_reachable={outcome.source_reachable} rolled_back={outcome.rolled_back}"
    )


def assert_failed(outcome: TransferOutcome, code: m.ErrorCode, *words: str) -> None:
    assert not outcome.ok
    assert outcome.failure is not None
    assert outcome.failure.code is code, outcome.failure
    for word in words:
        assert word in outcome.failure.message, outcome.failure.message


async def play_out() -> None:
    await asyncio.sleep(PLAY_OUT_S)  # bounded: the audio the checks below look at


# ------------------------------------------------------------------------------ fakes


class SilentTarget(MemoryHost):
    """A device that takes every transfer message and answers none (a hung receiver)."""

    def __init__(self, device_id: str, codecs: tuple[str, ...] = ("wav",)) -> None:
        super().__init__(device_id, name=f"Fake {device_id}")
        self.info = replace(self.info, capabilities=m.Capabilities(audio_codecs=codecs))
        self.port = 0

    async def start(self) -> int:
        self.port = await self.server.async_start(["127.0.0.1"], 0)
        return self.port


class TrackServer:
    """One track at /media/NAME: the real bytes until `spoil()`, then bytes no demuxer reads.

    Spoiled after the source holds the whole file (libVLC reads ahead), it gives the target a
    format it cannot decode behind a name the controller's pre-check accepts. Range requests
    are honoured; `served_whole` is set once a response has sent the whole file; `on_request`
    runs as each request arrives (to act at the instant a target starts its pre-roll).
    """

    def __init__(self, good: bytes, bad: bytes = b"") -> None:
        self._good, self._bad = good, bad
        self.spoiled = False
        self.served_whole = asyncio.Event()
        self.requests = 0
        self.on_request: Callable[[], None] | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/media/{name}", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/media/{name}"

    def spoil(self) -> None:
        self.spoiled = True

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.on_request is not None:
            self.on_request()
        data = self._bad if self.spoiled else self._good
        wanted = request.http_range
        start = wanted.start or 0
        stop = len(data) if wanted.stop is None else min(wanted.stop, len(data))
        partial = "Range" in request.headers
        response = web.StreamResponse(status=206 if partial else 200)
        response.content_type = "audio/wav"
        response.content_length = stop - start
        response.headers["Accept-Ranges"] = "bytes"
        if partial:
            response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{len(data)}"
        try:
            await response.prepare(request)
            await response.write(data[start:stop])
            await response.write_eof()
        except ConnectionError:
            return response  # the player stopped reading (a link cut, a new load): not an error
        if start == 0 and stop == len(data) and data is self._good:
            self.served_whole.set()
        return response


# ------------------------------------------------------------------------------ audio


def silences(
    capture: Capture, start_us: int, end_us: int, *, longer_than_us: int = HEARD_GAP_US
) -> list[tuple[int, int]]:
    """Return the silent stretches longer than *longer_than_us* within [start_us, end_us)."""
    rate = capture.recording.rate
    samples = capture.samples
    out: list[tuple[int, int]] = []
    last = start_us  # the instant audio was last heard (or the window's start)
    for block_us, first, frames in capture.blocks:
        if block_us + frames * 1_000_000 // rate <= start_us or block_us >= end_us:
            continue
        for offset in range(frames):
            at = block_us + offset * 1_000_000 // rate
            if not start_us <= at < end_us:
                continue
            if abs(samples[first + offset]) >= AUDIBLE_SAMPLE:
                if at - last > longer_than_us:
                    out.append((last, at))
                last = at
    if end_us - last > longer_than_us:
        out.append((last, end_us))
    return out


def audible_within(capture: Capture, start_us: int, end_us: int) -> bool:
    """Return whether any sample presented within [start_us, end_us) is audible."""
    return silences(capture, start_us, end_us) != [(start_us, end_us)]


def assert_plays_on(
    capture: Capture, start_us: int, end_us: int, *, position_ms_at: Callable[[int], int]
) -> None:
    """Assert continuous sound over the window, at the positions the state's clock says."""
    assert silences(capture, start_us, end_us) == [], "the device that should play fell silent"
    for probe in range(start_us + 50_000, end_us - 150_000, 250_000):
        # Listen 40-60 ms into a segment (by the state's clock): the 20 ms window then holds
        # one frequency even if the clock is off by up to 40 ms.
        at = probe + (140 - position_ms_at(probe) % 100) % 100 * 1000
        expected = position_ms_at(at) // 100
        heard = segment_at(capture, at)
        assert heard is not None, f"nothing recognisable heard at {at}"
        assert abs(heard - expected) <= 1, f"heard segment {heard}, state says {expected}"
