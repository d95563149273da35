"""A group's steps in traces: each step a controller is asked for (lead, join, leave, volume)
is one "group STEP" span, ended with its outcome (the messages it sends are its children)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from connect.group.coordinator import GroupCoordinator
from tests.unit.group_driver.fakes import Devices
from tests.unit.tracing.test_setup import memory_sdk  # noqa: F401  (a fixture, used by name)
from tracing import attributes as a

Memory = tuple[InMemorySpanExporter, InMemoryLogRecordExporter]


@pytest.mark.warning_logs(r"C: 404")
async def test_each_step_is_a_span_ended_with_its_outcome(memory_sdk: Memory) -> None:  # noqa: F811
    spans, _ = memory_sdk
    devices = Devices()
    devices.add("a", 1_000_000, plays=True)
    devices.add("b", -2_000_000)
    devices.add("c", 5_000, preroll_fails=True)
    groups = GroupCoordinator(devices, join_lead_us=80_000)  # type: ignore[arg-type]
    report = await groups.async_group(["a", "b", "c"])
    await groups.async_ungroup("b")
    await groups.async_close()
    assert report.group is not None
    steps = {
        (s.name, s.attributes[a.GROUP_MEMBER]): s
        for s in spans.get_finished_spans()
        if s.name.startswith("group ")
    }
    assert set(steps) == {
        ("group lead", "a"), ("group join", "b"), ("group join", "c"), ("group leave", "b"),
    }  # fmt: skip
    assert {s.attributes[a.GROUP_ID] for s in steps.values()} == {report.group.group_id}
    assert steps[("group join", "c")].attributes[a.ERROR_TYPE] == "MEDIA_NOT_FOUND"
    assert a.ERROR_TYPE not in steps[("group join", "b")].attributes
