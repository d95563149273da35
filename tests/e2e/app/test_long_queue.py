"""A queue as long as a library in the app: 50 000 rows in one virtualised list, fetched a page
at a time as it scrolls, edited on any row; on the desktop and, by keys only, on the TV.

`PagingCore` plays the core's part (client/app/queue_follow.py) over a RecordingBridge: it
answers the model's page requests with `QueueRows` a turn of the event loop later, as pages
arriving from a device would. One test runs the real core and "This computer"; the last two
check that the Library's and the TV home's Play all and Shuffle all ask for every track.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, Qt, QTimer
from PySide6.QtWidgets import QWidget

from client.app import views as v
from client.app.queue_model import PLACEHOLDER
from client.app.tv.window import TvWindow
from connect.clock import ClockEstimate, monotonic_us
from connect.wire import messages as m
from tests.e2e.app.idle import idle_tv_window, idle_window
from tests.e2e.app.keys import focused, press

TOTAL = 50_000
WINDOW = 64
CTRL = Qt.KeyboardModifier.ControlModifier
ITEMS = tuple(
    m.QueueItem(f"u{n:x}", f"http://127.0.0.1/music/{n}.wav", f"Track {n}", "Band")
    for n in range(TOTAL)
)


class PagingCore:
    """The core's side for a device holding ITEMS: the window, then pages on request."""

    def __init__(self, bridge: Any, items: tuple[m.QueueItem, ...] = ITEMS) -> None:
        self.bridge = bridge
        self.items = items
        self.revision = 1
        self.rows: list[m.QueueItem | None] = [None] * len(items)
        self.rows[:WINDOW] = items[:WINDOW]
        self.asked: list[tuple[int, int]] = []

    def start(self) -> None:
        """Push the session (its window) and the rows, as the core does on following."""
        state = m.PlaybackState(
            "s", 1, device_id="dev1", queue=self.items[:WINDOW], current_uid=self.items[0].uid,
            clock=m.PlaybackClock(0, monotonic_us(), 1.0, True),
            status=m.PlaybackStatus.PLAYING, active=True,
            queue_length=len(self.items), queue_revision=self.revision,
        )  # fmt: skip
        self.bridge.session_changed.emit(
            v.SessionView("dev1", "Car", state, ClockEstimate(0, 100, 5))
        )
        self._push()

    def fetch(self, device_id: str, start: int, stop: int) -> None:
        """The model asks for rows: they arrive on a later turn of the event loop."""
        assert device_id == "dev1"
        self.asked.append((start, stop))
        QTimer.singleShot(0, lambda: self._answer(start, stop))

    def remove(self, row: int) -> None:
        """The device removed the item at *row*: the edit comes back as new rows."""
        del self.rows[row]
        self.items = self.items[:row] + self.items[row + 1 :]
        self.revision += 1
        self._push()

    def _answer(self, start: int, stop: int) -> None:
        self.rows[start:stop] = self.items[start:stop]
        self._push()

    def _push(self) -> None:
        rows = v.QueueRows("dev1", "s", self.revision, tuple(self.rows))
        self.bridge.queue_changed.emit(rows)


def _desktop(qtbot: Any, tmp_path: Path) -> tuple[Any, PagingCore]:
    window = idle_window(qtbot, tmp_path)
    core = PagingCore(window.bridge)
    window.queue.fetch = core.fetch
    core.start()
    window.show_screen("now-playing")
    qtbot.waitUntil(lambda: window.queue.rowCount() == TOTAL)
    return window, core


def _title(model: Any, row: int) -> str:
    return str(model.data(model.index(row)))


def _shows(view: Any, row: int) -> bool:
    rect = view.visualRect(view.model().index(row))
    return view.viewport().rect().contains(rect)


def test_a_50_000_item_queue_is_one_list_of_50_000_rows(qtbot, tmp_path):
    window, core = _desktop(qtbot, tmp_path)
    screen = window.now_playing
    assert screen.queue.rowCount() == TOTAL
    qtbot.waitUntil(lambda: _title(screen.queue, 0) == "Track 0")
    # One list, never a widget per item; only the rows on screen were asked for.
    assert len(screen.findChildren(QWidget)) < 100
    assert sum(stop - start for start, stop in core.asked) <= 1_000


def test_scrolling_to_row_40_000_shows_its_title_once_the_page_arrives(qtbot, tmp_path):
    window, core = _desktop(qtbot, tmp_path)
    view, model = window.now_playing.queue_list, window.queue
    assert model.uid(40_000) is None
    view.go_to(40_000)
    assert _shows(view, 40_000)
    qtbot.waitUntil(lambda: _title(model, 40_000) == "Track 40000")
    assert any(start <= 40_000 < stop for start, stop in core.asked)
    assert all(stop - start <= 500 for start, stop in core.asked)  # pages on screen, either side
    assert _title(model, 45_000) == PLACEHOLDER  # nothing fetched past what showed


def test_editing_a_far_row_names_its_items_by_uid(qtbot, tmp_path):
    window, core = _desktop(qtbot, tmp_path)
    view, model = window.now_playing.queue_list, window.queue
    window.move_focus(view)
    view.go_to(40_000)
    qtbot.waitUntil(lambda: model.uid(40_001) is not None)
    press(Qt.Key.Key_Up, CTRL)
    press(Qt.Key.Key_Down, CTRL)
    press(Qt.Key.Key_Return)  # play from here
    press(Qt.Key.Key_Delete)
    far = ITEMS[40_000].uid
    assert [a for a, _device in window.bridge.named("command")] == [
        m.MoveInQueue(far, ITEMS[39_998].uid),
        m.MoveInQueue(far, ITEMS[40_001].uid),
        m.Play(item_uid=far),
        m.RemoveFromQueue((far,)),
    ]
    core.remove(40_000)  # as the device answers: one row fewer, the next item in its place
    qtbot.waitUntil(lambda: model.rowCount() == TOTAL - 1)
    assert view.current_row() == 40_000
    assert model.uid(40_000) == ITEMS[40_001].uid
    assert focused() == "queue-list"


def _idle_tv(qtbot: Any, tmp_path: Path) -> tuple[TvWindow, PagingCore]:
    window = idle_tv_window(qtbot, tmp_path)
    core = PagingCore(window.bridge)
    window.queue.fetch = core.fetch
    core.start()
    window.show_page("now-playing")
    qtbot.waitUntil(lambda: window.queue.rowCount() == TOTAL)
    return window, core


def _ring_on_current_row(window: TvWindow) -> bool:
    view = window.now_playing.queue_list
    ring = window.navigator.ring
    cell = view.visualRect(view.currentIndex())
    cell = QRect(view.viewport().mapTo(window, cell.topLeft()), cell.size())
    viewport = QRect(view.viewport().mapTo(window, QPoint(0, 0)), view.viewport().size())
    return ring.isVisible() and ring.ring_rect.contains(cell) and viewport.contains(cell)


def test_tv_keys_reach_every_row_and_the_ring_stays_on_the_current_one(qtbot, tmp_path):
    window, _core = _idle_tv(qtbot, tmp_path)
    view, model = window.now_playing.queue_list, window.queue
    for _ in range(4):  # from Play, down into the queue
        if focused() == "tv-queue-list":
            break
        press(Qt.Key.Key_Down)
    assert focused() == "tv-queue-list"
    assert view.current_row() == 0  # the item that plays
    press(Qt.Key.Key_Down)
    assert view.current_row() == 1
    press(Qt.Key.Key_PageDown)
    assert view.current_row() > 2
    press(Qt.Key.Key_End)
    assert view.current_row() == TOTAL - 1
    qtbot.waitUntil(lambda: _title(model, TOTAL - 1) == f"Track {TOTAL - 1}")
    qtbot.waitUntil(lambda: _ring_on_current_row(window))
    press(Qt.Key.Key_PageUp)
    assert view.current_row() < TOTAL - 1
    qtbot.waitUntil(lambda: _ring_on_current_row(window))
    press(Qt.Key.Key_Home)  # the list's first row, not the home page
    assert (view.current_row(), window.current_page()) == (0, "now-playing")
    qtbot.waitUntil(lambda: _ring_on_current_row(window))
    press(Qt.Key.Key_Down)
    press(Qt.Key.Key_Select)  # the remote's OK plays the row
    assert window.bridge.named("command")[-1] == (m.Play(item_uid=ITEMS[1].uid), "")
    press(Qt.Key.Key_Up)
    press(Qt.Key.Key_Up)  # past the first row: back to the transport
    assert focused() != "tv-queue-list"


# "This computer" (a receiver) writes its long queue on its loop as the app closes
# (devices/receiver.py, the final save): the device's cost, not the app's.
@pytest.mark.warning_logs(r"Executing <Task .*Bridge\.close")
def test_play_all_on_a_real_device_then_scroll_to_a_far_row_and_edit_it(qtbot, app_window):
    # "This computer" is a real receiver behind the app's own core: the upload, the window,
    # the pages and the edit all go over its real session. 12 000 tracks: more than one
    # SetQueue could carry (issue 24), and quick enough on a loaded machine.
    total, far_row = 12_000, 10_000
    window = app_window
    qtbot.waitUntil(lambda: window.albums.rowCount() == 3, timeout=10_000)
    here = None

    def local_online() -> bool:
        nonlocal here
        here = next((d for d in window.devices.views() if d.is_local and d.online), None)
        return here is not None

    qtbot.waitUntil(local_online, timeout=10_000)
    album = window.albums.albums()[0]
    tracks = (album.tracks * (total // len(album.tracks) + 1))[:total]
    window.bridge.play(tracks, 0, device_id=here.id)
    model, view = window.queue, window.now_playing.queue_list
    qtbot.waitUntil(lambda: model.rowCount() == total, timeout=90_000)
    window.bridge.command(m.Pause())
    window.show_screen("now-playing")
    view.go_to(far_row)
    qtbot.waitUntil(lambda: model.uid(far_row + 1) is not None, timeout=10_000)
    assert _title(model, far_row) == tracks[far_row].title
    far, after = model.uid(far_row), model.uid(far_row + 1)
    window.move_focus(view)
    view.go_to(far_row)
    press(Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: model.rowCount() == total - 1, timeout=10_000)
    assert model.row_of(far, far_row) is None
    qtbot.waitUntil(lambda: model.uid(far_row) == after, timeout=10_000)
    assert view.current_row() == far_row


def _library(tracks: int) -> Any:
    from client.app.library import Album, Library, Track

    songs = tuple(
        Track(Path(f"/music/{n}.flac"), f"Song {n}", "Band", "Everything", n, 1000, "audio/flac")
        for n in range(tracks)
    )
    return Library(Path("/music"), (Album("Everything", "Band", songs, None),))


def test_play_all_and_shuffle_all_ask_for_every_track_of_the_library(qtbot, tmp_path):
    window = idle_window(qtbot, tmp_path)
    library = _library(TOTAL)
    window.bridge.library_loaded.emit(v.LibraryLoaded(library))
    qtbot.waitUntil(lambda: window.library.library is library)
    window.library.play_all.click()
    assert window.current_screen() == "now-playing"
    window.show_screen("library")
    window.library.shuffle_all.click()
    ((played, start, _device),) = window.bridge.named("play")
    (shuffled,) = window.bridge.named("shuffle_all")
    assert len(played) == len(shuffled[0]) == TOTAL
    assert start == 0


def test_the_tv_home_plays_and_shuffles_everything(qtbot, tmp_path):
    window, _core = _idle_tv(qtbot, tmp_path)
    library = _library(300)
    window.bridge.library_loaded.emit(v.LibraryLoaded(library))
    qtbot.waitUntil(lambda: len(window.home.everything.cards) == 2)
    play, shuffle = window.home.everything.cards
    play.click()
    assert window.current_page() == "now-playing"
    shuffle.click()
    assert [len(t) for t, _s, _d in window.bridge.named("play")] == [300]
    assert [len(t) for (t,) in window.bridge.named("shuffle_all")] == [300]
