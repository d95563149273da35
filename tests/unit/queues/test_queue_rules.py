"""The queue by window, page and edit: what of a long queue travels (connect/queues.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connect import queues as q
from connect.wire import messages as m


def items(count: int, prefix: str = "u") -> tuple[m.QueueItem, ...]:
    return tuple(m.QueueItem(f"{prefix}{i}", f"http://h/{i}.flac") for i in range(count))


def state(count: int, current: int | None = 0, **kw) -> m.PlaybackState:
    queue = items(count)
    uid = queue[current].uid if current is not None and queue else ""
    return m.PlaybackState("s", 5, queue=queue, current_uid=uid, queue_revision=3, **kw)


# ------------------------------------------------------------------------------ windows


def test_a_short_queue_travels_whole() -> None:
    short = state(q.WINDOW_ITEMS)
    assert q.window(short) is short
    assert q.fitting(short) is short


@pytest.mark.parametrize(
    ("current", "offset"),
    [(0, 0), (10, 0), (16, 0), (17, 1), (5000, 5000 - 16), (9999, 10_000 - 64)],
)
def test_a_window_holds_the_current_item_and_what_plays_next(current: int, offset: int) -> None:
    windowed = q.window(state(10_000, current))
    assert windowed.queue_offset == offset
    assert windowed.queue_length == 10_000
    assert len(windowed.queue) == q.WINDOW_ITEMS
    assert windowed.queue == items(10_000)[offset : offset + 64]
    assert windowed.current_item is not None
    assert windowed.queue_total == 10_000


def test_a_window_of_a_partial_queue_counts_from_the_whole_queue() -> None:
    partial = replace(state(200, 100), queue_offset=1000, queue_length=50_000)
    windowed = q.window(partial)
    assert (windowed.queue_offset, windowed.queue_length) == (1000 + 84, 50_000)


def test_an_older_controller_gets_what_fits_around_the_current_item() -> None:
    big = state(20_000, 12_000)
    fitted = q.fitting(big, budget=100_000)
    size = sum(q.item_bytes(item) for item in fitted.queue)
    assert size <= 100_000
    assert size > 100_000 - 2 * max(q.item_bytes(i) for i in big.queue)  # filled, not timid
    assert fitted.current_item is not None
    before = big.queue.index(fitted.queue[0])
    assert fitted.queue_offset == before
    # Two after for one before: what plays next matters more.
    assert len(fitted.queue) - (12_000 - before) > 12_000 - before
    assert q.fitting(big, budget=100_000).queue is fitted.queue  # cached: one encoding for all


def test_an_older_controller_gets_the_whole_queue_while_it_fits() -> None:
    medium = state(2000, 700)
    assert q.fitting(medium) is medium


# ------------------------------------------------------------------------------ pages


def test_pages_are_capped_in_items() -> None:
    page = q.page(state(5000), m.QueueRequest("r", 100, 5000))
    assert (page.offset, page.queue_length, page.queue_revision) == (100, 5000, 3)
    assert page.items == items(5000)[100 : 100 + q.MAX_PAGE_ITEMS]
    assert page.request_id == "r"
    assert page.failure is None


def test_pages_are_capped_in_bytes() -> None:
    fat = tuple(m.QueueItem(f"u{i}", "http://h/" + "x" * 2000) for i in range(1000))
    page = q.page(m.PlaybackState("s", 1, queue=fat), m.QueueRequest("r", 0, 1000))
    assert 0 < len(page.items) < 1000
    assert sum(q.item_bytes(item) for item in page.items) <= q.MAX_PAGE_BYTES


@pytest.mark.parametrize(
    ("offset", "count", "expected"), [(4990, 50, 10), (5000, 5, 0), (9000, 5, 0)]
)
def test_pages_end_with_the_queue(offset: int, count: int, expected: int) -> None:
    page = q.page(state(5000), m.QueueRequest("r", offset, count))
    assert len(page.items) == expected
    assert page.offset == min(offset, 5000)


def test_a_queue_still_arriving_answers_busy_outside_what_it_holds() -> None:
    partial = replace(state(100, 50), queue_offset=1000, queue_length=50_000)
    held = q.page(partial, m.QueueRequest("r", 1010, 5))
    assert held.items == partial.queue[10:15]
    missing = q.page(partial, m.QueueRequest("r", 0, 5))
    assert missing.failure is not None
    assert missing.failure.code is m.ErrorCode.BUSY


# ------------------------------------------------------------------------------ changes


def test_a_controller_with_the_current_queue_is_told_nothing() -> None:
    assert q.change_for(3, state(10), None) is None
    assert q.change_for(None, state(10), m.QueueChange(2, reset=True)) is None


def test_the_edit_from_its_revision_is_passed_on() -> None:
    change = m.QueueChange(2, (m.QueueRemove(("u1",)),))
    assert q.change_for(2, state(10), change) is change


@pytest.mark.parametrize(
    "change",
    [
        None,  # the host did not say how
        m.QueueChange(1, (m.QueueRemove(("u1",)),)),  # from another revision
        m.QueueChange(2, reset=True),
        m.QueueChange(2, (m.QueueInsert("", items(20_000, "n")),)),  # too large to tell
    ],
)
def test_otherwise_the_controller_fetches_again(change: m.QueueChange | None) -> None:
    assert q.change_for(2, state(10), change) == m.QueueChange(2, reset=True)


# ------------------------------------------------------------------------------ edits


def test_edits_apply_in_order() -> None:
    start = items(5)
    new = items(2, "n")
    edits = (
        m.QueueInsert("u1", new),
        m.QueueRemove(("u3", "u0")),
        m.QueueMove("u4", ""),
        m.QueueMove("n0", "n1"),
        m.QueueInsert("", (m.QueueItem("first", "http://h/f"),)),
    )
    result = q.apply_edits(start, edits)
    assert [item.uid for item in result] == ["first", "u4", "u1", "n1", "n0", "u2"]


@pytest.mark.parametrize(
    "edit",
    [
        m.QueueInsert("nope", items(1, "n")),
        m.QueueRemove(("nope",)),
        m.QueueMove("nope", ""),
        m.QueueMove("u1", "nope"),
    ],
)
def test_an_edit_naming_a_missing_uid_is_refused(edit: m.QueueEdit) -> None:
    with pytest.raises(q.QueueEditError):
        q.apply_edits(items(3), (edit,))


# ------------------------------------------------------------------------------ shuffle


def _splitmix64(seed: int):
    """SplitMix64 as its authors publish it: the outputs for *seed*, one after another."""
    mask = 2**64 - 1
    x = seed
    while True:
        x = (x + 0x9E3779B97F4A7C15) & mask
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        yield z ^ (z >> 31)


def _shuffle_reference(seed: int, n: int) -> list[int]:
    """The proto's "Shuffle order", written out once more from its text."""
    outputs = _splitmix64(seed)
    out = list(range(n))
    for i in range(n - 1, 0, -1):
        j = next(outputs) % (i + 1)
        out[i], out[j] = out[j], out[i]
    return out


def test_the_reference_generator_is_the_published_splitmix64() -> None:
    # The first outputs for seed 0 in the published test vectors of SplitMix64.
    outputs = _splitmix64(0)
    assert [next(outputs) for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


@given(st.integers(0, 300), st.integers(0, 2**64 - 1))
def test_the_shuffle_order_is_the_protos(n: int, seed: int) -> None:
    order, place = q.play_order(n, seed)
    assert list(order) == _shuffle_reference(seed, n)
    assert sorted(order) == list(range(n))
    assert all(order[place[i]] == i for i in range(n))
