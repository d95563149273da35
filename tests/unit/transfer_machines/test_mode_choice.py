"""The coordinator picks the best transfer a pair allows (rules.transfer_mode): make-before-break
where both devices start at an instant, stop-first where one cannot (a bridged device), and says
why; the machine then runs stop-first and its outcome carries the reason."""

from __future__ import annotations

from dataclasses import replace

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from connect import telemetry
from connect.clock import ClockEstimate
from connect.transfer import coordination as c
from connect.transfer import rules
from connect.wire import messages as m
from tests.unit.tracing.test_setup import memory_sdk  # noqa: F401  (a fixture, used by name)
from tracing import attributes as a
from tracing.setup import RECORD_ATTRIBUTES

HANDOFF, STOP_FIRST = m.TransferMode.HANDOFF, m.TransferMode.STOP_FIRST


def _device(name: str, *, untimed: bool = False) -> m.DeviceInfo:
    caps = m.Capabilities(no_timed_start=untimed, position_uncertainty_ms=80 if untimed else 0)
    return m.DeviceInfo(f"id-{name}", name, m.DeviceType.SPEAKER, m.PROTOCOL_V1, caps)


BATON, MPD = _device("Living Room"), _device("Kitchen MPD", untimed=True)


@pytest.mark.parametrize(
    ("source", "target", "mode", "said"),
    [
        (BATON, _device("Car"), HANDOFF, "handoff: both devices start at an instant"),
        (BATON, MPD, STOP_FIRST, "stop-first: Kitchen MPD cannot start at an instant"),
        (MPD, BATON, STOP_FIRST, "stop-first: Kitchen MPD cannot start at an instant"),
        (None, MPD, STOP_FIRST, "stop-first: Kitchen MPD cannot start at an instant"),
        (None, BATON, HANDOFF, "handoff"),
    ],
)
def test_a_device_that_cannot_start_at_an_instant_makes_it_stop_first(
    source: m.DeviceInfo | None, target: m.DeviceInfo, mode: m.TransferMode, said: str
) -> None:
    chosen, why = rules.transfer_mode(HANDOFF, source, target)
    assert chosen is mode
    assert why.startswith(said)


def test_both_untimed_are_named_and_stop_first_asked_for_stays() -> None:
    other = replace(MPD, id="id-2", name="Hall MPD")
    assert rules.transfer_mode(HANDOFF, MPD, other) == (
        STOP_FIRST,
        "stop-first: Kitchen MPD and Hall MPD cannot start at an instant, so the source "
        "stops, then the target starts where it stopped (a short gap)",
    )
    assert rules.transfer_mode(STOP_FIRST, BATON, BATON) == (STOP_FIRST, "stop-first, as asked")


def test_the_outcome_says_the_mode_it_ran_in_and_why() -> None:
    item = m.QueueItem("u1", "http://media/a.wav", duration_ms=60_000)
    state = m.PlaybackState(
        session_id="s", revision=3, queue=(item,), current_uid="u1",
        clock=m.PlaybackClock(5_000, 0, 1.0, True), status=m.PlaybackStatus.PLAYING,
        active=True, device_id="src",
    )  # fmt: skip
    mode, why = rules.transfer_mode(HANDOFF, BATON, MPD)
    plan = c.Plan(
        "t1", "src", "tgt", m.TransferOptions(mode=mode), state, ClockEstimate(0, 0, 3),
        ClockEstimate(0, 0, 3), 0, 3_000_000, mode_reason=why,
    )  # fmt: skip
    machine = c.Coordination(plan)
    [commit, _timer] = machine.start(0)
    assert isinstance(commit, c.Send)
    assert commit.role is m.TransferRole.SOURCE  # stop-first: the source stops at once
    assert isinstance(commit.body, m.TransferCommit)
    [finish] = machine.step(
        c.Rejected(commit.role, m.TransferRejected("t1", m.Failure(m.ErrorCode.BUSY, "busy"))), 1
    )
    assert isinstance(finish, c.Finish)
    assert (finish.outcome.mode, finish.outcome.mode_reason) == (STOP_FIRST, why)


def test_the_transfer_span_says_the_mode_and_why_and_both_may_leave_the_device(
    memory_sdk: tuple[InMemorySpanExporter, InMemoryLogRecordExporter],  # noqa: F811
) -> None:
    spans, _ = memory_sdk
    mode, why = rules.transfer_mode(HANDOFF, BATON, MPD)
    span = telemetry.start_transfer("t1", "src", "tgt", "handoff")  # what was asked
    telemetry.record_mode(span, mode.name.lower(), why)
    assert span is not None
    span.end()
    [done] = spans.get_finished_spans()
    assert done.attributes is not None
    assert done.attributes[a.TRANSFER_MODE] == "stop_first"  # what it ran in
    assert done.attributes[a.TRANSFER_MODE_REASON] == why
    assert {a.TRANSFER_MODE, a.TRANSFER_MODE_REASON} <= RECORD_ATTRIBUTES
