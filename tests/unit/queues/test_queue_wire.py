"""Protocol 1.1 on the wire: windows, edits, pages, the new commands; and a long queue saved."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from google.protobuf.internal.encoder import _VarintBytes
from hypothesis import given

from connect.errors import EncodeError, MalformedFrameError
from connect.wire import _queue_frames, codec
from connect.wire import messages as m
from connect.wire._items import item_from_bytes, items_from_field
from connect.wire._pb import connect_pb2 as pb
from connect.wire._to_wire import (
    fill_queue_change,
    fill_queue_items,
    fill_queue_page,
    queue_items_bytes,
)
from devices.persistence import QUEUE_FILE, SESSION_FILE, SessionStore
from tests.strategies import queues

ITEMS = tuple(m.QueueItem(f"u{i}", f"http://h/{i}.flac", title=f"Tïtle {i}") for i in range(10))
WINDOW = m.PlaybackState(
    "s", 4, queue=ITEMS[2:6], current_uid="u3", queue_offset=2, queue_length=10, queue_revision=8
)
CHANGE = m.QueueChange(
    7,
    (
        m.QueueInsert("u1", ITEMS[8:]),
        m.QueueInsert("", ITEMS[:1]),
        m.QueueRemove(("u4", "u5")),
        m.QueueMove("u2", ""),
    ),
)


@pytest.fixture(params=[True, False], ids=["by hand", "generated classes"])
def by_hand(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Write pages and changes both ways, whichever protobuf implementation runs."""
    monkeypatch.setattr(_queue_frames, "BY_HAND", request.param)


def round_trip(body: m.Body) -> m.Body:
    return codec.decode(codec.encode(m.Envelope(3, "x", body))).body


@pytest.mark.parametrize(
    "body",
    [
        m.StateSnapshot(WINDOW, m.StateChangeReason.COMMAND, CHANGE),
        m.StateSnapshot(WINDOW, queue_change=m.QueueChange(7, reset=True)),
        m.QueueRequest("r-1", 1000, 500),
        m.QueuePage("r-1", 8, 2, 10, ITEMS[2:5]),
        m.QueuePage("r-2", 8, 0, 10, (), m.Failure(m.ErrorCode.BUSY, "arriving")),
        m.Command("c", m.RemoveFromQueue(("u1", "u2"))),
        m.Command("c", m.MoveInQueue("u1", "u7")),
        m.TransferOffer(
            "t", WINDOW, m.TransferOptions(), "src", 5, source_url="http://10.0.0.1:7000"
        ),
    ],
)
def test_protocol_1_1_bodies_survive_the_wire(body: m.Body) -> None:
    assert round_trip(body) == body


def test_a_whole_queue_said_the_long_way_reads_as_whole() -> None:
    whole = replace(WINDOW, queue=ITEMS, queue_offset=0, queue_length=0)
    decoded = round_trip(m.StateSnapshot(replace(whole, queue_length=10)))
    assert isinstance(decoded, m.StateSnapshot)
    assert decoded.state == whole


@pytest.mark.parametrize(
    "state",
    [
        replace(WINDOW, queue_length=5),  # the window runs past the end
        replace(WINDOW, queue_length=0),  # an offset into a queue said to be whole
    ],
)
def test_a_window_that_does_not_fit_its_queue_is_refused(state: m.PlaybackState) -> None:
    data = codec.encode(m.Envelope(1, "x", m.StateSnapshot(state)))
    with pytest.raises(MalformedFrameError, match="does not fit"):
        codec.decode(data)


def test_an_https_source_url_needs_the_source_fingerprint() -> None:
    offer = m.TransferOffer("t", WINDOW, m.TransferOptions(), "src", 5, source_url="https://h:1")
    with pytest.raises(EncodeError, match="source_url"):
        codec.encode(m.Envelope(1, "x", offer))


# ------------------------------------------------------------------------------ saved


LONG = tuple(m.QueueItem(f"u{i}", f"http://h/media/{i:05d}.flac") for i in range(30_000))
SESSION = m.PlaybackState("s", 9, queue=LONG, current_uid="u123", queue_revision=6)


def test_a_long_queue_is_saved_apart_and_comes_back_whole(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save_session(SESSION, 0)
    assert (tmp_path / SESSION_FILE).stat().st_size < 16 * 1024
    assert (tmp_path / QUEUE_FILE).stat().st_size > 30_000 * 20
    loaded = SessionStore(tmp_path).load_session()
    assert loaded is not None
    assert loaded.queue == LONG
    assert (loaded.queue_offset, loaded.queue_length, loaded.current_uid) == (0, 0, "u123")


def test_the_queue_file_is_written_only_when_the_queue_changed(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.queue_save_interval_s = 0.0  # no rate limit here: the next test has it
    store.save_session(SESSION, 0)
    (tmp_path / QUEUE_FILE).unlink()
    store.save_session(replace(SESSION, volume=3, revision=10), 0)  # a volume step
    assert not (tmp_path / QUEUE_FILE).exists()
    store.save_session(replace(SESSION, queue=LONG[1:], queue_revision=7), 0)
    assert (tmp_path / QUEUE_FILE).exists()


@pytest.mark.warning_logs(r"belongs to another session or revision")
def test_a_queue_file_of_another_revision_leaves_the_window(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.queue_save_interval_s = 0.0
    store.save_session(SESSION, 0)
    stale = (tmp_path / QUEUE_FILE).read_bytes()
    store.save_session(replace(SESSION, queue=LONG[:-1], queue_revision=7), 0)
    (tmp_path / QUEUE_FILE).write_bytes(stale)  # as a power cut between the two writes leaves
    loaded = SessionStore(tmp_path).load_session()
    assert loaded is not None
    assert loaded.queue_whole
    assert 0 < len(loaded.queue) <= 64
    assert loaded.current_item is not None


@given(queues)
def test_the_hand_written_queue_encoding_is_protobufs_byte_for_byte(items) -> None:
    wire = pb.Queue()
    fill_queue_items(wire.items, items)
    assert queue_items_bytes(items, 1) == wire.SerializeToString()


@pytest.mark.parametrize(
    "page",
    [
        m.QueuePage("r-1", 8, 2, 10, ITEMS[2:5]),
        m.QueuePage("r-2", 0, 0, 0),
        m.QueuePage("r-3", 8, 0, 10, (), m.Failure(m.ErrorCode.BUSY, "arriving")),
        m.QueuePage("r-4", 2**40, 5, 10, ITEMS[5:], m.Failure(m.ErrorCode.INTERNAL, "both")),
    ],
)
def test_a_page_written_by_hand_is_protobufs_byte_for_byte(
    page: m.QueuePage, by_hand: None
) -> None:
    wire = pb.QueuePage()
    fill_queue_page(wire, page)
    assert codec.encode_queue_page(page) == wire.SerializeToString()
    envelope = pb.Envelope(seq=3, msg_id="x")
    fill_queue_page(envelope.queue_page, page)
    assert codec.encode(m.Envelope(3, "x", page)) == envelope.SerializeToString()


@pytest.mark.parametrize(
    "change",
    [CHANGE, m.QueueChange(7, reset=True), m.QueueChange(0, (m.QueueInsert("", ITEMS),))],
)
def test_a_change_written_by_hand_is_protobufs_byte_for_byte(
    change: m.QueueChange, by_hand: None
) -> None:
    snapshot = m.StateSnapshot(WINDOW, m.StateChangeReason.COMMAND, change)
    wire = pb.StateSnapshot(reason=snapshot.reason.value)
    fill_queue_change(wire.queue_change, change)
    data = codec.encode(m.Envelope(3, "x", snapshot))
    assert pb.Envelope.FromString(data).state_snapshot.queue_change == wire.queue_change
    # The change is the snapshot's last field, the snapshot the envelope's: the frame ends
    # with the very bytes protobuf writes for it.
    tail = wire.queue_change.SerializeToString()
    assert data.endswith(b"\x1a" + _VarintBytes(len(tail)) + tail)


def test_a_page_or_change_with_a_bad_uid_is_refused(by_hand: None) -> None:
    bad = (m.QueueItem("", "http://h/a"),)
    with pytest.raises(EncodeError):
        codec.encode_queue_page(m.QueuePage("r", 1, 0, 1, bad))
    with pytest.raises(EncodeError):
        codec.encode(m.Envelope(3, "x", m.QueuePage("r", 1, 0, 1, bad)))
    change = m.QueueChange(1, (m.QueueInsert("", bad),))
    with pytest.raises(EncodeError):
        codec.encode(m.Envelope(3, "x", m.StateSnapshot(WINDOW, queue_change=change)))


def test_a_saved_queue_reads_back_as_one_page() -> None:
    parts = list(codec.encode_saved_queue("s", 6, LONG[:4500], slice_items=1000))
    assert len(parts) == 6  # the header, then five slices
    page = codec.decode_saved_queue(b"".join(parts))
    assert page == m.QueuePage("s", 6, 0, 4500, LONG[:4500])


def test_a_queue_changing_fast_is_written_at_most_every_few_seconds(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    store.save_session(SESSION, 0)
    store.save_session(replace(SESSION, queue=LONG[1:], queue_revision=7), 0)
    assert store.queue_deferred  # written a moment ago: this one is owed
    assert codec.decode_saved_queue((tmp_path / QUEUE_FILE).read_bytes()).queue_revision == 6
    store.queue_save_interval_s = 0.0  # as the last save, at close
    store.save_session(replace(SESSION, queue=LONG[1:], queue_revision=7), 0)
    assert not store.queue_deferred
    loaded = SessionStore(tmp_path).load_session()
    assert loaded is not None
    assert loaded.queue == LONG[1:]


@given(queues)
def test_items_read_by_hand_are_protobufs_reading(items) -> None:
    wire = pb.Queue()
    fill_queue_items(wire.items, items)
    assert items_from_field(wire.SerializeToString(), 1) == items


def test_reading_by_hand_skips_unknown_fields_as_protobuf_does() -> None:
    item = pb.QueueItem(uid="u", url="http://h/a", duration_ms=5)
    extra = (
        b"\xc0\x02\x07" + b"\xca\x02\x03abc" + b"\xcd\x02\x00\x00\x00\x00" + b"\xc9\x02" + bytes(8)
    )
    data = item.SerializeToString() + extra  # fields 40 (varint), 41 (string), 41/40 fixed
    assert pb.QueueItem.FromString(data).uid == "u"
    assert item_from_bytes(data) == m.QueueItem("u", "http://h/a", duration_ms=5)


def test_long_and_repeated_fields_are_read_as_protobuf_reads_them() -> None:
    item = pb.QueueItem(uid="u", url="http://h/" + "ä" * 300, title="t" * 127, album="x" * 128)
    data = item.SerializeToString() + pb.QueueItem(uid="v", duration_ms=7).SerializeToString()
    read = pb.QueueItem.FromString(data)  # a field given twice: the later one counts
    assert item_from_bytes(data) == m.QueueItem(
        read.uid, read.url, read.title, album=read.album, duration_ms=read.duration_ms
    )
    assert item_from_bytes(data).uid == "v"


@pytest.mark.parametrize(
    "data",
    [b"\x0a\x05ab", b"\x0a", b"\x30" + b"\xff" * 11, b"\x0b", b"\x0a\x02\xff\xfe", b"\x08\x01"],
)
def test_bytes_that_are_not_an_item_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - which words says nothing more
        item_from_bytes(data)
