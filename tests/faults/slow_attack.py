"""A slow-connection attack on a real pin-mode receiver, measured: shared by tests/faults and
bench/abuse.py (Baton issue 13, item 5).

The receiver runs in namespace a under a descriptor limit (`prlimit`; systemd gives a unit a
soft limit of 1 024), in pin mode: TLS only. Host b is the LAN. From its second address
(10.213.0.22) it runs tests/faults/slow_clients.py: *count* TLS connections whose request heads
never end, a header line every *interval_s*, reopened whenever the server lets go. From its
main address (10.213.0.2) a controller paired before the attack

* keeps the session it opened before the attack (`live`), and changes the volume through it
  during the attack: it must never be dropped for the attacker's sake;
* connects afresh during the attack and after it (`during`, `after`): connect, command, result,
  timed end to end (issue 13 asks for ≤ 2 s);

and the session file in the receiver's state directory must show every change (`saved_*`).
Meanwhile the receiver's descriptors (/proc/PID/fd) and the bytes it logs are counted. The
figures are what docs/security.md and docs/reliability.md quote, before and after the fix.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from connect.access import CredentialStore
from connect.controller import Controller
from connect.session import ConnectionEvent, Disconnected
from connect.wire import messages as m
from devices.persistence import SessionStore
from tests.netns import netns_pair
from tests.receivers import RunningReceiver, start_receiver

ROOT = Path(__file__).resolve().parents[2]
ATTACKER_ADDRESS = "10.213.0.22"  # a second address of host b: the attacker's own peer address
LOOPBACK_ATTACKER = "127.0.0.2"  # without namespaces: another loopback address, another peer
CONTROLLER_TIMEOUT_S = 10.0  # a controller that has not commanded by then counts as failed
SAVE_TIMEOUT_S = 10.0  # the saver writes within a second of a change; far more is a failure


@dataclass
class ControllerTry:
    """One command of the paired controller: ok or not, and how long it took end to end."""

    ok: bool
    ms: float
    error: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"ok in {self.ms:.0f} ms"
        return f"FAILED after {self.ms:.0f} ms ({self.error})"


@dataclass
class AttackReport:
    """What the attack did to the receiver, and whether a paired controller was hurt."""

    count: int
    attack_s: float
    nofile: tuple[int, int]
    descriptors_before: int = 0
    descriptors_peak: int = 0
    attacker: dict[str, int] = field(default_factory=dict)  # the slow clients' last tally
    live: ControllerTry | None = None  # a command through the session opened before the attack
    live_dropped: bool = False  # that session was lost during the attack
    during: ControllerTry | None = None  # connecting afresh while the attack goes on
    probes: list[ControllerTry] = field(default_factory=list)  # more of them, for the bench
    after: ControllerTry | None = None
    saved_live: bool = False
    saved_during: bool = False
    saved_after: bool = False
    log_bytes: int = 0  # what the receiver wrote to its log while the attack ran
    log_seconds: float = 0.0
    cpu_s: float = 0.0  # CPU time the receiver spent while the attack ran
    check: str = ""  # what `baton-receiver --check` says of the running receiver, after it
    output: list[str] = field(default_factory=list)

    @property
    def log_bytes_per_minute(self) -> float:
        """The receiver's log rate while under attack."""
        return self.log_bytes * 60 / self.log_seconds if self.log_seconds else 0.0

    def summary(self) -> str:
        """The figures in one paragraph, for a test's -s output and the bench's log."""
        return (
            f"{self.count} slow TLS connections for {self.log_seconds:.0f} s (nofile "
            f"{self.nofile[0]}:{self.nofile[1]}): descriptors {self.descriptors_before} -> peak "
            f"{self.descriptors_peak}; attacker {self.attacker}; live session: {self.live}"
            f"{' (DROPPED)' if self.live_dropped else ''}; fresh controller during: "
            f"{self.during}, after: {self.after}; saved live/during/after: {self.saved_live}/"
            f"{self.saved_during}/{self.saved_after}; log "
            f"{self.log_bytes_per_minute / 1e6:.3f} MB/min; receiver CPU "
            f"{self.cpu_s / self.log_seconds if self.log_seconds else 0:.2f} cores; "
            f"--check after it: {self.check}"
        )


async def slow_attack(
    workdir: Path,
    *,
    count: int = 1000,
    attack_s: float = 20.0,
    interval_s: float = 5.0,
    nofile: tuple[int, int] = (1024, 1024),
    ramp_s: float = 10.0,
    netns: bool = True,
    probe_every_s: float = 0.0,
) -> AttackReport:
    """Run the attack for *attack_s* seconds (see the module docstring); return the figures.

    Without *netns* (no root) everything runs on loopback: the receiver on 127.0.0.1, the
    attacker from 127.0.0.2 (another peer address all the same), the controller in-process.
    With *probe_every_s*, the controller also connects afresh and commands that often for the
    rest of the attack (`probes`).
    """
    report = AttackReport(count, attack_s, nofile)
    limit = ["prlimit", f"--nofile={nofile[0]}:{nofile[1]}", "--"]
    credentials = workdir / "controller"
    if not netns:
        receiver = await start_receiver(workdir, "Attacked Speaker", pairing="pin", wrapper=limit)
        side = _HostB(receiver, credentials, report, interval_s, ramp_s, LOOPBACK_ATTACKER)
        side.probe_every_s = probe_every_s
        await _measured(receiver, report, side.async_run)
        return report
    with netns_pair() as pair:
        pair.add_address("b", f"{ATTACKER_ADDRESS}/24")
        receiver = await start_receiver(
            workdir,
            "Attacked Speaker",
            pairing="pin",
            interface=pair.links["a"],
            wrapper=[*pair.exec_argv("a", []), *limit],
        )
        side = _HostB(receiver, credentials, report, interval_s, ramp_s, ATTACKER_ADDRESS)
        side.probe_every_s = probe_every_s
        await _measured(receiver, report, lambda: pair.async_run_in("b", side.async_run))
    return report


async def _measured(
    receiver: RunningReceiver, report: AttackReport, host_b: Callable[[], Awaitable[None]]
) -> None:
    """Run *host_b* while counting the receiver's descriptors; stop the receiver after."""
    sampler = asyncio.ensure_future(_sample_descriptors(receiver, report))
    try:
        await host_b()
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        if receiver.process.returncode is None:
            with contextlib.suppress(TimeoutError):
                await receiver.stop()
        report.output = receiver.output


class _HostB:
    """Everything host b does, on its own event loop in a thread that joined namespace b."""

    def __init__(
        self,
        receiver: RunningReceiver,
        credentials: Path,
        report: AttackReport,
        interval_s: float,
        ramp_s: float,
        attacker_address: str,
    ) -> None:
        self.attacker_address = attacker_address
        self.receiver = receiver
        self.credentials = credentials
        self.report = report
        self.interval_s = interval_s
        self.ramp_s = ramp_s

    async def async_run(self) -> None:
        """Pair, open the live session, attack, command during and after, check the saves."""
        report, receiver = self.report, self.receiver
        live = _controller(self.credentials)
        await live.async_start()
        try:
            entry = await live.async_add_address(receiver.host, receiver.port)
            code = (receiver.state_dir / "pairing-code").read_text().strip()
            await live.async_pair(entry.id, code)
            assert (await live.async_command(entry.id, m.SetVolume(11))).ok
            dropped = live.connection(entry.id).subscribe(self._watch_drop)
            report.descriptors_before = _descriptors(receiver)
            await self._attack(live)
            dropped()
        finally:
            await live.async_close()
        report.after = await self._fresh_command(33)
        report.saved_after = await _saved(receiver, 33)
        report.check = _check_running(receiver.state_dir)

    def _watch_drop(self, event: ConnectionEvent) -> None:
        if isinstance(event, Disconnected) and self.attacking:
            self.report.live_dropped = True

    attacking = False
    probe_every_s = 0.0

    async def _attack(self, live: Controller) -> None:
        report, receiver = self.report, self.receiver
        argv = [
            sys.executable, "-m", "tests.faults.slow_clients", receiver.host,
            str(receiver.port), "--count", str(report.count), "--interval", str(self.interval_s),
            "--tls", "--reopen", "--source", self.attacker_address,
        ]  # fmt: skip
        logged_before = _output_bytes(receiver)
        cpu_before = _cpu_seconds(receiver)
        started = time.monotonic()
        self.attacking = True
        attacker = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=ROOT
        )
        tally = asyncio.ensure_future(_read_tally(attacker, report))
        try:
            # The attack builds up: every connection opened, or the server stopped taking them.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.ramp_s):
                    while report.attacker.get("opened", 0) < report.count:  # noqa: ASYNC110
                        await asyncio.sleep(0.2)  # the attacker reports once a second
            report.live = await _timed(
                lambda: live.async_command(receiver.device_id, m.SetVolume(21))
            )
            report.saved_live = await _saved(receiver, 21)
            report.during = await self._fresh_command(22)
            report.saved_during = await _saved(receiver, 22)
            end = started + report.attack_s
            while self.probe_every_s and time.monotonic() + self.probe_every_s < end:
                await asyncio.sleep(self.probe_every_s)
                report.probes.append(await self._fresh_command(60 + len(report.probes) % 30))
            await asyncio.sleep(max(0.0, end - time.monotonic()))  # the attack's full length
        finally:
            self.attacking = False
            report.log_seconds = time.monotonic() - started
            report.log_bytes = _output_bytes(receiver) - logged_before
            report.cpu_s = _cpu_seconds(receiver) - cpu_before
            with contextlib.suppress(ProcessLookupError):
                attacker.terminate()
            await attacker.wait()
            tally.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tally

    async def _fresh_command(self, volume: int) -> ControllerTry:
        """Connect afresh with the paired credential and set the volume, timed end to end."""
        controller = _controller(self.credentials)
        receiver = self.receiver

        async def connect_and_command() -> m.CommandResult:
            await controller.async_add_address(receiver.host, receiver.port)
            return await controller.async_command(
                receiver.device_id, m.SetVolume(volume), timeout=CONTROLLER_TIMEOUT_S
            )

        await controller.async_start()
        try:
            return await _timed(connect_and_command)
        finally:
            await controller.async_close()


async def _timed(command: Callable[[], Awaitable[m.CommandResult]]) -> ControllerTry:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CONTROLLER_TIMEOUT_S):
            result = await command()
    except Exception as exc:  # the figure is whether it worked: any failure is the answer
        return ControllerTry(False, (time.perf_counter() - started) * 1000, repr(exc))
    ms = (time.perf_counter() - started) * 1000
    return ControllerTry(result.ok, ms, "" if result.ok else str(result.failure))


def _controller(credentials: Path) -> Controller:
    identity = m.ClientIdentity("attack-test-controller", "Paired controller")
    return Controller(identity, browse=False, credentials=CredentialStore(credentials))


async def _saved(receiver: RunningReceiver, volume: int) -> bool:
    """Wait until the receiver's session file holds *volume*; False after SAVE_TIMEOUT_S."""
    store = SessionStore(receiver.state_dir)
    deadline = time.monotonic() + SAVE_TIMEOUT_S
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # a file being replaced, or still the old one
            saved = store.load_session()
            if saved is not None and saved.volume == volume:
                return True
        await asyncio.sleep(0.1)  # the file has no event to wait on
    return False


async def _read_tally(attacker: asyncio.subprocess.Process, report: AttackReport) -> None:
    assert attacker.stdout is not None
    while line := await attacker.stdout.readline():
        with contextlib.suppress(ValueError):
            report.attacker = json.loads(line)


async def _sample_descriptors(receiver: RunningReceiver, report: AttackReport) -> None:
    while True:
        report.descriptors_peak = max(report.descriptors_peak, _descriptors(receiver))
        await asyncio.sleep(0.25)  # a sampling interval: /proc has no event to wait on


def _descriptors(receiver: RunningReceiver) -> int:
    try:
        return sum(1 for _ in Path(f"/proc/{receiver.process.pid}/fd").iterdir())
    except OSError:
        return 0


def _check_running(state_dir: Path) -> str:
    try:  # the same scenario measures the receiver before issue 13, which had no such check
        from devices.check import check_running
    except ImportError:
        return "(no --check of a running receiver)"
    result = check_running(state_dir)
    return f"{'ok' if result.ok else 'FAIL'}: {result.detail}"


def _cpu_seconds(receiver: RunningReceiver) -> float:
    try:
        fields = Path(f"/proc/{receiver.process.pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _output_bytes(receiver: RunningReceiver) -> int:
    return sum(len(line.encode()) for line in list(receiver.output))


def main() -> None:
    """By hand: python -m tests.faults.slow_attack [COUNT [SECONDS [LOG]]] (root only)."""
    import tempfile

    args = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        count = int(args[0]) if args else 1000
        seconds = float(args[1]) if args[1:] else 20.0
        report = asyncio.run(slow_attack(Path(tmp), count=count, attack_s=seconds))
    print(report.summary())
    if args[2:]:
        Path(args[2]).write_text("".join(report.output))


if __name__ == "__main__":
    main()
