"""A private audio server for tests and benchmarks: PulseAudio (or PipeWire with pipewire-pulse)
with null sinks, its sockets and state in a temporary directory, and recorders of its monitors.

Nothing of Baton's is in the measuring path: `parecord` reads a null sink's monitor (what the
server mixed for that sink) and hands raw samples to this process, which only timestamps them.

Clock alignment of a recording: a null sink renders on a timer of the server's, so sample i of
a monitor recording was rendered at t0 + i * step for one t0 and a step close to 1 / rate
(measured: PulseAudio 16's null sink runs ~190 ppm fast against CLOCK_MONOTONIC, its timer
adding whole µs per block; PipeWire's within ~5 ppm). parecord runs with small fragments and
each read is stamped on arrival; arrival = render instant of its last sample + a delay that is
never negative, so the fastest read of each half second lies on that line, plus the smallest
delay (one fragment's transport, well under a millisecond on an idle machine). A least-squares
line through those points gives t0 and the step; `alignment_spread_us` is the median delay of a
read above it. What the monitor records is what the sink *rendered*, which a null sink does
up to its latency (here ~5 ms: the recorder's request) before its own accounting counts it as
played, so a recording shows every sound that much early, alike for every stream and sink
configured alike.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import functools
import os
import shutil
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from connect.clock import monotonic_us
from tests.audio import Recording

RATE = 44_100
START_TIMEOUT_S = 10.0
RECORD_LATENCY_MS = 5  # fragment size asked of parecord: how finely arrivals are stamped
_FIT_READS = 100  # reads (~0.5 s) per point of the clock fit: the fastest of them counts
_SOCKET = "native"


class AudioServerUnavailableError(RuntimeError):
    """The audio server cannot start on this machine (binary missing, daemon refuses)."""


@dataclass
class MonitorRecording:
    """What one parecord process read from a monitor, with the arrival of every read."""

    samples: array.array[int] = field(default_factory=lambda: array.array("h"))
    arrivals: list[tuple[int, int]] = field(default_factory=list)  # (monotonic µs, frames so far)
    rate: int = RATE

    @property
    def recording(self) -> Recording:
        """Return the samples as a tests.audio Recording."""
        return Recording(self.samples, self.rate)

    @functools.cached_property
    def _fit(self) -> tuple[float, float]:
        """Return (instant of sample 0, µs per sample) from the fastest reads (see the module)."""
        nominal = 1_000_000 / self.rate
        points = []  # per stretch of reads, the one that came soonest after its samples
        for i in range(0, len(self.arrivals), _FIT_READS):
            chunk = self.arrivals[i : i + _FIT_READS]
            points.append(min(chunk, key=lambda a: a[0] - a[1] * nominal))
        if len(points) < 2:
            at, frames = points[0]
            return at - frames * nominal, nominal
        n = len(points)
        mean_f = sum(f for _at, f in points) / n
        mean_t = sum(at for at, _f in points) / n
        var = sum((f - mean_f) ** 2 for _at, f in points)
        slope = sum((f - mean_f) * (at - mean_t) for at, f in points) / var
        return mean_t - slope * mean_f, slope

    @property
    def t0_us(self) -> int:
        """Return the estimated instant (monotonic µs) at which sample 0 was rendered."""
        return round(self._fit[0])

    @property
    def clock_ppm(self) -> float:
        """Return how much faster than CLOCK_MONOTONIC the server's sink clock ran (ppm)."""
        return (1_000_000 / self.rate / self._fit[1] - 1) * 1e6

    @property
    def alignment_spread_us(self) -> int:
        """Return the median delay of a read after the fitted instant of its last sample."""
        start, step = self._fit
        delays = sorted(round(at - start - frames * step) for at, frames in self.arrivals)
        return delays[len(delays) // 2] if delays else 0

    def instant_of(self, index: int) -> int:
        """Return the monotonic instant (µs) at which sample *index* was rendered."""
        start, step = self._fit
        return round(start + index * step)

    def index_at(self, at_us: int) -> int:
        """Return the index of the sample rendered at *at_us* (clamped to the recording)."""
        start, step = self._fit
        return max(0, min(len(self.samples), int((at_us - start) / step)))


class MonitorRecorder:
    """`parecord` on a sink's monitor, raw mono s16, read into a MonitorRecording until closed."""

    def __init__(self, server: AudioServer, sink: str) -> None:
        self._server = server
        self._sink = sink
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.result = MonitorRecording()
        self._first = asyncio.Event()
        self._read_more = asyncio.Event()  # set on every read

    async def start(self) -> None:
        """Start recording; return once the first samples have arrived."""
        self._process = await asyncio.create_subprocess_exec(
            "parecord", "--raw", f"--device={self._sink}.monitor",
            # Two channels, the left one kept: a server's stereo-to-mono downmix is its own
            # choice (PipeWire's is 3 dB louder than PulseAudio's), not the stream's level.
            "--format=s16le", f"--rate={RATE}", "--channels=2",
            f"--latency-msec={RECORD_LATENCY_MS}", "--client-name=baton-test-recorder",
            env=self._server.env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        self._reader = asyncio.get_running_loop().create_task(self._read())
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                await self._first.wait()
        except TimeoutError:
            await self.close()
            raise AudioServerUnavailableError(
                f"parecord gave no samples from {self._sink}"
            ) from None

    async def _read(self) -> None:
        assert self._process is not None
        stdout = self._process.stdout
        assert stdout is not None
        pending = b""
        while chunk := await stdout.read(65536):
            at = monotonic_us()
            pending += chunk
            whole = len(pending) - len(pending) % 4
            frames = array.array("h", pending[:whole])
            self.result.samples.extend(frames[::2])
            pending = pending[whole:]
            self.result.arrivals.append((at, len(self.result.samples)))
            self._first.set()
            self._read_more.set()
        self._read_more.set()  # parecord ended: a waiter must not wait for more

    async def wait_for_sound(self, timeout_s: float, threshold: int = 100) -> None:
        """Return once a sample louder than *threshold* arrives after this call; raise
        TimeoutError after *timeout_s* (a sound that a busy server takes long to route)."""
        seen = len(self.result.samples)
        async with asyncio.timeout(timeout_s):
            while True:
                samples = self.result.samples
                if any(abs(x) > threshold for x in samples[seen:]):
                    return
                seen = len(samples)
                if self._process is None or self._process.returncode is not None:
                    raise TimeoutError("the recorder stopped before any sound")
                self._read_more.clear()
                await self._read_more.wait()

    async def close(self) -> MonitorRecording:
        """Stop parecord and return what it recorded; idempotent."""
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 5.0)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._reader is not None:
            await self._reader
        return self.result


class AudioServer:
    """A private PulseAudio (`kind="pulseaudio"`) or PipeWire (`"pipewire"`) with null sinks."""

    def __init__(self, workdir: Path, sinks: Sequence[str], kind: str = "pulseaudio") -> None:
        if kind not in ("pulseaudio", "pipewire"):
            raise ValueError(f"unknown audio server {kind!r}")
        self.kind = kind
        self.sinks = tuple(sinks)
        self._dir = workdir
        self._run = workdir / "run"
        self._processes: list[asyncio.subprocess.Process] = []
        self._logs: list[Path] = []
        socket_dir = self._run / "pulse"
        self.socket = socket_dir / _SOCKET
        client_conf = workdir / "client.conf"
        self.env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(self._run),
            "HOME": str(workdir / "home"),
            "PULSE_RUNTIME_PATH": str(socket_dir),
            "PULSE_STATE_PATH": str(workdir / "state"),
            "PULSE_SERVER": f"unix:{self.socket}",
            # A client that finds no server must fail, never start one of its own.
            "PULSE_CLIENTCONFIG": str(client_conf),
            "PIPEWIRE_RUNTIME_DIR": str(self._run),
            # A private session bus (WirePlumber needs one); PulseAudio gets it too, harmlessly.
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={self._run / 'bus'}",
        }
        self._client_conf = client_conf

    async def __aenter__(self) -> AudioServer:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the daemon(s) and create the null sinks; raise AudioServerUnavailableError."""
        for folder in (self._run, self._run / "pulse", self._dir / "home", self._dir / "state"):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._client_conf.write_text("autospawn = no\n", encoding="ascii")
        try:
            if self.kind == "pulseaudio":
                await self._start_pulseaudio()
            else:
                await self._start_pipewire()
            await self._wait_for_socket()
            for sink in self.sinks:
                await self.pactl(
                    "load-module", "module-null-sink", f"sink_name={sink}",
                    f"sink_properties=device.description={sink}",
                )  # fmt: skip
        except BaseException:
            await self.close()
            raise

    async def _start_pulseaudio(self) -> None:
        _require("pulseaudio", "parecord", "pactl")
        await self._spawn(
            "pulseaudio",
            "-n",  # no default.pa: only the modules below (no card, no X11, no D-Bus)
            "--daemonize=no",
            "--system=false",  # root may run a per-user daemon; it only warns
            "--exit-idle-time=-1",
            "--use-pid-file=no",
            "--log-target=stderr",
            "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
            # What a desktop's default.pa would add for a new stream (saved volumes, a sink to
            # fall back on) and could change a stream's level: kept, to be honest about it.
            "-L", "module-stream-restore",
            "-L", "module-always-sink",
        )  # fmt: skip

    async def _start_pipewire(self) -> None:
        _require("pipewire", "pipewire-pulse", "wireplumber", "dbus-daemon", "parecord", "pactl")
        await self._spawn(
            "dbus-daemon", "--session", "--nofork", "--nopidfile",
            f"--address={self.env['DBUS_SESSION_BUS_ADDRESS']}",
        )  # fmt: skip
        await self._wait_for(self._run / "bus", "dbus-daemon")
        await self._spawn("pipewire")
        await self._spawn("wireplumber")
        await self._spawn("pipewire-pulse")

    async def _spawn(self, *argv: str) -> None:
        log = self._dir / f"{argv[0]}.log"
        self._logs.append(log)
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *argv, env=self.env, stdout=out, stderr=out, stdin=asyncio.subprocess.DEVNULL
            )
        self._processes.append(process)

    async def _wait_for(self, path: Path, what: str) -> None:
        """Return once *path* exists (a daemon's socket); raise if a daemon died or it never did."""
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                while not await asyncio.to_thread(path.exists):
                    self._check_alive()
                    await asyncio.sleep(0.02)  # the daemon offers no readiness signal
        except TimeoutError:
            raise AudioServerUnavailableError(
                f"{what} never created {path}: {self.log_tail()}"
            ) from None

    def _check_alive(self) -> None:
        if any(p.returncode is not None for p in self._processes):
            raise AudioServerUnavailableError(f"{self.kind} exited: {self.log_tail()}")

    async def _wait_for_socket(self) -> None:
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                while True:
                    self._check_alive()
                    if await asyncio.to_thread(self.socket.exists):
                        code, _out = await self._pactl_raw("info")
                        if code == 0:
                            return
                    await asyncio.sleep(0.05)  # the daemon offers no readiness signal
        except TimeoutError:
            raise AudioServerUnavailableError(
                f"{self.kind} did not answer within {START_TIMEOUT_S:g} s: {self.log_tail()}"
            ) from None

    async def pactl(self, *args: str) -> str:
        """Run pactl against this server; return its output, raise RuntimeError on failure."""
        code, out = await self._pactl_raw(*args)
        if code != 0:
            raise RuntimeError(f"pactl {' '.join(args)} failed ({code}): {out}")
        return out

    async def _pactl_raw(self, *args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            "pactl", *args, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await process.communicate()
        assert process.returncode is not None
        return process.returncode, out.decode(errors="replace")

    def recorder(self, sink: str) -> MonitorRecorder:
        """Return a recorder of *sink*'s monitor (start it, then close it for the result)."""
        return MonitorRecorder(self, sink)

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of the daemons' logs, for an error message."""
        tails = []
        for log in self._logs:
            with contextlib.suppress(OSError):
                text = log.read_text(errors="replace").splitlines()[-lines:]
                tails.append(f"{log.name}:\n" + "\n".join(text))
        return "\n".join(tails)

    async def close(self) -> None:
        """Stop the daemons (TERM, then KILL); idempotent."""
        for process in reversed(self._processes):
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 5.0)
                except TimeoutError:
                    process.kill()
                    await process.wait()
        self._processes.clear()


def _require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        raise AudioServerUnavailableError(f"not installed: {', '.join(missing)}")
