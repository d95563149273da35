"""Real receivers in a group, tracing to a collector: each member's group steps are spans
naming the group and its roster, and each member playing reports its measured skew, which the
collector's groups view shows under the group, the leader marked (issue 17, traces).

Three capture receivers (the leader on the true clock, followers 100 ppm fast and slow,
corrected) play one group; the test is their coordinating controller (group_run.py), untraced
itself, so the steps' arrows start at the receivers' handle spans. Whatever the members' skews
are, what they report must be what their audio shows (proof_group.py reads it). The group is
led as soon as its first member plays, as `baton group` may do: the skews are then not all
small (see the closing print), which tests the reports' sign and size, not just their zeros.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connect.clock import monotonic_us
from tests.integration.devices.group_run import GROUP, async_group_run
from tests.integration.devices.proof_drift import Member
from tests.integration.devices.proof_group import pairwise_skews
from tests.media_server import (
    MediaServer,
    media_server,  # noqa: F401  (a fixture, used by name)
)
from tests.unit.tracing.support import Running, SseReader, running_collector
from tracing import attributes as a

pytestmark = pytest.mark.slow

SKEW_BOUND_US = 1_000  # the bound: here, how far a report may be from the audio
# Each member reports every 4 s (devices/_group_member.py, TIMELINE_EVERY_S) and exports
# within 250 ms; two rounds and the joins' own time fit well inside this.
REPORTS_TIMEOUT_S = 30.0
SETTLE_US = 300_000  # after the last join's fade, before the audio's skews are read
EVERY_US = 250_000  # the audio's skews read on this grid


@dataclass(frozen=True)
class TracedMember(Member):
    """A group run's member whose receiver traces to the test's collector."""

    traced: tuple[str, ...] = ()

    def extra(self) -> list[str]:
        """Return its receiver flags: its drift, and where it traces to."""
        return [*super().extra(), *self.traced]


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[Running]:
    async with running_collector(tmp_path / "traces.db", open_ingest=False) as running:
        yield running


async def _reports(stream: SseReader, devices: set[str]) -> dict[str, dict[str, Any]]:
    """Read the stream until every one of *devices* has reported its skew; return the last."""
    found: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(REPORTS_TIMEOUT_S):
        while set(found) != devices:
            event = await stream.next(REPORTS_TIMEOUT_S)
            if event.event != "record":
                continue
            row = event.json()
            if row["name"] == a.EVENT_GROUP_SKEW and row["device_id"] in devices:
                found[row["device_id"]] = row["data"]["attributes"]
    return found


async def test_members_trace_their_steps_and_report_their_skew_to_the_collector(
    tmp_path: Path,
    media_server: MediaServer,  # noqa: F811
    collector: Running,
) -> None:
    token = collector.ingest_tokens["alice"]
    traced = ("--trace-endpoint", collector.base, "--user", "alice", f"--trace-token={token}")
    members = (
        TracedMember("Lead", 0, correct=True, traced=traced),
        TracedMember("Fast", +100, correct=True, traced=traced),
        TracedMember("Slow", -100, correct=True, traced=traced),
    )
    assert collector.http is not None
    async with async_group_run(tmp_path, media_server, members, 40_000) as run:
        await run.lead()
        for index in (1, 2):
            await run.join(index)
        ids = [run.id_of(i) for i in range(3)]
        joined_us = monotonic_us()
        # Only what is sent from now on: each follower reports once it follows.
        async with collector.http.get(
            collector.base + "/api/stream?backlog=0&kind=log", headers=collector.auth("alice")
        ) as response:
            reports = await _reports(SseReader(response), set(ids))
        reported_us = monotonic_us()
    for device, attributes in reports.items():
        assert attributes[a.GROUP_ID] == GROUP
        assert attributes[a.GROUP_SKEW_FROM] == "output"  # the drift stage measured it
        assert attributes[a.GROUP_ROLE] == ("leader" if device == ids[0] else "follower")
    # What the members reported (+ late on the timeline) is what their audio says: for each
    # pair, the one reported later is behind the other by the difference, within the bound.
    late = {m.name: reports[d][a.GROUP_SKEW_US] for m, d in zip(members, ids, strict=True)}
    offsets = {h.name: h.offsets(joined_us + SETTLE_US, reported_us, EVERY_US) for h in run.heard()}
    for (ahead, behind), readings in pairwise_skews(offsets).items():
        assert readings, (ahead, behind)
        audio_us = statistics.median(readings.values())  # + means *ahead* plays ahead
        reported_skew = late[behind] - late[ahead]
        print(f"{ahead}-{behind}: audio {audio_us:+.0f} µs, reported {reported_skew:+d} µs")
        assert abs(audio_us - reported_skew) <= SKEW_BOUND_US, (late, audio_us)

    (group,) = await collector.get_json("/api/groups", "alice")
    assert group["id"] == GROUP
    assert group["leader"]["id"] == ids[0]
    assert [m["id"] for m in group["members"]] == ids
    assert [m["name"] for m in group["members"]] == ["Lead", "Fast", "Slow"]
    assert [m["leader"] for m in group["members"]] == [True, False, False]
    assert all(m["skew_us"] is not None for m in group["members"])
    assert all(m["skew_measured"] == "output" for m in group["members"])

    # The steps are spans on the members naming the group and its roster; the answers go back.
    for index in (1, 2):
        rows = await collector.get_json(f"/api/search?device={ids[index]}&limit=500", "alice")
        (join,) = [r for r in rows if r["name"] == "handle GroupJoin"]
        attributes = join["data"]["attributes"]
        assert (attributes[a.GROUP_ID], attributes[a.GROUP_LEADER]) == (GROUP, ids[0])
        assert attributes[a.GROUP_MEMBERS] == ids[: index + 1]
        assert attributes[a.GROUP_PHASES][-1] == "JOINING"
        (done,) = [r for r in rows if r["name"] == "send GroupDone"]
        assert done["data"]["attributes"][a.GROUP_STEP] == "JOIN"
