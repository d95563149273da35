"""Session benchmark: a command → its state echo at every connected controller, on loopback.

A real `baton-receiver` process runs (`--audio-output none`, port 0, on `lo`); N controllers
(N = 1, then N = 10) connect to it with `DeviceConnection`, all in this process on one event
loop and one aiohttp session. Each sample: one controller (taking turns) sends a `Command`
carrying `SetVolume` and a command id of our own, alternating the volume so every command
changes the state; the sample ends when the last of the N controllers has received the
`StateSnapshot` whose `last_command_id` is that id. Start and end are read from the same
monotonic clock (`time.perf_counter`) in this process: the start just before the frame is
handed to the WebSocket, the end inside the connection's event callback, right after the
frame is decoded. A few commands are sent first to warm both sides up and are not counted.

Accuracy: each sample is a true round trip on one clock (no clock offsets involved), with
the timer's sub-microsecond resolution. It includes the receiver's real work (session rules,
the player's volume call, the broadcast, its once-a-second fsync of the saved session when one
falls due) and our own decoding of every controller's copy: with N = 10 the ten copies are
decoded one after another by this one process, so the figure is an upper bound for ten
separate devices. Scheduling noise on a loaded machine shows up in p99.

Displayed position: two controllers (DeviceConnection, each with its own clock estimate from 8
samples) watch the receiver play a track; at random instants (5-30 ms apart) each one's displayed
position is computed as a controller shows it (its last state's clock, evaluated at the instant
converted by its own estimate), and the two are compared. Every 25 samples one of them seeks, so
a new snapshot reaches each at its own moment. Both sit in this process, on one host clock: the
spread comes from their estimates and from a snapshot seen by one and not yet by the other, not
from two machines' clocks (see bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import aiohttp

from bench._runner import Measurement
from connect.clock import monotonic_us
from connect.controller import default_identity
from connect.session import ConnectionEvent, DeviceConnection, Endpoint, StateChanged
from connect.wire import messages as m
from tests.audio import write_position_track
from tests.media_server import MediaServer

TARGET_P99_MS = 20.0
SPREAD_TARGET_MS = 10.0  # DESIGN.md: two controllers show the same position within 10 ms
SPREAD_TRACK_MS = 19_000  # the longest position track tests.audio writes
SEEK_EVERY = 25  # samples between seeks, each a new snapshot for both controllers
READY_TIMEOUT_S = 30.0  # libVLC start-up on a loaded 2-core machine stays far under this
STOP_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
ECHO_TIMEOUT_S = 5.0
WARMUP_COMMANDS = 5
CONTROLLER_COUNTS = (1, 10)

# The receiver's one start-up line on stdout, e.g.
# "baton-receiver: 'X' (speaker, id 0f3c...) listening on 127.0.0.1:41089, [::1]:41089; ..."
_READY_LINE = re.compile(
    r"\bid (?P<id>[0-9A-Za-z_-]+)\) listening on .*?127\.0\.0\.1:(?P<port>\d+)"
)


@dataclass(frozen=True)
class RunningReceiver:
    """A started `baton-receiver` subprocess: its pid is the receiver's own Python process."""

    process: asyncio.subprocess.Process
    device_id: str
    port: int
    log: Path  # its stderr

    @property
    def pid(self) -> int:
        """Return the receiver process's id."""
        return self.process.pid

    def endpoint(self) -> Endpoint:
        """Return where its session WebSocket is."""
        return Endpoint("127.0.0.1", self.port)


def receiver_argv(audio_output: str, state_dir: Path, name: str = "Bench Speaker") -> list[str]:
    """Return the argv of a receiver on `lo` with a free port (no wrapper process)."""
    return [
        sys.executable,
        "-m",
        "devices.cli",
        "--interface",
        "lo",
        "--port",
        "0",
        "--audio-output",
        audio_output,
        "--state-dir",
        str(state_dir),
        "--name",
        name,
        # Benchmarks measure the protocol, not pairing: an open receiver over plain HTTP.
        "--pairing",
        "open",
    ]


@contextlib.asynccontextmanager
async def running_receiver(
    argv: Sequence[str], workdir: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[RunningReceiver]:
    """Start a receiver, wait for its ready line, yield it; always stop it (TERM, then KILL).

    *env*: the process's environment (default: ours), e.g. a test audio server's.
    """
    log = workdir / "receiver.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=env,
        )
    try:
        device_id, port = await _read_ready_line(process, log)
        yield RunningReceiver(process, device_id, port, log)
    finally:
        await stop_process(process)


async def start_receivers(
    stack: contextlib.AsyncExitStack,
    receivers: Sequence[tuple[Sequence[str], Path]],
    env: Mapping[str, str] | None = None,
) -> list[RunningReceiver]:
    """Start receivers (argv, workdir) side by side, each stopped as *stack* unwinds; return
    them in order. A start is seconds of imports: two at once wait once."""
    async with asyncio.TaskGroup() as group:
        starting = [
            group.create_task(stack.enter_async_context(running_receiver(argv, workdir, env)))
            for argv, workdir in receivers
        ]
    return [task.result() for task in starting]


async def _read_ready_line(process: asyncio.subprocess.Process, log: Path) -> tuple[str, int]:
    assert process.stdout is not None
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            while line := await process.stdout.readline():
                found = _READY_LINE.search(line.decode(errors="replace"))
                if found:
                    return found["id"], int(found["port"])
    except TimeoutError:
        raise RuntimeError(
            f"receiver printed no ready line within {READY_TIMEOUT_S:g} s; log:\n{log_tail(log)}"
        ) from None
    code = await process.wait()
    raise RuntimeError(f"receiver exited ({code}) before it was ready; log:\n{log_tail(log)}")


def log_tail(log: Path, lines: int = 15) -> str:
    """Return the last *lines* of a subprocess's log, for an error message."""
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read {log}: {exc})"


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """End *process*: SIGTERM (what systemd sends), then SIGKILL after STOP_TIMEOUT_S."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


async def connect_controllers(
    receiver: RunningReceiver, http: aiohttp.ClientSession, count: int
) -> list[DeviceConnection]:
    """Open *count* controller sessions to *receiver* and wait until all are up."""
    endpoint = receiver.endpoint()

    async def resolve() -> Endpoint:
        return endpoint

    connections = [
        DeviceConnection(receiver.device_id, resolve, default_identity(f"bench-{i}"), http)
        for i in range(count)
    ]
    try:
        for connection in connections:
            connection.async_start()
        for connection in connections:
            await connection.async_wait_connected(CONNECT_TIMEOUT_S)
    except BaseException:
        await close_controllers(connections)
        raise
    return connections


async def close_controllers(connections: Iterable[DeviceConnection]) -> None:
    """Close every session (each close is bounded)."""
    await asyncio.gather(*(c.async_close() for c in connections), return_exceptions=True)


class _EchoWatch:
    """Notes when every controller has seen the snapshot echoing one command id."""

    def __init__(self, connections: Sequence[DeviceConnection]) -> None:
        self._count = len(connections)
        self._command_id = ""
        self._seen: set[int] = set()
        self._done: asyncio.Future[float] | None = None
        self._unsubscribe = [
            c.subscribe(partial(self._on_event, i)) for i, c in enumerate(connections)
        ]

    def expect(self, command_id: str) -> asyncio.Future[float]:
        """Start watching for *command_id*; the future's result is the end instant."""
        self._command_id = command_id
        self._seen = set()
        self._done = asyncio.get_running_loop().create_future()
        return self._done

    def _on_event(self, index: int, event: ConnectionEvent) -> None:
        if not isinstance(event, StateChanged) or self._done is None or self._done.done():
            return
        if event.snapshot.state.last_command_id != self._command_id:
            return
        self._seen.add(index)
        if len(self._seen) == self._count:
            self._done.set_result(time.perf_counter())

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()


async def _echo_samples(connections: Sequence[DeviceConnection], samples: int) -> list[float]:
    watch = _EchoWatch(connections)
    latencies: list[float] = []
    try:
        for i in range(WARMUP_COMMANDS + samples):
            sender = connections[i % len(connections)]
            volume = 30 if i % 2 else 70  # alternating: every command changes the volume
            command_id = f"bench-{uuid.uuid4().hex}"
            done = watch.expect(command_id)
            started = time.perf_counter()
            await sender.async_send(m.Command(command_id, m.SetVolume(volume)))
            try:
                ended = await asyncio.wait_for(done, ECHO_TIMEOUT_S)
            except TimeoutError:
                raise RuntimeError(
                    f"command {i}: not echoed to all {len(connections)} controllers "
                    f"within {ECHO_TIMEOUT_S:g} s"
                ) from None
            state = sender.state
            if state is None or state.volume != volume:  # the command must really have applied
                raise RuntimeError(f"command {i}: volume is {state and state.volume}, not {volume}")
            if i >= WARMUP_COMMANDS:
                latencies.append((ended - started) * 1000)
    finally:
        watch.close()
    return latencies


async def _spread_samples(
    connections: Sequence[DeviceConnection], url: str, samples: int
) -> tuple[list[float], list[float]]:
    """Play, then read both controllers' displayed positions at the same instants.

    Every SEEK_EVERY samples one of them seeks (a new snapshot that reaches each controller at
    its own moment). Returns the spread between the two (ms) and each one's error against the
    device's own clock, evaluated at that instant (same host: one monotonic clock).
    """
    for connection in connections:
        await connection.async_sync_clock(samples=8)
    item = m.QueueItem("spread", url, duration_ms=SPREAD_TRACK_MS)
    await connections[0].async_send(
        m.Command(f"play-{uuid.uuid4().hex}", m.SetQueue((item,), play=True))
    )
    await _until_all(connections, lambda s: s.status is m.PlaybackStatus.PLAYING)
    rng = random.Random(7)
    spreads: list[float] = []
    errors: list[float] = []
    for i in range(samples):
        if i % SEEK_EVERY == 0:
            seek = m.Seek(rng.randrange(1_000, SPREAD_TRACK_MS - 8_000))
            await connections[i % 2].async_send(m.Command(f"seek-{uuid.uuid4().hex}", seek))
        await asyncio.sleep(rng.uniform(0.005, 0.030))  # instants unrelated to the snapshots
        now = monotonic_us()
        shown = [_displayed(c, now) for c in connections]
        spreads.append(abs(shown[0] - shown[1]))
        newest = max((c.state for c in connections if c.state), key=lambda s: s.revision)
        errors.extend(abs(p - newest.clock.position_at(now)) for p in shown)
    return spreads, errors


def _displayed(connection: DeviceConnection, now: int) -> float:
    """Return what a controller shows at *now*: its last state's clock, in its clock estimate."""
    state, clock = connection.state, connection.clock
    assert state is not None
    assert clock is not None
    return float(state.clock.position_at(clock.to_device(now)))


async def _until_all(
    connections: Sequence[DeviceConnection], ok: Callable[[m.PlaybackState], bool]
) -> None:
    changed = asyncio.Event()
    unsubscribe = [c.subscribe(lambda _event: changed.set()) for c in connections]
    try:
        async with asyncio.timeout(ECHO_TIMEOUT_S):
            while not all(c.state is not None and ok(c.state) for c in connections):
                changed.clear()
                await changed.wait()
    finally:
        for stop in unsubscribe:
            stop()


async def _measure(samples: int) -> tuple[dict[int, list[float]], tuple[list[float], list[float]]]:
    results: dict[int, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="baton-bench-session-") as tmp:
        workdir = Path(tmp)
        (workdir / "media").mkdir()
        write_position_track(workdir / "media" / "track.wav", SPREAD_TRACK_MS)
        argv = receiver_argv("none", workdir / "state")
        async with (
            running_receiver(argv, workdir) as receiver,
            aiohttp.ClientSession() as http,
            MediaServer(workdir / "media") as media,
        ):
            for count in CONTROLLER_COUNTS:
                connections = await connect_controllers(receiver, http, count)
                try:
                    results[count] = await _echo_samples(connections, samples)
                finally:
                    await close_controllers(connections)
            connections = await connect_controllers(receiver, http, 2)
            try:
                spread = await _spread_samples(connections, media.url("track.wav"), samples)
            finally:
                await close_controllers(connections)
    return results, spread


def run(quick: bool) -> Iterable[Measurement]:
    """Yield the echo latency for 1 and 10 controllers (quick: 20 samples each, full: 500),
    how far apart two controllers' displayed positions are at the same instant, and the
    queue sizes' figures."""
    results, (spreads, errors) = asyncio.run(_measure(20 if quick else 500))
    for count, latencies in results.items():
        measurement = Measurement(
            name=f"session.command_echo.controllers_{count}",
            unit="ms",
            samples=latencies,
            target=f"≤ {TARGET_P99_MS:g} ms p99 (command → state echo at every controller)",
        )
        yield replace(measurement, met=measurement.percentile(99) <= TARGET_P99_MS)
    spread = Measurement(
        "session.displayed_position.spread_2_controllers",
        "ms",
        spreads,
        f"≤ {SPREAD_TARGET_MS:g} ms p99 (two controllers' displayed positions, same instant)",
        {"error_vs_device_p99": Measurement("e", "ms", errors).percentile(99)},
    )
    yield replace(spread, met=spread.percentile(99) <= SPREAD_TARGET_MS)
    # Queues of 100, 10 000 and 50 000 items (bench/_queue_sizes.py); full: also in pure-Python
    # protobuf, what armhf runs.
    from bench._queue_sizes import QUEUE_SIZES, QUICK_SIZES, pure_python, session_sizes

    yield from asyncio.run(
        session_sizes(QUICK_SIZES if quick else QUEUE_SIZES, 20 if quick else 200)
    )
    if not quick:
        yield from pure_python("session", quick)
