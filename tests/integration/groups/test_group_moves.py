"""`baton transfer` from a group's member: the whole group's music moves to one device, make-
before-break, and every member falls silent with the leader at the switch; proven from the
audio of three capture receivers (client/group_moves.py)."""

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
from tests.integration.groups.conftest import capture_members, connect_args
from tests.integration.transfer.proof_audio import (
    hear_transfer,
    last_audible_between,
    write_cyclic_position_track,
)
from tests.media_server import MediaServer
from tests.receivers import RunningReceiver, stop_all

pytestmark = pytest.mark.slow

# A leads, B and D follow (their converters drifting either way, corrected), C stands alone.
MEMBERS = (
    Member("A", 0, correct=True),
    Member("B", +100, correct=True),
    Member("C", 0, correct=True),
    Member("D", -100, correct=True),
)
FADE_MS = 30
GAP_SLACK_US = 50_000  # a handoff overlaps by its fade; scheduling on a loaded box adds to it
POSITION_US = 5_000  # the project's bound: the same content either side of a handoff
SKEW_MEDIAN_US = 500  # the members in sync on the new music (the group tests' median bound)


@pytest.fixture
async def receivers(tmp_path: Path) -> AsyncIterator[list[RunningReceiver]]:
    async with capture_members(tmp_path, MEMBERS) as started:
        yield started


async def test_transfer_from_a_follower_moves_the_whole_group_to_one_device(
    media_server: MediaServer,
    receivers: list[RunningReceiver],
    keeper_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_cyclic_position_track(media_server.root / "group.wav", 90_000, CODE)
    connect = connect_args(receivers)
    try:
        assert (await baton(capsys, "play", "A", media_server.url("group.wav"), *connect))[0] == 0
        code, out, err = await baton(capsys, "group", "A", "B", "D", *connect)
        assert code == 0, (out, err)
        # The music's own pace: B starts at its join's instant, 400 ms after it was asked; the
        # handoff reads its position from the 400 ms of steady play before its last sound.
        await asyncio.sleep(1.2)
        code, _, err = await baton(capsys, "transfer", "A", "B", *connect)
        assert code == 1
        assert "A and B play in one group already" in err  # refused, nothing sent
        asked_at = monotonic_us()
        code, out, err = await baton(capsys, "transfer", "B", "C", "--json", *connect)
        assert code == 0, (out, err)
        report = json.loads(out)
        assert report["ok"], report
        assert report["mode"] == "handoff", report
        assert "B follows A in a group: moving the group's music from A" in err
        latency_ms = report["latency_ms"]
        # C plays on alone: its position is read from 400 ms of steady play after its fade
        # (30 ms) in; what follows that is not read.
        await asyncio.sleep(0.8)
        code, out, _ = await baton(capsys, "status", "C", "--json", *connect)
        status = json.loads(out)
        assert (status["state"], status["active"], status["group"]) == ("playing", True, None)
        for name in ("A", "B", "D"):
            code, out, _ = await baton(capsys, "status", name, "--json", *connect)
            status = json.loads(out)
            assert (status["active"], status["group"]) == (False, None), (name, status)
        assert await GroupClient().async_groups() == []  # the group ended
    finally:
        await GroupClient().async_stop()  # keeping no group, it may have exited already
    await stop_all(receivers)
    a, b, c, d = (read_heard(r.recording, x.name) for x, r in zip(MEMBERS, receivers, strict=True))
    end = asked_at + 3_000_000
    figures = {}
    for heard in (a, b, d):
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
    print(
        f"group -> C, audible {latency_ms} ms after the request; heard (gap us, position error "
        f"us): {figures}"
    )


async def test_transfer_onto_a_follower_gives_the_whole_group_the_music_at_one_instant(
    media_server: MediaServer,
    receivers: list[RunningReceiver],
    keeper_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_cyclic_position_track(media_server.root / "group.wav", 90_000, CODE)
    connect = connect_args(receivers)
    try:
        assert (await baton(capsys, "play", "A", media_server.url("group.wav"), *connect))[0] == 0
        code, out, err = await baton(capsys, "group", "A", "B", "D", *connect)
        assert code == 0, (out, err)
        await asyncio.sleep(1.0)
        # C plays the same track from elsewhere in it: what A and B play after is C's.
        assert (await baton(capsys, "play", "C", media_server.url("group.wav"), *connect))[0] == 0
        # C plays a while: the handoff reads its position from the 400 ms of steady play
        # before its last sound; the members have played since their joins, 400 ms after asked.
        await asyncio.sleep(1.0)
        asked_at = monotonic_us()
        code, out, err = await baton(capsys, "transfer", "C", "B", "--json", *connect)
        assert code == 0, (out, err)
        report = json.loads(out)
        assert report["ok"], report
        assert report["mode"] == "handoff", report
        assert "B follows A in a group: moving the music to A" in err
        latency_ms = report["latency_ms"]
        await asyncio.sleep(2.0)  # A and B play C's music, in sync
        code, out, _ = await baton(capsys, "status", "A", "--json", *connect)
        status = json.loads(out)
        assert (status["state"], status["active"]) == ("playing", True), status
        assert status["group"] is not None, status
        code, out, _ = await baton(capsys, "status", "C", "--json", *connect)
        assert json.loads(out)["active"] is False
        groups = await GroupClient().async_groups()
        assert len(groups) == 1
        assert len(groups[0].members) == 3
    finally:
        assert await GroupClient().async_stop()
    await stop_all(receivers)
    a, b, c, d = (read_heard(r.recording, x.name) for x, r in zip(MEMBERS, receivers, strict=True))
    c_last = last_audible_between(c.capture, asked_at, asked_at + 3_000_000)
    assert c_last is not None
    figures, silent_us = {}, {}
    for heard in (a, b, d):
        # What the member played before stopped when it opened C's music, ahead of the switch.
        start = c_last - FADE_MS * 1000 - 150_000
        transfer = hear_transfer(
            c.capture, heard.capture, start, c_last + 1_000_000, CODE, fade_us=FADE_MS * 1000
        )
        figures[heard.name] = (transfer.gap_us, transfer.position_error_us)
        assert -(FADE_MS * 1000 + GAP_SLACK_US) <= transfer.gap_us <= GAP_SLACK_US // 5, transfer
        assert transfer.position_error_us is not None
        assert abs(transfer.position_error_us) <= POSITION_US, transfer
        assert heard.playing_through(transfer.target.edge_us + 50_000, c_last + 1_500_000)
        # How long before the switch the member fell silent, opening C's music (a figure).
        edge = transfer.target.edge_us
        old_end = last_audible_between(heard.capture, edge - 3_000_000, edge)
        silent_us[heard.name] = edge - old_end if old_end is not None else None
    after, span = c_last + 500_000, 1_500_000
    offsets = offsets_of((a, b, d), after, after + span, 250_000)
    skews = {}
    for pair, skew in pairwise_skews(offsets).items():
        assert skew, f"no skew of {pair} could be read after the switch"
        assert statistics.median(abs(x) for x in skew.values()) <= SKEW_MEDIAN_US, (pair, skew)
        skews[pair] = sorted(skew.values())
    print(
        f"C -> group, audible {latency_ms} ms after the request; heard (gap us, position error "
        f"us): {figures}; skews after (us): "
        f"{skews}; silent before the new music (us): {silent_us}"
    )
