"""The capture sink driven by hand: libVLC's callbacks on cue, a fake device clock, real files."""

from __future__ import annotations

import array
import ctypes
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices._capture import capture_sink
from devices._envelope import RATE, Envelope, sample_instant
from devices._output_timing import OutputEdges, StartKind, StartLatency
from devices._timed_sink import SinkEdge
from devices.player_types import OutputStarted, OutputStopped, PlayerState
from tests.audio import read_capture

BLOCK = 441  # 10 ms at 44.1 kHz
BLOCK_US = 10_000
T0 = 1_000_000_000  # an arbitrary instant on the fake device clock


class Rig:
    """A sink whose clock the test sets, recording the edges it reports."""

    def __init__(self, path: Path) -> None:
        self.now = T0
        self.edges: list[SinkEdge] = []
        self.path = path
        self.sink = capture_sink(path, self.edges.append, clock=lambda: self.now)

    def play(self, pts: int, value: int = 1000, frames: int = BLOCK) -> None:
        """Hand over one block of constant samples, as libVLC's play callback does."""
        buffer = (ctypes.c_int16 * frames)(*([value] * frames))
        self.sink._on_play(None, ctypes.addressof(buffer), frames, pts)

    def read(self) -> tuple[array.array[int], list[tuple[int, int]]]:
        capture = read_capture(self.path)
        return capture.samples, capture.stretches()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    rig = Rig(tmp_path / "cap.wav")
    yield rig
    rig.sink.close()


def test_samples_are_written_only_once_presented(rig: Rig) -> None:
    rig.play(T0 + 5_000)
    rig.play(T0 + 15_000)
    assert rig.read()[0] == array.array("h")  # queued ahead, like a sound card's buffer
    rig.now = T0 + 25_000
    rig.play(T0 + 25_000)  # each callback presents the whole blocks whose time has passed
    samples, stretches = rig.read()
    assert len(samples) == 2 * BLOCK
    assert stretches == [(T0 + 5_000, T0 + 25_000)]
    assert rig.edges == [SinkEdge(True, T0 + 5_000, T0 + 5_000)]


def test_a_pause_keeps_the_queued_tail_and_plays_it_after_the_resume(rig: Rig) -> None:
    for k in range(4):
        rig.play(T0 + k * BLOCK_US)
    rig.now = T0 + 15_000
    rig.sink._on_pause(None, T0 + 15_000)
    rig.now = T0 + 515_000
    rig.sink._on_resume(None, T0 + 515_000)
    rig.play(T0 + 540_000)  # libVLC stamps on as if the tail had been held
    rig.now = T0 + 600_000
    rig.sink._on_flush(None, 0)
    samples, stretches = rig.read()
    assert len(samples) == 5 * BLOCK  # nothing lost, nothing repeated
    assert stretches[0] == (T0, sample_instant(T0, frames_to(15_000)))
    assert stretches[1][0] == sample_instant(T0, frames_to(15_000)) + 500_000
    assert [e.started for e in rig.edges] == [True, False, True, False]
    assert rig.edges[1].at_us == stretches[0][1]


def frames_to(offset_us: int) -> int:
    return -(-offset_us * RATE // 1_000_000)


def test_a_flush_drops_what_was_not_presented(rig: Rig) -> None:
    rig.play(T0)
    rig.play(T0 + BLOCK_US)
    rig.now = T0 + 5_000
    rig.sink._on_flush(None, 0)
    samples, _ = rig.read()
    assert len(samples) == frames_to(5_000)
    assert rig.edges[-1] == SinkEdge(False, sample_instant(T0, frames_to(5_000)), 0)


def test_a_drain_presents_everything(rig: Rig) -> None:
    rig.play(T0)
    rig.play(T0 + BLOCK_US)
    rig.now = T0 + 50_000  # past the end: the drain does not wait
    rig.sink._on_drain(None)
    samples, stretches = rig.read()
    assert len(samples) == 2 * BLOCK
    assert rig.edges[-1] == SinkEdge(False, stretches[-1][1], 0)


def test_the_envelope_gates_and_fades_by_presentation_instant(rig: Rig) -> None:
    rig.sink.set_envelope(Envelope(open_us=T0 + 5_000, fade_in_us=10_000), since_us=0)
    for k in range(3):
        rig.play(T0 + k * BLOCK_US, value=10_000)
    rig.now = T0 + 40_000
    rig.sink._on_drain(None)
    samples, _ = rig.read()
    gate = frames_to(5_000)
    assert set(samples[:gate]) == {0}
    assert 0 <= samples[gate] < 50  # the fade starts from silence ...
    assert 4_000 < samples[gate + 220] < 6_000  # ... is halfway after 5 ms ...
    assert set(samples[gate + 441 :]) == {10_000}  # ... and done after 10 ms
    assert rig.edges[0] == SinkEdge(True, sample_instant(T0, gate), T0)


def test_a_fade_out_ends_in_silence_and_reports_the_stop(rig: Rig) -> None:
    close = T0 + 20_000
    rig.sink.set_envelope(Envelope(close_us=close, fade_out_us=10_000), since_us=0)
    for k in range(3):
        rig.play(T0 + k * BLOCK_US, value=10_000)
    rig.now = T0 + 40_000
    rig.sink._on_drain(None)
    samples, _ = rig.read()
    assert set(samples[: frames_to(10_000)]) == {10_000}
    assert set(samples[frames_to(20_000) :]) == {0}
    assert [e.started for e in rig.edges] == [True, False]
    assert rig.edges[1].at_us == sample_instant(T0, frames_to(20_000))


def test_volume_changes_apply_from_their_instant(rig: Rig) -> None:
    rig.play(T0, value=8_000)
    rig.play(T0 + BLOCK_US, value=8_000)
    rig.now = T0 + BLOCK_US
    rig.sink.set_volume_gain(0.5)
    rig.now = T0 + 30_000
    rig.sink._on_drain(None)
    samples, _ = rig.read()
    assert set(samples[:BLOCK]) == {8_000}
    assert set(samples[BLOCK:]) == {4_000}


def test_the_wav_header_is_right_at_every_moment(rig: Rig) -> None:
    rig.play(T0)
    rig.now = T0 + BLOCK_US
    rig.play(T0 + BLOCK_US)
    with wave.open(str(rig.path)) as wav:
        assert wav.getnframes() == BLOCK
    rig.sink.close()
    rig.sink.close()  # idempotent
    with wave.open(str(rig.path)) as wav:
        assert wav.getnframes() == BLOCK  # the second block was never presented


def test_the_start_latency_is_learned_per_kind() -> None:
    latency = StartLatency()
    assert latency.estimate_us(StartKind.PREROLL) == 10_000  # before any observation
    for value in (9_000, 11_000, 12_000, 2_000_000):  # the last one is a stall: ignored
        latency.observe(StartKind.PREROLL, value)
    assert latency.estimate_us(StartKind.PREROLL) == 11_000
    assert latency.estimate_us(StartKind.PAUSE) == 300


def test_output_edges_exact_from_a_sink_estimated_elsewhere() -> None:
    edges = OutputEdges(exact=True)
    edges.expect_start(StartKind.PREROLL, 4_000)
    edges.start_called(StartKind.PREROLL, T0)
    event = edges.from_sink(SinkEdge(True, T0 + 12_000, T0 + 9_000), lambda at: -1)
    assert event == OutputStarted(T0 + 12_000, 4_003, True)  # 3 ms gated before the instant
    assert edges.latency.estimate_us(StartKind.PREROLL) == 9_000
    stopped = edges.from_sink(SinkEdge(False, T0 + 50_000, 0), lambda at: 4_041)
    assert stopped == OutputStopped(T0 + 50_000, 4_041, True)
    assert edges.from_state(PlayerState.READY, PlayerState.PLAYING, T0, lambda at: 0) is None

    estimated = OutputEdges(exact=False)
    started = estimated.from_state(PlayerState.READY, PlayerState.PLAYING, T0, lambda at: 7)
    assert started == OutputStarted(T0 + 10_000, 7, False)
    stopped_late = estimated.from_state(PlayerState.PLAYING, PlayerState.ENDED, T0, lambda at: 9)
    assert stopped_late == OutputStopped(T0, 9, False)
    assert estimated.from_state(PlayerState.READY, PlayerState.PAUSED, T0, lambda at: 0) is None


def test_a_pause_told_twice_counts_once(rig: Rig) -> None:
    # The backend pauses the sink itself because libVLC sometimes skips its callback; when the
    # callback does come, just after, it must change nothing.
    for k in range(3):
        rig.play(T0 + k * BLOCK_US)
    rig.now = T0 + 10_000
    rig.sink.pause(T0 + 10_000)
    rig.sink._on_pause(None, T0 + 10_100)
    rig.now = T0 + 110_000
    rig.sink.resume(T0 + 110_000)
    rig.sink._on_resume(None, T0 + 110_300)
    rig.now = T0 + 200_000
    rig.sink._on_drain(None)
    _samples, stretches = rig.read()
    assert stretches == [(T0, T0 + 10_000), (T0 + 110_000, T0 + 130_000)]


def test_the_first_block_after_a_flush_says_when_it_is_heard(tmp_path: Path) -> None:
    queued: list[int] = []
    sink = capture_sink(tmp_path / "q.wav", lambda _edge: None, on_queued=queued.append,
                        clock=lambda: T0)  # fmt: skip
    block = (ctypes.c_int16 * BLOCK)(*([1000] * BLOCK))
    try:
        sink._on_play(None, ctypes.addressof(block), BLOCK, T0 + 60_000)
        sink._on_play(None, ctypes.addressof(block), BLOCK, T0 + 70_000)
        assert queued == [T0 + 60_000]  # once per stream: its first block only
        sink.end_stream()  # a new load stops the old stream first
        sink._on_play(None, ctypes.addressof(block), BLOCK, T0 + 90_000)
        assert queued == [T0 + 60_000, T0 + 90_000]
    finally:
        sink.close()


def test_a_carried_over_queue_survives_the_stop_and_the_next_stream_follows_it(rig: Rig) -> None:
    rig.play(T0 + 100_000, 1)
    rig.play(T0 + 110_000, 1)
    rig.sink.carry_over(True)
    rig.sink._on_flush(None, 0)  # libVLC's stop, moving to the next track's stream
    rig.sink.carry_over(False)
    rig.play(T0 + 30_000, 2)  # its own timeline: laid right after the queue's last sample
    rig.play(T0 + 40_000, 2)
    rig.now = T0 + 200_000
    rig.sink.close()
    samples, stretches = rig.read()
    assert list(samples) == [1] * 2 * BLOCK + [2] * 2 * BLOCK
    assert stretches == [(T0 + 100_000, T0 + 140_000)]


def test_a_stop_after_a_carry_over_starts_the_next_stream_anew(rig: Rig) -> None:
    rig.play(T0 + 100_000, 1)
    rig.sink.carry_over(True)
    rig.sink.carry_over(False)
    rig.sink._on_flush(None, 0)  # a real stop: the queue goes, and so does the carry-over
    rig.now = T0 + 300_000
    rig.play(T0 + 300_000, 2)
    rig.now = T0 + 400_000
    rig.sink.close()
    _samples, stretches = rig.read()
    assert stretches == [(T0 + 300_000, T0 + 310_000)]
