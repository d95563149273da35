"""`baton group C B` while A and B play as a group: C joins the group B plays in (no new group),
audible within a bound of the request, in sync with them, and nothing moves on A and B: no
gap, no content jump (proven from the audio). The request-to-audible time is printed."""

from __future__ import annotations

import asyncio
import json
import statistics
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.group_client import GroupClient
from connect.clock import monotonic_us
from tests.integration.cli.conftest import baton
from tests.integration.devices.proof_drift import CODE, Member
from tests.integration.devices.proof_group import offsets_of, pairwise_skews, read_heard
from tests.integration.groups.conftest import (
    JUMP_BOUND_US,
    assert_in_sync,
    capture_members,
    connect_args,
    content_moved,
)
from tests.integration.transfer.proof_audio import write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, stop_all

pytestmark = pytest.mark.slow

MEMBERS = (
    Member("A", 0, correct=True),
    Member("B", -100, correct=True),
    Member("C", +100, correct=True),
)
AUDIBLE_BOUND_US = 1_500_000  # request -> first sample heard on C: the CLI, the keeper, the lead
EVERY_US = 250_000


@pytest.fixture
async def receivers(tmp_path: Path) -> AsyncIterator[list[RunningReceiver]]:
    async with capture_members(tmp_path, MEMBERS) as started:
        yield started


async def test_a_device_joins_a_playing_group_with_nothing_moving_on_its_members(
    media_server: MediaServer,
    receivers: list[RunningReceiver],
    keeper_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_cyclic_position_track(media_server.root / "group.wav", 90_000, CODE)
    connect = connect_args(receivers)
    try:
        assert (await baton(capsys, "play", "A", media_server.url("group.wav"), *connect))[0] == 0
        code, out, err = await baton(capsys, "group", "A", "B", *connect)
        assert code == 0, (out, err)
        # The music's own pace: A and B play together, long enough for B's drift correction
        # (a line fitted over 5 s) to have settled, so what moves across C's join is the join's.
        await asyncio.sleep(6.0)
        requested = monotonic_us()
        code, out, err = await baton(capsys, "group", "C", "B", "--json", *connect)
        answered = monotonic_us()
        assert code == 0, (out, err)
        report = json.loads(out)
        assert report["formed"] is False  # C joined the group B plays in
        assert [x["name"] for x in report["group"]["members"]] == ["A", "B", "C"]
        await asyncio.sleep(3.0)  # the music's own pace: all three
    finally:
        assert await GroupClient().async_stop()
    await stop_all(receivers)  # a capture is whole once its receiver stopped
    a, b, c = (read_heard(r.recording, x.name) for x, r in zip(MEMBERS, receivers, strict=True))
    first = c.first_heard(requested)
    assert first is not None
    print(
        f"C audible {(first - requested) / 1000:.0f} ms after `baton group C B` was run "
        f"(its answer after {(answered - requested) / 1000:.0f} ms)"
    )
    assert first - requested <= AUDIBLE_BOUND_US
    before, after = (requested - 1_000_000, requested), (answered + 300_000, answered + 1_500_000)
    moved = {}
    for member in (a, b):  # no gap on the members already playing
        assert member.playing_through(requested - 1_000_000, answered + 2_000_000), member.name
        moved[member.name] = content_moved(member, before, after)
        print(f"{member.name} moved {moved[member.name]} us across the join")
    assert abs(moved["A"]) <= JUMP_BOUND_US, moved  # the leader's content: nothing moved
    # The follower: nothing moved, or it was slewed onto the leader (the join's fresh clock
    # samples of the leader's link take out what an older estimate had off).
    skew_before = statistics.median(
        pairwise_skews(offsets_of((a, b), *before, 100_000))[("A", "B")].values()
    )
    skew_after = skew_before + moved["A"] - moved["B"]
    print(f"A - B: {skew_before:.0f} us before the join, {skew_after:.0f} us after")
    assert abs(moved["B"]) <= JUMP_BOUND_US or abs(skew_after) < abs(skew_before), moved
    start = answered + 300_000
    offsets = offsets_of((a, b, c), start, start + 2_500_000, EVERY_US)
    skews = pairwise_skews(offsets)
    print("skews after C joined (us):", {k: list(v.values()) for k, v in skews.items()})
    for readings in skews.values():
        assert_in_sync(list(readings.values()))
