"""A member that drops out of its group and comes back: B's receiver is frozen (SIGSTOP) until
the keeper takes it for dead (3 s of silence), so the roster loses it and the group of one that
is left ends (A plays on alone); once B runs again (SIGCONT) the keeper's session comes back,
B is told to leave what it played on its own, and A and B are grouped again: B joins at an
instant, in sync with A, proven from the audio. A plays on throughout, with no gap."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.group_client import GroupClient
from connect.clock import monotonic_us
from tests.integration.cli.conftest import baton
from tests.integration.devices.proof_drift import CODE, Member
from tests.integration.devices.proof_group import offsets_of, pairwise_skews, read_heard
from tests.integration.groups.conftest import assert_in_sync, connect_args
from tests.integration.transfer.proof_audio import write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver, stop_all

pytestmark = pytest.mark.slow

MEMBERS = (Member("A", 0, correct=True), Member("B", -100, correct=True))
EVERY_US = 250_000


@pytest.fixture
async def receivers(tmp_path: Path) -> AsyncIterator[list[RunningReceiver]]:
    started = await asyncio.gather(
        *(
            start_receiver(tmp_path, member.name, output="capture", extra=member.extra())
            for member in MEMBERS
        )
    )
    yield list(started)
    for receiver in started:
        if receiver.process.returncode is None:
            receiver.process.send_signal(signal.SIGCONT)
            await receiver.stop()


@pytest.mark.warning_logs(r"lost B|offline")
async def test_a_member_frozen_past_the_dead_peer_timeout_rejoins_in_sync(
    media_server: MediaServer,
    receivers: list[RunningReceiver],
    keeper_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_cyclic_position_track(media_server.root / "group.wav", 90_000, CODE)
    connect = connect_args(receivers)
    b = receivers[1]
    client = GroupClient()

    async def members() -> list[str]:
        groups = await client.async_groups()
        return [x.name for x in groups[0].members if x.phase == "playing"] if groups else []

    async def until_members(want: list[str], what: str) -> None:
        deadline = asyncio.get_running_loop().time() + 15
        while (names := await members()) != want:
            assert asyncio.get_running_loop().time() < deadline, (what, names)
            await asyncio.sleep(0.1)  # the keeper's roster is asked again

    try:
        assert (await baton(capsys, "play", "A", media_server.url("group.wav"), *connect))[0] == 0
        code, out, err = await baton(capsys, "group", "A", "B", "--json", *connect)
        assert code == 0, (out, err)
        assert json.loads(out)["ok"] is True
        await asyncio.sleep(1.0)  # the music's own pace
        b.process.send_signal(signal.SIGSTOP)
        frozen_at = monotonic_us()
        # The keeper takes B for dead after 3 s of silence; a group of one ends (A plays on).
        await until_members([], "B lost, the group of one over")
        b.process.send_signal(signal.SIGCONT)
        thawed_at = monotonic_us()
        await until_members(["A", "B"], "A and B grouped again")
        rejoined_at = monotonic_us()
        await asyncio.sleep(3.0)  # the music's own pace: together again
    finally:
        await client.async_stop()
    print(f"B back in the group {(rejoined_at - thawed_at) / 1000:.0f} ms after it ran again")
    await stop_all(receivers)  # a capture is whole once its receiver stopped
    a_heard, b_heard = (
        read_heard(r.recording, x.name) for x, r in zip(MEMBERS, receivers, strict=True)
    )
    assert a_heard.playing_through(frozen_at - 500_000, rejoined_at + 2_500_000)
    start = rejoined_at + 500_000
    offsets = offsets_of((a_heard, b_heard), start, rejoined_at + 2_900_000, EVERY_US)
    skews = list(pairwise_skews(offsets)[("A", "B")].values())
    print("A-B skews after the rejoin (us):", skews)
    assert_in_sync(skews)
