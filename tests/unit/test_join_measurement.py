"""The gapless check through a sound server measures a join to the frame, whatever is there."""

from __future__ import annotations

import array

import pytest

from tests.integration.devices.continuity import join_error, noise

ENDING = noise(4_000, seed=1)
STARTING = noise(4_000, seed=2)
LEAD = noise(3_000, seed=3)  # what the recording held before the ending track


def recorded(between: array.array[int], *, nudge_at: int | None = None) -> array.array[int]:
    """A recording: the ending track, *between* (a gap's silence), the starting track; with
    one frame repeated at *nudge_at* frames before the join (a pull-mode clock correction)."""
    ending = ENDING[:]
    if nudge_at is not None:
        index = len(ending) - nudge_at
        ending.insert(index, ending[index])
    return LEAD + ending + between + STARTING


@pytest.mark.parametrize("gap", [0, 1, 44, 300])
def test_a_gap_is_measured_to_the_frame(gap: int) -> None:
    samples = recorded(array.array("h", bytes(2 * gap)))
    join = len(LEAD) + len(ENDING)
    assert join_error(samples, ENDING, len(ENDING), STARTING, join + 100, 2_205) == gap


def test_content_lost_at_the_join_is_an_overlap() -> None:
    samples = LEAD + ENDING[:-30] + STARTING  # the ending track's last 30 frames never played
    join = len(LEAD) + len(ENDING) - 30
    assert join_error(samples, ENDING, len(ENDING), STARTING, join, 2_205) == -30


def test_a_correction_far_from_the_join_does_not_count() -> None:
    samples = recorded(array.array("h"), nudge_at=1_000)
    join = len(LEAD) + len(ENDING) + 1
    assert join_error(samples, ENDING, len(ENDING), STARTING, join, 2_205) == 0
