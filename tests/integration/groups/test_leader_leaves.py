"""`baton ungroup` of a group's leader: the next member takes the session over first, without a
gap on it, then the old leader fades out alone; proven from the audio."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.group_client import GroupClient
from connect.clock import monotonic_us
from connect.wire import messages as m
from tests.integration.cli.conftest import baton
from tests.integration.devices.group_link import GroupLink
from tests.integration.devices.proof_drift import CODE, Member
from tests.integration.devices.proof_group import read_heard
from tests.integration.groups.conftest import (
    JUMP_BOUND_US,
    capture_members,
    connect_args,
    content_moved,
)
from tests.integration.transfer.proof_audio import write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, stop_all

pytestmark = pytest.mark.slow

MEMBERS = (Member("A", 0, correct=True), Member("B", +100, correct=True))
PLAYING_TIMEOUT_S = 15.0


@pytest.fixture
async def receivers(tmp_path: Path) -> AsyncIterator[list[RunningReceiver]]:
    async with capture_members(tmp_path, MEMBERS) as started:
        yield started


async def test_ungroup_the_leader_hands_the_music_to_the_follower_without_a_gap(
    media_server: MediaServer,
    receivers: list[RunningReceiver],
    keeper_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_cyclic_position_track(media_server.root / "group.wav", 90_000, CODE)
    connect = connect_args(receivers)
    b = receivers[1]
    watch = await GroupLink.open(b.host, b.port)
    try:
        mark = watch.mark()
        assert (await baton(capsys, "play", "A", media_server.url("group.wav"), *connect))[0] == 0
        code, out, err = await baton(capsys, "group", "A", "B", *connect)
        assert code == 0, (out, err)
        await asyncio.sleep(6.0)  # the music's own pace: both play, B's drift correction settled
        left_at = monotonic_us()
        code, out, err = await baton(capsys, "ungroup", "A", *connect)
        assert code == 0, err
        assert out == "A left; the group ended\n"  # B, the last one, plays on alone
        await watch.next(
            m.StateSnapshot,
            lambda s: s.state.active and s.state.group is None,
            after=mark,
            timeout=PLAYING_TIMEOUT_S,
        )
        await asyncio.sleep(1.5)  # B plays on
        code, out, _ = await baton(capsys, "status", "B", "--json", *connect)
        status = json.loads(out)
        assert (status["state"], status["active"], status["group"]) == ("playing", True, None)
    finally:
        await watch.close()
        # The group ended at the ungroup: its keeper, idle since, may have exited by itself.
        await GroupClient().async_stop()
    await stop_all(receivers)  # a capture is whole once its receiver stopped
    lead, follower = (
        read_heard(r.recording, x.name) for x, r in zip(MEMBERS, receivers, strict=True)
    )
    assert follower.playing_through(left_at - 1_000_000, left_at + 1_500_000)
    assert not follower.silent_runs(left_at - 500_000, left_at + 1_500_000)
    moved = content_moved(
        follower, (left_at - 1_000_000, left_at - 200_000), (left_at + 300_000, left_at + 1_500_000)
    )
    print(f"B moved {moved} us across the handover")
    assert abs(moved) <= JUMP_BOUND_US, moved
    assert lead.first_heard(left_at + 1_000_000, within_us=400_000) is None
