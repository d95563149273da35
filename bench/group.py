"""Rooms in sync: one group of three receivers, read from what each one's converter played.

Three `baton-receiver` processes on `lo` with capture outputs whose simulated converters run
-100, 0 and +100 ppm off the true clock (`--simulated-drift`, drift correction on). The first
plays the position-encoding track (tests/integration/transfer/proof_audio.py's cyclic code);
the controller of this process (`Controller.async_group`, the coordinator a keeper runs too)
forms one group of the three. Then, in order:

1. steady play for 5 minutes (`--minutes`; quick: 8 s): every second each member's content
   offset is read (tests/integration/devices/proof_group.py) and the *skew* between every two
   members at that instant is the difference: target ≤ 1 ms p99, ≤ 0.2 ms median;
2. churn for 60 s (quick: one round): the third member leaves and joins again every 5 s while
   the other two play; each join's request → the first sample the new member's converter
   played (target ≤ 300 ms), and on the two playing members the silences (≥ 1 ms without an
   audible sample) and the content jump across the churn (target: none, 0);
3. the leader SIGKILLed: the other two play on (silences, jump across the kill: target none)
   and one of them says it leads (PlaybackState.group) within 1 s of the kill.

Every instant is CLOCK_MONOTONIC (the capture timelines' clock, and this process's
`time.monotonic_ns`), so requests and what was heard compare directly. The correction's CPU is
`./dev bench drift`'s figure (drift.cpu.*), measured on the stage itself.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bench._runner import Measurement
from connect.controller import Controller
from connect.wire import messages as m
from tests.integration.devices.proof_drift import CODE, Member
from tests.integration.devices.proof_group import Heard, content_jump, pairwise_skews, read_heard
from tests.integration.transfer.proof_audio import write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver, stop_all

MINUTES = 5.0
QUICK_STEADY_S = 8.0
CHURN_S, QUICK_CHURN_S = 60.0, 5.0
CHURN_EVERY_S = 5.0
AFTER_KILL_S = 5.0
READ_EVERY_US = 1_000_000
SKEW_P99_TARGET_US, SKEW_MEDIAN_TARGET_US = 1_000.0, 200.0
JOIN_TARGET_MS = 300.0
LEADER_TARGET_MS = 1_000.0
STATE_TIMEOUT_S = 15.0
MEMBERS = (
    Member("Kitchen", -100, correct=True),
    Member("Lounge", 0, correct=True),
    Member("Terrace", +100, correct=True),
)


@dataclass
class Run:
    """What the run did, each instant CLOCK_MONOTONIC µs."""

    grouped_at: int = 0  # the group request was sent
    steady: tuple[int, int] = (0, 0)  # all three played in the group
    joins: list[int] = field(default_factory=list)  # each churn join's request
    leaves: list[int] = field(default_factory=list)
    churn: tuple[int, int] = (0, 0)
    killed_at: int = 0
    new_leader_after_us: int | None = None
    end_at: int = 0


def run(quick: bool, minutes: float | None = None) -> Iterable[Measurement]:
    """Yield the skew between members, join latencies, and gaps, jumps and takeover figures."""
    steady_s = QUICK_STEADY_S if quick else 60 * (MINUTES if minutes is None else minutes)
    churn_s = QUICK_CHURN_S if quick else CHURN_S
    print(f"group: three receivers, {steady_s:g} s steady, {churn_s:g} s churn; load {_load()}")
    heard, done = asyncio.run(play_group(steady_s, churn_s))
    print(f"group: load after the run {_load()}")
    yield from figures(heard, done, judge=not quick)


def _now_us() -> int:
    return time.monotonic_ns() // 1000


async def play_group(steady_s: float, churn_s: float) -> tuple[list[Heard], Run]:
    """Play the run (steady, churn, leader killed) on three receivers; return what each one's
    converter played and when the run did what."""
    with tempfile.TemporaryDirectory(prefix="baton-group-") as tmp:
        root = Path(tmp)
        (root / "media").mkdir()
        track_ms = int(1000 * (steady_s + churn_s + AFTER_KILL_S + 30))
        write_cyclic_position_track(root / "media" / "group.wav", track_ms, CODE)
        async with MediaServer(root / "media") as media:
            receivers = await asyncio.gather(
                *(
                    start_receiver(root, member.name, output="capture", extra=member.extra())
                    for member in MEMBERS
                )
            )
            try:
                item = m.QueueItem(
                    "group", media.url("group.wav"), title="group", duration_ms=track_ms
                )
                done = await _drive(receivers, item, steady_s, churn_s)
            finally:
                await stop_all(receivers)
        return [read_heard(r.recording, r.name) for r in receivers], done


async def _drive(
    receivers: list[RunningReceiver], item: m.QueueItem, steady_s: float, churn_s: float
) -> Run:
    done = Run()
    controller = Controller(
        m.ClientIdentity("group-bench", "Group bench"), interfaces=["127.0.0.1"]
    )
    await controller.async_start()
    try:
        for receiver in receivers:
            await controller.async_add_address("127.0.0.1", receiver.port)
        leader, lounge, terrace = (r.device_id for r in receivers)
        played = await controller.async_command(leader, m.SetQueue((item,), play=True))
        if not played.ok:
            raise RuntimeError(f"{receivers[0].name} refused to play: {played.failure}")
        await _until(controller, leader, lambda s: s.status is m.PlaybackStatus.PLAYING)
        done.grouped_at = _now_us()
        await controller.async_group([leader, lounge, terrace])
        steady_from = _now_us() + 1_000_000  # joins done, fade-ins over
        await asyncio.sleep(1 + steady_s)  # the run itself: the music's own pace, not a wait
        done.steady = (steady_from, _now_us())
        churn_end = time.monotonic() + churn_s
        while time.monotonic() < churn_end:
            done.leaves.append(_now_us())
            await controller.async_ungroup(terrace)
            await asyncio.sleep(CHURN_EVERY_S / 2)
            done.joins.append(_now_us())
            await controller.async_group([leader, terrace])
            await asyncio.sleep(CHURN_EVERY_S / 2)
        done.churn = (done.leaves[0], _now_us())
        await asyncio.sleep(0.5)  # so the churn's last reading ends before the kill
        done.killed_at = _now_us()
        await receivers[0].kill()
        await _until(controller, lounge, lambda s: _leads_other_than(s, leader))
        done.new_leader_after_us = _now_us() - done.killed_at
        await asyncio.sleep(AFTER_KILL_S)
        done.end_at = _now_us()
    finally:
        await controller.async_close()
    return done


def _leads_other_than(state: m.PlaybackState, gone: str) -> bool:
    group = state.group
    return group is not None and group.leader_device_id not in ("", gone)


async def _until(controller: Controller, device_id: str, holds) -> None:  # type: ignore[no-untyped-def]
    """Return once the device's published state satisfies *holds* (bounded)."""
    conn = controller.connection(device_id)
    changed = asyncio.Event()
    unsubscribe = conn.subscribe(lambda _event: changed.set())
    try:
        async with asyncio.timeout(STATE_TIMEOUT_S):
            while conn.state is None or not holds(conn.state):
                changed.clear()
                await changed.wait()
    finally:
        unsubscribe()


def figures(heard: list[Heard], done: Run, *, judge: bool) -> Iterable[Measurement]:
    """Yield the run's figures, each judged against its target when *judge*."""
    kitchen, lounge, terrace = heard
    offsets = {h.name: h.offsets(*done.steady, READ_EVERY_US) for h in heard}
    pairs = pairwise_skews(offsets)
    every = [abs(s) for skews in pairs.values() for s in skews.values()]
    for (one, other), skews in pairs.items():
        print(f"group: skew {one} - {other}: {list(skews.values())[:12]} µs ...")
        wide = [(at, skew) for at, skew in skews.items() if abs(skew) > SKEW_P99_TARGET_US]
        if wide:
            since = (wide[0][0] - done.steady[0]) / 1e6
            largest = max(wide, key=lambda x: abs(x[1]))[1]
            print(
                f"group: skew {one} - {other}: {len(wide)} of {len(skews)} readings over "
                f"{SKEW_P99_TARGET_US:g} µs, the first {since:.0f} s in, the largest {largest} µs"
            )
    if every:
        p99 = Measurement("x", "us", every).percentile(99)
        yield Measurement(
            "group.skew.between_members",
            "us",
            every,
            target=f"≤ {SKEW_P99_TARGET_US:g} µs p99, ≤ {SKEW_MEDIAN_TARGET_US:g} µs median",
            met=(p99 <= SKEW_P99_TARGET_US and statistics.median(every) <= SKEW_MEDIAN_TARGET_US)
            if judge
            else None,
        )
    first_joins = [done.grouped_at, done.grouped_at]
    latencies = []
    for member, asked in itertools.chain(
        zip((lounge, terrace), first_joins, strict=True), ((terrace, j) for j in done.joins)
    ):
        at = member.first_heard(asked)
        if at is not None:
            latencies.append((at - asked) / 1000)
    if latencies:
        yield Measurement(
            "group.join.request_to_audible",
            "ms",
            latencies,
            target=f"≤ {JOIN_TARGET_MS:g} ms",
            met=max(latencies) <= JOIN_TARGET_MS if judge else None,
        )
    yield from _undisturbed("churn", (kitchen, lounge), *done.churn, judge=judge)
    yield from _undisturbed(
        "leader_loss", (lounge, terrace), done.killed_at - 1_000_000, done.end_at, judge=judge
    )
    if done.new_leader_after_us is not None:
        yield Measurement(
            "group.leader_loss.new_leader",
            "ms",
            [done.new_leader_after_us / 1000],
            target=f"≤ {LEADER_TARGET_MS:g} ms",
            met=done.new_leader_after_us / 1000 <= LEADER_TARGET_MS if judge else None,
        )


def _undisturbed(
    what: str, playing: tuple[Heard, ...], start_us: int, end_us: int, *, judge: bool
) -> Iterable[Measurement]:
    """Yield the silences and content jumps heard on members that should play on untouched."""
    silences: list[float] = []
    jumps: list[float] = []
    for member in playing:
        gaps = member.silent_runs(start_us, end_us)
        breaks = member.breaks(start_us, end_us)
        silences.extend((hi - lo) / 1000 for lo, hi in gaps)
        silences.extend(abs(hi - lo) / 1000 for lo, hi in breaks)
        jump = content_jump(member, start_us, end_us - 400_000)
        print(
            f"group: {what}: {member.name}: silences {gaps}, presentation breaks {breaks}, "
            f"content jump {jump} µs"
        )
        if jump is not None:
            jumps.append(abs(jump))
    yield Measurement(
        f"group.{what}.gap_on_others",
        "ms",
        silences or [0.0],
        target="none",
        met=not silences if judge else None,
    )
    if not jumps:
        print(f"group: {what}: no content offset could be read on the members that played on")
        return
    yield Measurement(
        f"group.{what}.jump_on_others",
        "us",
        jumps,
        target="0 (within a sample's reading, 45 µs), read on every member",
        met=(max(jumps) <= 45 and len(jumps) == len(playing)) if judge else None,
    )


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
