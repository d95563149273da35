"""`baton demo`: three receivers on loopback, a generated library, and the app or a scripted tour.

Everything runs on this machine and only on loopback (mDNS too); as root, in a network
namespace of the demo's own (client/demo_netns.py), where a UPnP renderer can join too. With a
display the demo opens the app on the demo library; without one (no DISPLAY/WAYLAND_DISPLAY, or
QT_QPA_PLATFORM offscreen), or with `--headless`, it runs a tour instead (discover, play on
Living Room, transfer to Car, pause, transfer to this computer, then to each bridged device
and back to Car), printing each step with its timing.
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
import signal
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from client.app.display import has_display
from client.demo_library import DemoTrack, write_demo_library
from client.demo_netns import enter_private_network
from client.demo_owned import OwnedDevices
from client.demo_receivers import (
    DemoFailed,
    DemoReceiver,
    output_for,
    start_receivers,
    stop_receivers,
)
from client.demo_traces import DEMO_USER, keep_viewer_open, trace_controller
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

LEFT_FOR_THE_LISTENER = "Bedroom TV"  # the windowed demo leaves it to pair with the keypad
_STEP_TIMEOUT_S = 20.0


class _Clock:
    """Prints tour steps with the time since the demo started."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def say(self, text: str) -> None:
        print(f"[{time.perf_counter() - self.start:6.2f} s] {text}", flush=True)


def run_demo(*, headless: bool, audio: str = "afile", keep_viewer: bool = False) -> int:
    """Run the demo (as root, in a network namespace this process first moves into, for good);
    return the process exit code."""
    if not headless and not has_display():
        print("No display here: running the headless tour instead.", flush=True)
        headless = True
    # First, before any thread starts: the namespace is the calling thread's only.
    network, why_not = enter_private_network(windowed=not headless)
    owned = OwnedDevices(network, why_not, audio)
    try:
        if not headless:
            return _run_windowed(audio, owned)
        return asyncio.run(_main(audio=audio, owned=owned, keep_viewer=keep_viewer))
    except KeyboardInterrupt:  # a second Ctrl-C during cleanup
        return 130


def _run_windowed(audio: str, owned: OwnedDevices) -> int:
    """Start the receivers on a helper thread, open the app on the demo library, stop them."""
    from client.app.bridge import CoreThread
    from client.app.main import LaunchOptions, run_app

    clock = _Clock()
    work = Path(tempfile.mkdtemp(prefix="baton-demo-"))
    helper = CoreThread("baton-demo")
    helper.start()
    receivers: list[DemoReceiver] = []
    collector = owned.collector()
    try:
        clock.say(f"writing the demo library into {work / 'library'}")
        owned.say_where(clock.say)
        write_demo_library(work / "library")
        helper.submit(collector.async_start(clock.say, work)).result(60)
        receivers = helper.submit(
            start_receivers(clock.say, work, audio, collector.url, collector.ingest_token)
        ).result(120)
        helper.submit(owned.async_start(work, clock.say)).result(90)
        # The app keeps its credentials where the demo says: the demo's devices are gone
        # after it, and the user's own credentials file stays untouched.
        os.environ["BATON_CONFIG_DIR"] = str(work / "config")
        inside = owned.network.cli_prefix() if owned.network else ""
        clock.say(
            f"the app's credentials are in {work / 'config'}; to use the CLI with these "
            f"devices: {inside}env BATON_CONFIG_DIR={work / 'config'} baton devices"
        )
        helper.submit(_pair_for_the_app(clock, receivers)).result(60)
        clock.say("opening the app (close the window or press Ctrl-C to stop)")
        return run_app(
            LaunchOptions(
                music_folder=work / "library",
                device_name="This computer",
                interfaces=("127.0.0.1",),
                local_audio=output_for(work, "this-computer", audio),
                state_dir=work / "app-state",
                settings_file=work / "app.toml",
                trace_collector=collector.url,
                trace_user=DEMO_USER,
                trace_token=collector.ingest_token,
            )
        )
    finally:
        with contextlib.suppress(Exception):
            helper.submit(owned.async_close()).result(30)
            helper.submit(stop_receivers(clock.say, receivers)).result(30)
            helper.submit(collector.async_close()).result(30)
        helper.stop()
        clock.say(f"done. Library, saved sessions and recordings are in {work}")


async def _main(*, audio: str, owned: OwnedDevices, keep_viewer: bool = False) -> int:
    clock = _Clock()
    work = Path(tempfile.mkdtemp(prefix="baton-demo-"))
    tour = asyncio.ensure_future(_tour(clock, work, audio, owned, keep_viewer))
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


async def _tour(
    clock: _Clock, work: Path, audio: str, owned: OwnedDevices, keep_viewer: bool = False
) -> None:
    clock.say(f"writing the demo library into {work / 'library'}")
    owned.say_where(clock.say)
    tracks = write_demo_library(work / "library")
    library = LibraryServer(work / "library")
    receivers: list[DemoReceiver] = []
    controller = Controller(
        default_identity("baton demo"),
        interfaces=["127.0.0.1"],
        credentials=CredentialStore(work / "config"),
    )
    collector = owned.collector()
    tracing: Tracing | None = None
    interrupted = False
    try:
        await library.async_start()
        clock.say(
            f"serving the library on 127.0.0.1:{library.port} (every URL carries a token "
            "drawn at this start)"
        )
        await collector.async_start(clock.say, work)
        receivers = await start_receivers(
            clock.say, work, audio, collector.url, collector.ingest_token
        )
        tracing = trace_controller(collector, controller, work)
        await controller.async_start()
        await _discover(clock, controller, receivers)
        for receiver in receivers:
            await _pair(clock, controller, receiver)
        await owned.async_start(work, clock.say)
        for device in owned.devices:
            if device.device_id:
                await controller.async_add_address("127.0.0.1", device.port)
        await _play_and_control(clock, controller, receivers[0], library, tracks)
        await _transfers(clock, controller, receivers, work, audio, owned.started)
    except asyncio.CancelledError:
        interrupted = True
        raise
    finally:
        await controller.async_close()
        if tracing is not None:  # before the collector stops: what is pending reaches it
            await asyncio.to_thread(tracing.shutdown)
        await owned.async_close()
        await stop_receivers(clock.say, receivers)
        if keep_viewer and collector.url and not interrupted:
            await keep_viewer_open(clock.say, collector)
        await collector.async_close()
        await library.async_close()


async def _discover(clock: _Clock, controller: Controller, receivers: list[DemoReceiver]) -> None:
    began = time.perf_counter()
    for receiver in receivers:
        entry = await controller.async_find(receiver.device_id, timeout=_STEP_TIMEOUT_S)
        waited = (time.perf_counter() - began) * 1000
        clock.say(f"discovered {entry.name!r} over mDNS ({waited:.0f} ms after browsing began)")


async def _pair(clock: _Clock, controller: Controller, receiver: DemoReceiver) -> None:
    """Pair *controller* with *receiver* using the code it shows, as a person would."""
    began = time.perf_counter()
    credential = await controller.async_pair(receiver.device_id, receiver.pairing_code())
    took = (time.perf_counter() - began) * 1000
    role = credential.role.name.lower()
    clock.say(f"paired with {receiver.name!r} as {role} using its code: ok in {took:.0f} ms")


async def _pair_for_the_app(clock: _Clock, receivers: list[DemoReceiver]) -> None:
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
    receiver: DemoReceiver,
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
    receivers: list[DemoReceiver],
    work: Path,
    audio: str,
    bridged: list[tuple[str, str]],
) -> None:
    """Living Room -> Car, pause, Car -> this computer (an in-process receiver), resume there;
    then to each bridged device (id, name) and on to Car (stop-first: they cannot start at an
    instant, and the tour says so)."""
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
            "This computer", work / "this-computer-state", output_for(work, "this-computer", audio)
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
        playing = (entry.id, "This computer")
        for device in bridged:
            await _transfer(clock, coordinator, playing, *device)
            await asyncio.sleep(1.0)  # let it play there for a second
            await _transfer(clock, coordinator, device, car.device_id, car.name)
            playing = _named(car)
    finally:
        if here_id:  # leave before it says goodbye, so its departure is not news
            await controller.connection(here_id).async_close()
        await local.async_close()


def _named(receiver: DemoReceiver) -> tuple[str, str]:
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
    if t is not None and outcome.mode is m.TransferMode.STOP_FIRST:
        # A stop-first target's position error counts the gap; what a listener hears is where
        # the music went on against where the source stopped.
        detail += f", went on {t.position_error_ms + t.gap_us / 1000:+.0f} ms from where it stopped"
    clock.say(f"{what}: ok in {took:.0f} ms ({detail})")
    if outcome.mode is m.TransferMode.STOP_FIRST:
        clock.say(f"  ({outcome.mode_reason})")
    return outcome
