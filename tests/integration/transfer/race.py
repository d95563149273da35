"""The race of Baton issue 23: two controllers moving the same music at once, round after round.

Three real receivers on `lo` (capture output), two controllers (each its own identity and
sessions). Every round both move the music from the device that holds it, one to each of the
two others, the second command 0 to 135 ms after the first. Afterwards every device's state is
read and, at the end, its audio: a round is good when exactly one device holds the session
(active), at most one plays (state and sound), and the losing command was refused naming the
device that has the music now. `async_race` runs it; tests/integration/transfer/test_race.py
runs a few rounds, bench/race.py fifty.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connect.clock import monotonic_us
from connect.controller import Controller
from connect.transfer.coordinator import TransferCoordinator, TransferOutcome
from connect.wire import messages as m
from tests.audio import read_capture
from tests.integration.transfer.fault_bench import EVENT_TIMEOUT_S, audible_within, wait_state
from tests.integration.transfer.proof_audio import PositionCode, write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver

SETTLE_US = 300_000  # after a round, how long the one device that plays is listened to
STAGGER_US = 15_000  # the second command's delay grows by this, round by round
STAGGERS = 10  # ... for this many rounds, then starts again at 0


@dataclass(frozen=True)
class Round:
    """One race: who held the music, what each controller was told, what the devices say."""

    source: str
    outcomes: tuple[TransferOutcome, TransferOutcome]
    took_us: tuple[int, int]  # each command, from its start to its outcome
    active: tuple[str, ...]  # devices whose state holds the session
    playing: tuple[str, ...]  # devices whose state says PLAYING
    settled_us: int
    heard_from_us: int
    heard_until_us: int

    def verdict(self, names: dict[str, str]) -> str:
        """Return "" if the round ended as it must, else what went wrong."""
        won = [o for o in self.outcomes if o.ok]
        lost = [o for o in self.outcomes if not o.ok]
        if len(won) != 1 or len(lost) != 1:
            return f"outcomes {[o.failure for o in self.outcomes]}"
        winner, loser = won[0], lost[0]
        if self.active != (winner.target_id,):
            return f"active devices {self.active}, winner {winner.target_id}"
        if self.playing != (winner.target_id,):
            return f"playing devices {self.playing}"
        assert loser.failure is not None
        if (
            loser.owner_id != winner.target_id
            or names[winner.target_id] not in loser.failure.message
        ):
            return f"the loser was told {loser.failure}, owner {loser.owner_id!r}"
        return ""


def refused_where(outcome: TransferOutcome) -> str:
    """Return which rule refused a losing command, as its failure tells (connect/transfer/)."""
    assert outcome.failure is not None
    code, message = outcome.failure.code, outcome.failure.message
    if code is m.ErrorCode.NOT_ACTIVE:
        return "the source, which had let go"
    if code is m.ErrorCode.CONFLICT and "is handing the music over" in message:
        return "the source, in its switch"
    if code is m.ErrorCode.CONFLICT:
        # The coordinator up front (its view showed the holder), or a target that had seen
        # a newer copy: both say where the music is, alike.
        return "the controller's view, or the target"
    return f"another failure ({code.name})"


def judge(
    rounds: list[Round], receivers: list[RunningReceiver], names: dict[str, str]
) -> dict[int, str]:
    """Return what went wrong in each bad round (by number), from the states and from what each
    device played."""
    captures = {r.device_id: read_capture(r.recording) for r in receivers}
    failures = {}
    for n, round_ in enumerate(rounds):
        why = round_.verdict(names)
        heard = tuple(
            device_id
            for device_id, capture in captures.items()
            if audible_within(capture, round_.heard_from_us, round_.heard_until_us)
        )
        if not why and len(heard) > 1:
            why = f"heard from {heard}"
        if why:
            failures[n] = why
    return failures


@asynccontextmanager
async def three_receivers(
    tmp_path: Path, rounds: int
) -> AsyncIterator[tuple[list[RunningReceiver], str]]:
    """Three receivers on the capture output, and a track as long as *rounds* need."""
    (tmp_path / "media").mkdir()
    track = tmp_path / "media" / "long.wav"  # written off the loop: it takes a while
    track_ms = 20_000 + rounds * 1_500
    await asyncio.to_thread(write_cyclic_position_track, track, track_ms, PositionCode(150))
    async with MediaServer(tmp_path / "media") as media:
        names = ("Living Room", "Kitchen", "Car")
        receivers = list(
            await asyncio.gather(
                *(start_receiver(tmp_path, name, output="capture") for name in names)
            )
        )
        try:
            yield receivers, media.url("long.wav")
        finally:
            for receiver in receivers:
                if receiver.process.returncode is None:
                    await receiver.stop()


async def controller(
    name: str, receivers: list[RunningReceiver], stack: AsyncExitStack
) -> Controller:
    """A controller of its own (identity, sessions), connected to every receiver."""
    ctl = Controller(m.ClientIdentity(f"race-{name}", f"Race {name}"), browse=False)
    await ctl.async_start()
    stack.push_async_callback(ctl.async_close)
    for receiver in receivers:
        await ctl.async_add_address(receiver.host, receiver.port)
        conn = await ctl.async_connect(receiver.device_id, EVENT_TIMEOUT_S)
        await conn.async_sync_clock(samples=3)
    return ctl


async def timed(
    delay_us: int, transfer: Coroutine[Any, Any, TransferOutcome]
) -> tuple[TransferOutcome, int]:
    """Start *transfer* *delay_us* from now (a second command typed a moment later); return
    its outcome and how long it took from its start."""
    await asyncio.sleep(delay_us / 1e6)
    started = monotonic_us()
    outcome = await transfer
    return outcome, monotonic_us() - started


async def settled_states(
    watcher: Controller, ids: list[str], holder: str
) -> dict[str, m.PlaybackState]:
    """Return every device's state once the round has settled: one holds and plays, the others
    have let go (or never took it). Times out, and the round is judged on what it got."""
    states = {}
    for device_id in ids:

        def settled(state: m.PlaybackState, want: bool = device_id == holder) -> bool:
            playing = state.status is m.PlaybackStatus.PLAYING
            return state.active == want and playing == want

        try:
            states[device_id] = await wait_state(watcher, device_id, settled, timeout=5)
        except TimeoutError:
            state = watcher.connection(device_id).state
            assert state is not None
            states[device_id] = state
    return states


@dataclass(frozen=True)
class RaceResult:
    """Every round played, and what went wrong in each bad one (by its number)."""

    rounds: list[Round]
    bad: dict[int, str]
    planned: int  # rounds not played (the session was lost or forked before) count as bad

    @property
    def failures(self) -> list[str]:
        """Return one line per bad round: "round N: why"."""
        return [f"round {n}: {why}" for n, why in sorted(self.bad.items())]

    @property
    def good(self) -> int:
        """Return how many of the planned rounds ended as they must."""
        return self.planned - len(self.bad)

    def refusals(self) -> Counter[str]:
        """Return how many losing commands were refused where (read from their failures)."""
        return Counter(refused_where(o) for r in self.rounds for o in r.outcomes if not o.ok)

    def summary(self) -> str:
        """Return the one line the issue asks for."""
        return (
            f"{self.good} of {self.planned} rounds end with exactly one active device, at most "
            "one playing, and the losing command refused with the owner named"
        )


async def async_race(tmp_path: Path, rounds: int) -> RaceResult:
    """Play *rounds* rounds of the race on three fresh receivers; judge each from the devices'
    states and, once they are stopped, from their recordings."""
    async with three_receivers(tmp_path, rounds) as (receivers, url), AsyncExitStack() as stack:
        ids = [r.device_id for r in receivers]
        names = {r.device_id: r.name for r in receivers}
        first = await controller("one", receivers, stack)
        second = await controller("two", receivers, stack)
        played = await first.async_command(ids[0], m.SetQueue((m.QueueItem("u1", url),), play=True))
        assert played.ok, played.failure
        await wait_state(first, ids[0], lambda s: s.clock.playing and s.active)
        coordinators = TransferCoordinator(first), TransferCoordinator(second)
        played_rounds: list[Round] = []
        holder = ids[0]
        broken = ""  # a round that could not even start: the session was lost or forked
        for n in range(rounds):
            others = [device_id for device_id in ids if device_id != holder]
            try:
                for ctl in (first, second):
                    await wait_state(ctl, holder, lambda s: s.active and s.clock.playing, 5)
            except TimeoutError:
                broken = f"in round {n}, {names[holder]} never held and played the session"
                break
            # The second command comes 0 to 135 ms after the first: together (both commit a
            # source in its switch), or after the first has finished (a source that let go).
            (one, one_us), (two, two_us) = await asyncio.gather(
                timed(0, coordinators[0].async_transfer(holder, others[0])),
                timed(
                    STAGGER_US * (n % STAGGERS),
                    coordinators[1].async_transfer(holder, others[1]),
                ),
            )
            won = [o.target_id for o in (one, two) if o.ok]
            next_holder = won[0] if len(won) == 1 else holder
            states = await settled_states(first, ids, next_holder)
            settled = monotonic_us()
            await asyncio.sleep(SETTLE_US / 1e6)
            played_rounds.append(
                Round(
                    holder, (one, two), (one_us, two_us),
                    tuple(i for i in ids if states[i].active),
                    tuple(i for i in ids if states[i].status is m.PlaybackStatus.PLAYING),
                    settled, settled, monotonic_us(),
                )
            )  # fmt: skip
            holder = next_holder
    # The receivers are stopped: their recordings are complete. Reading them takes a while:
    # off the event loop.
    bad = await asyncio.to_thread(judge, played_rounds, receivers, names)
    for n in range(len(played_rounds), rounds):
        bad[n] = f"not played: {broken}"
    return RaceResult(played_rounds, bad, rounds)
