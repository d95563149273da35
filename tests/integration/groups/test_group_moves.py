"""`baton transfer` from a group's member: the whole group's music moves to one device, make-
before-break, and every member falls silent with the leader at the switch; proven from the
audio of three capture receivers (client/group_moves.py)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.group_client import GroupClient
from connect.clock import monotonic_us
from tests.integration.cli.conftest import baton
from tests.integration.devices.proof_drift import CODE, Member
from tests.integration.devices.proof_group import read_heard
from tests.integration.transfer.proof_audio import hear_transfer, write_cyclic_position_track
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, start_receiver

pytestmark = pytest.mark.slow

# A leads, B follows (its converter drifting, corrected), C stands alone: the target.
MEMBERS = (
    Member("A", 0, correct=True),
    Member("B", +100, correct=True),
    Member("C", 0, correct=True),
)
FADE_MS = 30
GAP_SLACK_US = 50_000  # a handoff overlaps by its fade; scheduling on a loaded box adds to it
POSITION_US = 5_000  # the project's bound: the same content either side of a handoff


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
            await receiver.stop()


async def test_transfer_from_a_follower_moves_the_whole_group_to_one_device(
    media_server: MediaServer,
    receivers: list[RunningReceiver],
    keeper_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_cyclic_position_track(media_server.root / "group.wav", 90_000, CODE)
    connect = [w for r in receivers for w in ("--connect", f"{r.host}:{r.port}")]
    try:
        assert (await baton(capsys, "play", "A", media_server.url("group.wav"), *connect))[0] == 0
        code, out, err = await baton(capsys, "group", "A", "B", *connect)
        assert code == 0, (out, err)
        await asyncio.sleep(2.5)  # the music's own pace: both play, B in sync
        asked_at = monotonic_us()
        code, out, err = await baton(capsys, "transfer", "B", "C", "--json", *connect)
        assert code == 0, (out, err)
        report = json.loads(out)
        assert report["ok"] and report["mode"] == "handoff", report
        assert "B follows A in a group: moving the group's music from A" in err
        await asyncio.sleep(1.5)  # C plays on alone
        code, out, _ = await baton(capsys, "status", "C", "--json", *connect)
        status = json.loads(out)
        assert (status["state"], status["active"], status["group"]) == ("playing", True, None)
        for name in ("A", "B"):
            code, out, _ = await baton(capsys, "status", name, "--json", *connect)
            status = json.loads(out)
            assert (status["active"], status["group"]) == (False, None), (name, status)
        assert await GroupClient().async_groups() == []  # the group ended
    finally:
        assert await GroupClient().async_stop()
    for receiver in receivers:
        await receiver.stop()
    a, b, c = (read_heard(r.recording, x.name) for x, r in zip(MEMBERS, receivers, strict=True))
    end = asked_at + 3_000_000
    figures = {}
    for heard in (a, b):
        transfer = hear_transfer(
            heard.capture, c.capture, asked_at, end, CODE, fade_us=FADE_MS * 1000
        )
        figures[heard.name] = (transfer.gap_us, transfer.position_error_us)
        # Make-before-break on every member: each overlaps C by about the fade, no gap.
        assert -(FADE_MS * 1000 + GAP_SLACK_US) <= transfer.gap_us <= GAP_SLACK_US // 5, transfer
        assert transfer.position_error_us is not None
        assert abs(transfer.position_error_us) <= POSITION_US, transfer
        # ... and stays silent afterwards: no member plays on alone.
        assert heard.first_heard(transfer.source.edge_us + 1_000, within_us=1_000_000) is None
    print(f"group -> C, heard (gap us, position error us): {figures}")
