"""The keeper dies while its group plays (SIGKILL): the members play on, on their last
timeline; `baton group A B C` again starts a new keeper, which knows the group the dead one
formed (groups.kept) and forms it again instead of calling it another controller's. A plays on
without a gap throughout; all three are in sync again after."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.group_client import GroupClient
from connect.clock import monotonic_us
from tests.integration.cli.conftest import baton
from tests.integration.devices.proof_drift import CODE, Member
from tests.integration.devices.proof_group import offsets_of, pairwise_skews, read_heard
from tests.integration.groups.conftest import (
    assert_in_sync,
    capture_members,
    connect_args,
)
from tests.integration.transfer.proof_audio import write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, stop_all
from tests.waiting import until

pytestmark = pytest.mark.slow

MEMBERS = (
    Member("A", 0, correct=True),
    Member("B", -100, correct=True),
    Member("C", +100, correct=True),
)
EVERY_US = 250_000


@pytest.fixture
async def receivers(tmp_path: Path) -> AsyncIterator[list[RunningReceiver]]:
    async with capture_members(tmp_path, MEMBERS) as started:
        yield started


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_group_whose_keeper_died_is_formed_again_by_the_next(
    media_server: MediaServer,
    receivers: list[RunningReceiver],
    keeper_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_cyclic_position_track(media_server.root / "group.wav", 90_000, CODE)
    connect = connect_args(receivers)
    client = GroupClient()
    try:
        assert (await baton(capsys, "play", "A", media_server.url("group.wav"), *connect))[0] == 0
        code, out, err = await baton(capsys, "group", "A", "B", "C", "--json", *connect)
        assert code == 0, (out, err)
        first = json.loads(out)["group"]["group_id"]
        answer = await client._exchange({"op": "ping"})
        assert answer is not None
        pid = int(answer["pid"])
        await asyncio.sleep(1.5)  # the music's own pace; the keeper notes the group meanwhile
        os.kill(pid, signal.SIGKILL)
        killed_at = monotonic_us()
        await until(lambda: not alive(pid), 5, "the keeper killed")
        await asyncio.sleep(1.0)  # the members play on, on their last timeline
        code, out, err = await baton(capsys, "group", "A", "B", "C", "--json", *connect)
        regrouped = monotonic_us()
        assert code == 0, (out, err)
        report = json.loads(out)
        assert report["ok"] is True
        assert report["group"]["group_id"] != first
        assert [x["name"] for x in report["group"]["members"]] == ["A", "B", "C"]
        await asyncio.sleep(3.0)  # the music's own pace: together again
    finally:
        await client.async_stop()
    await stop_all(receivers)  # a capture is whole once its receiver stopped
    heard = [read_heard(r.recording, x.name) for x, r in zip(MEMBERS, receivers, strict=True)]
    assert heard[0].playing_through(killed_at - 1_000_000, regrouped + 2_500_000)  # A: no gap
    start = regrouped + 500_000
    offsets = offsets_of(heard, start, start + 2_500_000, EVERY_US)
    skews = pairwise_skews(offsets)
    print(
        "skews after the new keeper grouped them again (us):",
        {k: list(v.values()) for k, v in skews.items()},
    )
    for readings in skews.values():
        assert_in_sync(list(readings.values()))
