"""Item models of the app's screens: devices, albums, an album's tracks (the queue, of any
length, is client/app/queue_model.py).

Screens build their focusable cards from these models (one widget per row, so the spatial
navigator can reach every card); tests check each model with pytest-qt's qtmodeltester.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from client.app import views as v
from connect.wire import messages as m

if TYPE_CHECKING:
    from client.app.library import Album, Library, Track

Index = QModelIndex | QPersistentModelIndex
_DISPLAY = Qt.ItemDataRole.DisplayRole


class Role(enum.IntEnum):
    """Custom data roles: `Role.VALUE` returns the row's frozen value."""

    VALUE = Qt.ItemDataRole.UserRole + 1
    SUBTITLE = Qt.ItemDataRole.UserRole + 2
    CURRENT = Qt.ItemDataRole.UserRole + 3  # the queue's row that plays (bool)


def type_words(device_type: m.DeviceType) -> str:
    """Return how the listener reads *device_type* ("TV", "AV receiver", "Speaker", ...)."""
    return {"TV": "TV", "AVR": "AV receiver"}.get(device_type.name, device_type.name.title())


class DeviceListModel(QAbstractListModel):
    """Every listed device: "This computer" first, then by name."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[v.DeviceView] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == _DISPLAY:
            return row.name
        if role == Role.SUBTITLE:
            state = "online" if row.online else "offline"
            return f"{type_words(row.type)} · {state}"
        if role == Role.VALUE:
            return row
        return None

    def views(self) -> list[v.DeviceView]:
        """Return the rows in order."""
        return list(self._rows)

    def find(self, device_id: str) -> v.DeviceView | None:
        """Return the row of *device_id*, or None."""
        return next((r for r in self._rows if r.id == device_id), None)

    def put(self, view: v.DeviceView) -> None:
        """Insert or update a device, keeping the order."""
        for n, row in enumerate(self._rows):
            if row.id == view.id:
                if row.name == view.name and row.is_local == view.is_local:
                    self._rows[n] = view
                    self.dataChanged.emit(self.index(n), self.index(n))
                    return
                self.remove(view.id)
                break
        at = 0
        while at < len(self._rows) and _order(self._rows[at]) <= _order(view):
            at += 1
        self.beginInsertRows(QModelIndex(), at, at)
        self._rows.insert(at, view)
        self.endInsertRows()

    def remove(self, device_id: str) -> None:
        """Drop a device (no-op when unknown)."""
        for n, row in enumerate(self._rows):
            if row.id == device_id:
                self.beginRemoveRows(QModelIndex(), n, n)
                del self._rows[n]
                self.endRemoveRows()
                return


def _order(view: v.DeviceView) -> tuple[bool, str, str]:
    return (not view.is_local, view.name.casefold(), view.id)


class AlbumListModel(QAbstractListModel):
    """The albums of the scanned library."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._albums: tuple[Album, ...] = ()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self._albums)

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._albums):
            return None
        album = self._albums[index.row()]
        if role == _DISPLAY:
            return album.title
        if role == Role.SUBTITLE:
            return album.artist
        if role == Role.VALUE:
            return album
        return None

    def albums(self) -> tuple[Album, ...]:
        """Return the albums in order."""
        return self._albums

    def set_library(self, library: Library) -> None:
        """Show *library*'s albums."""
        self.beginResetModel()
        self._albums = library.albums
        self.endResetModel()


class TrackListModel(QAbstractListModel):
    """The tracks of one album."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._tracks: tuple[Track, ...] = ()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self._tracks)

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._tracks):
            return None
        track = self._tracks[index.row()]
        if role == _DISPLAY:
            return track.title
        if role == Role.SUBTITLE:
            return f"{track.artist} · {format_ms(track.duration_ms)}"
        if role == Role.VALUE:
            return track
        return None

    def tracks(self) -> tuple[Track, ...]:
        """Return the tracks in order."""
        return self._tracks

    def set_tracks(self, tracks: tuple[Track, ...]) -> None:
        """Show *tracks*."""
        self.beginResetModel()
        self._tracks = tracks
        self.endResetModel()


def format_ms(ms: int) -> str:
    """Return *ms* as m:ss."""
    seconds = max(0, ms) // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"
