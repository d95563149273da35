"""`baton group` end to end: three capture receivers whose converters run -100, 0 and +100 ppm
off (corrected), grouped by the CLI through the group keeper it starts (a real process), proven
from the audio (tests/integration/devices/proof_group.py): the three present the same content
at the same true instant; `baton pause A` pauses all three and `baton resume A` resumes them on
one timeline; `baton ungroup C` stops C alone; `baton status` and `baton devices` show the
group; the keeper is stopped at the end (`GroupClient.async_stop`)."""

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
from tests.integration.devices.proof_group import Heard, offsets_of, pairwise_skews, read_heard
from tests.integration.groups.conftest import (
    assert_in_sync,
    capture_members,
    connect_args,
)
from tests.integration.transfer.proof_audio import write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, stop_all

pytestmark = pytest.mark.slow

RESUMED_LEADER_BOUND_US = 1_500  # see the assertion
EVERY_US = 250_000  # skews read on this grid
SETTLE_US = 300_000  # after a join's (or a resume's) fade, before skews are read
PLAYING_TIMEOUT_S = 15.0
MEMBERS = (
    Member("A", -100, correct=True),
    Member("B", 0, correct=True),
    Member("C", +100, correct=True),
)


@pytest.fixture
async def receivers(tmp_path: Path) -> AsyncIterator[list[RunningReceiver]]:
    async with capture_members(tmp_path, MEMBERS) as started:
        yield started


def skews_within(heard: list[Heard], start: int, end: int) -> dict[tuple[str, str], list[int]]:
    """Return the pairwise skews read over [start, end); fail if a pair has none."""
    offsets = offsets_of(heard, start, end, EVERY_US)
    found = {pair: list(s.values()) for pair, s in pairwise_skews(offsets).items()}
    assert all(found.values()), (start, end, found)
    return found


async def test_baton_group_plays_three_rooms_in_sync_pauses_them_and_ungroups_one(
    tmp_path: Path,
    media_server: MediaServer,
    receivers: list[RunningReceiver],
    keeper_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_cyclic_position_track(media_server.root / "group.wav", 90_000, CODE)
    connect = connect_args(receivers)
    a = receivers[0]
    watch = await GroupLink.open(a.host, a.port)  # to see A's state as it changes
    try:
        mark = watch.mark()
        code, _, err = await baton(capsys, "play", "A", media_server.url("group.wav"), *connect)
        assert code == 0, err
        await watch.next(
            m.StateSnapshot,
            lambda s: s.state.status is m.PlaybackStatus.PLAYING,
            after=mark,
            timeout=PLAYING_TIMEOUT_S,
        )
        await asyncio.sleep(1.0)  # the music's own pace: A plays alone a while

        requested = monotonic_us()
        code, out, err = await baton(capsys, "group", "A", "B", "C", "--json", *connect)
        grouped = monotonic_us()
        assert code == 0, (out, err)
        report = json.loads(out)
        assert report["ok"] is True
        assert report["formed"] is True
        group = report["group"]
        assert group["leader_id"] == a.device_id
        assert [(x["name"], x["phase"]) for x in group["members"]] == [
            ("A", "playing"), ("B", "playing"), ("C", "playing"),
        ]  # fmt: skip
        assert (keeper_dir / "groups.sock").exists()  # the keeper it started keeps the group

        await asyncio.sleep(4.0)  # the music's own pace: all three play together

        code, out, _ = await baton(capsys, "status", "A", "--json", *connect)
        status = json.loads(out)
        assert code == 0
        assert status["group"]["leader_id"] == a.device_id
        assert [(x["name"], x["phase"], x["leads"]) for x in status["group"]["members"]] == [
            ("A", "playing", True), ("B", "playing", False), ("C", "playing", False),
        ]  # fmt: skip
        code, out, _ = await baton(capsys, "status", "B", *connect)
        assert code == 0
        assert "group led by A (3 devices" in out
        code, out, _ = await baton(capsys, "devices", "--json", *connect)
        rows = {row["name"]: row for row in json.loads(out)}
        assert rows["A"]["group"]["leads"] is True
        assert rows["C"]["group"]["leader"] == "A"

        code, out, err = await baton(capsys, "group", "--volume", "B", "30", *connect)
        assert (code, out) == (0, "B: volume 30 (in the group led by A with B, C)\n"), err
        code, out, _ = await baton(capsys, "status", "B", "--json", *connect)
        assert json.loads(out)["volume"] == 30  # B's own; A's is not touched
        code, out, _ = await baton(capsys, "status", "A", "--json", *connect)
        assert json.loads(out)["volume"] == 50

        paused_at = monotonic_us()
        assert (await baton(capsys, "pause", "A", *connect))[0] == 0
        await asyncio.sleep(1.5)  # paused a while
        resumed_at = monotonic_us()
        assert (await baton(capsys, "resume", "A", *connect))[0] == 0
        await asyncio.sleep(3.0)  # the music's own pace

        ungroup_at = monotonic_us()
        code, out, err = await baton(capsys, "ungroup", "C", *connect)
        assert code == 0, err
        assert out == "C left; in the group led by A with B\n"
        await asyncio.sleep(1.5)  # A and B play on: checked to 1 s past the ungroup's request
        code, out, _ = await baton(capsys, "group", "--json")
        [kept] = json.loads(out)
        assert [x["name"] for x in kept["members"]] == ["A", "B"]
    finally:
        await watch.close()
        assert await GroupClient().async_stop()  # the keeper this test started
    print(f"baton group took {(grouped - requested) / 1000:.0f} ms")
    await stop_all(receivers)  # a capture is whole once its receiver stopped

    heard = [
        read_heard(r.recording, member.name) for member, r in zip(MEMBERS, receivers, strict=True)
    ]
    lead, _, c = heard
    # All three on one timeline from the joins to the pause, and again after the resume.
    together = skews_within(heard, grouped + SETTLE_US, paused_at - 100_000)
    again = skews_within(heard, resumed_at + 700_000, ungroup_at - 100_000)
    print("skews grouped, after the resume (us):", together, again)
    for readings in together.values():
        assert_in_sync(readings)
    # After the resume the followers are together again; the leader's own output lands
    # 0.5-1.2 ms off the timeline it announces after a resume (the receiver's side: seen in
    # tests/integration/devices/test_group_member.py too, reported), so it gets more room here.
    assert_in_sync(again[("B", "C")])
    for pair in (("A", "B"), ("A", "C")):
        offset = sorted(again[pair])[len(again[pair]) // 2]
        assert abs(offset) <= RESUMED_LEADER_BOUND_US, again
        assert_in_sync([x - offset for x in again[pair]])  # steady about that offset
    # The pause reached every member: none plays a second after it.
    for member in heard:
        assert member.first_heard(paused_at + 1_000_000, within_us=400_000) is None, member.name
    # C stopped alone; A played on through the ungroup.
    assert c.first_heard(ungroup_at + 1_000_000, within_us=400_000) is None
    assert lead.playing_through(ungroup_at - 500_000, ungroup_at + 1_000_000)
    assert heard[1].playing_through(ungroup_at - 500_000, ungroup_at + 1_000_000)
