"""Through a real sound server: volume from the first sample and seamless transfers, heard.

The test starts its own PulseAudio (and PipeWire with pipewire-pulse) with a null sink, runs
two `baton-receiver` processes with `--audio-output default` against it (what a desktop or a
Pi with PipeWire plays through), and records the sink's monitor with parecord: one recording of
what a listener in the room would hear from both, nothing of Baton's in the measuring path
(tests/pulse_server.py). Both receivers sit at volume 50. It then plays, pauses and resumes,
seeks, hands the music over four times, stops-first twice, and pulls the power on the playing
receiver, which resumes on restart: every way a receiver starts a sound.

Checked from the recording alone:
* every start path plays at the volume's level: the first play's, after resume, seek, each
  transfer and the power cut, within ±1 dB of the level after the handoffs, itself the level
  volume 50 gives the track (±1 dB);
* no 5 ms window within 300 ms of a start or a transfer is more than 1.5 dB above that level
  (no burst at full volume);
* no silence of 5 ms or more in a handoff;
* the content goes on across every transfer within 5 ms: a handoff's content offset (content
  minus clock) is the same after as before, every handoff within 5 ms, and stop-first resumes
  the content where it stopped, as does a resume after a pause (PipeWire: within 10 ms, see
  CONTINUITY_US).

The daemons run as whoever runs the tests (root in CI's network namespace: PulseAudio then
needs --system=false, tests/pulse_server.py); a daemon that cannot start skips its run, saying
why.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from client.app.local_device import LOOPBACK, LocalDevice, LocalDeviceSettings
from connect.access import CredentialStore
from connect.clock import monotonic_us
from connect.controller import Controller
from connect.session import DeviceConnection
from connect.transfer.coordinator import TransferCoordinator
from connect.wire import messages as m
from devices._volume import volume_gain
from tests.audio import FULL_SCALE, SILENCE_RMS, Capture
from tests.integration.transfer.proof_audio import PositionCode, write_cyclic_position_track
from tests.integration.transfer.proof_levels import (
    content_jump_us,
    db,
    longest_silence,
    loudest,
    monitor_capture,
    sample_edges,
    steady_level,
    window_levels,
)
from tests.media_server import MediaServer
from tests.pulse_server import (
    AudioServer,
    AudioServerUnavailableError,
    MonitorRecorder,
    MonitorRecording,
)
from tests.receivers import start_receiver

pytestmark = [
    pytest.mark.slow,
    # A controller says so when a receiver it knew stops (the test stops them all at the end).
    pytest.mark.warning_logs(r"offline: .*(closed by the device|said goodbye \(shutdown\))"),
]

VOLUME = 50
TRACK_MS = 60_000
CODE = PositionCode(cycle=150)
TRACK_RMS = 0.5 * FULL_SCALE / 2**0.5  # the position track: sines at half scale
STATE_TIMEOUT_S = 10.0
ROUTE_TIMEOUT_S = 10.0  # a new stream heard on the sink, however busy the machine
# After each step the test waits for the step's sound on the sink (it reaches the recorder
# after it is heard), then plays this long. The checks read at most 700 ms past a step's first
# sound (its level from 300 to 700 ms in, the loudest 5 ms to 600; a transfer's level 200-600 ms
# after it returns, a handoff's content 100-500 ms after), and the next step's steady stretch
# before it (400 ms) then starts 400 ms after that sound. 100 ms spare. (It was a fixed 1.2 s
# with no wait for the sound: 0.4 s a step more, and a stream routed late read short.)
AFTER_SOUND_S = 0.8
PAUSE_US = 500_000
AROUND_US = 300_000  # how far around a start or a transfer a burst is looked for
SEARCH_CHUNK_US = 100_000  # the first sound after a step is looked for this much at a time
STEADY_US = 400_000
LEVEL_DB = 1.0
# The loudest 5 ms around a step. A handoff's two streams play the same content in step, so
# their fades add up in amplitude; two starts a few ms apart put the fades that far apart:
# +1.09 and +1.18 dB in 2 of 33 runs (2026-12-07, before the starts were placed by the
# server's stamped timing reports; since, +0.02 to +0.04 dB in 24 handoffs). The burst this
# proof was written for was +17 dB.
PEAK_DB = 1.5
# Content continuity across a transfer. PipeWire's pulse layer gets its own bound: its timing
# reports carry the read index and delay of the graph's last cycle (a 43 ms quantum here) but
# are stamped when the reply is sent, so each is late by 0.1 ms to, on a loaded machine, 16 ms
# (bench/server_timing.py). The output's grid followed their median, which wandered with the
# load (1.7 ms with both cores busy, and a run of late reports could jump it); it now holds
# their lower edge (devices/_frame_grid.py), which wandered 0.2 ms. Runs of 2026-12-07 since,
# at load 2-6.7 (up to four busy loops beside): every handoff within 4.4 ms, most within 2.
CONTINUITY_US = {"pulseaudio": 5_000, "pipewire": 10_000}
# Every PulseAudio start now lands on its instant to ±0.1 ms, whichever path (first sound
# after silence against the instant the receiver placed it, in the monitor's recording), and
# what each receiver believes it plays is what is heard to ±0.1 ms. What a handoff still moves
# is what the two receivers believe: the switch instant goes from one device's clock to the
# other's through the controller's clock-offset estimates (2026-12-07, 6 runs at load
# 4-5.5: handoffs -1.1..+1.2 ms, |median| 0.3 ms; stop-first -0.3..+0.6 ms but once +2.0;
# resume +0.1 ms).
# Before, a stream was placed by libpulse's interpolated latency (0.3-0.8 ms astray under
# load), clocks read down to the ms (a stop-first target replayed 0-2 ms), and this proof read
# the recording at 44.1 kHz while the sink ran ~200 ppm fast and a gap's edges to 5 ms windows
# (both measurement errors): handoffs 5-6 ms off now and then, a stop-first once 5.07 ms in
# CI, and this proof then held only the median handoff to 5 ms, each to 10. Since the fixes
# (15 runs: every handoff within -1.7..+1.0 ms) every handoff is held to the 5 ms
# (docs/reliability.md, "Real audio servers").


@dataclass(frozen=True)
class Step:
    """Something that starts a sound, between two instants of the test's clock."""

    name: str
    start_us: int
    end_us: int
    mode: m.TransferMode | None = None  # a transfer's


@pytest.fixture(scope="module")
def position_track(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The position track's bytes, made once for every test here (seconds of synthesis)."""
    path = tmp_path_factory.mktemp("track") / "pos.wav"
    return write_cyclic_position_track(path, TRACK_MS, CODE).read_bytes()


@pytest.fixture(params=["pulseaudio", "pipewire"])
async def audio_server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AudioServer]:
    server = AudioServer(tmp_path / request.param, ["room"], request.param)
    try:
        await server.start()
    except AudioServerUnavailableError as exc:
        pytest.skip(f"{request.param} cannot run here: {exc}")
    yield server
    await server.close()


async def _wait_state(
    conn: DeviceConnection, match: Callable[[m.PlaybackState], bool]
) -> m.PlaybackState:
    changed = asyncio.Event()
    unsubscribe = conn.subscribe(lambda _event: changed.set())
    try:
        async with asyncio.timeout(STATE_TIMEOUT_S):
            while conn.state is None or not match(conn.state):
                changed.clear()
                await changed.wait()
    finally:
        unsubscribe()
    assert conn.state is not None
    return conn.state


def _playing(state: m.PlaybackState) -> bool:
    return state.status is m.PlaybackStatus.PLAYING


async def _command(controller: Controller, device_id: str, action: m.Action) -> None:
    result = await controller.async_command(device_id, action)
    assert result.ok, result.failure


async def _play_session(
    tmp_path: Path,
    server: AudioServer,
    controller: Controller,
    media: MediaServer,
    recorder: MonitorRecorder,
    track: bytes,
) -> list[Step]:
    """Run every start path on two receivers; return the steps, on the test's clock."""
    (media.root / "pos.wav").write_bytes(track)
    item = m.QueueItem("pos", media.url("pos.wav"), title="position", duration_ms=TRACK_MS)
    extra = ("--initial-volume", str(VOLUME))
    receivers = list(
        await asyncio.gather(
            *(
                start_receiver(tmp_path, name, output="default", env=server.env, extra=extra)
                for name in ("Kitchen", "Study")
            )
        )
    )
    steps: list[Step] = []
    try:
        for receiver in receivers:
            await controller.async_add_address("127.0.0.1", receiver.port)
        ids = [r.device_id for r in receivers]

        async def step(name: str, action: Callable[[], object]) -> None:
            start = monotonic_us()
            result = action()
            if asyncio.iscoroutine(result):
                await result
            steps.append(Step(name, start, monotonic_us()))
            await _play_on(recorder)

        await step("play", lambda: _command(controller, ids[0], m.SetQueue((item,), play=True)))
        await _wait_state(controller.connection(ids[0]), _playing)
        await _command(controller, ids[0], m.Pause())
        await asyncio.sleep(PAUSE_US / 1e6)  # a pause long enough to be heard as one
        await step("resume", lambda: _command(controller, ids[0], m.Resume()))
        await step("seek", lambda: _command(controller, ids[0], m.Seek(20_000)))
        for device_id in ids:
            await controller.async_connect(device_id, timeout=STATE_TIMEOUT_S)
        coordinator = TransferCoordinator(controller)
        modes = [m.TransferMode.HANDOFF] * 4 + [m.TransferMode.STOP_FIRST] * 2
        for i, mode in enumerate(modes):
            source, target = ids[i % 2], ids[1 - i % 2]
            start = monotonic_us()
            options = m.TransferOptions(mode=mode, fade_ms=30)
            outcome = await coordinator.async_transfer(source, target, options)
            assert outcome.ok, outcome.failure
            steps.append(Step(f"{mode.name.lower()} {i}", start, monotonic_us(), mode))
            await _wait_state(
                controller.connection(source), lambda s: s.status is m.PlaybackStatus.STOPPED
            )
            await _play_on(recorder)
        # A power cut on the receiver now playing (the first: six transfers brought it back).
        await receivers[0].kill()
        receivers[0] = await start_receiver(
            tmp_path, "Kitchen", output="default", env=server.env, extra=extra,
            state_dir=receivers[0].state_dir,
        )  # fmt: skip
        # The step starts once the new process listens: what the server still held of the
        # killed one plays out for up to its buffer after the kill, and is not this start.
        listening = monotonic_us()
        steps.append(Step("power cut", listening, listening))
        # It resumes on its own once it listens; the controller sees it at its new port.
        await controller.async_add_address("127.0.0.1", receivers[0].port)
        await _wait_state(controller.connection(receivers[0].device_id), _playing)
        # A new stream: the server (PipeWire's session manager, on a busy machine) may take a
        # moment to route it; the level is read once the sound is there.
        await _play_on(recorder)
    finally:
        for receiver in receivers:
            if receiver.process.returncode is None:
                assert await receiver.stop() == 0, "".join(receiver.output)
            # What the receivers said about their output: on failure, the first place to look.
            noted = ("pulse", "resume", "WARNING", "ERROR")
            lines = [ln for ln in receiver.output if any(w in ln for w in noted)]
            print(f"{receiver.name}:", *lines)
    return steps


async def _play_on(recorder: MonitorRecorder) -> None:
    """Return once the sink has sounded since the call and played AFTER_SOUND_S more."""
    await recorder.wait_for_sound(ROUTE_TIMEOUT_S)
    await asyncio.sleep(AFTER_SOUND_S)  # the music's own pace: the windows read after a step


def _first_sound_after(capture: Capture, at_us: int) -> int:
    """Return the start of the first 5 ms window at or after *at_us* that is not silent.

    Searched to the end of the recording: a receiver restarted after a power cut on a busy
    machine may take longer than any fixed span to listen, resume and be routed. A tenth of
    a second of windows at a time, on the same 1 ms grid: the sound is mostly there at once,
    and a minute of windows computed up front took a second a step."""
    begin, end = max(at_us, capture.blocks[0][0]), at_us + 60_000_000
    for chunk in range(begin, end, SEARCH_CHUNK_US):
        for at, level in window_levels(capture, chunk, min(chunk + SEARCH_CHUNK_US, end)):
            if level >= SILENCE_RMS:
                return at
    return at_us


async def test_every_start_path_plays_at_the_volume_and_transfers_are_seamless(
    audio_server: AudioServer, tmp_path: Path, position_track: bytes
) -> None:
    controller = Controller(m.ClientIdentity("test-sound-server", "Sound server"), browse=False)
    await controller.async_start()
    recorder = audio_server.recorder("room")
    await recorder.start()
    try:
        (tmp_path / "media").mkdir()
        async with MediaServer(tmp_path / "media") as media:
            steps = await _play_session(
                tmp_path, audio_server, controller, media, recorder, position_track
            )
    finally:
        await controller.async_close()
        recording = await recorder.close()
    # Seconds of analysis: off the event loop, which must never be held that long.
    await asyncio.to_thread(_judge_session, recording, steps, audio_server.kind)


def _judge_session(recording: MonitorRecording, steps: list[Step], kind: str) -> None:
    """Check every start path's level, the handoffs and the stop-first transfers."""
    capture = monitor_capture(recording)
    # The level volume 50 gives, measured after the handoffs: it is what the volume says.
    handoffs = [s for s in steps if s.mode is m.TransferMode.HANDOFF]
    after = [s.end_us + 200_000 for s in handoffs]
    reference = statistics.median(steady_level(capture, at, at + STEADY_US) for at in after)
    expected = TRACK_RMS * volume_gain(VOLUME)
    assert abs(db(reference, expected)) <= LEVEL_DB, (reference, expected)

    _check_levels(capture, steps, reference)
    _check_handoffs(capture, handoffs, kind)
    _check_resumes(capture, steps, kind)


def _check_levels(capture: Capture, steps: list[Step], reference: float) -> None:
    """Every start, at the reference level once started, and no burst around it."""
    report = []
    for step in steps:
        settled = _first_sound_after(capture, step.start_us) + 300_000
        if step.mode is not None:
            settled = step.end_us + 200_000
        level = steady_level(capture, settled, settled + STEADY_US)
        peak_at, peak = loudest(capture, step.start_us - AROUND_US, settled + AROUND_US)
        report.append((step.name, round(db(level, reference), 2), round(db(peak, reference), 2)))
        print(f"{step.name}: level {report[-1][1]:+.2f} dB, loudest 5 ms {report[-1][2]:+.2f} dB")
        assert abs(db(level, reference)) <= LEVEL_DB, (step, report)
        assert db(peak, reference) <= PEAK_DB, (step, peak_at - step.start_us, report)


def _check_handoffs(capture: Capture, handoffs: list[Step], kind: str) -> None:
    """Handoffs: never silent, and the content's offset to the clock unchanged."""
    for step in handoffs:
        silence = longest_silence(capture, step.start_us, step.end_us + AROUND_US)
        assert silence.duration_us < 5_000, (step, silence)
        before = (step.start_us - STEADY_US, step.start_us)
        settled = (step.end_us + 100_000, step.end_us + 500_000)
        jump = content_jump_us(capture, before, settled, CODE)
        print(f"{step.name}: content jump {jump} µs, longest silence {silence.duration_us} µs")
        assert jump is not None, step
        assert abs(jump) <= CONTINUITY_US[kind], (step, jump)


def _check_resumes(capture: Capture, steps: list[Step], kind: str) -> None:
    """A resume after a pause, and stop-first: a gap, then the content from where it stopped."""
    for step in steps:
        if step.name == "resume":
            gap = longest_silence(capture, step.start_us - PAUSE_US, step.end_us + AROUND_US)
        elif step.mode is m.TransferMode.STOP_FIRST:
            gap = longest_silence(capture, step.start_us, step.end_us + AROUND_US)
        else:
            continue
        assert gap.duration_us > 0, step
        gap = sample_edges(capture, gap)
        before = (gap.start_us - STEADY_US, gap.start_us)
        after_gap = (gap.end_us + 50_000, gap.end_us + 50_000 + STEADY_US)
        jump = content_jump_us(capture, before, after_gap, CODE)
        print(f"{step.name}: gap {gap.duration_us} µs, content jump {jump} µs")
        assert jump is not None, step
        # Offsets are content minus clock: across a gap the clock ran on and the content did
        # not, so a resume exactly where it stopped moves the offset back by the gap.
        assert abs(jump + gap.duration_us) <= CONTINUITY_US[kind], (step, gap, jump)


# The app's receiver runs in the test's own process, beside pytest: on a busy machine a stall
# of it can let the server run dry, which it says; what was heard is judged from the recording.
@pytest.mark.warning_logs(r"pulse output: the server ran out of audio")
async def test_this_computer_plays_through_the_same_server_at_its_volume(
    audio_server: AudioServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    position_track: bytes,
) -> None:
    # "This computer" is the app's in-process receiver: it finds the server as the app
    # would, from its own environment (a desktop session's PULSE_SERVER / XDG_RUNTIME_DIR).
    for name in ("PULSE_SERVER", "PULSE_CLIENTCONFIG"):
        monkeypatch.setenv(name, audio_server.env[name])
    here = LocalDevice(LocalDeviceSettings("This computer", tmp_path / "here", "default"))
    listening = await here.async_start()
    identity = m.ClientIdentity("test-this-computer", "App")
    controller = Controller(identity, browse=False, credentials=CredentialStore(tmp_path / "ctl"))
    await controller.async_start()
    assert controller.credentials is not None
    controller.credentials.save(here.owner_credential(identity, "This computer"))
    recorder = audio_server.recorder("room")
    await recorder.start()
    steps: list[Step] = []
    try:
        (tmp_path / "media").mkdir()
        async with MediaServer(tmp_path / "media") as media:
            (media.root / "pos.wav").write_bytes(position_track)
            item = m.QueueItem("pos", media.url("pos.wav"), duration_ms=TRACK_MS)
            speaker = await start_receiver(
                tmp_path, "Kitchen", output="default", env=audio_server.env,
                extra=("--initial-volume", str(VOLUME)),
            )  # fmt: skip
            try:
                here_id = (await controller.async_add_address(LOOPBACK, listening.port)).id
                await controller.async_add_address("127.0.0.1", speaker.port)
                await _command(controller, here_id, m.SetVolume(VOLUME))
                start = monotonic_us()
                await _command(controller, here_id, m.SetQueue((item,), play=True))
                steps.append(Step("play here", start, monotonic_us()))
                await _wait_state(controller.connection(here_id), _playing)
                await _play_on(recorder)
                await controller.async_connect(speaker.device_id, timeout=STATE_TIMEOUT_S)
                coordinator = TransferCoordinator(controller)
                for source, target in ((here_id, speaker.device_id), (speaker.device_id, here_id)):
                    start = monotonic_us()
                    outcome = await coordinator.async_transfer(source, target)
                    assert outcome.ok, outcome.failure
                    steps.append(Step(f"to {target[:6]}", start, monotonic_us(), outcome.mode))
                    await _play_on(recorder)
            finally:
                assert await speaker.stop() == 0, "".join(speaker.output)
    finally:
        await controller.async_close()
        await here.async_close()
        recording = await recorder.close()
    await asyncio.to_thread(_judge_here, recording, steps, audio_server.kind)


def _judge_here(recording: MonitorRecording, steps: list[Step], kind: str) -> None:
    capture = monitor_capture(recording)
    reference = TRACK_RMS * volume_gain(VOLUME)
    _check_levels(capture, steps, reference)
    _check_handoffs(capture, steps[1:], kind)
