"""Race benchmark (Baton issue 23): two controllers moving the same music at once, 50 rounds.

tests/integration/transfer/race.py does the work: three real receivers on `lo` (capture
output), two controllers with identities and sessions of their own; every round both move the
music from the device that holds it, one to each of the two others, the second command 0 to
135 ms after the first (15 ms more each round, ten steps, then again). After each round every
device's state is read; once the receivers are stopped, their recordings. A round is good when
exactly one device holds the session, at most one plays (its state, and its sound in the 300 ms
after the round settled), and the losing command was refused with the device that has the music
now named in its message and its outcome.

Figures: `race.good_rounds` (one sample per round: 1 good, 0 bad; the target is every round
good), and how long each command took from its start to its outcome: the winner's (the whole
transfer, to the target's Done) and the loser's (to its refusal). It prints which rule refused
each losing command: the source in its switch (CONFLICT), the source having let go
(NOT_ACTIVE), or the controller up front from its view (or a target that had seen a newer
copy). `--quick`: 2 rounds.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bench._runner import Measurement
from tests.integration.transfer.race import RaceResult, async_race

ROUNDS, QUICK_ROUNDS = 50, 2


def run(quick: bool) -> Iterable[Measurement]:
    """Play the race and yield the share of good rounds and the commands' durations."""
    rounds = QUICK_ROUNDS if quick else ROUNDS
    with tempfile.TemporaryDirectory(prefix="baton-bench-race-") as tmp:
        result = asyncio.run(async_race(Path(tmp), rounds))
    print(result.summary())
    refusals = ", ".join(f"{n} by {where}" for where, n in result.refusals().most_common())
    print(f"losing commands refused: {refusals}")
    for failure in result.failures:
        print(f"  {failure}")
    yield from _figures(result)


def _figures(result: RaceResult) -> Iterable[Measurement]:
    good = [0.0 if n in result.bad else 1.0 for n in range(result.planned)]
    yield Measurement(
        "race.good_rounds",
        "rounds",
        good,
        target="every round: one active device, at most one playing, the loser told the owner",
        extra={"good": float(result.good), "rounds": float(result.planned)},
        met=result.good == result.planned,
    )
    won: list[float] = []
    lost: list[float] = []
    for round_ in result.rounds:
        for outcome, took_us in zip(round_.outcomes, round_.took_us, strict=True):
            (won if outcome.ok else lost).append(took_us / 1000)
    if won:
        yield Measurement("race.winner_command", "ms", won)
    if lost:
        yield Measurement("race.loser_refused", "ms", lost)
