"""The timed sink in pull mode (a sound server asks for frames), driven by hand: libVLC's
callbacks on cue, a fake device clock, render requests as a server would make them."""

from __future__ import annotations

import array
import ctypes
import math

import pytest

from devices._envelope import RATE, Envelope, sample_instant
from devices._timed_sink import SinkEdge, TimedSink

DELAY_US = 60_000
T0 = 1_000_000_000  # an arbitrary instant on the fake device clock


class Rig:
    """A pull-mode sink (stereo, as the pulse output) whose clock the test sets."""

    def __init__(self, channels: int = 2) -> None:
        self.now = T0
        self.edges: list[SinkEdge] = []
        self.sink = TimedSink(
            self.edges.append, channels=channels, delay_us=DELAY_US, clock=lambda: self.now
        )
        self.frame = 0  # the stream's next frame
        self.out = array.array("h")

    def play(self, pts: int, values: list[int]) -> None:
        """Hand over one block (one value per frame, on every channel), as libVLC does."""
        channels = self.sink.channels
        interleaved = [v for v in values for _ in range(channels)]
        buffer = (ctypes.c_int16 * len(interleaved))(*interleaved)
        self.sink._on_play(None, ctypes.addressof(buffer), len(values), pts)

    def render(self, start_us: int, frames: int) -> bool:
        """Ask for *frames* frames heard from *start_us*, as the stream's write callback does."""
        data, _laid, more = self.sink.render(self.frame, start_us, frames)
        self.frame += frames
        chunk = array.array("h")
        chunk.frombytes(data)
        assert len(chunk) == frames * self.sink.channels
        self.out.extend(chunk[:: self.sink.channels])  # first channel
        return more


def instants(start_us: int, frames: int) -> int:
    return sample_instant(start_us, frames)


def test_a_sample_is_rendered_at_its_pts_plus_the_delay() -> None:
    rig = Rig()
    rig.play(T0, list(range(1, 442)))
    start = T0 + DELAY_US - 10_000  # the request begins 10 ms before the block is due
    assert rig.render(start, 441)  # more to come
    assert not rig.render(instants(start, 441), 441)  # nothing queued any more
    lead = round(10_000 * RATE / 1_000_000)
    assert list(rig.out[:lead]) == [0] * lead  # silence until then
    assert list(rig.out[lead : lead + 441]) == list(range(1, 442))
    assert rig.edges[0] == SinkEdge(True, T0 + DELAY_US, T0 + DELAY_US)


def test_blocks_with_rounded_timestamps_play_back_to_back_in_any_request_size() -> None:
    # libVLC stamps each block in whole µs; laid by those stamps alone, a block boundary would
    # now and then drop or repeat a sample. Every sample must come out once, in order, even
    # with a stamp a frame off (a block's pts rounded the other way).
    rig = Rig()
    values = [(i % 30_000) + 1 for i in range(441 * 20)]
    for k in range(20):
        pts = T0 + 333 + (k * 441 * 1_000_000 + 500_000 * (k % 3)) // RATE
        rig.play(pts, values[k * 441 : (k + 1) * 441])
    start = T0 + 333 + DELAY_US
    for size in [300, 17, 1000, 441, 999] * 5:
        rig.render(instants(start, rig.frame), size)
    heard = [v for v in rig.out if v != 0]
    assert heard == values
    assert rig.sink.late_frames == 0


def test_samples_whose_instant_has_passed_are_dropped_and_counted() -> None:
    rig = Rig()
    rig.play(T0, [5] * 441)
    # The stream is already 5 ms past the block's first instant.
    rig.render(T0 + DELAY_US + 5_000, 441)
    late = round(5_000 * RATE / 1_000_000)
    assert rig.sink.late_frames == pytest.approx(late, abs=1)
    assert list(rig.out[: 441 - late - 1]) == [5] * (441 - late - 1)


def test_the_volume_is_in_the_first_sample_rendered() -> None:
    rig = Rig()
    rig.sink.set_volume_gain(0.125)  # before any audio: as the player sets it before play
    rig.play(T0, [8_000] * 441)
    rig.render(T0 + DELAY_US, 441)
    assert set(rig.out) == {1_000}


def test_a_gate_and_fade_apply_at_the_instant_heard() -> None:
    rig = Rig(channels=1)
    open_at = T0 + DELAY_US + 5_000
    rig.sink.set_envelope(Envelope(open_us=open_at, fade_in_us=10_000), since_us=0)
    for k in range(3):
        rig.play(T0 + k * 10_000, [10_000] * 441)
    rig.render(T0 + DELAY_US, 3 * 441)
    gate = -(-5_000 * RATE // 1_000_000)
    assert set(rig.out[:gate]) == {0}
    assert 4_000 < rig.out[gate + 220] < 6_000
    assert set(rig.out[gate + 441 :]) == {10_000}
    assert rig.edges[0].started
    assert rig.edges[0].at_us == sample_instant(T0 + DELAY_US, gate)


def test_a_pause_plays_out_the_delay_then_holds_the_rest_until_the_resume() -> None:
    rig = Rig(channels=1)
    values = list(range(1, 4 * 441 + 1))
    for k in range(4):
        rig.play(T0 + k * 10_000, values[k * 441 : (k + 1) * 441])
    rig.now = T0 + 15_000  # paused 15 ms after the first pts: heard from DELAY_US later
    rig.sink.pause(rig.now)
    start = T0 + DELAY_US
    rig.render(start, 2 * 441)  # 20 ms: the sound stops at 15 ms, the pause's own instant
    stop = -(-15_000 * RATE // 1_000_000)
    assert list(rig.out[:stop]) == values[:stop]
    assert set(rig.out[stop:]) == {0}
    assert rig.edges[-1] == SinkEdge(False, sample_instant(start, stop), 0)
    rig.now += 500_000
    rig.sink.resume(rig.now)
    resumed = rig.now + DELAY_US
    rig.render(instants(start, rig.frame), (resumed - start) * RATE // 1_000_000 - rig.frame)
    rig.render(instants(start, rig.frame), 3 * 441)
    heard = [v for v in rig.out if v != 0]
    assert heard == values  # nothing lost, nothing repeated
    assert [e.started for e in rig.edges] == [True, False, True]


def test_a_pause_holds_the_rest_however_far_the_stream_renders_meanwhile() -> None:
    # The server goes on asking for frames while paused (silence): the held frames' instants
    # pass, and they must stay held, not be dropped as too late (a resume then skipped them:
    # ~210 ms of content, measured through PulseAudio).
    rig = Rig(channels=1)
    values = list(range(1, 20 * 441 + 1))
    for k in range(20):
        rig.play(T0 + k * 10_000, values[k * 441 : (k + 1) * 441])
    rig.now = T0 + 15_000
    rig.sink.pause(rig.now)
    start = T0 + DELAY_US
    for _ in range(50):  # half a second of requests while paused, 10 ms each
        rig.render(instants(start, rig.frame), 441)
    rig.now += 500_000
    rig.sink.resume(rig.now)
    rig.render(instants(start, rig.frame), 30 * 441)
    assert [v for v in rig.out if v != 0] == values
    assert rig.sink.late_frames == 0


def test_a_flush_drops_what_was_not_rendered() -> None:
    rig = Rig(channels=1)
    rig.play(T0, [7] * 441)
    rig.play(T0 + 10_000, [7] * 441)
    rig.render(T0 + DELAY_US, 220)
    rig.sink._on_flush(None, 0)
    assert not rig.render(instants(T0 + DELAY_US, 220), 662)
    assert rig.out.count(7) == 220
    assert rig.edges[-1] == SinkEdge(False, sample_instant(T0 + DELAY_US, 220), 0)


def test_a_closed_sink_renders_silence() -> None:
    rig = Rig()
    rig.play(T0, [9] * 441)
    rig.sink.close()
    rig.sink.close()  # idempotent
    assert not rig.render(T0 + DELAY_US, 441)
    assert set(rig.out) == {0}


def nudged(values: list[int], nudge: int) -> Rig:
    """Play *values* (three 441-frame blocks, mono) through a stream whose grid moves one
    frame later (+1) or earlier (-1) after its first 441 frames; return the rig."""
    rig = Rig(channels=1)
    for k in range(3):
        rig.play(T0 + k * 10_000, values[k * 441 : (k + 1) * 441])
    start = T0 + DELAY_US
    rig.render(start, 441)
    frame_us = 1_000_000 / RATE
    grid = round(start + 441 * frame_us + nudge * frame_us)  # the moved grid's next instant
    data, _laid, _more = rig.sink.render(rig.frame, grid, 441, nudge)
    rig.frame += 441
    rig.out.frombytes(data)
    rig.render(round(grid + 441 * frame_us), 441)
    rig.render(round(grid + 882 * frame_us), 441)
    return rig


@pytest.mark.parametrize("nudge", [1, -1])
def test_a_nudged_grid_drops_or_repeats_exactly_one_frame(nudge: int) -> None:
    # The stream's clock drifts: its grid moves one frame later (+1) or earlier (-1). The
    # media playing on must follow by that frame, seamlessly: one dropped, or one repeated.
    values = list(range(1, 3 * 441 + 1))  # rising: the quietest frame laid next is its first
    rig = nudged(values, nudge)
    heard = [v for v in rig.out if v != 0]
    if nudge > 0:
        assert heard == [*values[:441], *values[442:]]  # frame 442 dropped
    else:
        assert heard == [*values[:442], *values[441:]]  # frame 442 repeated
    assert rig.sink.late_frames == 0  # a correction, not a frame too late
    assert rig.sink.respaced == 1


@pytest.mark.parametrize("nudge", [1, -1])
def test_a_nudge_moves_the_frame_at_a_zero_crossing(nudge: int) -> None:
    # A 100 Hz tone: the frame dropped or repeated is where the wave crosses zero, not at the
    # start of what is laid next (mid-wave: a step a listener could hear as a click).
    values = [round(10_000 * math.sin(2 * math.pi * 100 * (n + 100) / RATE)) for n in range(1323)]
    rig = nudged(values, nudge)
    heard = list(rig.out[: len(values) - nudge])  # the silence after the last block aside
    moved = next(i for i, (h, v) in enumerate(zip(heard, values, strict=False)) if h != v)
    assert moved > 441  # not at the start of the piece laid after the nudge
    assert abs(values[moved - (0 if nudge > 0 else 1)]) < 400  # a frame next to zero
    if nudge > 0:
        assert heard == values[:moved] + values[moved + 1 :]
    else:
        assert heard == values[:moved] + values[moved - 1 :]
