"""A member's skew (devices/_group_trace.py): the player's clock against the group's timeline
plus the output's own error, emitted only while the member plays in a group."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from connect.group import member as g
from connect.wire import messages as m
from devices import _group_trace
from devices.player_types import PlayerClock
from tests.unit.tracing.test_setup import memory_sdk  # noqa: F401  (a fixture, used by name)
from tracing import attributes as a

Sdk = tuple[InMemorySpanExporter, InMemoryLogRecordExporter]
ITEM = m.QueueItem("u1", "http://music.test/a.flac")
# Position 10 s at the leader's instant 1 000 000; this member's clock is 500 µs ahead of it.
TIMELINE = m.GroupTimeline(
    "grp-1", 2, "sess-1", 5, ITEM, 1_000_000, 10_000_000, playing=True, clock_offset_us=500
)
ROSTER = m.Group("grp-1", 2, "dev-lead", (m.GroupMember("dev-lead", 0), m.GroupMember("me", 1)))


@dataclass
class FakeOutput:
    anchor: PlayerClock
    url: str = ITEM.url
    output_error_us: float | None = None


def member(role: g.Role) -> g.Member:
    one = g.Member("me")
    one.role, one.group = role, ROSTER
    return one


def test_a_player_on_the_timeline_with_an_exact_output_has_no_skew():
    # At member instant 2 000 500 (leader 2 000 000) the timeline wants 11 s.
    anchor = PlayerClock(11_000, 2_000_500, True)
    assert _group_trace.skew_us(TIMELINE, anchor, None) == 0
    assert _group_trace.skew_us(TIMELINE, anchor, 0.0) == 0


def test_content_ahead_is_early_and_a_late_output_adds_its_lateness():
    ahead_1ms = PlayerClock(11_001, 2_000_500, True)
    assert _group_trace.skew_us(TIMELINE, ahead_1ms, None) == -1_000
    assert _group_trace.skew_us(TIMELINE, ahead_1ms, 1_012.4) == 12
    behind = PlayerClock(11_000, 2_000_520, True)  # 11 s heard 20 µs after it was due
    assert _group_trace.skew_us(TIMELINE, behind, -3.0) == 17


def test_a_follower_reports_its_skew_and_says_it_measured_the_output(memory_sdk: Sdk):  # noqa: F811
    _spans, logs = memory_sdk
    output = FakeOutput(PlayerClock(11_000, 2_000_500, True), output_error_us=42.0)
    _group_trace.report(member(g.Role.FOLLOWING), TIMELINE, output)
    _group_trace.report(member(g.Role.LEADING), TIMELINE, FakeOutput(output.anchor))
    events = [dict(r.log_record.attributes or {}) for r in logs.get_finished_logs()]
    assert events == [
        {a.GROUP_ID: "grp-1", a.GROUP_SKEW_US: 42, a.GROUP_ROLE: "follower",
         a.GROUP_SKEW_FROM: "output"},
        {a.GROUP_ID: "grp-1", a.GROUP_SKEW_US: 0, a.GROUP_ROLE: "leader",
         a.GROUP_SKEW_FROM: "player"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "output", "timeline"),
    [
        (g.Role.JOINING, FakeOutput(PlayerClock(11_000, 2_000_500, True)), TIMELINE),
        (g.Role.ALONE, FakeOutput(PlayerClock(11_000, 2_000_500, True)), TIMELINE),
        (g.Role.FOLLOWING, FakeOutput(PlayerClock(11_000, 2_000_500, False)), TIMELINE),
        (g.Role.FOLLOWING, FakeOutput(PlayerClock(11_000, 2_000_500, True), url="x"), TIMELINE),
        (g.Role.FOLLOWING, FakeOutput(PlayerClock(11_000, 2_000_500, True)), None),
    ],
)
def test_nothing_is_reported_unless_playing_in_a_group_on_the_timeline_s_item(
    memory_sdk: Sdk,  # noqa: F811
    role: g.Role,
    output: FakeOutput,
    timeline: m.GroupTimeline | None,
):
    _spans, logs = memory_sdk
    _group_trace.report(member(role), timeline, output)
    assert logs.get_finished_logs() == ()
