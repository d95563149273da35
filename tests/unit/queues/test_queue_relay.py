"""A long queue across a transfer: the source serves its queue, the target fetches the rest."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from connect import queues as q
from connect.errors import ConnectionLostError
from connect.wire import messages as m
from devices._queue_relay import SERVE_S, QueueRelay

LONG = tuple(m.QueueItem(f"u{i}", f"http://h/{i}.flac") for i in range(5000))
SOURCE_STATE = m.PlaybackState("s", 40, queue=LONG, current_uid="u3000", queue_revision=9)
OFFERED = q.window(SOURCE_STATE)
OFFER = m.TransferOffer(
    "t-1", OFFERED, m.TransferOptions(), "src", 0, source_url="http://127.0.0.1:9"
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Target:
    """A receiver as the relay sees it: its state, a lock, and what it adopted."""

    def __init__(self, state: m.PlaybackState) -> None:
        self.state = state
        self.lock = asyncio.Lock()
        self.adopted: list[m.PlaybackState] = []

    def adopt_queue(self, state: m.PlaybackState) -> None:
        self.state = state
        self.adopted.append(state)


def source_relay() -> tuple[QueueRelay, Clock]:
    clock = Clock()
    relay = QueueRelay(clock)
    commit = m.TransferCommit("t-1", m.TransferRole.SOURCE, 0, 0)
    relay.note(commit, SOURCE_STATE)
    return relay, clock


def test_a_source_serves_the_queue_it_had_at_its_commit_for_a_while() -> None:
    relay, clock = source_relay()
    page = relay.page("t-1", m.QueueRequest("", 4990, 100))
    assert page == m.QueuePage("", 9, 4990, 5000, LONG[4990:])
    assert relay.page("t-2", m.QueueRequest("", 0, 1)) is None
    clock.now += SERVE_S
    assert relay.page("t-1", m.QueueRequest("", 0, 1)) is None


async def test_the_target_splices_the_rest_around_the_window_it_holds() -> None:
    source, _ = source_relay()
    target_relay = QueueRelay()
    target_relay.note(OFFER, m.PlaybackState("own", 3))
    fetched: list[int] = []

    async def fetch(source_id, url, tid, offset, count):
        assert (source_id, url, tid) == ("src", "http://127.0.0.1:9", "t-1")
        fetched.append(offset)
        page = source.page(tid, m.QueueRequest("", offset, count))
        assert page is not None
        return page

    # Meanwhile a controller removed an item of the window and added one: both stay.
    added = m.QueueItem("new", "http://h/new.flac")
    edited = replace(
        OFFERED,
        queue=(*OFFERED.queue[:5], added, *OFFERED.queue[6:]),
        queue_revision=10,
    )
    target = Target(edited)
    assert target_relay.wants_fill(edited)
    assert await target_relay.async_fill(target, target.lock, fetch)
    whole = target.state.queue
    assert target.state.queue_whole
    start = OFFERED.queue_offset
    assert whole == LONG[:start] + edited.queue + LONG[start + len(OFFERED.queue) :]
    assert fetched[0] == OFFERED.queue_offset + 64  # what plays next first
    assert not target_relay.wants_fill(target.state)


@pytest.mark.warning_logs(r"could not fetch the rest of the queue")
async def test_a_source_that_cannot_answer_leaves_the_window() -> None:
    relay = QueueRelay()
    relay.note(OFFER, m.PlaybackState("own", 3))

    async def fetch(*_args):
        raise ConnectionLostError("gone")

    target = Target(OFFERED)
    assert not await relay.async_fill(target, target.lock, fetch)
    assert target.state is OFFERED
    assert target.adopted == []


@pytest.mark.warning_logs(r"could not fetch the rest of the queue")
@pytest.mark.parametrize(
    "page",
    [
        m.QueuePage("", 9, 0, 4999, LONG[:10]),  # another queue
        m.QueuePage("", 9, 0, 5000, (), m.Failure(m.ErrorCode.BUSY, "arriving")),
        m.QueuePage("", 9, 0, 5000, ()),  # nothing where items should be
    ],
)
async def test_a_page_that_does_not_fit_the_offer_stops_the_fill(page: m.QueuePage) -> None:
    relay = QueueRelay()
    relay.note(OFFER, m.PlaybackState("own", 3))

    async def fetch(*_args):
        return page

    target = Target(OFFERED)
    assert not await relay.async_fill(target, target.lock, fetch)
    assert target.adopted == []


def test_a_prepared_offer_or_a_whole_queue_asks_for_nothing() -> None:
    relay = QueueRelay()
    relay.note(replace(OFFER, prepare=True), m.PlaybackState("own", 3))
    assert not relay.wants_fill(OFFERED)
    relay.note(OFFER, m.PlaybackState("own", 3))
    assert not relay.wants_fill(SOURCE_STATE)  # whole: nothing to fetch


def test_a_device_that_takes_a_session_stops_serving_the_old_queue() -> None:
    relay, _ = source_relay()
    relay.session_taken()
    assert relay.page("t-1", m.QueueRequest("", 0, 1)) is None


def test_a_transfer_back_takes_the_queue_the_device_still_holds() -> None:
    relay = QueueRelay()
    relay.note(OFFER, SOURCE_STATE)
    taken = relay.reuse(SOURCE_STATE, OFFERED)
    assert taken.queue is SOURCE_STATE.queue  # the very tuple: one copy in memory
    assert taken.queue_whole
    assert not relay.wants_fill(taken)


@pytest.mark.parametrize(
    "held",
    [
        replace(SOURCE_STATE, queue_revision=8),  # edited since
        replace(SOURCE_STATE, session_id="other"),
        replace(SOURCE_STATE, queue=LONG[:-1]),
    ],
)
def test_another_queue_is_not_taken_for_the_offered_one(held: m.PlaybackState) -> None:
    relay = QueueRelay()
    relay.note(OFFER, held)
    assert relay.reuse(held, OFFERED) is OFFERED
    assert relay.wants_fill(OFFERED)
