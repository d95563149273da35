"""The group proof's readings, on captures made here: skew, gaps and jumps read back exactly."""

from __future__ import annotations

import array

from tests.audio import RATE, SEGMENT_MS, Recording, tone_samples
from tests.integration.devices.proof_drift import CODE, IndexedCapture
from tests.integration.devices.proof_group import Heard, content_jump, offsets_of, pairwise_skews
from tests.integration.transfer.proof_audio import SEGMENT_US

BLOCK = 2205  # 50 ms, as a WAV's blocks reach the sink
START_US = 50_000_000


def _track(seconds: int) -> array.array[int]:
    one_cycle: array.array[int] = array.array("h")
    for k in range(CODE.cycle):
        one_cycle.extend(tone_samples(CODE.frequency(k), SEGMENT_MS))
    return one_cycle[: seconds * RATE]


def _heard(name: str, samples: array.array[int], start_us: int) -> Heard:
    """A capture presenting *samples* from *start_us* in 50 ms blocks, back to back."""
    blocks = tuple(
        (start_us + first * 1_000_000 // RATE, first, min(BLOCK, len(samples) - first))
        for first in range(0, len(samples), BLOCK)
    )
    return Heard(name, IndexedCapture(Recording(samples, RATE), blocks))


def test_two_members_a_known_skew_apart_read_as_that_skew() -> None:
    track = _track(4)
    ahead = 23  # frames: ~522 µs
    leader = _heard("leader", track, START_US)
    follower = _heard("follower", track[ahead:], START_US)
    grid = (START_US + 200_000, START_US + 3_000_000, 500_000)
    skew = pairwise_skews({"leader": leader.offsets(*grid), "follower": follower.offsets(*grid)})
    readings = list(skew[("follower", "leader")].values())
    assert len(readings) >= 5
    expected = ahead * 1_000_000 / RATE
    assert all(abs(r - expected) <= 30 for r in readings), readings
    assert leader.playing_through(START_US, START_US + 3_900_000)
    assert not leader.breaks(START_US, START_US + 3_900_000)
    assert not leader.silent_runs(START_US, START_US + 3_900_000)


def test_a_gap_and_a_jump_are_found() -> None:
    track = _track(4)
    hole = array.array("h", track)
    gap_at = 2 * RATE
    hole[gap_at : gap_at + RATE // 100] = array.array("h", bytes(2 * (RATE // 100)))  # 10 ms
    member = _heard("gapped", hole, START_US)
    runs = member.silent_runs(START_US, START_US + 4_000_000)
    assert len(runs) == 1
    lo, hi = runs[0]
    assert abs(lo - (START_US + 2_000_000)) <= 100
    assert 9_000 <= hi - lo <= 11_000
    skip = 4 * SEGMENT_US * RATE // 1_000_000  # 400 ms of content skipped at 2 s
    jumped = _heard("jumped", track[:gap_at] + track[gap_at + skip :], START_US)
    jump = content_jump(jumped, START_US + 1_000_000, START_US + 2_500_000)
    assert jump is not None
    assert abs(jump - 400_000) <= 30
    steady = content_jump(member, START_US + 500_000, START_US + 1_500_000)
    assert steady is not None
    assert abs(steady) <= 30


def test_a_break_in_the_presentation_is_found() -> None:
    track = _track(3)
    member = _heard("late block", track, START_US)
    blocks = list(member.capture.blocks)
    at, _first, _frames = blocks[20]  # one block presented 5 ms late, and all after it
    blocks[20:] = [(b_at + 5_000, b_first, b_frames) for b_at, b_first, b_frames in blocks[20:]]
    late = Heard("late block", IndexedCapture(member.capture.recording, tuple(blocks)))
    found = late.breaks(START_US, START_US + 3_000_000)
    assert found == [(at, at + 5_000)]
    assert not late.playing_through(START_US, START_US + 2_000_000)


def test_offsets_read_by_worker_processes_are_those_read_here() -> None:
    member = _heard("member", _track(2)[23:], START_US)
    grid = (START_US + 200_000, START_US + 1_500_000, 250_000)  # five readings, in shares
    here = member.offsets(*grid)
    assert len(here) == 5, here
    assert offsets_of([member], *grid) == {"member": here}
