"""Bridges benchmark: devices people already own (MPD, a UPnP/DLNA renderer, an AirPlay
speaker, a Snapcast group) beside Baton's own.

Per kind, against the real peers the tests use (Debian's `mpd`, `gmediarender`,
`shairport-sync`, `snapserver` with a `snapclient`, started here; tests/mpd_peer.py,
tests/upnp_peer.py, tests/airplay_peer.py, tests/snapcast_peer.py) and the real `baton-bridge`
process:

* discovery: from the bridge process's spawn until a `DeviceRegistry` browsing in this process
  lists the bridged device on mDNS (the bridge reaches the device, then serves and announces);
* command -> state echo: a SetVolume's round trip from this controller (the device publishes
  the new state before it answers, so the answer's arrival is the echo's), which holds the
  bridge's own round trip to the device;
* transfers from a Baton receiver to the device and back, side by side with a Baton -> Baton
  handoff in the same run: request -> audible, the gap, the position error (against where the
  source's music would be had it played on) and the content jump (against where the source
  stopped, what a stop-first switch aims at), as the outcome reports them: the devices' Done
  reports (a receiver's are exact; a bridged device's are its own position read back, within
  its stated uncertainty; tests/integration/bridges/ checks them against the recordings).

The device's protocol sets the floor of the stop-first figures: a bridged device cannot start
at an instant, so its transfers stop the source first (its stop, then the offer, the device's
open and start) and its gap is that whole path; a renderer starts muted, seeks once its track
is open and reports whole seconds; an AirPlay speaker is heard RAOP's latency after its
stream starts (pyatv's 1.5 s and the speaker's buffer: about 1.7 s after its set-up); a
Snapcast group hears what it is fed the server's buffer (1 s) later. The UPnP part needs root
(a veth pair: libupnp refuses loopback) and gmediarender, the AirPlay part root (Avahi on lo,
in a mount namespace) and shairport-sync; without them they are left out, saying why.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from bench._runner import Measurement
from bench.session import stop_process
from connect.controller import Controller
from connect.discovery import DeviceEvent, DeviceRegistry
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from tests.airplay_peer import shairport_installed, start_speaker
from tests.audio import write_position_track
from tests.media_server import MediaServer
from tests.mpd_peer import READY, mpd_installed, start_mpd
from tests.receivers import RunningReceiver, start_receiver
from tests.snapcast_peer import snapcast_installed, start_snapcast
from tests.upnp_peer import gmediarender_installed, renderer_link, start_renderer

STEP_TIMEOUT_S = 15.0
PLAY_BEFORE_MOVE_S = 1.5
# The longest position track (tests/audio.py MAX_SEGMENTS): a round of four moves, AirPlay's
# ~2 s starts included, takes about half of it.
TRACK_MS = 19_000


async def _spawn_bridge(words: list[str]) -> tuple[asyncio.subprocess.Process, str, int]:
    """Start `python -m bridges WORDS`; return it, its device id and port once it listens."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bridges", *words,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    async with asyncio.timeout(STEP_TIMEOUT_S):
        while True:
            line = (await process.stdout.readline()).decode(errors="replace")
            if not line:
                raise RuntimeError("baton-bridge exited before listening")
            if found := READY.search(line):
                return process, found["id"], int(found["port"])


async def _listed(words: list[str]) -> tuple[float, asyncio.subprocess.Process, str, int]:
    """Time a bridge's spawn until a browsing registry lists its device; return it running."""
    registry = DeviceRegistry(interfaces=["lo"])
    await registry.async_start()
    seen: dict[str, float] = {}

    def listed(event: DeviceEvent) -> None:
        seen.setdefault(event.entry.id, time.perf_counter())

    registry.subscribe(listed)
    try:
        began = time.perf_counter()
        process, device_id, port = await _spawn_bridge(words)
        async with asyncio.timeout(STEP_TIMEOUT_S):
            while device_id not in seen:  # noqa: ASYNC110 - the registry's callback sets it
                await asyncio.sleep(0.005)
        return (seen[device_id] - began) * 1000, process, device_id, port
    finally:
        await registry.async_close()


async def _echoes(controller: Controller, device_id: str, count: int) -> list[float]:
    samples = []
    for i in range(count):
        began = time.perf_counter()
        result = await controller.async_command(device_id, m.SetVolume(40 + i % 20))
        assert result.ok, result.failure
        samples.append((time.perf_counter() - began) * 1000)
    return samples


async def _moves(
    coordinator: TransferCoordinator,
    pairs: list[tuple[str, str, str]],
    rounds: int,
    from_the_start: Callable[[], Awaitable[None]],
) -> dict[str, list[m.TransferTimings]]:
    """Move the music along *pairs* (label, from, to) *rounds* times, the track started again
    before each round; return their timings."""
    timings: dict[str, list[m.TransferTimings]] = {label: [] for label, _, _ in pairs}
    for _ in range(rounds):
        await from_the_start()
        for label, source, target in pairs:
            await asyncio.sleep(PLAY_BEFORE_MOVE_S)  # the music plays a while on the source
            outcome = await coordinator.async_transfer(source, target)
            if outcome.timings is None:
                raise RuntimeError(f"{label}: {outcome.failure}")
            timings[label].append(outcome.timings)
    return timings


def _figures(kind: str, label: str, runs: list[m.TransferTimings]) -> Iterable[Measurement]:
    name = f"bridges.{kind}.{label}"
    yield Measurement(f"{name}.request_to_audible", "ms",
                      [t.request_to_audible_ms for t in runs])  # fmt: skip
    yield Measurement(f"{name}.gap", "ms", [t.gap_us / 1000 for t in runs])
    yield Measurement(f"{name}.position_error", "ms", [abs(t.position_error_ms) for t in runs])
    # Where the target started against where the source stopped: what stop-first aims at (its
    # position error counts the gap, as if the music had played on through it).
    yield Measurement(
        f"{name}.content_jump", "ms", [abs(t.position_error_ms + t.gap_us / 1000) for t in runs]
    )


@asynccontextmanager
async def _baton_side(folder: Path) -> AsyncIterator[tuple[Controller, RunningReceiver, str]]:
    """A media server with the position track, a receiver playing it, a controller."""
    async with AsyncExitStack() as stack:
        media = MediaServer(folder / "media")
        await asyncio.to_thread(_write_track, folder / "media")
        await media.start()
        stack.push_async_callback(media.close)
        home = await start_receiver(folder, "Bench Home", output="capture")
        stack.push_async_callback(home.stop)
        controller = Controller(m.ClientIdentity("bench", "bench"), browse=False)
        await controller.async_start()
        stack.push_async_callback(controller.async_close)
        await controller.async_add_address(home.host, home.port)
        yield controller, home, media.url("track.wav")


async def _kind(kind: str, words: list[str], folder: Path, quick: bool) -> list[Measurement]:
    rounds, starts, echoes = (1, 1, 3) if quick else (4, 3, 30)
    await asyncio.to_thread(folder.mkdir)
    out: list[Measurement] = []
    async with _baton_side(folder) as (controller, home, url):
        listed: list[float] = []
        for _ in range(starts - 1):  # fresh bridges, timed, then stopped
            took, process, _, _ = await _listed(words)
            listed.append(took)
            await stop_process(process)
        took, process, device_id, port = await _listed(words)
        listed.append(took)
        try:
            out.append(Measurement(f"bridges.{kind}.discovery", "ms", listed))
            await controller.async_add_address("127.0.0.1", port)
            out.append(Measurement(f"bridges.{kind}.command_echo", "ms",
                                   await _echoes(controller, device_id, echoes)))  # fmt: skip
            second = await start_receiver(folder, "Bench Car", output="capture")
            try:
                await controller.async_add_address(second.host, second.port)
                item = m.QueueItem("t", url, "track", duration_ms=TRACK_MS)

                async def from_the_start() -> None:
                    # Each round ends on the home receiver; the track (at most 19 s: the
                    # position code's length) starts again there, so no round outlives it.
                    result = await controller.async_command(home.device_id, m.SetQueue((item,)))
                    assert result.ok, result.failure

                coordinator = TransferCoordinator(controller)
                moves = await _moves(coordinator, [
                    ("baton_to_baton", home.device_id, second.device_id),
                    ("baton_back", second.device_id, home.device_id),
                    (f"baton_to_{kind}", home.device_id, device_id),
                    (f"{kind}_to_baton", device_id, home.device_id),
                ], rounds, from_the_start)  # fmt: skip
                for label, runs in moves.items():
                    out.extend(_figures(kind, label, runs))
            finally:
                await second.stop()
        finally:
            await stop_process(process)
    return out


async def _run(quick: bool) -> list[Measurement]:
    out: list[Measurement] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if mpd_installed():
            mpd = await start_mpd(folder / "mpd")
            try:
                words = ["--mpd", f"127.0.0.1:{mpd.port}", "--name", "Bench MPD",
                         "--interface", "lo"]  # fmt: skip
                out += await _kind("mpd", words, folder / "with-mpd", quick)
            finally:
                await mpd.stop()
        else:
            print("bridges: mpd is not installed: no MPD figures", flush=True)
        if gmediarender_installed() and os.geteuid() == 0:
            with renderer_link() as link:
                renderer = await start_renderer(folder / "renderer", "Bench TV", link)
                try:
                    words = ["--browse-upnp", "--interface", "lo", "--interface", link]
                    out += await _kind("upnp", words, folder / "with-upnp", quick)
                finally:
                    await renderer.stop()
        else:
            print("bridges: no UPnP figures (needs root and gmediarender)", flush=True)
        if shairport_installed() and os.geteuid() == 0:
            speaker = await start_speaker(folder / "speaker", "Bench Speaker")
            try:
                words = ["--browse-airplay", "--interface", "lo"]
                out += await _kind("airplay", words, folder / "with-airplay", quick)
            finally:
                await speaker.stop()
        else:
            print("bridges: no AirPlay figures (needs root and shairport-sync)", flush=True)
        if snapcast_installed():
            snapcast = await start_snapcast(folder / "snapcast", "Bench Garden")
            try:
                words = ["--snapcast", f"127.0.0.1:{snapcast.control_port}", "--interface", "lo"]
                out += await _kind("snapcast", words, folder / "with-snapcast", quick)
            finally:
                await snapcast.stop()
        else:
            print("bridges: snapserver or snapclient is not installed: no Snapcast figures")
    return out


def run(quick: bool) -> Iterable[Measurement]:
    """Yield the bridges' figures (quick: one of each)."""
    return asyncio.run(_run(quick))


def _write_track(folder: Path) -> None:
    folder.mkdir()
    write_position_track(folder / "track.wav", TRACK_MS)
