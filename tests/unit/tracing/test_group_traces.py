"""Groups in traces (connect.telemetry): a group step's attributes, its arrows across a real
session, the members' skew events, and that every group attribute may leave a device."""

from __future__ import annotations

import asyncio

import aiohttp
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from connect import telemetry
from connect.controller import default_identity
from connect.session import ControllerLink, DeviceConnection, Endpoint
from connect.session.connection import GroupMessage
from connect.wire import messages as m
from tests.fakes import MemoryHost
from tests.unit.tracing.test_setup import (
    _is_child,
    _only,
    memory_sdk,  # noqa: F401  (a fixture, used by name)
)
from tracing import attributes as a
from tracing.setup import RECORD_ATTRIBUTES

TIMEOUT = 5.0
Sdk = tuple[InMemorySpanExporter, InMemoryLogRecordExporter]

ROSTER = m.Group(
    "grp-1",
    3,
    "dev-lead",
    (
        m.GroupMember("dev-lead", 0, m.GroupMemberPhase.PLAYING),
        m.GroupMember("dev-slow", 2, m.GroupMemberPhase.JOINING),
        m.GroupMember("dev-fast", 1, m.GroupMemberPhase.PLAYING),
    ),
)
TIMELINE = m.GroupTimeline("grp-1", 3, "sess-1", 4, None, 1_000, 0)


def test_a_step_carrying_the_roster_names_the_leader_and_every_member_in_rank_order():
    join = m.GroupJoin(ROSTER, TIMELINE, start_at_us=5_000, fade_ms=40)
    attributes = telemetry.message_attributes(join)
    assert attributes == {
        a.MESSAGE_KIND: "GroupJoin",
        a.GROUP_ID: "grp-1",
        a.GROUP_EPOCH: 3,
        a.GROUP_STEP: "JOIN",
        a.GROUP_LEADER: "dev-lead",
        a.GROUP_MEMBERS: ["dev-lead", "dev-fast", "dev-slow"],
        a.GROUP_PHASES: ["PLAYING", "PLAYING", "JOINING"],
    }
    lead = telemetry.message_attributes(m.GroupLead(ROSTER))
    assert lead[a.GROUP_STEP] == "LEAD"
    assert lead[a.GROUP_LEADER] == "dev-lead"


def test_answers_and_steps_without_a_roster_name_the_group_and_step():
    refused = m.GroupRefused(
        "grp-1", m.GroupStep.JOIN, m.Failure(m.ErrorCode.BUSY, "busy"), group_epoch=3
    )
    assert telemetry.message_attributes(refused) == {
        a.MESSAGE_KIND: "GroupRefused",
        a.GROUP_ID: "grp-1",
        a.GROUP_EPOCH: 3,
        a.GROUP_STEP: "JOIN",
        a.ERROR_TYPE: "BUSY",
    }
    leave = telemetry.message_attributes(m.GroupLeave("grp-1", 4, end_group=True))
    assert (leave[a.GROUP_STEP], leave[a.GROUP_EPOCH]) == ("LEAVE", 4)
    volume = telemetry.message_attributes(m.GroupVolume("grp-1", "dev-fast", 30))
    assert volume == {a.MESSAGE_KIND: "GroupVolume", a.GROUP_ID: "grp-1", a.GROUP_STEP: "VOLUME"}
    done = telemetry.message_attributes(m.GroupDone("grp-1", m.GroupStep.LEAVE, 4, 123, 456))
    assert (done[a.GROUP_STEP], done[a.GROUP_EPOCH]) == ("LEAVE", 4)


def test_the_steps_are_traced_and_the_repeated_timeline_is_not():
    for body in (
        m.GroupLead(ROSTER), m.GroupJoin(ROSTER, TIMELINE, 1), m.GroupLeave("grp-1", 3),
        m.GroupVolume("grp-1", "dev-fast", 1), m.GroupDone("grp-1", m.GroupStep.JOIN),
    ):  # fmt: skip
        assert telemetry.is_traced(body), body
    assert not telemetry.is_traced(TIMELINE)


def test_every_group_attribute_may_leave_a_device():
    names = {
        a.GROUP_ID, a.GROUP_EPOCH, a.GROUP_STEP, a.GROUP_LEADER, a.GROUP_MEMBERS,
        a.GROUP_PHASES, a.GROUP_SKEW_US, a.GROUP_SKEW_FROM, a.GROUP_ROLE,
    }  # fmt: skip
    assert names <= RECORD_ATTRIBUTES


def test_a_skew_is_an_event_with_the_group_the_role_and_what_was_measured(
    memory_sdk: Sdk,  # noqa: F811
):
    _spans, logs = memory_sdk
    telemetry.group_skew("grp-1", -12, role="follower", measured="output")
    (record,) = [r.log_record for r in logs.get_finished_logs()]
    assert record.event_name == a.EVENT_GROUP_SKEW
    assert dict(record.attributes or {}) == {
        a.GROUP_ID: "grp-1",
        a.GROUP_SKEW_US: -12,
        a.GROUP_ROLE: "follower",
        a.GROUP_SKEW_FROM: "output",
    }


class GroupingHost(MemoryHost):
    """A MemoryHost that carries out every group step at once and says so (a GroupHost)."""

    def __init__(self, device_id: str, name: str) -> None:
        super().__init__(device_id, name)
        self.answered = asyncio.Event()  # set once an answer went out (its span ended)

    async def async_handle_group(self, body: m.Body, link: ControllerLink) -> None:
        if isinstance(body, m.GroupJoin):
            link.send(m.GroupDone(body.group.group_id, m.GroupStep.JOIN, body.group.group_epoch))
            self.answered.set()


async def test_a_join_is_an_arrow_to_the_member_and_its_answer_one_back(memory_sdk: Sdk):  # noqa: F811
    spans, _logs = memory_sdk
    host = GroupingHost("dev-fast", "Kitchen")
    port = await host.server.async_start(["127.0.0.1"], 0)
    identity = default_identity("test")
    try:
        async with aiohttp.ClientSession() as http:

            async def resolve() -> Endpoint:
                return Endpoint("127.0.0.1", port)

            conn = DeviceConnection("dev-fast", resolve, identity, http)
            conn.async_start()
            await conn.async_wait_connected(TIMEOUT)
            heard = asyncio.Event()
            conn.subscribe(lambda event: heard.set() if isinstance(event, GroupMessage) else None)
            await conn.async_send(m.GroupJoin(ROSTER, TIMELINE, start_at_us=5_000))
            await asyncio.wait_for(host.answered.wait(), TIMEOUT)
            await asyncio.wait_for(heard.wait(), TIMEOUT)  # handled inside its span
            await conn.async_close()
    finally:
        await host.server.async_close()
    finished = spans.get_finished_spans()
    send, handle = _only(finished, "send GroupJoin"), _only(finished, "handle GroupJoin")
    assert _is_child(handle, send)
    assert send.attributes is not None
    assert handle.attributes is not None
    assert send.attributes[a.PEER_DEVICE_ID] == "dev-fast"
    assert handle.attributes[a.GROUP_MEMBERS] == ("dev-lead", "dev-fast", "dev-slow")
    done = _only(finished, "send GroupDone")
    assert _is_child(done, handle)
    assert done.attributes is not None
    assert done.attributes[a.PEER_DEVICE_ID] == identity.id
    assert (done.attributes[a.GROUP_STEP], done.attributes[a.GROUP_EPOCH]) == ("JOIN", 3)
    answer_heard = _only(finished, "handle GroupDone")  # the controller's half of the answer
    assert _is_child(answer_heard, done)
