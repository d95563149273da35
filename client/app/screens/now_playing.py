"""Now playing: artwork, title, artist, smooth progress, transport, volume, queue, the device.

The player bar at the bottom of every screen is in screens/player_bar.py.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from client.app import theme
from client.app import views as v
from client.app.models import format_ms
from client.app.queue_model import QueueModel
from client.app.screens.queue_list import QueueList
from client.app.screens.transfer_status import where_words
from client.app.theme import Metrics
from client.app.widgets import icon_button, label, page, scroll_page, text_button
from connect.wire import messages as m

PROGRESS_STEPS = 1000


class Transport(QWidget):
    """Previous, play/pause, next: the three transport buttons."""

    action = Signal(object)  # connect.wire.messages action

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
        header = QHBoxLayout()
        header.addWidget(label("Queue", "muted"))
        header.addStretch(1)
        self.clear_queue = text_button("Clear")
        self.clear_queue.setObjectName("queue-clear")
        self.clear_queue.setAccessibleName("Clear the queue (what plays stays)")
        self.clear_queue.setToolTip("Remove everything but what plays")
        self.clear_queue.clicked.connect(self._clear)
        header.addWidget(self.clear_queue)
        info.addLayout(header)
        # One virtualised list, however long the queue (50 000 rows: screens/queue_list.py).
        self.queue_list = QueueList(queue, round(mx.row * 0.8))
        self.queue_list.setMinimumHeight(mx.row * 6)
        self.queue_list.play_item.connect(self.play_item.emit)
        self.queue_list.queue_edit.connect(self.action.emit)
        info.addWidget(self.queue_list, 1)
        body.addLayout(info, 1)
        layout.addLayout(body, 1)
        self._session: v.SessionView | None = None
        self._updating_volume = False
        self.move_focus: Callable[[QWidget], None] = lambda widget: widget.setFocus()
        for signal in (queue.modelReset, queue.rowsInserted):
            signal.connect(self._show_clear)
        self._show_clear()

    def set_session(self, session: v.SessionView, art: bytes | None, device_icon: str) -> None:
        """Show the followed session."""
        self._session = session
        state = session.state
        item = state.current_item
        self.title.setText(item.title if item else "Nothing playing")
        self.artist.setText(" · ".join(x for x in (item.artist, item.album) if x) if item else "")
        on = state.now_playing if state.live else None
        if on is not None:  # a radio: what the station says is on, its name, no length
            self.title.setText(on.title or on.station or self.title.text())
            self.artist.setText(" · ".join(x for x in (on.station, "Live") if x))
        # Never "Playing on" once the queue ended: where_words says what is true now.
        self.device.setText(where_words(session) or f"On {session.device_name}")
        self.device.setIcon(theme.icon(device_icon, self.mx.icon, theme.ACCENT))
        self.art.setPixmap(theme.cover(art, item.album if item else "Baton", self.mx.big_cover, 18))
        self.transport.set_playing(state.clock.playing)
        self.total.setText("LIVE" if state.live else format_ms(item.duration_ms if item else 0))
        if not self.volume.isSliderDown():
            self._updating_volume = True
            self.volume.setValue(state.volume)
            self._updating_volume = False
        self.queue.set_state(state, session.device_id)

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

    def _show_clear(self) -> None:
        self.clear_queue.setVisible(self.queue.rowCount() > 1)

    def _clear(self) -> None:
        self.queue_list.follow(self.queue.current_uid)
        self.action.emit(m.ClearQueue())


def art_pixmap(art: bytes | None, title: str, size: int) -> QPixmap:
    """Return rounded art for *title* at *size*."""
    return theme.cover(art, title, size)
