"""The followed device's queue as a list model of any length, fetched a page at a time.

One row per item of the whole queue (50 000 rows cost a tuple of 50 000 slots, not 50 000
widgets): rows come from the core as `QueueRows` (`set_rows`; client/app/queue_follow.py keeps
the controller's `QueueView`), or, before the core has sent any for a device, from a session
state's window (`set_state`). A row not fetched yet shows a placeholder, and `data()` asks
`fetch(device_id, start, stop)` for its page and the pages either side, once per view pass
(a zero-time timer gathers the rows a paint asked for), again only after `ASK_AGAIN_S` if no
answer came. `Role.VALUE` is the item (None while not fetched), `Role.CURRENT` whether it
plays. `rows_replaced` fires after the rows changed in any way, so a view can find again the
item it follows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from client.app.models import Role
from client.app.views import QueueRows
from connect.wire import messages as m

Index = QModelIndex | QPersistentModelIndex
Fetch = Callable[[str, int, int], None]

PAGE_ROWS = 100  # rows per request: a desktop screen shows ~25, a TV ~8
ASK_AGAIN_S = 2.0  # a page asked for and not answered (a busy device) is asked again after this
PLACEHOLDER = "…"
_DISPLAY = Qt.ItemDataRole.DisplayRole
_EMPTY = QueueRows("", "", 0, ())


class QueueModel(QAbstractListModel):
    """The followed device's whole queue (see the module docstring)."""

    rows_replaced = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows = _EMPTY
        self._current = ""
        self._current_row: int | None = None  # where the current item was last seen
        self._core_device = ""  # the device whose rows came from the core (they win)
        self._asked: dict[int, float] = {}  # page -> when it was asked for
        self._wanted: set[int] = set()
        self.fetch: Fetch = lambda _device, _start, _stop: None
        self._asking = QTimer(self)
        self._asking.setSingleShot(True)
        self._asking.setInterval(0)
        self._asking.timeout.connect(self._ask)

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self._rows.rows)

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        rows = self._rows.rows
        if not index.isValid() or not 0 <= index.row() < len(rows):
            return None
        item = rows[index.row()]
        if item is None:
            if role == _DISPLAY:
                self._want(index.row())
                return PLACEHOLDER
            return False if role == Role.CURRENT else None
        if role == _DISPLAY:
            return self.title(item)
        if role == Role.SUBTITLE:
            return item.artist
        if role == Role.VALUE:
            return item
        if role == Role.CURRENT:
            return item.uid == self._current
        return None

    # ------------------------------------------------------------------ reading
    @property
    def current_uid(self) -> str:
        """Return the uid of the item that plays."""
        return self._current

    @property
    def current_row(self) -> int | None:
        """Return the row of the item that plays, as the last state said (None: unknown)."""
        return self._current_row

    @property
    def device_id(self) -> str:
        """Return the id of the device whose queue this is."""
        return self._rows.device_id

    def item(self, row: int) -> m.QueueItem | None:
        """Return the item at *row*; None while not fetched (its page is then asked for)."""
        rows = self._rows.rows
        if not 0 <= row < len(rows):
            return None
        item = rows[row]
        if item is None:
            self._want(row)
        return item

    @staticmethod
    def title(item: m.QueueItem | None) -> str:
        """Return how a row names *item* (a placeholder while it is not fetched)."""
        if item is None:
            return PLACEHOLDER
        return item.title or item.url.rsplit("/", 1)[-1]

    def uid(self, row: int) -> str | None:
        """Return the uid at *row*, or None while it is not fetched (or out of range)."""
        rows = self._rows.rows
        item = rows[row] if 0 <= row < len(rows) else None
        return item.uid if item is not None else None

    def row_of(self, uid: str, near: int = 0, reach: int | None = None) -> int | None:
        """Return the row of *uid* among the fetched rows, looking outward from *near* (at
        most *reach* rows either way; None: the whole queue)."""
        rows = self._rows.rows
        farthest = max(near, len(rows) - near)
        for distance in range(min(farthest, reach if reach is not None else farthest) + 1):
            for row in (near - distance, near + distance):
                if 0 <= row < len(rows) and (item := rows[row]) is not None and item.uid == uid:
                    return row
        return None

    # ------------------------------------------------------------------ updating
    def set_rows(self, rows: QueueRows) -> None:
        """Show the rows the core sent, unless they are older than those shown."""
        held = self._rows
        if (
            rows.device_id == held.device_id == self._core_device
            and rows.session_id == held.session_id
            and rows.revision < held.revision
        ):
            return
        self._core_device = rows.device_id
        self._replace(rows)

    def set_state(self, state: m.PlaybackState, device_id: str = "") -> None:
        """Follow *state*'s current item; its window is the queue until the core sends rows."""
        at = m.index_of(state.queue, state.current_uid) if state.current_uid else None
        after = None if at is None else state.queue_offset + at
        if state.current_uid != self._current:
            self._current = state.current_uid
            for row in {self._current_row, after} - {None}:
                assert row is not None
                if row < self.rowCount():
                    self.dataChanged.emit(self.index(row), self.index(row), [Role.CURRENT])
        self._current_row = after
        if device_id and device_id == self._core_device:
            return  # the core's rows hold the window and the pages fetched around it
        window = QueueRows.of_state(device_id, state)
        held = self._rows
        same = (window.device_id, window.session_id) == (held.device_id, held.session_id)
        if same and len(held.rows) == len(window.rows):
            start, stop = state.queue_offset, state.queue_offset + len(state.queue)
            if held.rows[start:stop] == window.rows[start:stop]:
                return
            merged = held.rows[:start] + window.rows[start:stop] + held.rows[stop:]
            window = QueueRows(device_id, state.session_id, state.queue_revision, merged)
        self._core_device = ""
        self._replace(window)

    # ------------------------------------------------------------------ internals
    def _replace(self, rows: QueueRows) -> None:
        old, new = self._rows.rows, rows.rows
        if rows == self._rows:
            return
        same_device = rows.device_id == self._rows.device_id
        if same_device and len(new) == len(old):
            self._rows = rows
            if new:
                self.dataChanged.emit(self.index(0), self.index(len(new) - 1))
        elif same_device and len(new) > len(old) and new[: len(old)] == old:
            self.beginInsertRows(QModelIndex(), len(old), len(new) - 1)
            self._rows = rows
            self.endInsertRows()
        else:
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
        if not same_device:
            self._asked.clear()
        for page in [p for p in self._asked if None not in self._page_rows(p)]:
            del self._asked[page]  # answered
        self.rows_replaced.emit()

    def _page_rows(self, page: int) -> tuple[m.QueueItem | None, ...]:
        return self._rows.rows[page * PAGE_ROWS : (page + 1) * PAGE_ROWS]

    def _want(self, row: int) -> None:
        page = row // PAGE_ROWS
        asked = self._asked.get(page)
        if asked is not None and time.monotonic() - asked < ASK_AGAIN_S:
            return
        self._wanted.add(page)
        if not self._asking.isActive():
            self._asking.start()

    def _ask(self) -> None:
        """Ask for the pages wanted and those either side, in runs of adjacent pages."""
        last = (len(self._rows.rows) - 1) // PAGE_ROWS
        now = time.monotonic()
        pages = sorted(
            p
            for p in {q + d for q in self._wanted for d in (-1, 0, 1)}
            if 0 <= p <= last and (p not in self._asked or now - self._asked[p] >= ASK_AGAIN_S)
        )
        self._wanted.clear()
        runs: list[list[int]] = []
        for page in pages:
            if None not in self._page_rows(page):
                continue
            if runs and runs[-1][-1] == page - 1:
                runs[-1].append(page)
            else:
                runs.append([page])
            self._asked[page] = now
        total = len(self._rows.rows)
        for run in runs:
            start, stop = run[0] * PAGE_ROWS, min(total, (run[-1] + 1) * PAGE_ROWS)
            self.fetch(self._rows.device_id, start, stop)
