"""A timed start: the stretch moved so its first sample is heard at the instant asked, whenever
libVLC's first block comes, through a sound server and on capture (devices/_timed_sink.py,
`align_next`)."""

from __future__ import annotations

import array

import pytest

from devices._envelope import RATE, Envelope, frames_before, sample_instant
from devices._output_timing import OutputEdges, StartKind
from devices._timed_sink import SinkEdge, TimedSink
from devices.player_types import OutputStarted
from tests.unit.devices.test_timed_sink_pull import DELAY_US, T0, Rig, instants

BLOCK = 441  # 10 ms


def _start(rig: Rig, at_us: int, pts: int, blocks: int = 3) -> list[int]:
    """Ask for a start heard at *at_us*; libVLC then stamps its blocks from *pts*."""
    rig.sink.set_envelope(Envelope(open_us=at_us), since_us=0)
    rig.sink.align_next(at_us)
    values = list(range(1, blocks * BLOCK + 1))
    for k in range(blocks):
        rig.play(pts + k * 10_000, values[k * BLOCK : (k + 1) * BLOCK])
    return values


@pytest.mark.parametrize("late_us", [-2_000, 0, 7_000, 28_000])
def test_the_first_sample_is_heard_at_the_instant_asked_early_or_late(late_us: int) -> None:
    rig = Rig(channels=1)
    at = T0 + DELAY_US + 20_000
    values = _start(rig, at, at - DELAY_US + late_us)
    rig.render(T0 + DELAY_US, 5 * BLOCK)
    lead = round(20_000 * RATE / 1_000_000)
    assert list(rig.out[:lead]) == [0] * lead
    assert list(rig.out[lead : lead + len(values)]) == values  # every sample, from the first
    assert rig.edges[0] == SinkEdge(True, at, at, -late_us)
    assert rig.sink.late_frames == 0


def test_the_later_blocks_of_the_timeline_follow_the_move_through_a_pause() -> None:
    rig = Rig(channels=1)
    at = T0 + DELAY_US + 20_000
    values = _start(rig, at, at - DELAY_US + 5_000, blocks=4)
    rig.render(T0 + DELAY_US, 3 * BLOCK)  # to 10 ms into the stretch
    rig.now = at - DELAY_US + 5_000 + 25_000  # libVLC pauses 25 ms into the stretch
    rig.sink.pause(rig.now)
    rig.render(instants(T0 + DELAY_US, rig.frame), 2 * BLOCK)
    held = -(-25_000 * RATE // 1_000_000)
    assert [v for v in rig.out if v != 0] == values[:held]  # heard up to the pause
    rig.now += 300_000
    rig.sink.resume(rig.now)
    rig.play(rig.now + 15_000, list(range(10_000, 10_000 + BLOCK)))  # libVLC's next block
    resumed = rig.now + DELAY_US - 5_000  # the held tail, on the moved timeline
    rendered = instants(T0 + DELAY_US, rig.frame)
    gap = (resumed - rendered) * RATE // 1_000_000
    rig.render(rendered, gap + 4 * BLOCK)
    tail = rig.out.tolist().index(values[held])
    assert abs(tail - (resumed - T0 - DELAY_US) * RATE / 1_000_000) <= 1  # the pause's length on
    heard = [v for v in rig.out if v != 0]
    assert heard == [*values, *range(10_000, 10_000 + BLOCK)]  # back to back, none lost


def test_an_instant_already_rendered_starts_right_after_what_was_rendered() -> None:
    rig = Rig(channels=1)
    at = T0 + DELAY_US + 5_000
    rig.render(T0 + DELAY_US, 2 * BLOCK)  # the server is 20 ms ahead, past the instant
    values = _start(rig, at, at - DELAY_US + 30_000)
    rendered = sample_instant(T0 + DELAY_US, 2 * BLOCK)
    rig.render(rendered, 5 * BLOCK)
    heard_from = rig.out.tolist().index(1)
    assert heard_from == 2 * BLOCK + round(2_000 * RATE / 1_000_000)  # the guard after it
    assert rig.out[heard_from : heard_from + len(values)].tolist() == values
    assert rig.edges[0].at_us == rendered + 2_000  # reported where it is heard: late


def test_a_flush_ends_the_move_and_a_start_without_an_instant_plays_at_its_pts() -> None:
    rig = Rig(channels=1)
    at = T0 + DELAY_US + 20_000
    _start(rig, at, at - DELAY_US + 7_000, blocks=1)
    rig.sink._on_flush(None, 0)
    rig.sink.align_next(None)
    rig.play(T0 + 40_000, [3] * BLOCK)
    rig.render(T0 + DELAY_US, 8 * BLOCK)
    assert rig.out.tolist().index(3) == round(40_000 * RATE / 1_000_000)


class _Recorded:
    """A push-mode sink on a fake clock, and the instants of the stretches it recorded."""

    def __init__(self) -> None:
        self.now = T0
        self.starts: list[int] = []
        self.samples: list[int] = []
        self.edges: list[SinkEdge] = []
        self.sink = TimedSink(self.edges.append, recorder=self, clock=lambda: self.now)
        self.rig = Rig(channels=1)
        self.rig.sink = self.sink  # the rig's libVLC side, on this sink

    def write(self, start_us: int, samples: array.array[int]) -> None:
        self.starts.append(start_us)
        self.samples.extend(samples)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("pts_off_us", [-2_000, 9_000, 104_000])
def test_push_mode_moves_a_start_handed_over_in_time_onto_its_instant(pts_off_us: int) -> None:
    # On capture, libVLC hands a pre-roll's first block over at the resume call, stamped a
    # decoder block later (a FLAC block: 104 ms): in hand before the instant, it starts there.
    rec = _Recorded()
    at = T0 + 30_000
    rec.sink.set_envelope(Envelope(open_us=at), since_us=0)
    rec.sink.align_next(at)
    rec.rig.play(at + pts_off_us, [1] * BLOCK)
    rec.rig.play(at + pts_off_us + 10_000, [2] * BLOCK)
    rec.now = at + 200_000
    rec.sink.close()
    assert rec.starts == [at, at + 10_000]  # the whole timeline moved, back to back
    assert rec.edges[0] == SinkEdge(True, at, at, -pts_off_us)


def test_push_mode_starts_a_block_handed_over_after_its_instant_at_once() -> None:
    rec = _Recorded()
    at = T0 + 5_000
    rec.sink.align_next(at)
    rec.now = T0 + 7_000  # the instant has passed: what is presented cannot go before now
    rec.rig.play(T0 + 60_000, [1] * BLOCK)
    rec.now = T0 + 100_000
    rec.sink.close()
    assert rec.starts == [T0 + 7_000]


def test_push_mode_pauses_a_moved_timeline_where_it_is_and_resumes_it_back_to_back() -> None:
    # The stretch runs 84 ms ahead of libVLC's timeline: libVLC's pause instant is past on it.
    rec = _Recorded()
    at, late = T0 + 30_000, 84_000
    rec.sink.align_next(at)
    values = list(range(1, 4 * BLOCK + 1))
    for k in range(4):
        rec.rig.play(at + late + k * 10_000, values[k * BLOCK : (k + 1) * BLOCK])
    paused = rec.now = at + 25_000
    rec.sink._on_pause(None, paused)
    played = frames_before(at, paused)
    assert rec.samples == values[:played]  # what played by the pause, not 84 ms less
    rec.now = resumed = paused + 300_000
    rec.sink._on_resume(None, resumed)
    # libVLC's next block: its held queue played on from the resume, on its own timeline.
    rec.rig.play(at + late + 40_000 + 300_000, [7] * BLOCK)
    rec.now = resumed + 200_000
    rec.sink.close()
    assert rec.samples == [*values, *[7] * BLOCK]  # nothing lost, nothing twice
    assert rec.starts[0] == at
    tail = rec.starts[1 + rec.starts.index(at + 20_000)]  # the held tail, from its next frame
    assert 0 <= tail - resumed < 1_000_000 // RATE + 1  # goes on at the resume
    assert rec.starts[-1] == sample_instant(at + 300_000, 4 * BLOCK)  # then libVLC's block


def test_the_start_latency_is_learned_from_where_libvlc_put_the_first_sample() -> None:
    edges = OutputEdges(exact=True)
    edges.expect_start(StartKind.PREROLL, 4_000)
    edges.start_called(StartKind.PREROLL, T0)
    # libVLC's first sample was due 14 ms after the call; the sink moved it 3 ms earlier.
    event = edges.from_sink(SinkEdge(True, T0 + 11_000, T0 + 11_000, -3_000), lambda at: -1)
    assert event == OutputStarted(T0 + 11_000, 4_000, True)
    assert edges.latency.estimate_us(StartKind.PREROLL) == 14_000
