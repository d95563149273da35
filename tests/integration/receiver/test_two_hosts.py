"""The controller on another host: a receiver in namespace A, media and `baton` in namespace B.

Two network namespaces joined by a veth pair stand for two machines on a LAN: the CLI in B
finds the receiver in A over mDNS on its veth interface, makes it play a tone served from B,
and the receiver's afile recording proves what was played.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from connect.controller import Controller
from connect.media_capability import is_capability_url
from connect.paths import DEAD_AFTER_BEATS, HEARTBEAT_INTERVAL_MS
from connect.session import Connected, DeviceConnection, Disconnected, Endpoint, StateChanged
from connect.wire import messages as m
from tests.audio import (
    audible_duration_ms,
    content_positions,
    read_wav,
    segment_sequence,
    write_position_track,
    write_tone,
    zero_crossing_frequency,
)
from tests.integration.connect.test_session import next_body, raw_session
from tests.integration.receiver.helpers import (
    EVENT_TIMEOUT_S,
    Events,
    identity,
    play,
    state_is,
    until_position,
    until_saved,
)
from tests.netns import NetnsPair, netns_pair, netns_skip_reason
from tests.receivers import RunningReceiver, start_receiver
from tests.serve_media import read_urls

ROOT = Path(__file__).resolve().parents[3]
BATON = [sys.executable, "-m", "client.cli"]

pytestmark = [
    pytest.mark.netns,
    pytest.mark.slow,
    pytest.mark.skipif(netns_skip_reason() is not None, reason=str(netns_skip_reason())),
]


async def baton(pair: NetnsPair, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `baton ARGS` on host B, off the event loop (the test's receiver drains on it)."""
    return await asyncio.to_thread(
        subprocess.run, pair.exec_argv("b", [*BATON, *args]),
        capture_output=True, text=True, cwd=ROOT, timeout=60, check=False,
    )  # fmt: skip


def _heard_segments(recording: Path) -> list[int]:
    """Read and analyse a recording (a second of CPU for a long one: run it off the loop)."""
    return segment_sequence(content_positions(read_wav(recording)))


def serve_media(pair: NetnsPair, root: Path) -> dict[str, str]:
    """Serve *root* from namespace B; return the URL of each of its files, by name."""
    server = pair.popen(
        "b",
        [sys.executable, "-m", "tests.serve_media", str(root), "--host", pair.address("b")],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert server.stdout is not None
    line = server.stdout.readline()
    server.stdout.close()  # it prints nothing after this line
    return read_urls(line)


async def test_cli_on_another_host_finds_the_receiver_and_plays_real_audio(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    write_tone(media / "a523.wav", 523.25, 1000, amplitude=0.5)
    with netns_pair() as pair:
        receiver = await start_receiver(
            tmp_path, "Car", interface=pair.links["a"], wrapper=pair.exec_argv("a", []),
            extra=["--type", "car"],
        )  # fmt: skip
        try:
            assert receiver.host == pair.address("a")
            urls = await asyncio.to_thread(serve_media, pair, media)
            found = await baton(pair, "devices", "--json", "--interface", pair.links["b"])
            assert found.returncode == 0, found.stderr
            rows = json.loads(found.stdout)
            assert [(r["name"], r["type"], r["host"], r["online"]) for r in rows] == [
                ("Car", "car", pair.address("a"), True)
            ]
            played = await baton(
                pair, "play", "Car", urls["a523.wav"], "--interface", pair.links["b"]
            )
            assert played.returncode == 0, played.stderr
            status = await _wait_until_stopped(pair, f"{receiver.host}:{receiver.port}")
            assert status["track_url"] == urls["a523.wav"]
            assert status["active"] is True
        finally:
            assert await receiver.stop() == 0, "".join(receiver.output)

    recording = read_wav(receiver.recording)
    assert audible_duration_ms(recording) == pytest.approx(1000, abs=50)
    assert zero_crossing_frequency(recording.samples) == pytest.approx(523.25, abs=2)


async def test_cli_serves_a_local_file_on_the_address_facing_the_receiver(tmp_path: Path) -> None:
    """`baton play Car FILE` in B: the URL names B's address on the link to A (issue 13, 10)."""
    song = write_tone(tmp_path / "a523.wav", 523.25, 1000, amplitude=0.5)
    with netns_pair() as pair:
        receiver = await start_receiver(
            tmp_path, "Car", interface=pair.links["a"], wrapper=pair.exec_argv("a", []),
        )  # fmt: skip
        try:
            played = await baton(pair, "play", "Car", str(song), "--interface", pair.links["b"])
            assert played.returncode == 0, played.stderr
            assert "Car played the queue to the end" in played.stdout, played.stdout
            status = await _wait_until_stopped(pair, f"{receiver.host}:{receiver.port}")
            url = urlsplit(str(status["track_url"]))
            assert url.hostname == pair.address("b"), status
            assert is_capability_url(str(status["track_url"]))
        finally:
            assert await receiver.stop() == 0, "".join(receiver.output)
    recording = read_wav(receiver.recording)
    assert audible_duration_ms(recording) == pytest.approx(1000, abs=50)
    assert zero_crossing_frequency(recording.samples) == pytest.approx(523.25, abs=2)


async def _wait_until_stopped(pair: NetnsPair, address: str) -> dict[str, object]:
    """Ask `baton status` (skipping mDNS) until the one-second track has played out."""
    deadline = time.monotonic() + 20
    while True:
        result = await baton(pair, "status", "Car", "--json", "--connect", address)
        assert result.returncode == 0, result.stderr
        status: dict[str, object] = json.loads(result.stdout)
        if status["state"] == "stopped" or time.monotonic() > deadline:
            assert status["state"] == "stopped", status
            return status


# ---------------------------------------------------------------- controllers on host B
# In-process controllers run on a thread that joined namespace B (NetnsPair.async_run_in):
# every socket they open is on host B's side of the veth link.


async def _receiver_in_a(pair: NetnsPair, tmp_path: Path, **kwargs: object) -> RunningReceiver:
    return await start_receiver(
        tmp_path, "Car", interface=pair.links["a"], wrapper=pair.exec_argv("a", []),
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


async def _started(controller: Controller) -> Controller:
    await controller.async_start()
    return controller


async def test_two_controllers_on_another_host_see_every_change_and_steer_the_audio(
    tmp_path: Path,
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    write_position_track(media / "pos.wav", 2500)
    with netns_pair() as pair:
        receiver = await _receiver_in_a(pair, tmp_path)
        urls = await asyncio.to_thread(serve_media, pair, media)

        async def scenario() -> None:
            one = await _started(Controller(identity(1), interfaces=[pair.links["b"]]))
            two = await _started(Controller(identity(2), interfaces=[pair.links["b"]]))
            try:
                device = (await one.async_find("car", timeout=EVENT_TIMEOUT_S)).id
                await two.async_find(device, timeout=EVENT_TIMEOUT_S)
                await two.async_connect(device, timeout=EVENT_TIMEOUT_S)
                watching = Events(two)
                assert (await play(one, device, urls["pos.wav"])).ok
                await until_position(one.connection(device), 400)
                paused = await one.async_command(device, m.Pause())
                seen = await watching.wait_for(
                    lambda e: (
                        isinstance(e, StateChanged)
                        and e.snapshot.state.last_command_id == paused.command_id
                    )
                )
                assert isinstance(seen, StateChanged)
                assert seen.snapshot.state.status is m.PlaybackStatus.PAUSED
                assert seen.snapshot.state.revision == paused.revision
                assert (await one.async_command(device, m.Resume())).ok
                await until_position(one.connection(device), 900)
                assert (await one.async_command(device, m.Seek(2000))).ok
                await watching.wait_for(
                    state_is(m.PlaybackStatus.STOPPED, m.StateChangeReason.PLAYBACK)
                )
            finally:
                await one.async_close()
                await two.async_close()

        try:
            await pair.async_run_in("b", scenario)
        finally:
            assert await receiver.stop() == 0, "".join(receiver.output)

    heard = await asyncio.to_thread(_heard_segments, receiver.recording)
    jump = next(i for i in range(1, len(heard)) if heard[i] != heard[i - 1] + 1)
    assert heard[:jump] == list(range(heard[jump - 1] + 1))  # the pause lost nothing
    assert heard[jump:] == list(range(20, 25))  # the seek to 2.0 s


@pytest.mark.warning_logs(r"offline: timed out", r"offline: .*closed by the device")
async def test_receiver_on_another_host_killed_or_cut_off_is_marked_offline_and_rejoined(
    tmp_path: Path,
) -> None:
    dead_after_s = DEAD_AFTER_BEATS * HEARTBEAT_INTERVAL_MS / 1000
    with netns_pair() as pair:
        receiver = await _receiver_in_a(pair, tmp_path)

        async def scenario() -> None:
            controller = await _started(Controller(identity(1), interfaces=[pair.links["b"]]))
            back: RunningReceiver | None = None
            try:
                events = Events(controller)
                device = (await controller.async_find("car", timeout=EVENT_TIMEOUT_S)).id
                await controller.async_connect(device, timeout=EVENT_TIMEOUT_S)
                volume = await controller.async_command(device, m.SetVolume(21))
                await until_saved(receiver.state_dir, lambda state: state.volume == 21)

                # 1. The link goes quiet (no FIN, no RST): only the heartbeat can tell.
                pair.set_link("a", up=False)
                await events.wait_for(lambda e: isinstance(e, Disconnected), dead_after_s + 1)
                entry = controller.registry.get(device)
                assert entry is not None
                assert not entry.online
                events.seen.clear()
                pair.set_link("a", up=True)
                await events.wait_for(lambda e: isinstance(e, Connected))

                # 2. A power cut: SIGKILL, then the receiver comes back from its state dir.
                os.kill(receiver.process.pid, signal.SIGKILL)
                await events.wait_for(lambda e: isinstance(e, Disconnected), dead_after_s + 1)
                events.seen.clear()
                back = await _receiver_in_a(pair, tmp_path, state_dir=receiver.state_dir)
                assert back.device_id == device
                await events.wait_for(lambda e: isinstance(e, Connected))
                restored = await events.wait_for(lambda e: isinstance(e, StateChanged))
                assert isinstance(restored, StateChanged)
                assert restored.snapshot.state.volume == 21
                assert restored.snapshot.state.revision > volume.revision
            finally:
                await controller.async_close()
                if back is not None:
                    assert await back.stop() == 0, "".join(back.output)

        await pair.async_run_in("b", scenario)
        await receiver.process.wait()  # the killed one, reaped on its own loop


async def test_bad_frames_from_another_host_leave_other_sessions_unharmed(tmp_path: Path) -> None:
    with netns_pair() as pair:
        receiver = await _receiver_in_a(pair, tmp_path)

        async def scenario() -> None:
            async with aiohttp.ClientSession() as http:
                bystander = DeviceConnection(
                    receiver.device_id,
                    _at(receiver),
                    identity(1),
                    http,
                )
                bystander.async_start()
                await bystander.async_wait_connected(EVENT_TIMEOUT_S)
                ws = await raw_session(http, receiver.port, host=receiver.host)
                await ws.send_bytes(b"\xff\xfe garbage")
                error = await next_body(ws, m.Error)
                assert isinstance(error, m.Error)
                assert error.code is m.ErrorCode.MALFORMED
                too_big = b"\x08\x05\xfa\x07\x83\x80\x40" + b"x" * (m.MAX_FRAME_BYTES + 3)
                await ws.send_bytes(too_big)
                error = await next_body(ws, m.Error)
                assert isinstance(error, m.Error)
                assert error.code is m.ErrorCode.TOO_LARGE
                assert (await bystander.async_command(m.SetVolume(13))).ok
                await ws.close()
                await bystander.async_close()

        try:
            await pair.async_run_in("b", scenario)
        finally:
            assert await receiver.stop() == 0, "".join(receiver.output)


def _at(receiver: RunningReceiver) -> Callable[[], Awaitable[Endpoint]]:
    async def resolve() -> Endpoint:
        return Endpoint(receiver.host, receiver.port)

    return resolve
