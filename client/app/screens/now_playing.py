"""Now playing: artwork, title, artist, smooth progress, transport, volume, queue, the device.

Also the player bar at the bottom of every screen (a compact view of the same session).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app import views as v
from client.app.models import QueueModel, Role, format_ms
from client.app.theme import Metrics
from client.app.widgets import clear_layout, icon_button, label, page, restyle, scroll_page
from connect import messages as m

PROGRESS_STEPS = 1000


class Transport(QWidget):
    """Previous, play/pause, next: the three transport buttons."""

    action = Signal(object)  # connect.messages action

    def __init__(self, mx: Metrics, scale: float = 1.0, prefix: str = "") -> None:
        super().__init__()
        self.mx = mx
        self._scale = scale
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(mx.margin // 2)
        self.previous = icon_button("previous", "Previous", mx, scale=scale)
        self.play = icon_button(
            "play", "Play", mx, role="play", color=theme.BACKGROUND, scale=scale
        )
        self.next = icon_button("next", "Next", mx, scale=scale)
        for b in (self.previous, self.play, self.next):
            b.setObjectName(prefix + b.objectName())
            layout.addWidget(b)
        self._playing = False
        self.previous.clicked.connect(lambda: self.action.emit(m.SkipPrevious()))
        self.next.clicked.connect(lambda: self.action.emit(m.SkipNext()))
        self.play.clicked.connect(
            lambda: self.action.emit(m.Pause() if self._playing else m.Resume())
        )

    def set_playing(self, playing: bool) -> None:
        """Show pause while playing, play otherwise."""
        if playing != self._playing:
            self._playing = playing
            name = "pause" if playing else "play"
            self.play.setIcon(theme.icon(name, round(self.mx.icon * self._scale), theme.BACKGROUND))
            self.play.setToolTip(name.title())
            self.play.setAccessibleName(name.title())


class NowPlayingScreen(QWidget):
    """The full now-playing screen."""

    action = Signal(object)  # an action for the followed device
    play_item = Signal(str)  # a queue item's uid
    show_devices = Signal()

    def __init__(self, mx: Metrics, queue: QueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mx = mx
        self.queue = queue
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        content, layout = page(mx, "Now playing")
        outer.addWidget(scroll_page(content))

        body = QHBoxLayout()
        body.setSpacing(mx.margin * 2)
        self.art = QLabel()
        self.art.setFixedSize(mx.big_cover, mx.big_cover)
        self.art.setPixmap(theme.cover(None, "Baton", mx.big_cover, 18))
        body.addWidget(self.art, 0, Qt.AlignmentFlag.AlignTop)

        info = QVBoxLayout()
        info.setSpacing(mx.margin // 2)
        self.title = label("Nothing playing", "title", wrap=True)
        self.title.setObjectName("np-title")
        self.artist = label("Pick an album in the Library", "muted")
        self.device = QPushButton()
        self.device.setObjectName("np-device")
        self.device.setProperty("role", "row")
        self.device.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.device.setIconSize(QSize(mx.icon, mx.icon))
        self.device.clicked.connect(self.show_devices.emit)
        self.device.setText("No device")
        info.addWidget(self.title)
        info.addWidget(self.artist)
        info.addWidget(self.device, 0, Qt.AlignmentFlag.AlignLeft)
        info.addSpacing(mx.margin)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setTextVisible(False)
        info.addWidget(self.progress)
        times = QHBoxLayout()
        self.elapsed = label("0:00", "muted")
        self.total = label("0:00", "muted")
        times.addWidget(self.elapsed)
        times.addStretch(1)
        times.addWidget(self.total)
        info.addLayout(times)
        controls = QHBoxLayout()
        self.transport = Transport(mx, 1.3, prefix="np-")
        self.transport.action.connect(self.action.emit)
        controls.addWidget(self.transport)
        controls.addSpacing(mx.margin)
        volume_icon = QLabel()
        volume_icon.setPixmap(theme.pixmap("volume", mx.icon, theme.MUTED, 2.0))
        controls.addWidget(volume_icon)
        self.volume = QSlider(Qt.Orientation.Horizontal)
        self.volume.setObjectName("np-volume")
        self.volume.setRange(0, 100)
        self.volume.setPageStep(5)
        self.volume.setSingleStep(5)
        self.volume.setMinimumWidth(mx.cover)
        self.volume.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.volume.valueChanged.connect(self._volume_moved)
        controls.addWidget(self.volume)
        controls.addStretch(1)
        info.addLayout(controls)
        info.addSpacing(mx.margin)
        info.addWidget(label("Queue", "muted"))
        self.queue_rows = QVBoxLayout()
        self.queue_rows.setSpacing(2)
        info.addLayout(self.queue_rows)
        info.addStretch(1)
        body.addLayout(info, 1)
        layout.addLayout(body)
        layout.addStretch(1)
        self._session: v.SessionView | None = None
        self._updating_volume = False
        queue.modelReset.connect(self._rebuild_queue)
        queue.dataChanged.connect(self._mark_current)

    def set_session(self, session: v.SessionView, art: bytes | None, device_icon: str) -> None:
        """Show the followed session."""
        self._session = session
        state = session.state
        item = state.current_item
        self.title.setText(item.title if item else "Nothing playing")
        self.artist.setText(" · ".join(x for x in (item.artist, item.album) if x) if item else "")
        self.device.setText(f"Playing on {session.device_name}")
        self.device.setIcon(theme.icon(device_icon, self.mx.icon, theme.ACCENT))
        self.art.setPixmap(theme.cover(art, item.album if item else "Baton", self.mx.big_cover, 18))
        self.transport.set_playing(state.clock.playing)
        self.total.setText(format_ms(item.duration_ms if item else 0))
        if not self.volume.isSliderDown():
            self._updating_volume = True
            self.volume.setValue(state.volume)
            self._updating_volume = False
        self.queue.set_state(state)

    def set_position(self, position_ms: int) -> None:
        """Move the progress bar (called ~30 times a second)."""
        item = self._session.state.current_item if self._session else None
        duration = item.duration_ms if item else 0
        self.elapsed.setText(format_ms(position_ms))
        value = round(PROGRESS_STEPS * position_ms / duration) if duration else 0
        self.progress.setValue(max(0, min(PROGRESS_STEPS, value)))

    def _volume_moved(self, value: int) -> None:
        if not self._updating_volume:
            self.action.emit(m.SetVolume(value))

    def _rebuild_queue(self) -> None:
        clear_layout(self.queue_rows)
        self.queue_buttons: list[QPushButton] = []
        for n in range(self.queue.rowCount()):
            item: m.QueueItem = self.queue.data(self.queue.index(n), Role.VALUE)
            row = QPushButton(f"{item.title or item.url}   ·   {item.artist}")
            row.setProperty("role", "row")
            row.setObjectName(f"queue-{n}")
            row.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            row.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            row.setAutoDefault(False)
            row.clicked.connect(lambda _=False, uid=item.uid: self.play_item.emit(uid))
            self.queue_rows.addWidget(row)
            self.queue_buttons.append(row)
        self._mark_current()

    def _mark_current(self) -> None:
        for n, row in enumerate(getattr(self, "queue_buttons", [])):
            item: m.QueueItem = self.queue.data(self.queue.index(n), Role.VALUE)
            current = item.uid == self.queue.current_uid
            restyle(row, "current", current)


class PlayerBar(QFrame):
    """The compact player at the bottom of every screen."""

    action = Signal(object)
    open_now_playing = Signal()

    def __init__(self, mx: Metrics) -> None:
        super().__init__()
        self.mx = mx
        self.setProperty("role", "playerbar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(mx.margin, mx.margin // 2, mx.margin, mx.margin // 2)
        layout.setSpacing(mx.margin)
        self.art = QLabel()
        side = mx.icon * 2 + 8
        self.art.setFixedSize(side, side)
        self.art.setPixmap(theme.cover(None, "Baton", side, 8))
        layout.addWidget(self.art)
        text = QVBoxLayout()
        self.title = QToolButton()
        self.title.setObjectName("bar-title")
        self.title.setProperty("role", "nav")
        self.title.setText("Nothing playing")
        self.title.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.title.clicked.connect(self.open_now_playing.emit)
        self.where = label("", "muted")
        text.addWidget(self.title)
        text.addWidget(self.where)
        layout.addLayout(text, 2)
        self.transport = Transport(mx, 1.0, prefix="bar-")
        self.transport.action.connect(self.action.emit)
        layout.addWidget(self.transport)
        self.progress = QProgressBar()
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setTextVisible(False)
        layout.addWidget(self.progress, 3)
        self.time = label("0:00 / 0:00", "muted")
        layout.addWidget(self.time)
        self._duration = 0

    def set_session(self, session: v.SessionView, art: bytes | None) -> None:
        """Show the followed session."""
        item = session.state.current_item
        self.title.setText(item.title if item else "Nothing playing")
        self.where.setText(
            f"{item.artist} · on {session.device_name}" if item else session.device_name
        )
        side = self.art.width()
        self.art.setPixmap(theme.cover(art, item.album if item else "Baton", side, 8))
        self.transport.set_playing(session.state.clock.playing)
        self._duration = item.duration_ms if item else 0

    def set_position(self, position_ms: int) -> None:
        """Move the progress bar."""
        value = round(PROGRESS_STEPS * position_ms / self._duration) if self._duration else 0
        self.progress.setValue(max(0, min(PROGRESS_STEPS, value)))
        self.time.setText(f"{format_ms(position_ms)} / {format_ms(self._duration)}")


def art_pixmap(art: bytes | None, title: str, size: int) -> QPixmap:
    """Return rounded art for *title* at *size*."""
    return theme.cover(art, title, size)
