"""`baton demo`: three receivers on loopback, a generated library, and the app or a scripted tour.

Everything runs on this machine and only on loopback (mDNS too). With a display the demo opens
the app on the demo library; without one (no DISPLAY/WAYLAND_DISPLAY, or QT_QPA_PLATFORM
offscreen), or with `--headless`, it runs a tour instead (discover, play on Living Room,
transfer to Car, pause, transfer to this computer), printing each step with its timing.
Every device traces to a collector the demo starts (its viewer's address and token are
printed); with `keep_viewer` the tour leaves the viewer running until Ctrl-C.

The receivers are in pin mode, as real ones are by default, and the demo pairs with them the
way a person would: it reads the code each one shows (its `pairing-code` file). The tour pairs
with all three; the app is paired beforehand with Living Room and Car, and Bedroom TV is left
for the listener to pair on the Devices screen with the code the demo prints. Credentials go
to the demo's own directory, never to the user's.
Ctrl-C stops everything cleanly, and nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from client.app.display import has_display
from client.demo_bridges import NAME as BRIDGED_NAME
from client.demo_bridges import DemoBridge
from client.demo_library import DemoTrack, write_demo_library
from client.demo_traces import DEMO_USER, DemoCollector, trace_controller
from client.library_server import LibraryServer
from connect.access import CredentialStore
from connect.clock import monotonic_us
from connect.controller import Controller, default_identity
from connect.errors import ConnectError
from connect.session import DeviceConnection
from connect.transfer.coordinator import TransferCoordinator, TransferOutcome
from connect.wire import messages as m

if TYPE_CHECKING:
    from tracing.setup import Tracing

RECEIVERS = (("Living Room", "speaker"), ("Car", "car"), ("Bedroom TV", "tv"))
LEFT_FOR_THE_LISTENER = "Bedroom TV"  # the windowed demo leaves it to pair with the keypad
_READY = re.compile(r"id (?P<id>[0-9a-f]+)\) listening on [^:]+:(?P<port>\d+)")
_STEP_TIMEOUT_S = 20.0


class DemoFailed(Exception):  # noqa: N818 - a user-facing outcome, printed as one line
    """A tour step did not work; the message says which and why."""


@dataclass
class _Receiver:
    name: str
    process: asyncio.subprocess.Process
    state_dir: Path
    device_id: str = ""
    port: int = 0

    def pairing_code(self) -> str:
        """Return the code the receiver shows now (it writes it to its state directory)."""
        try:
            return (self.state_dir / "pairing-code").read_text(encoding="utf-8").strip()
        except (OSError, ValueError) as exc:  # ValueError: bytes that are not UTF-8
            raise DemoFailed(f"cannot read {self.name!r}'s pairing code: {exc}") from exc


class _Clock:
    """Prints tour steps with the time since the demo started."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def say(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.start:6.2f} s] {text}", flush=True)


def run_demo(*, headless: bool, audio: str = "afile", keep_viewer: bool = False) -> int:
    """Run the demo; return the process exit code."""
    if not headless and not has_display():
        print("No display here: running the headless tour instead.", flush=True)
        headless = True
    try:
        if not headless:
            return _run_windowed(audio)
        return asyncio.run(_main(audio=audio, keep_viewer=keep_viewer))
    except KeyboardInterrupt:  # a second Ctrl-C during cleanup
        return 130


def _run_windowed(audio: str) -> int:
    """Start the receivers on a helper thread, open the app on the demo library, stop them."""
    from client.app.bridge import CoreThread
    from client.app.main import LaunchOptions, run_app

    clock = _Clock()
    work = Path(tempfile.mkdtemp(prefix="baton-demo-"))
    helper = CoreThread("baton-demo")
    helper.start()
    receivers: list[_Receiver] = []
    collector = DemoCollector()
    bridged = DemoBridge()
    try:
        clock.say(f"writing the demo library into {work / 'library'}")
        write_demo_library(work / "library")
        helper.submit(collector.async_start(clock.say, work)).result(60)
        receivers = helper.submit(
            _start_receivers(clock, work, audio, collector.url, collector.ingest_token)
        ).result(120)
        helper.submit(bridged.async_start(work, clock.say)).result(60)
        # The app keeps its credentials where the demo says: the demo's devices are gone
        # after it, and the user's own credentials file stays untouched.
        os.environ["BATON_CONFIG_DIR"] = str(work / "config")
        clock.say(
            f"the app's credentials are in {work / 'config'}; to use the CLI with these "
            f"devices: BATON_CONFIG_DIR={work / 'config'} baton devices"
        )
        helper.submit(_pair_for_the_app(clock, receivers)).result(60)
        clock.say("opening the app (close the window or press Ctrl-C to stop)")
        return run_app(
            LaunchOptions(
                music_folder=work / "library",
                device_name="This computer",
                interfaces=("127.0.0.1",),
                local_audio=_output_for(work, "this-computer", audio),
                state_dir=work / "app-state",
                settings_file=work / "app.toml",
                trace_collector=collector.url,
                trace_user=DEMO_USER,
                trace_token=collector.ingest_token,
            )
        )
    finally:
        with contextlib.suppress(Exception):
            helper.submit(bridged.async_close()).result(30)
            helper.submit(_stop_receivers(clock, receivers)).result(30)
            helper.submit(collector.async_close()).result(30)
        helper.stop()
        clock.say(f"done. Library, saved sessions and recordings are in {work}")


def _output_for(work: Path, slug: str, audio: str) -> str:
    return f"afile:{work / (slug + '.wav')}" if audio == "afile" else audio


async def _main(*, audio: str, keep_viewer: bool = False) -> int:
    clock = _Clock()
    work = Path(tempfile.mkdtemp(prefix="baton-demo-"))
    tour = asyncio.ensure_future(_tour(clock, work, audio, keep_viewer))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, tour.cancel)
    try:
        await tour
    except asyncio.CancelledError:
        clock.say("interrupted: everything stopped")
        return 130
    except (DemoFailed, ConnectError, OSError) as exc:
        clock.say(f"demo failed: {exc}")
        return 1
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    clock.say(f"done. Library, saved sessions and recordings are in {work}")
    return 0


async def _tour(clock: _Clock, work: Path, audio: str, keep_viewer: bool = False) -> None:
    clock.say(f"writing the demo library into {work / 'library'}")
    tracks = write_demo_library(work / "library")
    library = LibraryServer(work / "library")
    receivers: list[_Receiver] = []
    controller = Controller(
        default_identity("baton demo"),
        interfaces=["127.0.0.1"],
        credentials=CredentialStore(work / "config"),
    )
    collector = DemoCollector()
    bridged = DemoBridge()
    tracing: Tracing | None = None
    interrupted = False
    try:
        await library.async_start()
        clock.say(
            f"serving the library on 127.0.0.1:{library.port} (every URL carries a token "
            "drawn at this start)"
        )
        await collector.async_start(clock.say, work)
        receivers = await _start_receivers(
            clock, work, audio, collector.url, collector.ingest_token
        )
        tracing = trace_controller(collector, controller, work)
        await controller.async_start()
        await _discover(clock, controller, receivers)
        for receiver in receivers:
            await _pair(clock, controller, receiver)
        if await bridged.async_start(work, clock.say):
            await controller.async_add_address("127.0.0.1", bridged.port)
        await _play_and_control(clock, controller, receivers[0], library, tracks)
        await _transfers(clock, controller, receivers, work, audio, bridged.device_id)
    except asyncio.CancelledError:
        interrupted = True
        raise
    finally:
        await controller.async_close()
        if tracing is not None:  # before the collector stops: what is pending reaches it
            await asyncio.to_thread(tracing.shutdown)
        await bridged.async_close()
        await _stop_receivers(clock, receivers)
        if keep_viewer and collector.url and not interrupted:
            await _keep_viewer(clock, collector)
        await collector.async_close()
        await library.async_close()


async def _keep_viewer(clock: _Clock, collector: DemoCollector) -> None:
    """Leave the trace viewer running, with everything the tour traced, until Ctrl-C."""
    clock.say(
        f"the trace viewer stays at {collector.url}/ (user {DEMO_USER!r}, token "
        f"{collector.token}); press Ctrl-C to stop it"
    )
    task = asyncio.current_task()
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        # Ctrl-C is how this step ends: it is not an interruption of the tour.
        if task is not None:
            task.uncancel()


async def _start_receivers(
    clock: _Clock, work: Path, audio: str, collector: str = "", token: str = ""
) -> list[_Receiver]:
    traced = ["--trace-endpoint", collector, "--user", DEMO_USER] if collector else []
    if collector and token:
        traced += ["--trace-token", token]
    started = []
    try:
        for name, kind in RECEIVERS:
            slug = name.lower().replace(" ", "-")
            output = _output_for(work, slug, audio)
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "devices.cli", "--name", name, "--type", kind,
                "--interface", "lo", "--audio-output", output,
                "--state-dir", str(work / f"{slug}-state"), "--pairing", "pin", *traced,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
            )  # fmt: skip
            receiver = _Receiver(name, process, work / f"{slug}-state")
            started.append(receiver)
            await _wait_ready(receiver)
            clock.say(f"started {name!r} ({kind}) on 127.0.0.1:{receiver.port}, audio -> {output}")
    except BaseException:
        await _stop_receivers(clock, started)
        raise
    return started


async def _wait_ready(receiver: _Receiver) -> None:
    stdout = receiver.process.stdout
    assert stdout is not None
    async with asyncio.timeout(_STEP_TIMEOUT_S):
        while line := (await stdout.readline()).decode(errors="replace"):
            found = _READY.search(line)
            if found:
                receiver.device_id, receiver.port = found["id"], int(found["port"])
                return
    raise DemoFailed(f"receiver {receiver.name!r} did not start (is libVLC installed?)")


async def _discover(clock: _Clock, controller: Controller, receivers: list[_Receiver]) -> None:
    began = time.perf_counter()
    for receiver in receivers:
        entry = await controller.async_find(receiver.device_id, timeout=_STEP_TIMEOUT_S)
        waited = (time.perf_counter() - began) * 1000
        clock.say(f"discovered {entry.name!r} over mDNS ({waited:.0f} ms after browsing began)")


async def _pair(clock: _Clock, controller: Controller, receiver: _Receiver) -> None:
    """Pair *controller* with *receiver* using the code it shows, as a person would."""
    began = time.perf_counter()
    credential = await controller.async_pair(receiver.device_id, receiver.pairing_code())
    took = (time.perf_counter() - began) * 1000
    role = credential.role.name.lower()
    clock.say(f"paired with {receiver.name!r} as {role} using its code: ok in {took:.0f} ms")


async def _pair_for_the_app(clock: _Clock, receivers: list[_Receiver]) -> None:
    """Pair the app (its identity from $BATON_CONFIG_DIR) with all but one receiver."""
    from client.app.access import app_identity

    store = CredentialStore()
    identity, problem = app_identity(store, "Baton on This computer")
    if problem:
        raise DemoFailed(problem)
    controller = Controller(identity, browse=False, credentials=store)
    await controller.async_start()
    try:
        for receiver in receivers:
            if receiver.name == LEFT_FOR_THE_LISTENER:
                clock.say(
                    f"{receiver.name!r} is left for you to pair: choose it on the Devices "
                    f"screen and enter {receiver.pairing_code()}"
                )
                continue
            await controller.async_add_address("127.0.0.1", receiver.port)
            await _pair(clock, controller, receiver)
    finally:
        await controller.async_close()


async def _play_and_control(
    clock: _Clock,
    controller: Controller,
    receiver: _Receiver,
    library: LibraryServer,
    tracks: list[DemoTrack],
) -> None:
    queue = tuple(
        m.QueueItem(
            uid=f"demo-{n}",
            url=library.url_for(track.path),
            title=track.title,
            artist=track.artist,
            album=track.album,
            duration_ms=track.duration_ms,
            content_type="audio/wav",
        )
        for n, track in enumerate(t for t in tracks if t.album == tracks[0].album)
    )
    device = receiver.device_id
    what = f"play the album {tracks[0].album!r} on {receiver.name!r}"
    await _timed(clock, controller, device, m.SetQueue(queue, play=True), what)
    conn = controller.connection(device)
    await asyncio.sleep(2.0)  # let the listener hear two seconds of it
    await conn.async_sync_clock(samples=3)
    _say_status(clock, conn, receiver.name)
    await _timed(clock, controller, device, m.Pause(), "pause")
    await _timed(clock, controller, device, m.Resume(), "resume")
    await _timed(clock, controller, device, m.SkipNext(), "next track")
    await _timed(clock, controller, device, m.SetVolume(35), "volume 35")
    await asyncio.sleep(1.0)
    await conn.async_sync_clock(samples=3)
    _say_status(clock, conn, receiver.name)


async def _timed(
    clock: _Clock, controller: Controller, device: str, action: m.Action, what: str
) -> None:
    began = time.perf_counter()
    result = await controller.async_command(device, action, timeout=_STEP_TIMEOUT_S)
    took = (time.perf_counter() - began) * 1000
    if result.failure is not None:
        raise DemoFailed(f"{what}: {result.failure.code.name.lower()}: {result.failure.message}")
    clock.say(f"{what}: ok in {took:.0f} ms (revision {result.revision})")


def _say_status(clock: _Clock, conn: DeviceConnection, name: str) -> None:
    state, estimate = conn.state, conn.clock
    if state is None or estimate is None:
        raise DemoFailed(f"{name!r} sent no state")
    item = state.current_item
    position = state.clock.position_at(estimate.to_device(monotonic_us())) / 1000
    title = item.title if item else "nothing"
    clock.say(
        f"{name!r} is {state.status.name.lower()}: {title!r} at {position:.1f} s, "
        f"volume {state.volume} (clock offset {estimate.offset_us} µs ± {estimate.error_bound_us})"
    )


async def _transfers(
    clock: _Clock,
    controller: Controller,
    receivers: list[_Receiver],
    work: Path,
    audio: str,
    bridged_id: str = "",
) -> None:
    """Living Room -> Car, pause, Car -> this computer (an in-process receiver), resume there;
    then, with the bridged MPD, this computer -> MPD -> Car (stop-first: the MPD cannot start
    at an instant, and the tour says so)."""
    from client.app.local_device import LOOPBACK, LocalDevice, LocalDeviceSettings

    living_room, car = receivers[0], receivers[1]
    coordinator = TransferCoordinator(controller)
    await _transfer(clock, coordinator, _named(living_room), car.device_id, car.name)
    await asyncio.sleep(1.5)
    car_conn = controller.connection(car.device_id)
    await car_conn.async_sync_clock(samples=3)
    _say_status(clock, car_conn, car.name)
    await _timed(clock, controller, car.device_id, m.Pause(), "pause on 'Car'")
    local = LocalDevice(
        LocalDeviceSettings(
            "This computer", work / "this-computer-state", _output_for(work, "this-computer", audio)
        )
    )
    here_id = ""
    try:
        listening = await local.async_start()
        # The app owns its in-process receiver without a code; the tour does the same.
        owner = local.owner_credential(controller.identity, "This computer")
        if controller.credentials is not None:
            controller.credentials.save(owner)
        entry = await controller.async_add_address(LOOPBACK, listening.port)
        here_id = entry.id
        clock.say(f"started 'This computer' in this process on {LOOPBACK}:{listening.port}")
        await _transfer(clock, coordinator, _named(car), entry.id, "This computer")
        await _timed(clock, controller, entry.id, m.Resume(), "resume on 'This computer'")
        await asyncio.sleep(1.0)
        here = controller.connection(entry.id)
        await here.async_sync_clock(samples=3)
        _say_status(clock, here, "This computer")
        if bridged_id:
            here_named = (entry.id, "This computer")
            await _transfer(clock, coordinator, here_named, bridged_id, BRIDGED_NAME)
            await asyncio.sleep(1.0)
            await _transfer(clock, coordinator, (bridged_id, BRIDGED_NAME), car.device_id, car.name)
    finally:
        if here_id:  # leave before it says goodbye, so its departure is not news
            await controller.connection(here_id).async_close()
        await local.async_close()


def _named(receiver: _Receiver) -> tuple[str, str]:
    return receiver.device_id, receiver.name


async def _transfer(
    clock: _Clock,
    coordinator: TransferCoordinator,
    source: tuple[str, str],
    target_id: str,
    target_name: str,
) -> TransferOutcome:
    """Move the music from *source* (its id and name) to the target; say how it went."""
    began = time.perf_counter()
    outcome = await coordinator.async_transfer(source[0], target_id)
    took = (time.perf_counter() - began) * 1000
    what = f"transfer {source[1]!r} -> {target_name!r}"
    if not outcome.ok:
        assert outcome.failure is not None
        raise DemoFailed(f"{what}: {outcome.failure.code.name.lower()}: {outcome.failure.message}")
    t = outcome.timings
    detail = (
        f"audible after {t.request_to_audible_ms} ms, gap {t.gap_us / 1000:.1f} ms, "
        f"position error {t.position_error_ms} ms"
        if t is not None
        else "no timings reported"
    )
    clock.say(f"{what}: ok in {took:.0f} ms ({detail})")
    if outcome.mode is m.TransferMode.STOP_FIRST:
        clock.say(f"  ({outcome.mode_reason})")
    return outcome


async def _stop_receivers(clock: _Clock, receivers: list[_Receiver]) -> None:
    for receiver in receivers:
        if receiver.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                receiver.process.send_signal(signal.SIGTERM)
    for receiver in receivers:
        try:
            await asyncio.wait_for(receiver.process.wait(), timeout=10)
        except TimeoutError:
            receiver.process.kill()
            await receiver.process.wait()
    if receivers:
        clock.say(f"stopped {len(receivers)} receivers")
